#!/usr/bin/env bash
# Functions run from traps or as "samples_$name" look unreachable to shellcheck.
# shellcheck disable=SC2317
# perf/e2e.sh — Triage against dpdk-testpmd (io forwarding), side by side, on
# the same software ports: a net_pcap vdev replaying a pcap forever (port 0)
# and a net_null vdev that swallows everything (port 1).
#
# Scenarios (-c): plain (the default: the e2e mix, no configuration), clean
# (the same mix through a scrubbing policy whose limits are not hit), synflood
# (a random-source SYN flood answered with cookie SYN-ACKs out of port 0) and
# reflection (a UDP reflection flood dropped by a limit). Triage loads
# perf/scrub_scripts/SCENARIO.cli with -f; the frames come from gen_pcap.py.
#
# Both tools get the same EAL (-l 0,1: one control lcore, one forwarding
# lcore), the same input and the same measurement: the per-second RX rate on
# port 0 each tool prints, the first 2 samples dropped, the median of the rest.
# The figures are printed; nothing about speed is asserted. Exit status: 0 when
# every run produced samples, 1 when a tool failed or printed none (or, in a
# scrubbing scenario, when triage's counters show another path than the
# scenario's), 2 on usage.
#
# usage: perf/e2e.sh [-c SCENARIO] [-t SECONDS] [-d SAMPLES] [-s SIZE] [-r ROUNDS] [-n FRAMES]
#                    [-x TRIAGE] [-p TESTPMD] [-w WORKDIR] [-k]
set -uo pipefail

usage() {
    cat <<'EOF'
usage: perf/e2e.sh [options]
  -c SCENARIO plain (default): the e2e mix (IPv4 UDP + TCP SYN), triage unconfigured
              clean: the same mix through a scrubbing policy, limits set but not hit
              synflood: TCP SYNs toward a syn-auth host, answered with cookies out of
                port 0 (testpmd runs --port-topology=loop so it too sends out of port 0)
              reflection: UDP from ports 53/123/11211 toward 4 hosts, dropped by a
                per-destination limit
              (triage gets -f perf/scrub_scripts/SCENARIO.cli; each scenario but plain
              checks triage's counters say what it claims, else the run fails)
  -t SECONDS  forwarding time per run, counted from when forwarding starts (default 10, at least 3)
  -s SIZE     frame size on the wire incl. FCS, 64..1518 (default 64; the pcap
              holds SIZE-4 bytes per frame, the FCS is never captured)
  -r ROUNDS   rounds of (testpmd, triage), alternating, to expose noise (default 1)
  -n FRAMES   distinct frames (= source addresses) in the pcap, 1..4096 (default 1024)
  -x TRIAGE   the triage binary (default: $TRIAGE, else build/app/triage/triage
              next to this script, else triage on PATH)
  -p TESTPMD  the testpmd binary (default: $TESTPMD, else dpdk-testpmd on PATH)
  -w WORKDIR  where the pcap is cached and runs write their logs
              (default: ${TMPDIR:-/tmp}/triage-perf-$UID)
  -d SAMPLES  leading per-second samples dropped from each run (default 2: start-up,
              caches). Some VMs print testpmd's stats every 2 s instead of every
              second (their TSC and the kernel clock disagree slightly); the smoke
              tests use -t 5 -d 1 so that still leaves a sample
  -k          keep this invocation's logs (printed at the end)
EOF
}

die_usage() {
    echo "e2e.sh: $*" >&2
    usage >&2
    exit 2
}

SECONDS_PER_RUN=10
SIZE=64
ROUNDS=1
FRAMES=1024
TRIAGE_BIN=${TRIAGE:-}
TESTPMD_BIN=${TESTPMD:-}
WORKDIR=${TMPDIR:-/tmp}/triage-perf-${UID}
KEEP=0
SCENARIO=plain
DISCARD=2           # leading samples dropped (start-up, caches, first interval)
START_TIMEOUT=60    # seconds a tool may take to start forwarding
STOP_TIMEOUT=20     # seconds a tool may take to exit after SIGINT

while getopts ":c:t:s:r:n:x:p:w:d:kh" opt; do
    case $opt in
    c) SCENARIO=$OPTARG ;;
    t) SECONDS_PER_RUN=$OPTARG ;;
    s) SIZE=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    n) FRAMES=$OPTARG ;;
    x) TRIAGE_BIN=$OPTARG ;;
    p) TESTPMD_BIN=$OPTARG ;;
    w) WORKDIR=$OPTARG ;;
    d) DISCARD=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    :) die_usage "-$OPTARG needs a value" ;;
    *) die_usage "unknown option -$OPTARG" ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || die_usage "unexpected argument '$1'"

