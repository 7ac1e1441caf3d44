#!/usr/bin/python3
"""Paced replay accuracy of `triage-gen replay`, on a memif pair inside one
process (port 0 = memif server, port 1 = memif client on the same socket:
what port 0 sends, port 1 receives). The only timed test of the generator:
it checks achieved average rates over whole runs, with stated tolerances.

  1. --scenario at --pps 20k for --duration 3: pps within 2% of 20000,
     sent_packets within 2% of 60000, port 1 received every frame sent,
     the per-stream classes add up to port 1's total, and each stream's count
     equals its count among the first sent_packets frames of the scenario's
     outside side (built separately with `triage-gen build --outside`)
  2. the same at --mbps 50: bit rate within 2% of 50e6
  3. --pcap of a built capture at --speed 2: the run takes half the
     capture's span (within 5%), every frame sent once and received
  4. the same with --loop 3: 3 x the frames sent and received, in 3 x half
     the span (within 5%)

Exit 0 pass, 1 fail, 77 skipped (this DPDK has no memif PMD: said loudly).
"""
import collections
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

GEN = sys.argv[1]
PID = os.getpid()
work = tempfile.mkdtemp(prefix="gen-rr-")
failures = 0
prefixes = []


def check(ok, what, detail=""):
    global failures
    if not ok:
        failures += 1
    print(("PASS" if ok else "FAIL"), what + (f" -- {detail}" if detail else ""), flush=True)
    return ok


def within(got, want, tol):
    return abs(got - want) <= tol * want


SCENARIO = """\
# tests/gen/replay_rate.py: more outside frames than 3 s at 20k pps send
duration 4s
stream patients web-clients src 198.19.0.0/16 dst 198.51.100.10 rate 60
stream monitor ping-clients src 198.19.200.1 dst 198.51.100.10 rate 5
stream synflood syn-flood src 198.18.0.0/16 dst 198.51.100.10 port 443 rate 15k
stream dnsrefl reflection vector dns src 203.0.113.0/24 dst 198.51.100.0/24 rate 4k start 500ms
stream udp6 udp-flood src 2001:db8:46::/64 dst 2001:db8:100::/120 rate 1k size 200
"""
STREAMS = ["patients", "monitor", "synflood", "dnsrefl", "udp6"]

CAPTURE = """\
# tests/gen/replay_rate.py: a capture to replay by its own timing (2 s)
duration 2s
stream patients web-clients src 198.19.0.0/16 dst 198.51.100.10 rate 30
stream synflood syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 3k
stream udp udp-flood src 2001:db8:43::/64 dst 2001:db8:100::53 port 9999 rate 1k start 250ms duration 1s
"""


