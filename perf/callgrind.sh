#!/usr/bin/env bash
# Deterministic per-packet cost of triage's worker: instructions counted by
# valgrind's callgrind (repeatable whatever else the machine is doing, unlike
# Mpps on a shared VM). Pushes a finite pcap of 64-byte frames through triage
# with --exit-on-eof and prints instructions per packet for the whole worker
# thread and for triage's own code (parser + pipeline, without the PMDs).
#   perf/callgrind.sh [TRIAGE] [FRAMES] [SCRIPT] [KIND]
#     (default build/app/triage/triage, 204800, no script, mix; SCRIPT is a
#     console script triage loads with -f, KIND the traffic gen_pcap.py
#     writes: e.g. perf/scrub_scripts/synflood.cli synflood)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TRIAGE=${1:-$here/../build/app/triage/triage}
FRAMES=${2:-204800}
SCRIPT=${3:-}
KIND=${4:-mix}
extra=()
if [ -n "$SCRIPT" ]; then
    [ -r "$SCRIPT" ] || { echo "no console script $SCRIPT" >&2; exit 2; }
    extra=(-f "$(realpath "$SCRIPT")")
fi
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d /tmp/triage-cg.XXXXXX)
prefix=cg_$$
trap 'rm -rf "/var/run/dpdk/$prefix"; [ -n "${CALLGRIND_KEEP:-}" ] || rm -rf "$work"' EXIT
# 1024 distinct frames repeated: the same mix e2e.sh sends.
/usr/bin/python3 "$here/gen_pcap.py" --kind "$KIND" --size 64 --count 1024 "$work/base.pcap" >/dev/null
/usr/bin/python3 - "$work/base.pcap" "$work/in.pcap" "$FRAMES" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
recs, off = [], 24
while off < len(d):
    caplen = struct.unpack_from("<I", d, off + 8)[0]
    recs.append(d[off:off + 16 + caplen]); off += 16 + caplen
with open(sys.argv[2], "wb") as f:
    f.write(d[:24])
    for i in range(int(sys.argv[3])):
        f.write(recs[i % len(recs)])
PY
/usr/bin/python3 -c "import struct,sys; open(sys.argv[1],'wb').write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))" "$work/empty.pcap"
# --fair-sched: without it valgrind's thread lock can starve the control
# thread behind the busy-polling worker, and --exit-on-eof never fires.
valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --callgrind-out-file="$work/cg" \
    "$TRIAGE" -l 0,1 --no-pci --no-huge -m 512 --file-prefix "$prefix" --log-level=lib.eal:error \
    --vdev "net_pcap0,rx_pcap=$work/in.pcap,tx_pcap=/dev/null" \
    --vdev "net_pcap1,rx_pcap=$work/empty.pcap,tx_pcap=/dev/null" \
    -- --exit-on-eof --stats-interval 0 --no-summary --stats-json "$work/stats.json" "${extra[@]}" >"$work/log" 2>&1 \
    || { echo "triage failed under valgrind:"; tail -20 "$work/log"; exit 1; }
# The worker is the thread whose profile contains the poll loop.
worker=$(grep -l "Worker::poll" "$work"/cg-* | head -1)
total=$(grep -E '^totals:' "$worker" | awk '{print $2}')
# Self cost of every function of ours (DPDK inline helpers inlined into them
# included); the PMDs' own functions are not ours.
own=$(callgrind_annotate "$worker" 2>/dev/null | awk '/triage::/ && !/=>/ && $1 ~ /^[0-9,]+$/ {gsub(",","",$1); s+=$1} END {print s+0}')
rx=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['inbound']['rx'])" "$work/stats.json")
[ "$rx" = "$FRAMES" ] || { echo "expected $FRAMES frames forwarded, stats say $rx" >&2; exit 1; }
awk -v k="$KIND${SCRIPT:+, triage -f $SCRIPT}" -v t="$total" -v o="$own" -v n="$rx" 'BEGIN {
  printf "frames            %d (64 B, %s)\n", n, k
  printf "worker thread     %.0f instructions/frame (includes net_pcap RX and TX to /dev/null)\n", t / n
  printf "triage own code   %.0f instructions/frame (parser + scrub pipeline)\n", o / n }'