in_range() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= $2 && 10#$1 <= $3)); }
in_range "$SECONDS_PER_RUN" 3 3600 ||
    die_usage "-t: '$SECONDS_PER_RUN' is not a whole number of seconds in 3..3600 (the first 2 samples are dropped)"
in_range "$DISCARD" 0 100 || die_usage "-d: '$DISCARD' is not a sample count in 0..100"
in_range "$SIZE" 64 1518 || die_usage "-s: '$SIZE' is not in 64..1518"
in_range "$ROUNDS" 1 20 || die_usage "-r: '$ROUNDS' is not in 1..20"
in_range "$FRAMES" 1 4096 || die_usage "-n: '$FRAMES' is not in 1..4096"
case $SCENARIO in
plain | clean) KIND=mix ;;
synflood | reflection) KIND=$SCENARIO ;;
*) die_usage "-c: '$SCENARIO' is not plain, clean, synflood or reflection" ;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -z $TRIAGE_BIN ]]; then
    if [[ -x $HERE/../build/app/triage/triage ]]; then
        TRIAGE_BIN=$HERE/../build/app/triage/triage
    else
        TRIAGE_BIN=$(command -v triage || true)
    fi
fi
[[ -n $TRIAGE_BIN && -x $TRIAGE_BIN ]] ||
    die_usage "no triage binary (build it, then pass -x build/app/triage/triage or set TRIAGE)"
TRIAGE_BIN=$(realpath "$TRIAGE_BIN")
[[ -n $TESTPMD_BIN ]] || TESTPMD_BIN=$(command -v dpdk-testpmd || true)
[[ -n $TESTPMD_BIN && -x $TESTPMD_BIN ]] ||
    die_usage "no dpdk-testpmd (apt-get install dpdk, or pass -p PATH or set TESTPMD)"
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3 || true)
SCRIPT=""
if [[ $SCENARIO != plain ]]; then
    SCRIPT=$HERE/scrub_scripts/$SCENARIO.cli
    [[ -r $SCRIPT ]] || die_usage "no console script $SCRIPT"
    [[ -n $PYTHON ]] || die_usage "python3 is needed to check the $SCENARIO scenario's counters"
fi

mkdir -p "$WORKDIR" || { echo "e2e.sh: cannot create $WORKDIR" >&2; exit 2; }
RUNDIR=$(mktemp -d "$WORKDIR/run.XXXXXX") || { echo "e2e.sh: cannot create a run dir" >&2; exit 2; }

# ------------------------------------------------------------ clean-up
CUR_PID=""
dpdk_runtime_dir() {
    if ((EUID == 0)); then echo "/var/run/dpdk/$1"; else echo "${XDG_RUNTIME_DIR:-/tmp}/dpdk/$1"; fi
}
stop_current() {
    [[ -n $CUR_PID ]] || return 0
    if kill -0 "$CUR_PID" 2>/dev/null; then
        kill -INT "$CUR_PID" 2>/dev/null
        for _ in $(seq 1 30); do kill -0 "$CUR_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$CUR_PID" 2>/dev/null
    fi
    wait "$CUR_PID" 2>/dev/null
    CUR_PID=""
}
cleanup() {
    stop_current
    # Only this invocation's EAL runtime dirs (their prefixes carry our PID).
    rm -rf "$(dpdk_runtime_dir "perf_tp_$$")" "$(dpdk_runtime_dir "perf_tr_$$")"
    if ((KEEP)); then echo "logs kept in $RUNDIR"; else rm -rf "$RUNDIR"; fi
}
trap cleanup EXIT
trap 'echo "e2e.sh: interrupted" >&2; exit 130' INT TERM HUP

