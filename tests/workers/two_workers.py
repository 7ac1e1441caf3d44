#!/usr/bin/python3
"""Two workers, two queue pairs per port: both directions of every flow must be
handled by the same worker.

Each worker transmits on its own TX queue, and net_pcap writes one file per TX
queue, so the queue a frame leaves by names the worker that handled it. The
inputs are deliberately crossed: a flow's inbound frames arrive on one RX queue
and its outbound frames on the other, so without symmetric distribution the two
directions would land on different workers.
"""
import argparse
import json
import shutil
import os
import subprocess
import sys
import tempfile

from scapy.all import IP, IPv6, TCP, UDP, Ether, ARP, rdpcap, wrpcap  # noqa: E402

OUT_MAC, IN_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
FRAMES_PER_DIRECTION = 40


def flows():
    """(client outside, server inside, proto) tuples in the test ranges."""
    for i in range(48):
        yield (f"198.18.{i // 200}.{i % 200 + 10}", f"198.51.100.{i % 50 + 1}", "v4")
    for i in range(16):
        yield (f"2001:db8:1::{i + 10:x}", f"2001:db8:2::{i % 5 + 1:x}", "v6")


def frames(cli, srv, fam, n, inbound):
    ip = IP if fam == "v4" else IPv6
    src, dst = (cli, srv) if inbound else (srv, cli)
    smac, dmac = (OUT_MAC, IN_MAC) if inbound else (IN_MAC, OUT_MAC)
    sport, dport = (40000 + n, 443) if inbound else (443, 40000 + n)
    flags = "S" if inbound else "SA"
    out = []
    # Enough frames that the hand-off rings (1024 slots) must fill and wait:
    # --exit-on-eof runs are lossless, so none may be dropped as steer_full.
    for k in range(FRAMES_PER_DIRECTION):
        p = Ether(src=smac, dst=dmac) / ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags if k == 0 else "A", seq=1000 + k)
        out.append(p)
    return out


def key(pkt):
    l3 = pkt[IP] if IP in pkt else pkt[IPv6]
    return tuple(sorted((l3.src, l3.dst)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--triage", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="triage-2w-")
    rx = {(p, q): [] for p in (0, 1) for q in (0, 1)}
    for n, (cli, srv, fam) in enumerate(flows()):
        rx[(0, n % 2)] += frames(cli, srv, fam, n, True)
        rx[(1, (n + 1) % 2)] += frames(cli, srv, fam, n, False)
    # Non-IP frames are not steered; they must still pass.
    rx[(0, 0)].append(Ether(src=OUT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.18.0.1", pdst="198.18.0.2"))
    for i, (k, pkts) in enumerate(sorted(rx.items())):
        for j, p in enumerate(pkts):
            p.time = 1700000000 + i + j / 1000
        wrpcap(f"{work}/rx-p{k[0]}-q{k[1]}.pcap", pkts)
    vdevs = []
    for p in (0, 1):
        vdevs += ["--vdev", f"net_pcap{p}," + ",".join(
            [f"rx_pcap={work}/rx-p{p}-q{q}.pcap" for q in (0, 1)] +
            [f"tx_pcap={work}/tx-p{p}-q{q}.pcap" for q in (0, 1)])]
    cmd = [args.triage, "--lcores", "0@0,1@1,2@1", "--no-pci", "--no-huge", "-m", "256",
           "--file-prefix", f"twoworkers_{os.getpid()}", "--log-level=lib.eal:error", *vdevs,
           "--", "--exit-on-eof", "--stats-interval", "0", "--stats-json", f"{work}/stats.json"]
    print("+", " ".join(cmd))
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        print("FAIL: triage did not stop by itself within 90 s")
        return 1
    finally:
        # The EAL leaves its runtime directory behind for secondary processes.
        shutil.rmtree(f"/var/run/dpdk/twoworkers_{os.getpid()}", ignore_errors=True)
    print(res.stdout, res.stderr)
    if res.returncode != 0:
        print(f"FAIL: triage exited with {res.returncode}")
        return 1
    stats = json.load(open(f"{work}/stats.json"))

    failures = []
    seen = {}  # flow key -> {worker: set(directions)}
    total_out = 0
    for p in (0, 1):
        for q in (0, 1):
            for pkt in rdpcap(f"{work}/tx-p{p}-q{q}.pcap"):
                total_out += 1
                if IP not in pkt and IPv6 not in pkt:
                    continue
                # Leaving by port 1 (inside) means it was inbound.
                seen.setdefault(key(pkt), {}).setdefault(q, set()).add("in" if p == 1 else "out")
    total_in = sum(len(v) for v in rx.values())
    if total_out != total_in:
        failures.append(f"{total_in} frames sent but {total_out} came out")
    nflows = len(list(flows()))
    if len(seen) != nflows:
        failures.append(f"{nflows} flows sent but {len(seen)} seen in the output")
    per_worker = {0: 0, 1: 0}
    for k, workers in sorted(seen.items()):
        if len(workers) != 1:
            failures.append(f"flow {k[0]} <-> {k[1]} was handled by workers {sorted(workers)}")
            continue
        (w, dirs), = workers.items()
        per_worker[w] += 1
        if dirs != {"in", "out"}:
            failures.append(f"flow {k[0]} <-> {k[1]}: only directions {sorted(dirs)} came out")
    print(f"flows per worker: {per_worker}")
    if min(per_worker.values()) == 0:
        failures.append(f"one worker handled no flow at all: {per_worker}")
    ws = stats["workers"]
    if len(ws) != 2:
        failures.append(f"expected 2 workers in the stats, got {len(ws)}")
    if sum(w["steered_out"] for w in ws) == 0:
        failures.append("no frame was handed between workers although the inputs were crossed")
    if sum(w["steered_in"] for w in ws) != sum(w["steered_out"] for w in ws):
        failures.append("steered_in and steered_out do not balance")
    dropped = {k: v for k, v in stats["drops"].items() if v}
    if dropped:
        failures.append(f"frames dropped in a lossless replay: {dropped}")
    for d in ("inbound", "outbound"):
        if stats[d]["rx"] != stats[d]["forwarded"]:
            failures.append(f"{d}: rx {stats[d]['rx']} != forwarded {stats[d]['forwarded']}")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"PASS: {nflows} flows, both directions of each on one worker; "
              f"{sum(w['steered_out'] for w in ws)} frames handed over")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
