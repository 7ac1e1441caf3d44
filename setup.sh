#!/usr/bin/env bash
# Triage set-up for a fresh Debian 12 machine.
#   ./setup.sh demo   install what is missing, build, run the bundled clinic drill through triage
#   ./setup.sh test   install what is missing, build, run the whole test suite
#                     (unit, golden pcap, two-worker, namespace lab, perf smoke, and the
#                      clang ASan+UBSan unit tests and bounded libFuzzer run)
set -euo pipefail
cd "$(dirname "$0")"

BUILD_PKGS=(g++ meson ninja-build pkg-config dpdk dpdk-dev libdpdk-dev libhyperscan-dev libtbb-dev
            libspdlog-dev libfmt-dev libpcap-dev libgtest-dev libbenchmark-dev
            libcpp-httplib-dev libssl-dev)
TEST_PKGS=(python3 python3-scapy clang libclang-rt-14-dev curl ethtool iproute2 iputils-ping procps tshark
           prometheus python3-prometheus-client hping3 tcpdump)

log() { printf '\n== %s\n' "$*"; }

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    # tshark asks whether non-root users may capture; answer for it.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections 2>/dev/null || true
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
    if [ -f build/build.ninja ]; then
        meson setup --reconfigure build >/dev/null
    else
        meson setup build
    fi
    ninja -C build
}

demo() {
    install_missing "${BUILD_PKGS[@]}"
    build
    log "drill: the bundled clinic scenario (config/scenarios/clinic.scn) through triage"
    # No NIC and no hugepages: triage-gen starts the real triage on two memif
    # ports (--no-pci, --no-huge, its own --file-prefix) and plays the
    # patients, the clinic's PCs, the attackers and the servers around it.
    # Exit status: 0 when the verdict is PASS, 1 when it is FAIL.
    build/app/triage-gen/triage-gen drill config/scenarios/clinic.scn
}

run_tests() {
    install_missing "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"
    build
    log "test suite (gcc build): unit, pipeline, lab, perf-smoke"
    meson test -C build --print-errorlogs --num-processes 2

    log "clang ASan+UBSan build of the EAL-free libraries: unit tests and bounded libFuzzer run"
    if [ -f build-san/build.ninja ]; then
        meson configure build-san -Dfuzz_seconds="${FUZZ_SECONDS:-60}"
    else
        CXX=clang++ meson setup build-san -Dappliance=false -Dfuzz=true -Dfuzz_seconds="${FUZZ_SECONDS:-60}" \
            -Db_sanitize=address,undefined -Db_lundef=false
    fi
    ninja -C build-san
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        meson test -C build-san --print-errorlogs --suite unit --suite fuzz
    log "all tests passed"
}

case "${1:-}" in
    demo) demo ;;
    test) run_tests ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