# ------------------------------------------------------------ input
# The mix keeps its old name (v1): the same bytes as before scenarios existed.
if [[ $KIND == mix ]]; then PCAP=$WORKDIR/e2e-v1-${SIZE}B-${FRAMES}.pcap
else PCAP=$WORKDIR/e2e-v1-$KIND-${SIZE}B-${FRAMES}.pcap; fi
if [[ ! -s $PCAP ]]; then
    [[ -n $PYTHON ]] || { echo "e2e.sh: python3 is needed to write $PCAP" >&2; exit 1; }
    if ! "$PYTHON" "$HERE/gen_pcap.py" "$PCAP.tmp.$$" --kind "$KIND" --size "$SIZE" --count "$FRAMES" ||
        ! mv "$PCAP.tmp.$$" "$PCAP"; then
        rm -f "$PCAP.tmp.$$"
        echo "e2e.sh: cannot write $PCAP" >&2
        exit 1
    fi
fi

# ------------------------------------------------------------ one run
# Per-second port-0 RX rates in packets/s, one per line, in print order.
# testpmd prints a stats block the moment forwarding starts, before any
# interval has elapsed (its Rx-pps is a placeholder 0); that block is not a
# sample. Triage's first line comes after its first interval. So sample 1 of
# either tool is the first second of forwarding.
samples_testpmd() {
    awk '/NIC statistics for port/ { port = $0; sub(/.*port /, "", port); sub(/ .*/, "", port) }
         /Rx-pps:/ && port == "0" && blocks++ > 0 { print $2 }' "$1"
}
samples_triage() {
    sed -n 's/.* info triage: in: rx \([0-9.]*\)\([kMG]\{0,1\}\)pps .*/\1 \2/p' "$1" |
        awk '{ m = $2 == "k" ? 1e3 : $2 == "M" ? 1e6 : $2 == "G" ? 1e9 : 1; printf "%.0f\n", $1 * m }'
}
# stdin: samples. Prints "median min max n" in Mpps over what it was given.
stats() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) { print "nan nan nan 0"; exit }
              med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.2f %.2f %.2f %d\n", med / 1e6, v[1] / 1e6, v[NR] / 1e6, NR }'
}

