#!/usr/bin/env bash
# The scrubbing lab (shared/LAB.md, docs/lab.md "Scrubbing lab"): the standard lab topology, with
# 198.18.0.2/32 protected by a policy with SYN authentication on, attacked by hping3 floods from
# the outside namespace while curl fetches a page from the inside web server.
#
#   netns P-out  eth0 198.18.0.1/24 (+ .11-.15)  --veth-- Po  [triage port 0 = outside]
#   netns P-in   eth0 198.18.0.2/24 (web :80)     --veth-- Pi  [triage port 1 = inside ]
#
# Phases (each bounded in packets and time; the whole run usually takes 20-45 s, at most ~3 min):
#   1. first connection: curl time_connect of a fresh (unauthenticated) source vs later
#      (authenticated) connections, from 198.18.0.1 and five more client addresses;
#   2. SYN flood: hping3 -S --flood --rand-source toward :80 while 200 sequential curls run;
#      >= 99 % must return 200, the inside must see no SYN from any source but 198.18.0.1, and
#      triage must have answered SYNs with cookies and authenticated the client;
#   3. UDP flood: `limit udp destination 1000 burst 1000` set at run time through triage-cli,
#      hping3 --udp --flood --rand-source toward :5353 for 10 s while 50 curls run; the inside
#      may receive at most 1000/s + the burst of 1000 (+ slack), >= 99 % of the curls succeed.
# Figures (rates, delays, ratios) are printed for the docs; no check depends on timing except the
# token bucket bound, which is measured against the capture's own time span.
#
# Usage: scrub_lab.sh /path/to/triage [/path/to/triage-cli]
# Exit: 0 every check passed, 1 a check failed, 77 skipped (not root, no `ip netns`, a tool
# missing). Needs root; creates and removes everything it uses (namespaces, links, processes,
# temp dir, DPDK runtime dir), under a prefix unique to this run. Never touches a PCI device.
# SCRUB_LAB_KEEP=DIR keeps the captures, logs and stats of the run in DIR.
# SCRUB_LAB_PIN=0 leaves the lab's processes free to run on triage's worker CPU (see "CPUs" below):
# the overload case of docs/lab.md, "Scrubbing lab", where the client's SYNs get lost.
set -euo pipefail

TRIAGE=${1:-}
TRIAGE_CLI=${2:-}
PY=/usr/bin/python3           # another python3 may be first on PATH
SERVER=198.18.0.2
CLIENT=198.18.0.1
FRESH_CLIENTS=(198.18.0.11 198.18.0.12 198.18.0.13 198.18.0.14 198.18.0.15)
SYN_CURLS=200                 # sequential curls under the SYN flood
SYN_CURL_DEADLINE=120         # s: the SYN-flood curl series stops here at the latest
SYN_FLOOD_MAX=130             # s: hard bound of hping3 (it is stopped when the curls are done)
UDP_SECONDS=10                # s: length of the UDP flood (longer only if the curls take longer)
UDP_FLOOD_MAX=40              # s: hard bound of hping3 in the UDP phase
UDP_CURLS=50
UDP_PPS=1000                  # the limit under test: packets/s and burst
UDP_BURST=1000
UDP_PORT=5353

skip() {
    echo "" >&2
    echo "SKIP: scrub lab: $*" >&2
    echo "" >&2
    exit 77
}
die() { echo "FAIL: scrub lab: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites (skip loudly)
[[ -n "$TRIAGE" ]] || die "usage: $0 /path/to/triage [/path/to/triage-cli]"
[[ -x "$TRIAGE" ]] || die "triage executable '$TRIAGE' not found or not executable"
if [[ -z "$TRIAGE_CLI" ]]; then
    TRIAGE_CLI=$(cd "$(dirname "$TRIAGE")/.." && pwd)/triage-cli/triage-cli
fi
[[ -x "$TRIAGE_CLI" ]] || die "triage-cli executable '$TRIAGE_CLI' not found (pass it as the second argument)"
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, veth, af_packet, hping3); run meson test as root"
command -v ip >/dev/null 2>&1 || skip "'ip' not found (install Debian package iproute2)"
ip netns list >/dev/null 2>&1 || skip "'ip netns' does not work here (no network namespace support or no permission)"
for tool in hping3:hping3 curl:curl ethtool:ethtool tcpdump:tcpdump timeout:coreutils taskset:util-linux; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || skip "'${tool%%:*}' not found (install Debian package ${tool#*:})"
done
[[ -x $PY ]] || skip "$PY not found (install Debian package python3)"