def read_pcap(path):
    """[(t_ns, frame)] of a nanosecond pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B23C4D, hex(magic)
    out, off = [], 24
    while off < len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off : off + 16])
        out.append((sec * 1_000_000_000 + frac, data[off + 16 : off + 16 + incl]))
        off += 16 + incl
    return out


def tag(frame):
    """Stream index from the IPv4 identification / IPv6 flow label, or None."""
    et = struct.unpack(">H", frame[12:14])[0]
    if et == 0x0800:
        ident = struct.unpack(">H", frame[18:20])[0]
        return ident & 0xFF if ident & 0xFF00 == 0xA500 else None
    if et == 0x86DD:
        fl = struct.unpack(">I", frame[14:18])[0] & 0xFFFFF
        return fl & 0xFF if fl & 0xFFF00 == 0xA5000 else None
    return None


def replay(label, opts):
    prefix = f"gen_rr_{PID}_{len(prefixes)}"
    prefixes.append(prefix)
    sock = os.path.join(work, f"r{len(prefixes)}.sock")
    js = os.path.join(work, f"{len(prefixes)}.json")
    args = [GEN, "replay", "-l", "0", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", prefix,
            "--log-level=lib.eal:error",
            "--vdev", f"net_memif0,role=server,socket={sock},id=0",
            "--vdev", f"net_memif1,role=client,socket={sock},id=0",
            "--", *opts, "--json", js, "--quiet"]
    print(f"== {label}: triage-gen replay ... -- {' '.join(opts)}", flush=True)
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
    print(res.stdout, end="", flush=True)
    if res.returncode != 0 and 'failed to parse device "net_memif' in res.stderr:
        print(f"SKIP: this DPDK has no memif PMD (net_memif), which the test needs:\n{res.stderr}", flush=True)
        cleanup()
        sys.exit(77)
    if not check(res.returncode == 0, f"{label}: replay exits 0", res.stderr.strip()[-600:] if res.returncode else ""):
        return None
    with open(js) as f:
        j = json.load(f)
    return j


def port(j, n):
    return next((p for p in j["ports"] if p["port"] == n), None)


def common(label, j, classes_expected=None):
    p1 = port(j, 1)
    if not check(p1 is not None, f"{label}: the JSON has port 1"):
        return
    check(p1["packets"] == j["sent_packets"] and p1["bytes"] == j["sent_bytes"],
          f"{label}: port 1 received every frame sent",
          f"{p1['packets']} frames / {p1['bytes']} bytes received, {j['sent_packets']} / {j['sent_bytes']} sent")
    cls = p1["classes"]
    check(sum(c["packets"] for c in cls.values()) == p1["packets"]
          and sum(c["bytes"] for c in cls.values()) == p1["bytes"],
          f"{label}: the classes add up to port 1's total",
          f"{sum(c['packets'] for c in cls.values())} vs {p1['packets']}")
    p0 = port(j, 0)
    check(p0 is not None and p0["packets"] == 0, f"{label}: nothing came back on the sending port 0",
          f"{p0}")
    check(j["no_mbuf"] == 0, f"{label}: no frame lost for want of an mbuf", f"{j['no_mbuf']}")
    if classes_expected is not None:
        got = {k: v["packets"] for k, v in cls.items()}
        check(got == classes_expected, f"{label}: per-stream counts are those of the first frames sent",
              f"got {got}, want {classes_expected}")


def cleanup():
    for p in prefixes:
        shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def main():
    scn = os.path.join(work, "rate.scn")
    with open(scn, "w") as f:
        f.write(SCENARIO)
    outside = os.path.join(work, "rate-outside.pcap")
    res = subprocess.run([GEN, "build", scn, "--outside", outside], capture_output=True, text=True, timeout=120)
    if not check(res.returncode == 0, "the rate scenario builds", res.stderr.strip()):
        return
    out_frames = read_pcap(outside)
    print(f"rate scenario: {len(out_frames)} outside frames")

    def first_counts(n):
        c = collections.Counter(tag(fr) for _, fr in out_frames[:n])
        return {(STREAMS[k] if k is not None and k < len(STREAMS) else str(k)): v for k, v in c.items()}

    # 1. --pps 20k for 3 s
    j = replay("pps", ["--scenario", scn, "--pps", "20k", "--duration", "3"])
    if j:
        print(f"FIGURE: --pps 20k: {j['sent_packets']} frames in {j['seconds']:.4f} s = {j['pps']:.1f} pps "
              f"({(j['pps'] / 20000 - 1) * 100:+.3f}% of the target)", flush=True)
        check(within(j["pps"], 20000, 0.02), "pps: achieved pps within 2% of 20000", f"{j['pps']:.1f}")
        check(within(j["sent_packets"], 60000, 0.02), "pps: sent_packets within 2% of 60000", f"{j['sent_packets']}")
        check(j["sent_packets"] <= len(out_frames), "pps: the scenario had frames to spare")
        common("pps", j, first_counts(j["sent_packets"]))

    # 2. --mbps 50 for 3 s
    j = replay("mbps", ["--scenario", scn, "--mbps", "50", "--duration", "3"])
    if j:
        print(f"FIGURE: --mbps 50: {j['sent_bytes']} bytes ({j['sent_packets']} frames) in {j['seconds']:.4f} s = "
              f"{j['bps'] / 1e6:.3f} Mbit/s ({(j['bps'] / 50e6 - 1) * 100:+.3f}% of the target)", flush=True)
        check(within(j["bps"], 50e6, 0.02), "mbps: achieved bit rate within 2% of 50e6", f"{j['bps']:.0f}")
        check(within(j["seconds"], 3, 0.02), "mbps: sent for the 3 s asked", f"{j['seconds']:.4f}")
        check(j["sent_packets"] <= len(out_frames), "mbps: the scenario had frames to spare")
        common("mbps", j, first_counts(j["sent_packets"]))

    # 3./4. a capture at --speed 2, once and three times
    cscn = os.path.join(work, "capture.scn")
    with open(cscn, "w") as f:
        f.write(CAPTURE)
    cap = os.path.join(work, "capture.pcap")
    res = subprocess.run([GEN, "build", cscn, "-o", cap], capture_output=True, text=True, timeout=120)
    if not check(res.returncode == 0, "the capture builds", res.stderr.strip()):
        return
    frames = read_pcap(cap)
    span = (frames[-1][0] - frames[0][0]) / 1e9
    total_bytes = sum(len(fr) for _, fr in frames)
    print(f"capture: {len(frames)} frames, {total_bytes} bytes over {span:.6f} s")

    j = replay("speed", ["--pcap", cap, "--speed", "2"])
    if j:
        print(f"FIGURE: --speed 2, one pass: {j['seconds']:.4f} s for a {span:.4f} s capture "
              f"({(j['seconds'] / (span / 2) - 1) * 100:+.3f}% of half its span)", flush=True)
        check(within(j["seconds"], span / 2, 0.05), "speed: the run takes half the capture's span (5%)",
              f"{j['seconds']:.4f} s, want {span / 2:.4f}")
        check(j["sent_packets"] == len(frames) and j["sent_bytes"] == total_bytes,
              "speed: every frame of the capture sent once", f"{j['sent_packets']} of {len(frames)}")
        check(j["loops"] == 1, "speed: one loop reported", f"{j['loops']}")
        common("speed", j)

    j = replay("loop", ["--pcap", cap, "--speed", "2", "--loop", "3"])
    if j:
        print(f"FIGURE: --speed 2 --loop 3: {j['sent_packets']} frames in {j['seconds']:.4f} s "
              f"({(j['seconds'] / (3 * span / 2) - 1) * 100:+.3f}% of 3 x half the span)", flush=True)
        check(j["sent_packets"] == 3 * len(frames) and j["sent_bytes"] == 3 * total_bytes,
              "loop: 3 x the capture's frames sent", f"{j['sent_packets']} vs {3 * len(frames)}")
        check(j["loops"] == 3, "loop: three loops reported", f"{j['loops']}")
        check(within(j["seconds"], 3 * span / 2, 0.05), "loop: the run takes 3 x half the span (5%)",
              f"{j['seconds']:.4f} s, want {3 * span / 2:.4f}")
        common("loop", j)


try:
    main()
finally:
    cleanup()
print(f"{failures} failed")
sys.exit(1 if failures else 0)