# CPU time (ns) the EAL worker thread (lcore 1, "rte-worker-1") has had so far.
worker_cpu_ns() {
    local t
    for t in /proc/"$1"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == *worker* ]] || continue
        awk '{ print $1 }' "$t/schedstat" 2>/dev/null && return 0
    done
    echo 0
}
now_ns() { date +%s%N; }
# run_tool NAME ROUND -> writes $RUNDIR/NAME.ROUND.{log,samples}; 0 on success
run_tool() {
    local name=$1 round=$2 log="$RUNDIR/$1.$2.log" marker
    local vdevs=(--vdev "net_pcap0,rx_pcap=$PCAP,infinite_rx=1" --vdev "net_null0,no-rx=1")
    local cmd prefix
    if [[ $name == testpmd ]]; then
        prefix=perf_tp_$$
        cmd=("$TESTPMD_BIN" -l "0,1" --no-pci --no-huge -m 1024 --file-prefix "$prefix" "${vdevs[@]}"
             -- --forward-mode=io --stats-period 1 --total-num-mbufs 16384
             --rxd 1024 --txd 1024 --burst 32)
        # Triage answers a SYN flood out of the port it arrived on (net_pcap
        # without tx_pcap frees what it is given, as net_null does): testpmd
        # sends every frame back out of its own port too.
        [[ $SCENARIO == synflood ]] && cmd+=(--port-topology=loop)
        marker='Rx-pps:'  # the first stats block is printed as forwarding starts
    else
        prefix=perf_tr_$$
        cmd=("$TRIAGE_BIN" -l "0,1" --no-pci --no-huge -m 1024 --file-prefix "$prefix" "${vdevs[@]}"
             -- --stats-interval 1 --stats-json "$RUNDIR/triage.$round.json")
        [[ -n $SCRIPT ]] && cmd+=(-f "$SCRIPT")
        marker='info triage: triage .* forwarding:'
    fi
    : >"$RUNDIR/$name.$round.all"
    : >"$RUNDIR/$name.$round.samples"
    echo "+ ${cmd[*]}" >"$log"
    # testpmd with --stats-period loops until SIGINT/SIGTERM, then reads one
    # line from stdin ("Press enter to exit"): /dev/null answers it at once.
    # Background jobs of a script start with SIGINT ignored; both tools
    # install their own SIGINT handler, which takes precedence.
    "${cmd[@]}" </dev/null >>"$log" 2>&1 &
    CUR_PID=$!
    local t=0
    until grep -q -- "$marker" "$log"; do
        if ! kill -0 "$CUR_PID" 2>/dev/null; then
            wait "$CUR_PID"
            echo "e2e.sh: $name exited with status $? before forwarding; last lines of $log:" >&2
            tail -n 15 "$log" >&2
            CUR_PID=""
            return 1
        fi
        if ((t++ >= START_TIMEOUT * 10)); then
            echo "e2e.sh: $name did not start forwarding within ${START_TIMEOUT}s; last lines:" >&2
            tail -n 15 "$log" >&2
            stop_current
            return 1
        fi
        sleep 0.1
    done
    local t0 c0 t1 c1
    t0=$(now_ns)
    c0=$(worker_cpu_ns "$CUR_PID")
    # The tools print a sample every second; the extra half second lets the
    # last one land before the stop.
    sleep "$SECONDS_PER_RUN.5"
    t1=$(now_ns)
    c1=$(worker_cpu_ns "$CUR_PID")
    local rc=0
    if ! kill -0 "$CUR_PID" 2>/dev/null; then
        wait "$CUR_PID"
        echo "e2e.sh: $name exited early with status $?; last lines of $log:" >&2
        tail -n 15 "$log" >&2
        CUR_PID=""
        return 1
    fi
    kill -INT "$CUR_PID"
    t=0
    while kill -0 "$CUR_PID" 2>/dev/null && ((t++ < STOP_TIMEOUT * 10)); do sleep 0.1; done
    if kill -0 "$CUR_PID" 2>/dev/null; then
        echo "e2e.sh: $name still running ${STOP_TIMEOUT}s after SIGINT; killed" >&2
        kill -KILL "$CUR_PID" 2>/dev/null
        rc=1
    fi
    wait "$CUR_PID"
    local status=$?
    CUR_PID=""
    rm -rf "$(dpdk_runtime_dir "$prefix")"
    # testpmd exits 0, or 130 when its SIGINT handler re-raises the signal.
    if ((rc == 0 && status != 0 && status != 130)); then
        echo "e2e.sh: $name exited with status $status; last lines of $log:" >&2
        tail -n 15 "$log" >&2
        rc=1
    fi
    # How much of its core the forwarding thread actually got over the run.
    awk -v c="$((c1 - c0))" -v w="$((t1 - t0))" 'BEGIN {
        if (c > 0 && w > 0) printf "%.3f\n", c / w; else print "n/a" }' >"$RUNDIR/$name.$round.cpu"
    "samples_$name" "$log" >"$RUNDIR/$name.$round.all"
    tail -n +$((DISCARD + 1)) "$RUNDIR/$name.$round.all" >"$RUNDIR/$name.$round.samples"
    if [[ ! -s $RUNDIR/$name.$round.samples ]]; then
        echo "e2e.sh: $name: no samples parsed after dropping the first $DISCARD ($(wc -l <"$RUNDIR/$name.$round.all") in all); see $log" >&2
        rc=1
    fi
    return $rc
}