# CPUs. Triage runs with -l 0,1: lcore 0 (CPU 0) is the control core, lcore 1 (CPU 1) the worker,
# which busy-polls. Everything else of the lab (this script, hping3, curl, the web server,
# tcpdump) runs on the other CPUs, never on the worker's: DPDK assumes a dedicated worker core.
# Without this, on a small machine the scheduler also runs curl, ip and tcpdump on the worker's
# CPU; while the worker is off it the flood fills the af_packet RX ring, and the client's SYNs
# are dropped by the kernel before triage sees them (about a quarter of them on 2 CPUs, against
# none pinned: docs/lab.md, "Scrubbing lab").
WORKER_CPU=1
LAB_CPUS=$("$PY" -c '
import os, sys
cpus = sorted(os.sched_getaffinity(0))
if 0 not in cpus or 1 not in cpus: sys.exit(1)
print(",".join(str(c) for c in cpus if c != 1))') ||
    skip "needs CPUs 0 and 1 (triage -l 0,1); this process may run on: $(taskset -pc $$ | sed 's/.*: //')"
if [[ "${SCRUB_LAB_PIN:-1}" != 0 ]]; then
    taskset -pc "$LAB_CPUS" $$ >/dev/null || die "taskset -pc $LAB_CPUS $$ failed"
else
    LAB_CPUS="any (SCRUB_LAB_PIN=0)"
fi

# ---------------------------------------------------------------- state and cleanup
P=ts$$                        # unique per run: links Po/Pi, namespaces P-out/P-in, EAL file prefix
NS_OUT=$P-out
NS_IN=$P-in
IF_OUT=${P}o                  # root-namespace end facing the outside namespace -> triage port 0
IF_IN=${P}i                   # root-namespace end facing the inside namespace  -> triage port 1
TMP=$(mktemp -d "/tmp/triage-scrub.$P.XXXXXX")
SOCK=$TMP/triage.sock
TRIAGE_PID=""
BG_PIDS=()                    # web server, captures, floods: stopped in cleanup
FAILS=0
PASSES=0
T0=$SECONDS

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [[ -n "$TRIAGE_PID" ]] && kill -0 "$TRIAGE_PID" 2>/dev/null; then
        kill -TERM "$TRIAGE_PID" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$TRIAGE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$TRIAGE_PID" 2>/dev/null
        wait "$TRIAGE_PID" 2>/dev/null
    fi
    # Deleting a namespace destroys the veth end inside it, and so the pair; delete the
    # root ends too in case a namespace was never created.
    ip netns del "$NS_OUT" 2>/dev/null
    ip netns del "$NS_IN" 2>/dev/null
    ip link del "$IF_OUT" 2>/dev/null
    ip link del "$IF_IN" 2>/dev/null
    if [[ -n "${SCRUB_LAB_KEEP:-}" ]]; then
        mkdir -p "$SCRUB_LAB_KEEP" && cp -a "$TMP"/. "$SCRUB_LAB_KEEP"/ && rm -f "$SCRUB_LAB_KEEP/triage.sock" &&
            echo "scrub lab: kept captures, logs and stats in $SCRUB_LAB_KEEP" >&2
    fi
    rm -rf "/var/run/dpdk/$P" "$TMP"
    echo "scrub lab: cleaned up $P (namespaces $NS_OUT $NS_IN, links $IF_OUT $IF_IN) after $((SECONDS - T0)) s" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

pass() { PASSES=$((PASSES + 1)); echo "PASS: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
# check "description" command...: PASS/FAIL line from the command's status.
check() {
    local what=$1; shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
in_out() { ip netns exec "$NS_OUT" "$@"; }
in_in() { ip netns exec "$NS_IN" "$@"; }
cli() { "$TRIAGE_CLI" -s "$SOCK" "$@"; }
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic (awk), printed with the format in $2 (default %.2f).
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

# ---------------------------------------------------------------- topology
echo "scrub lab: prefix $P, temp dir $TMP, triage $TRIAGE; worker on CPU $WORKER_CPU, the rest of the lab on CPUs $LAB_CPUS"
err=$(ip netns add "$NS_OUT" 2>&1) || skip "cannot create a network namespace: ip netns add: $err"
ip netns add "$NS_IN"
err=$(ip link add "$IF_OUT" type veth peer name eth0 netns "$NS_OUT" 2>&1) ||
    skip "cannot create a veth pair (kernel without veth?): ip link add: $err"
ip link add "$IF_IN" type veth peer name eth0 netns "$NS_IN"
# IPv4 only, and silent root-namespace ends: every frame triage sees comes from the namespaces.
for dev in "$IF_OUT" "$IF_IN"; do sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=1"; done
in_out sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1
in_in sysctl -q -w net.ipv6.conf.eth0.disable_ipv6=1
# Checksum/segmentation offloads off on every end, or af_packet hands over packets with
# unfinished checksums and GSO/GRO super-frames.
for dev in "$IF_OUT" "$IF_IN"; do
    ethtool -K "$dev" rx off tx off tso off gso off gro off >/dev/null 2>&1 ||
        die "ethtool -K $dev rx off tx off tso off gso off gro off failed"
done
in_out ethtool -K eth0 rx off tx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool on $NS_OUT eth0 failed"
in_in ethtool -K eth0 rx off tx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool on $NS_IN eth0 failed"

in_out ip addr add "$CLIENT/24" dev eth0
for a in "${FRESH_CLIENTS[@]}"; do in_out ip addr add "$a/24" dev eth0; done
in_in ip addr add "$SERVER/24" dev eth0
for ns in "$NS_OUT" "$NS_IN"; do
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip link set eth0 up
done
ip link set "$IF_OUT" up
ip link set "$IF_IN" up
MAC_OUT=$(in_out cat /sys/class/net/eth0/address)
MAC_IN=$(in_in cat /sys/class/net/eth0/address)
# Static neighbour entries: no ARP in the figures (the standard lab tests ARP through the box),
# and the inside never has to resolve a flood's random sources.
in_out ip neigh replace "$SERVER" lladdr "$MAC_IN" dev eth0 nud permanent
for a in "$CLIENT" "${FRESH_CLIENTS[@]}"; do in_in ip neigh replace "$a" lladdr "$MAC_OUT" dev eth0 nud permanent; done
echo "scrub lab: outside eth0 $MAC_OUT ($CLIENT, ${FRESH_CLIENTS[*]}), inside eth0 $MAC_IN ($SERVER)"

# ---------------------------------------------------------------- triage
cat >"$TMP/scrub.cli" <<EOF
# scrub lab: the web server behind SYN authentication
add policy web
set policy web syn-auth on
add protect $SERVER/32 name web policy web
EOF
STATS=$TMP/stats.json
TRIAGE_LOG=$TMP/triage.log
# One worker (-l 0,1): lcore 0 is the control core. --no-pci: never touch the host's NIC. taskset:
# this shell (and so every other process of the lab) is kept off the worker's CPU; triage needs it.
taskset -c "$(taskset -pc $$ | sed 's/.*: //'),$WORKER_CPU" \
    "$TRIAGE" -l 0,1 --no-pci --no-huge -m 256 --file-prefix "$P" --log-level=lib.eal:error \
    --vdev "net_af_packet0,iface=$IF_OUT" --vdev "net_af_packet1,iface=$IF_IN" \
    -- -f "$TMP/scrub.cli" --socket "$SOCK" --stats-json "$STATS" --stats-interval 0 >"$TRIAGE_LOG" 2>&1 &
TRIAGE_PID=$!
up=0
for _ in $(seq 150); do   # bounded: 15 s
    if grep -q "forwarding" "$TRIAGE_LOG" && [[ -S "$SOCK" ]]; then up=1; break; fi
    kill -0 "$TRIAGE_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ $up -ne 1 ]]; then
    echo "---- triage log ----"; cat "$TRIAGE_LOG"; echo "--------------------"
    die "triage did not start (no 'forwarding' log line and console socket $SOCK within 15 s)"
fi
pass "triage starts with the console script and its socket ($(grep -m1 forwarding "$TRIAGE_LOG" | sed 's/.*forwarding: //'))"
echo "---- show policy web ----"; cli show policy web || true; echo "-------------------------"

# ---------------------------------------------------------------- web server
mkdir -p "$TMP/www"
TOKEN="triage-scrub-$P-$RANDOM$RANDOM"
echo "<html><body>clinic $TOKEN</body></html>" >"$TMP/www/index.html"
# Background processes are started with `ip netns exec` itself, never through in_in/in_out: a
# function would run in a subshell, $! would be that subshell (which ignores SIGINT), and killing
# it would orphan the process. ip netns exec execs its command, so $! is the process itself.
ip netns exec "$NS_IN" "$PY" -m http.server --bind "$SERVER" --directory "$TMP/www" 80 >"$TMP/http.log" 2>&1 &
BG_PIDS+=($!)
listening() {
    for _ in $(seq 50); do
        in_in ss -Hltn "sport = :80" | grep -qF "$SERVER" && return 0
        sleep 0.1
    done
    return 1
}
check "web server listening on $SERVER:80 (inside)" listening

# ---------------------------------------------------------------- helpers
# start_capture NS NAME MAX FILTER [IFACE]: tcpdump on IFACE (default eth0) of namespace NS (- for
# the root namespace) into $TMP/NAME.pcap (headers only, at most MAX packets: a scrubber that lets
# a flood through must not fill the disk); waits (bounded, 5 s) until it listens. Sets CAP_PID.
# -Z root: tcpdump would otherwise drop to its own user and could not write into the private temp
# dir. --immediate-mode: without it the last second of packets can stay in the kernel's ring.
# (On a root-namespace end, tcpdump sees only what triage receives there: see docs/lab.md.)
CAP_PID=""
start_capture() {
    local ns=$1 name=$2 max=$3 filter=$4 iface=${5:-eth0}
    local netns=(ip netns exec "$ns")
    [[ $ns == - ]] && netns=()
    "${netns[@]}" timeout 200 tcpdump -Z root -i "$iface" -n -U --immediate-mode -s 96 -B 16384 -c "$max" \
        -w "$TMP/$name.pcap" "$filter" >"$TMP/$name.tcpdump.log" 2>&1 &
    CAP_PID=$!
    BG_PIDS+=("$CAP_PID")
    for _ in $(seq 50); do
        grep -q "listening on" "$TMP/$name.tcpdump.log" && return 0
        sleep 0.1
    done
    cat "$TMP/$name.tcpdump.log"
    die "tcpdump on $iface in namespace $ns did not start within 5 s"
}
# stop_capture PID NAME: stop it; CAP_DROPS = the kernel's drop count of the capture (empty when
# tcpdump did not report one). Not in a $(...) subshell: only this shell can wait for the PID.
CAP_DROPS=""
stop_capture() {
    local pid=$1 name=$2
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    CAP_DROPS=$(awk '/dropped by kernel/ { print $1 }' "$TMP/$name.tcpdump.log" | tail -1)
}
# curl_series OUTFILE COUNT DEADLINE GAP [curl options]: COUNT sequential GETs of the inside page
# from the outside namespace, each bounded by --max-time 5, GAP seconds apart, the series by
# DEADLINE seconds. One line per attempt: "http_code time_connect time_total local_port".
curl_series() {
    local out=$1 n=$2 deadline=$3 gap=$4 i
    shift 4
    local t_end=$((SECONDS + deadline))
    : >"$out"
    for ((i = 0; i < n; i++)); do
        if ((SECONDS >= t_end)); then
            echo "  curl series stopped at its deadline of $deadline s after $i of $n requests"
            break
        fi
        in_out curl -s -o /dev/null --noproxy '*' --max-time 5 "$@" \
            -w '%{http_code} %{time_connect} %{time_total} %{local_port}\n' "http://$SERVER/" >>"$out" 2>/dev/null || true
        [[ $gap == 0 ]] || sleep "$gap"
    done
}
ok_count() { awk '$1 == 200' "$1" | wc -l; }
# port_stats ROLE: "rx missed tx" of triage's port since start.
port_stats() {
    cli show port stats "$1" | awk '/RX packets/ { rx = $3; missed = $7 } /TX packets/ { tx = $3 } END { print rx + 0, missed + 0, tx + 0 }'
}
# veth_rx DEV: frames the kernel delivered on root-namespace end DEV (all that triage's socket
# could have received there).
veth_rx() { cat "/sys/class/net/$1/statistics/rx_packets"; }
# worker_rx: inbound frames triage's workers received since start (show workers, summed).
worker_rx() { cli show workers | awk '$1 ~ /^[0-9]+$/ { n += $4 } END { print n + 0 }'; }
# pctl FILE COLUMN P: the P-th percentile (nearest rank) of a column of successful curls, in ms.
pctl() {
    awk -v c="$2" '$1 == 200 { print $c * 1000 }' "$1" | sort -n |
        awk -v p="$3" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.2f", v[i] }'
}
# hping_sent LOG: packets hping3 reported as transmitted.
hping_sent() { awk '/packets transmitted/ { print $1 }' "$1" | tail -1; }
# syns_seen PCAP FILTER: SYNs (without ACK) in a capture that match FILTER.
syns_seen() {
    tcpdump -n -r "$1" "tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0 and ($2)" 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- 1. first-connection delay
echo ""
echo "== 1. first connection from a fresh source (cookie round) vs authenticated connections"
start_capture "$NS_OUT" first-out 10000 "tcp port 80"
FIRST_OUT_CAP=$CAP_PID
start_capture "$NS_IN" first-in 10000 "tcp port 80"
FIRST_IN_CAP=$CAP_PID
: >"$TMP/first.txt"
: >"$TMP/later.txt"
for src in "$CLIENT" "${FRESH_CLIENTS[@]}"; do
    curl_series "$TMP/first-$src.txt" 1 10 0 --interface "$src"
    curl_series "$TMP/later-$src.txt" 4 25 0 --interface "$src"
    sed "s/\$/ $src/" "$TMP/first-$src.txt" >>"$TMP/first.txt"
    sed "s/\$/ $src/" "$TMP/later-$src.txt" >>"$TMP/later.txt"
done
sleep 0.3
stop_capture "$FIRST_OUT_CAP" first-out
stop_capture "$FIRST_IN_CAP" first-in
echo "  first connections (code time_connect time_total local_port source):"; sed 's/^/    /' "$TMP/first.txt"
nsrc=$((1 + ${#FRESH_CLIENTS[@]}))
check "every first connection from a fresh source returns 200 ($(ok_count "$TMP/first.txt")/$nsrc)" \
    test "$(ok_count "$TMP/first.txt")" -eq "$nsrc"
check "every later connection returns 200 ($(ok_count "$TMP/later.txt")/$((4 * nsrc)))" \
    test "$(ok_count "$TMP/later.txt")" -eq "$((4 * nsrc))"
# On the wire: the box answered each fresh source's first SYN itself; the server saw only the
# SYN the client's TCP resent after the cookie round (RST), so one SYN per first connection.
wire_ok=1
while read -r code _ _ lport src; do
    [[ $code == 200 ]] || continue
    o=$(syns_seen "$TMP/first-out.pcap" "src host $src and src port $lport")
    i=$(syns_seen "$TMP/first-in.pcap" "src host $src and src port $lport")
    echo "  first connection $src:$lport: SYNs sent by the client $o, SYNs reaching the server $i"
    [[ $o -ge 2 && $i -eq 1 ]] || wire_ok=0
done <"$TMP/first.txt"
check "first connections: the client sent its SYN twice (cookie round), the server saw it once" test "$wire_ok" -eq 1
first_port=$(awk 'NR == 1 { print $4 }' "$TMP/first.txt")
if [[ -n "$first_port" && "$first_port" != 0 ]]; then
    echo "  the wire, outside namespace, first connection of $CLIENT (port $first_port):"
    tcpdump -n -tt -r "$TMP/first-out.pcap" "host $CLIENT and port $first_port" 2>/dev/null | head -12 | sed 's/^/    /'
    echo "  the wire, inside namespace, same connection:"
    tcpdump -n -tt -r "$TMP/first-in.pcap" "host $CLIENT and port $first_port" 2>/dev/null | head -6 | sed 's/^/    /'
fi
FIRST_MED=$(pctl "$TMP/first.txt" 2 50)
FIRST_MAX=$(pctl "$TMP/first.txt" 2 100)
LATER_MED=$(pctl "$TMP/later.txt" 2 50)
LATER_MAX=$(pctl "$TMP/later.txt" 2 100)
echo "  time_connect, first connection (unauthenticated): median $FIRST_MED ms, max $FIRST_MAX ms ($nsrc sources)"
echo "  time_connect, later connections (authenticated):  median $LATER_MED ms, max $LATER_MAX ms ($((4 * nsrc)) connections)"
echo "---- show scrub ----"; cli show scrub || true; echo "--------------------"

# ---------------------------------------------------------------- 2. SYN flood
echo ""
echo "== 2. SYN flood (hping3 -S --flood --rand-source -p 80 $SERVER) with $SYN_CURLS curls"
# Inside: every SYN (for the spoofing check) and the client's own connection. Outside and on the
# root-namespace end of the outside link: the client's connection, for the wire report below.
SYN_ONLY="tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0"
CLIENT_FLOW="host $CLIENT and tcp port 80"
start_capture "$NS_IN" syn-in 50000 "($SYN_ONLY) or ($CLIENT_FLOW)"
SYN_CAP=$CAP_PID
start_capture "$NS_OUT" syn-out 50000 "$CLIENT_FLOW"
SYN_OUT_CAP=$CAP_PID
start_capture - syn-ifo 50000 "$CLIENT_FLOW" "$IF_OUT"
SYN_IFO_CAP=$CAP_PID
read -r s_rx0 s_miss0 s_tx0 < <(port_stats outside)
s_w0=$(worker_rx)
s_v0=$(veth_rx "$IF_OUT")
s_in0=$(in_in cat /sys/class/net/eth0/statistics/rx_packets)
s_t0=$(now)
ip netns exec "$NS_OUT" timeout "$SYN_FLOOD_MAX" hping3 -S --flood --rand-source -p 80 "$SERVER" >"$TMP/hping-syn.log" 2>&1 &
SYN_FLOOD=$!
BG_PIDS+=("$SYN_FLOOD")
sleep 2                       # let the flood reach full rate before the first curl
kill -0 "$SYN_FLOOD" 2>/dev/null || { cat "$TMP/hping-syn.log"; die "hping3 SYN flood did not start"; }
c_t0=$(now)
curl_series "$TMP/syn-curls.txt" "$SYN_CURLS" "$SYN_CURL_DEADLINE" 0
c_t1=$(now)
flood_alive=0
kill -0 "$SYN_FLOOD" 2>/dev/null && flood_alive=1
read -r s_rx1 s_miss1 s_tx1 < <(port_stats outside)
s_w1=$(worker_rx)
s_v1=$(veth_rx "$IF_OUT")
s_t1=$(now)
kill -INT "$SYN_FLOOD" 2>/dev/null || true
wait "$SYN_FLOOD" 2>/dev/null || true
sleep 0.5
s_in1=$(in_in cat /sys/class/net/eth0/statistics/rx_packets)
stop_capture "$SYN_CAP" syn-in
syn_cap_drops=$CAP_DROPS
stop_capture "$SYN_OUT_CAP" syn-out
stop_capture "$SYN_IFO_CAP" syn-ifo
echo "---- show scrub (after the SYN flood) ----"; cli show scrub || true; echo "-----------------------------------------"

check "the SYN flood ran during every curl (hping3 still running when the series ended)" test "$flood_alive" -eq 1
syn_ok=$(ok_count "$TMP/syn-curls.txt")
syn_ratio=$(calc "100 * $syn_ok / $SYN_CURLS")
check "curl under the SYN flood: $syn_ok/$SYN_CURLS returned 200 ($syn_ratio %, need >= 99 %)" \
    test $((syn_ok * 100)) -ge $((SYN_CURLS * 99))
awk '$1 != 200 { print "  failed curl: " $0 }' "$TMP/syn-curls.txt" | head -5
syn_sent=$(hping_sent "$TMP/hping-syn.log")
syn_secs=$(calc "$s_t1 - $s_t0")
syn_rx=$((s_w1 - s_w0))
check "the SYN flood was real: hping3 sent ${syn_sent:-?} packets (need >= 10000)" test "${syn_sent:-0}" -ge 10000
# The server's host saw SYNs from 198.18.0.1 only: not one spoofed SYN got through.
tcpdump -n -r "$TMP/syn-in.pcap" "$SYN_ONLY" 2>/dev/null | awk '{ a = $3; sub(/\.[0-9]+$/, "", a); print a }' | sort | uniq -c |
    sort -rn >"$TMP/syn-sources.txt"
echo "  SYNs seen by the server's host during the flood, by source:"; head -5 "$TMP/syn-sources.txt" | sed 's/^/    /'
others=$(awk -v c="$CLIENT" '$2 != c { n += $1 } END { print n + 0 }' "$TMP/syn-sources.txt")
from_client=$(awk -v c="$CLIENT" '$2 == c { n += $1 } END { print n + 0 }' "$TMP/syn-sources.txt")
check "no spoofed SYN reached the server's host ($others SYNs from other sources than $CLIENT, $from_client from it)" \
    test "$others" -eq 0
check "the inside capture lost nothing (tcpdump: ${syn_cap_drops:-?} dropped by kernel)" test "${syn_cap_drops:-1}" -eq 0
check "the inside capture saw the curls' SYNs ($from_client >= $syn_ok)" test "$from_client" -ge "$syn_ok"
SYN_PPS=$(calc "$syn_rx / $syn_secs" %.0f)
SYN_SENT_PPS=$(calc "${syn_sent:-0} / $syn_secs" %.0f)
SYN_TOTAL_MED=$(pctl "$TMP/syn-curls.txt" 3 50)
SYN_TOTAL_P99=$(pctl "$TMP/syn-curls.txt" 3 99)
SYN_TOTAL_MAX=$(pctl "$TMP/syn-curls.txt" 3 100)
SYN_CONN_MED=$(pctl "$TMP/syn-curls.txt" 2 50)
syn_veth=$((s_v1 - s_v0))
SYN_RING_LOSS=$(calc "($syn_veth > 0 ? 100 * ($syn_veth - $syn_rx) / $syn_veth : 0)" %.1f)
echo "  hping3 sent ${syn_sent:-?} SYNs in $syn_secs s ($SYN_SENT_PPS pps); triage's worker received $syn_rx ($SYN_PPS pps)"
echo "  the kernel delivered $syn_veth frames on $IF_OUT; $((syn_veth - syn_rx)) of them ($SYN_RING_LOSS %) never reached triage's" \
    "worker (af_packet RX ring full; DPDK's af_packet PMD counts these nowhere)"
echo "  triage's outside port: RX $((s_rx1 - s_rx0)), missed $((s_miss1 - s_miss0)), TX $((s_tx1 - s_tx0)) (cookie SYN-ACKs)"
echo "  the inside eth0 received $((s_in1 - s_in0)) frames during the flood"
echo "  curls: $syn_ok/$SYN_CURLS in $(calc "$c_t1 - $c_t0") s; time_connect median $SYN_CONN_MED ms;" \
    "time_total median $SYN_TOTAL_MED ms, p99 $SYN_TOTAL_P99 ms, max $SYN_TOTAL_MAX ms"
# The client's frames on the wire: sent (outside eth0), delivered on the root-namespace end (what
# triage's socket could see), and arrived at the server (inside eth0); the SYN-ACKs the client got
# that the server never sent are the box's cookies.
wire_report() {
    local f
    for f in syn-out syn-ifo syn-in; do
        tcpdump -n -S -r "$TMP/$f.pcap" "$CLIENT_FLOW" 2>/dev/null | cut -d' ' -f2- >"$TMP/$f.txt"
    done
    "$PY" - "$TMP/syn-out.txt" "$TMP/syn-ifo.txt" "$TMP/syn-in.txt" "$CLIENT" "$TMP/syn-curls.txt" <<'PYEOF'
import sys
from collections import Counter
out, ifo, ins = (open(p).read().splitlines() for p in sys.argv[1:4])
client, curls = sys.argv[4], sys.argv[5]
frm = lambda ls: [l for l in ls if l.split()[1].rsplit(".", 1)[0] == client]
to = lambda ls: [l for l in ls if l.split()[3].rsplit(".", 1)[0] == client]
syn = lambda l: "Flags [S]," in l
sent, seen, arrived = Counter(frm(out)), Counter(frm(ifo)), Counter(frm(ins))
lost = seen - arrived
cookies = Counter(l for l in to(out) if "Flags [S.]" in l) - Counter(l for l in to(ins) if "Flags [S.]" in l)
n = lambda c, f: sum(v for k, v in c.items() if f(k))
print(f"  wire, client {client} -> server: sent {sum(sent.values())}, on the outside link's root end "
      f"{sum(seen.values())}, at the server {sum(arrived.values())}")
print(f"  wire, lost between the root end and the server: SYNs {n(lost, syn)} of {n(seen, syn)}, "
      f"other segments {n(lost, lambda k: not syn(k))} of {n(seen, lambda k: not syn(k))}; "
      f"cookie SYN-ACKs the box sent the client {sum(cookies.values())}")
# A connection's first SYN (sent by curl itself) and its retransmissions (sent by the kernel's
# timer, a second apart) separately: they reach the af_packet ring at different moments.
left, tries = Counter(arrived), {}
for l in frm(ifo):
    if not syn(l):
        continue
    ok = left[l] > 0
    left[l] -= ok
    tries.setdefault(l.split()[1], []).append(ok)
first = [t[0] for t in tries.values()]
retx = [x for t in tries.values() for x in t[1:]]
print(f"  wire, SYNs lost: first SYN of a connection {first.count(False)} of {len(first)}, "
      f"retransmitted SYNs {retx.count(False)} of {len(retx)}")
for line in open(curls):
    f = line.split()
    if f[0] == "200":
        continue
    port = f[3] if len(f) > 3 and f[3] != "0" else None
    if port is None:
        print(f"  failed curl ({line.strip()}): no local port (never connected)")
        continue
    mine = lambda c: sum(v for k, v in c.items() if k.split()[1].endswith("." + port))
    print(f"  failed curl from port {port}: client sent {mine(sent)} segments, the root end saw {mine(seen)}, "
          f"the server got {mine(arrived)}")
PYEOF
}
wire_report || echo "  (wire report failed)"

# ---------------------------------------------------------------- 3. UDP flood
echo ""
echo "== 3. UDP flood (hping3 --udp --flood --rand-source -p $UDP_PORT $SERVER, $UDP_SECONDS s) under 'limit udp destination $UDP_PPS burst $UDP_BURST'"
if out=$(cli set policy web limit udp destination "$UDP_PPS" burst "$UDP_BURST" 2>&1); then
    pass "triage-cli: set policy web limit udp destination $UDP_PPS burst $UDP_BURST ${out:+($out)}"
else
    fail "triage-cli: set policy web limit udp destination $UDP_PPS burst $UDP_BURST: $out"
fi
cli show policy web | grep -i 'limit' | sed 's/^/  /' || true
check "the policy shows the UDP destination limit" bash -c "'$TRIAGE_CLI' -s '$SOCK' show policy web | grep -q 'udp destination'"
start_capture "$NS_IN" udp-in 200000 "udp dst port $UDP_PORT"
UDP_CAP=$CAP_PID
read -r u_rx0 u_miss0 _ < <(port_stats outside)
u_w0=$(worker_rx)
u_v0=$(veth_rx "$IF_OUT")
u_in0=$(in_in cat /sys/class/net/eth0/statistics/rx_packets)
u_t0=$(now)
# A fixed source port (-s 40000 -k): hping3 would otherwise step through every port, and the few
# packets from a reflector port (53, 123, ...) belong to that reflector's class, not to udp.
ip netns exec "$NS_OUT" timeout "$UDP_FLOOD_MAX" hping3 --udp --flood --rand-source -s 40000 -k -p "$UDP_PORT" "$SERVER" \
    >"$TMP/hping-udp.log" 2>&1 &
UDP_FLOOD=$!
BG_PIDS+=("$UDP_FLOOD")
sleep 0.5
curl_series "$TMP/udp-curls.txt" "$UDP_CURLS" $((UDP_FLOOD_MAX - 5)) 0.1
udp_alive=0
kill -0 "$UDP_FLOOD" 2>/dev/null && udp_alive=1
# The flood lasts UDP_SECONDS, or as long as the curls if they took longer (bounded above).
while kill -0 "$UDP_FLOOD" 2>/dev/null && [[ $(calc "$(now) - $u_t0 < $UDP_SECONDS" %d) == 1 ]]; do sleep 0.1; done
u_t1=$(now)
read -r u_rx1 u_miss1 _ < <(port_stats outside)
u_w1=$(worker_rx)
u_v1=$(veth_rx "$IF_OUT")
kill -INT "$UDP_FLOOD" 2>/dev/null || true
wait "$UDP_FLOOD" 2>/dev/null || true
sleep 1
u_in1=$(in_in cat /sys/class/net/eth0/statistics/rx_packets)
stop_capture "$UDP_CAP" udp-in
udp_cap_drops=$CAP_DROPS
echo "---- show scrub (after the UDP flood) ----"; cli show scrub || true; echo "-----------------------------------------"
echo "---- show drops ----"; cli show drops || true; echo "--------------------"

check "the UDP flood ran during every curl (hping3 still running when the series ended)" test "$udp_alive" -eq 1
udp_ok=$(ok_count "$TMP/udp-curls.txt")
check "curl under the UDP flood: $udp_ok/$UDP_CURLS returned 200 (need >= 99 %)" test $((udp_ok * 100)) -ge $((UDP_CURLS * 99))
awk '$1 != 200 { print "  failed curl: " $0 }' "$TMP/udp-curls.txt" | head -5
udp_sent=$(hping_sent "$TMP/hping-udp.log")
udp_secs=$(calc "$u_t1 - $u_t0")
udp_rx=$((u_w1 - u_w0))
# Frames of the flood that reached the inside, and the time span between the first and last of
# them (by the capture's clock): a token bucket of rate R and burst B admits at most
# B + R * span (+1) over any span. Slack: 1 % + 20 packets for the two clocks and rounding.
read -r udp_passed udp_span < <(tcpdump -n -tt -r "$TMP/udp-in.pcap" 2>/dev/null |
    awk 'NR == 1 { t0 = $1 } { t1 = $1; n++ } END { printf "%d %.3f\n", n, (n ? t1 - t0 : 0) }')
udp_bound=$(calc "($UDP_BURST + $UDP_PPS * $udp_span + 1) * 1.01 + 20" %.0f)
udp_wall_bound=$(calc "$UDP_BURST + $UDP_PPS * $udp_secs" %.0f)
check "the UDP flood was real: hping3 sent ${udp_sent:-?} packets (need >= 10 x the limit, $((10 * UDP_PPS * UDP_SECONDS)))" \
    test "${udp_sent:-0}" -ge $((10 * UDP_PPS * UDP_SECONDS))
check "the inside capture lost nothing (tcpdump: ${udp_cap_drops:-?} dropped by kernel)" test "${udp_cap_drops:-1}" -eq 0
check "UDP to $SERVER:$UDP_PORT that reached the inside: $udp_passed <= $udp_bound ($UDP_BURST burst + $UDP_PPS/s x $udp_span s, +1 % +20)" \
    test "$udp_passed" -le "$udp_bound"
check "the limit lets the allowed share through: $udp_passed >= half of $UDP_PPS/s x $udp_span s" \
    test "$udp_passed" -ge "$(calc "$UDP_PPS * $udp_span / 2" %.0f)"
UDP_PPS_RX=$(calc "$udp_rx / $udp_secs" %.0f)
echo "  hping3 sent ${udp_sent:-?} UDP packets in $udp_secs s ($(calc "${udp_sent:-0} / $udp_secs" %.0f) pps); triage's worker received $udp_rx ($UDP_PPS_RX pps)"
udp_veth=$((u_v1 - u_v0))
echo "  the kernel delivered $udp_veth frames on $IF_OUT; $((udp_veth - udp_rx))" \
    "($(calc "($udp_veth > 0 ? 100 * ($udp_veth - $udp_rx) / $udp_veth : 0)" %.1f) %) never reached triage's worker (af_packet RX ring full)"
echo "  triage's outside port: RX $((u_rx1 - u_rx0)), missed $((u_miss1 - u_miss0))"
echo "  reached the inside: $udp_passed over $udp_span s (limit: $UDP_BURST + $UDP_PPS/s x span = $(calc "$UDP_BURST + $UDP_PPS * $udp_span" %.0f);" \
    "over the flood's wall time $udp_wall_bound); inside eth0 rx frames $((u_in1 - u_in0)) in all"
echo "  curls: $udp_ok/$UDP_CURLS; time_total median $(pctl "$TMP/udp-curls.txt" 3 50) ms, max $(pctl "$TMP/udp-curls.txt" 3 100) ms"

# ---------------------------------------------------------------- stop triage
kill -INT "$TRIAGE_PID"
stopped=0
for _ in $(seq 100); do
    kill -0 "$TRIAGE_PID" 2>/dev/null || { stopped=1; break; }
    sleep 0.1
done
triage_rc=0
if [[ $stopped -eq 1 ]]; then
    wait "$TRIAGE_PID" || triage_rc=$?
    TRIAGE_PID=""
    check "triage exits within 10 s of SIGINT with status 0 (was $triage_rc)" test "$triage_rc" -eq 0
else
    kill -KILL "$TRIAGE_PID" 2>/dev/null || true
    wait "$TRIAGE_PID" 2>/dev/null || true
    TRIAGE_PID=""
    fail "triage exits within 10 s of SIGINT (killed with SIGKILL)"
fi
echo "---- triage output (last 60 lines) ----"
tail -n 60 "$TRIAGE_LOG"
echo "---------------------------------------"

# ---------------------------------------------------------------- counters
if [[ -s "$STATS" ]]; then
    stats_rc=0
    "$PY" - "$STATS" "$udp_passed" <<'EOF' || stats_rc=$?
import json, sys
s = json.load(open(sys.argv[1]))
udp_passed = int(sys.argv[2])
d, sc = s["drops"], s["scrub"]
fails = 0
def chk(what, ok):
    global fails
    print(("PASS: " if ok else "FAIL: ") + what)
    fails += not ok
chk(f"stats: drops.syn_cookie > 0 ({d.get('syn_cookie')})", d.get("syn_cookie", 0) > 0)
chk(f"stats: scrub.syn_cookies_sent > 0 ({sc.get('syn_cookies_sent')})", sc.get("syn_cookies_sent", 0) > 0)
chk(f"stats: scrub.sources_authenticated >= 1 ({sc.get('sources_authenticated')})",
    sc.get("sources_authenticated", 0) >= 1)
chk(f"stats: drops.rate_destination ({d.get('rate_destination')}) is large: more than 10 x the UDP that passed ({udp_passed})",
    d.get("rate_destination", 0) > 10 * udp_passed)
print(f"  drops: " + ", ".join(f"{k} {v}" for k, v in d.items() if v))
print(f"  scrub: " + ", ".join(f"{k} {v}" for k, v in sc.items() if v))
print(f"  traffic classes: " + ", ".join(f"{k} {v['packets']}/{v['dropped']} limited"
                                        for k, v in s.get("traffic_classes", {}).items() if v["packets"]))
for p in s.get("ports", []):
    print(f"  port {p['role']}: rx {p['rx_packets']} tx {p['tx_packets']} missed {p['rx_missed']} "
          f"errors {p['rx_errors']}/{p['tx_errors']} nombuf {p['rx_nombuf']}")
sys.exit(min(fails, 100))
EOF
    [[ $stats_rc -eq 0 ]] || echo "FAIL: counter checks ($stats_rc failed or the checker broke)"
    FAILS=$((FAILS + stats_rc))
else
    fail "triage wrote --stats-json $STATS"
fi

# ---------------------------------------------------------------- figures
echo ""
echo "FIGURES: first connection (unauthenticated source, cookie round): time_connect median $FIRST_MED ms (max $FIRST_MAX, $nsrc sources)"
echo "FIGURES: later connections (authenticated source): time_connect median $LATER_MED ms (max $LATER_MAX)"
echo "FIGURES: SYN flood: hping3 sent ${syn_sent:-?} in $syn_secs s; triage received $SYN_PPS pps (hping3 sent $SYN_SENT_PPS pps, $SYN_RING_LOSS % lost in the af_packet ring); curl $syn_ok/$SYN_CURLS = $syn_ratio % returned 200; time_total median $SYN_TOTAL_MED ms, p99 $SYN_TOTAL_P99 ms"
echo "FIGURES: UDP flood: triage received $UDP_PPS_RX pps for $udp_secs s; $udp_passed reached the server over $udp_span s (bucket allows $(calc "$UDP_BURST + $UDP_PPS * $udp_span" %.0f)); curl $udp_ok/$UDP_CURLS returned 200"

# ---------------------------------------------------------------- verdict
echo ""
if [[ $FAILS -eq 0 ]]; then
    echo "PASS: scrub lab: all $PASSES checks passed in $((SECONDS - T0)) s"
    exit 0
fi
echo "FAIL: scrub lab: $FAILS check(s) failed in $((SECONDS - T0)) s (see FAIL lines above)"
exit 1