# ------------------------------------------------------------ scenario check
# Reads triage's --stats-json; prints what the scrubbing stages did and fails
# when that is not the scenario: a figure for traffic that took another path
# than the one named would mislead.
check_scenario() {
    "$PYTHON" - "$SCENARIO" "$1" <<'PY'
import json, sys
scenario, path = sys.argv[1], sys.argv[2]
j = json.load(open(path))
rx, fw, dr = (j["inbound"][k] for k in ("rx", "forwarded", "dropped"))
drops = {k: v for k, v in j["drops"].items() if v}
scrub = j["scrub"]
prot = j["inbound_classes"].get("protected", 0)
top = ", ".join(f"{k} {v}" for k, v in sorted(drops.items(), key=lambda kv: -kv[1])[:3]) or "none"
print(f"         (scrub: drops {top}; syn_cookies_sent {scrub['syn_cookies_sent']}, "
      f"meter_evictions {scrub['meter_evictions']})")
if rx == 0:
    ok, why = False, "no frames received"
elif scenario == "clean":
    ok, why = dr == 0 and prot == fw == rx, "every frame scrubbed as protected and forwarded, none dropped"
elif scenario == "synflood":
    ok = scrub["syn_cookies_sent"] == rx and drops.get("syn_cookie", 0) == rx and fw == 0
    why = "every SYN answered with a cookie SYN-ACK, none forwarded"
else:
    ok = drops.get("rate_destination", 0) >= 0.99 * rx and dr + fw == rx
    why = "at least 99 % of the frames dropped by the per-destination limit"
print(f"         (check: {why}: {'yes' if ok else 'NO'})")
sys.exit(0 if ok else 1)
PY
}

# ------------------------------------------------------------ machine
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[[ -n $cpu_model ]] || cpu_model=$(uname -m)
dpdk_version=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)
echo "== Triage vs dpdk-testpmd (io), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine : $cpu_model, nproc $(nproc), kernel $(uname -r), DPDK $dpdk_version"
echo "load    : $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) before the runs"
case $KIND in
mix) what="IPv4 UDP + TCP SYN, 198.18.0.0/15 -> 198.51.100.0/24" ;;
synflood) what="IPv4 TCP SYN + MSS, 198.18.0.0/15 -> 198.51.100.10:443" ;;
reflection) what="IPv4 UDP from :53/:123/:11211, 198.18.0.0/15 -> 198.51.100.20-23" ;;
esac
echo "scenario: $SCENARIO${SCRIPT:+ (triage -f ${SCRIPT#"$HERE"/../})}"
echo "input   : $PCAP ($FRAMES frames of $SIZE B on the wire, $what)"
if [[ $SCENARIO == synflood ]]; then
    echo "ports   : net_pcap0 (rx_pcap, infinite_rx; TX frees) -> itself (triage's SYN-ACKs; testpmd --port-topology=loop); EAL -l 0,1 --no-pci --no-huge"
else
    echo "ports   : net_pcap0 (rx_pcap, infinite_rx) -> net_null0 (no-rx); EAL -l 0,1 --no-pci --no-huge"
fi
echo "method  : ${SECONDS_PER_RUN}s per run; per-second port-0 RX rate; first $DISCARD samples dropped; median"
echo "          (samples: testpmd 'Rx-pps' of port 0, triage 'in: rx' of its stats line)"
echo

failed=0
order=(testpmd triage)
declare -A median percpu
printf '%-8s %5s %9s %8s %8s %8s %7s %10s %6s\n' tool round Mpps min max samples cpu% Mpps/cpu load1
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${order[@]}"; do
        load1=$(cut -d' ' -f1 /proc/loadavg)
        if run_tool "$name" "$round"; then :; else failed=1; fi
        read -r med lo hi n < <(stats <"$RUNDIR/$name.$round.samples" 2>/dev/null || echo "nan nan nan 0")
        # The median rate divided by the share of the core the forwarding
        # thread got: what it would move with the core to itself. Steadier
        # than the wall-clock rate on a shared machine, but an estimate.
        read -r share per_cpu < <(awk -v m="$med" '{
            if ($1 + 0 > 0 && m + 0 > 0) printf "%.0f %.2f\n", 100 * $1, m / $1; else print "n/a n/a" }' \
            "$RUNDIR/$name.$round.cpu" 2>/dev/null || echo "n/a n/a")
        median[$name.$round]=$med
        percpu[$name.$round]=$per_cpu
        printf '%-8s %5d %9s %8s %8s %8s %7s %10s %6s\n' "$name" "$round" "$med" "$lo" "$hi" "$n" \
            "$share" "$per_cpu" "$load1"
        if [[ $name == triage && -s $RUNDIR/triage.$round.json ]]; then
            j=$RUNDIR/triage.$round.json
            rx=$(sed -n 's/.*"inbound": {"rx": \([0-9]*\).*/\1/p' "$j")
            fw=$(sed -n 's/.*"inbound": {.*"forwarded": \([0-9]*\).*/\1/p' "$j")
            dr=$(sed -n 's/.*"inbound": {.*"dropped": \([0-9]*\).*/\1/p' "$j")
            secs=$(sed -n 's/.*"forwarding_seconds": \([0-9.]*\).*/\1/p' "$j")
            awk -v rx="${rx:-0}" -v fw="${fw:-0}" -v dr="${dr:-0}" -v s="${secs:-0}" 'BEGIN {
                printf "         (stats-json: inbound rx %d, forwarded %d, dropped %d in %.2f s = %.2f Mpps mean incl. start-up)\n",
                       rx, fw, dr, s, (s > 0 ? rx / s / 1e6 : 0) }'
            if [[ $SCENARIO != plain ]] && ! check_scenario "$j"; then
                echo "e2e.sh: triage's counters do not show the $SCENARIO scenario (see above); logs kept" >&2
                failed=1
            fi
        fi
    done
done

echo
for ((round = 1; round <= ROUNDS; round++)); do
    awk -v r="$round" -v a="${median[triage.$round]}" -v b="${median[testpmd.$round]}" \
        -v c="${percpu[triage.$round]}" -v d="${percpu[testpmd.$round]}" 'BEGIN {
        printf "round %d ratio triage/testpmd: %s (per CPU-second of the forwarding thread: %s)\n", r,
               (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2f", a / b) : "n/a",
               (c + 0 > 0 && d + 0 > 0) ? sprintf("%.2f", c / d) : "n/a" }'
done
# Over every round: median of all kept samples of each tool.
all_tp=$(cat "$RUNDIR"/testpmd.*.samples 2>/dev/null | stats)
all_tr=$(cat "$RUNDIR"/triage.*.samples 2>/dev/null | stats)
read -r tp_med _ tp_hi tp_n <<<"$all_tp"
read -r tr_med _ tr_hi tr_n <<<"$all_tr"
ratio=$(awk -v a="$tr_med" -v b="$tp_med" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
echo "overall : testpmd $tp_med Mpps ($tp_n samples), triage $tr_med Mpps ($tr_n samples), ratio triage/testpmd $ratio"
# The same per CPU-second of the forwarding thread: median over the rounds.
tp_cpu=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${percpu[testpmd.$r]}"; done | grep -E '^[0-9.]+$' |
    awk '{ print $1 * 1e6 }' | stats | cut -d' ' -f1)
tr_cpu=$(for ((r = 1; r <= ROUNDS; r++)); do echo "${percpu[triage.$r]}"; done | grep -E '^[0-9.]+$' |
    awk '{ print $1 * 1e6 }' | stats | cut -d' ' -f1)
cpu_ratio=$(awk -v a="$tr_cpu" -v b="$tp_cpu" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
echo "per CPU : testpmd $tp_cpu Mpps, triage $tr_cpu Mpps per CPU-second of the forwarding thread, ratio $cpu_ratio"
# On a shared machine the best second is the least disturbed one: a second,
# cruder estimate of what each tool can do, shown next to the median.
peak_ratio=$(awk -v a="$tr_hi" -v b="$tp_hi" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
echo "peak    : testpmd $tp_hi Mpps, triage $tr_hi Mpps (best second of each), ratio $peak_ratio"
echo "load    : $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) after the runs"
echo "RESULT scenario=$SCENARIO size=$SIZE seconds=$SECONDS_PER_RUN rounds=$ROUNDS testpmd_mpps=$tp_med triage_mpps=$tr_med ratio=$ratio peak_ratio=$peak_ratio cpu_ratio=$cpu_ratio"
if ((failed)); then
    echo "e2e.sh: at least one run failed or produced no samples (see above)" >&2
    KEEP=1
    exit 1
fi
exit 0
