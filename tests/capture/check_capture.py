#!/usr/bin/python3
"""Packet capture through a real triage (a triage-gen drill on memif ports):

1. the incident capture: the portal-auto drill's SYN flood opens an incident,
   whose pcapng file tshark reads without complaint; it holds sampled frames
   toward the target only, from before the incident opened (the always-on
   ring) through the attack, cut after the transport header (no payloads),
   with nanosecond wall-clock timestamps around the incident's and a
   comment per frame saying what triage did; the incident JSON and the
   Markdown report name it with the same packet count.
2. a manual capture started by the boot script with a filter and a packet
   limit: exactly that many frames, every one matching the filter, header
   only, and triage logs that it stopped at the limit.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

gen, triage, root = sys.argv[1], sys.argv[2], sys.argv[3]
if not shutil.which("tshark"):
    print("SKIP: tshark is not installed (./setup.sh test installs it)")
    sys.exit(77)
scenario = os.path.join(root, "config", "scenarios", "portal-auto.scn")
work = tempfile.mkdtemp(prefix="triage-capture-test-")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def tshark(path, *fields, filt=None):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    if filt:
        cmd += ["-Y", filt]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    err = "\n".join(l for l in res.stderr.splitlines() if "Running as user" not in l and l.strip())
    return res.returncode, err, [l.split("|") for l in res.stdout.splitlines() if l]


# The manual capture rides on the drill's config: the portal-auto script
# plus a capture the boot script starts.
manual = os.path.join(work, "manual.pcapng")
cli = os.path.join(work, "portal-capture.cli")
with open(os.path.join(root, "config", "scenarios", "portal-auto.cli")) as f:
    text = f.read()
with open(cli, "w") as f:
    f.write(text + f"\ncapture start {manual} match dst=198.51.100.10,tcp,port=443,in packets 500\n")

# portal-auto, with half of the flood from one /24: the incident's top
# source prefixes must name it.
scn = os.path.join(work, "portal-capture.scn")
with open(scenario) as f:
    text = f.read()
flood = "stream synflood syn-flood src 198.18.0.0/16 dst 198.51.100.10 port 443 rate 20k start 2s duration 3s"
assert flood in text, "portal-auto.scn changed: update this test"
text = text.replace(flood, flood.replace("rate 20k", "rate 10k") + "\n" +
                    "stream heavy syn-flood src 203.0.113.0/24 dst 198.51.100.10 port 443 rate 10k start 2s duration 3s")
with open(scn, "w") as f:
    f.write(text)
wd = os.path.join(work, "drill")
cmd = [gen, "drill", scn, "--triage", triage, "--config", cli, "--workdir", wd, "--quiet"]
print("$ " + " ".join(cmd), flush=True)
res = subprocess.run(cmd, capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL)
print(res.stdout[-3000:])
print(res.stderr[-2000:], file=sys.stderr)
check(res.returncode == 0, f"drill passes (exit {res.returncode})")

# ---- 1. the incident capture
events = [json.loads(l) for l in open(os.path.join(wd, "incidents.jsonl"))] if os.path.exists(
    os.path.join(wd, "incidents.jsonl")) else []
opened = [e for e in events if e["event"] == "open"]
closed = [e for e in events if e["event"] == "close"]
check(len(opened) == 1 and len(closed) == 1, f"one incident opened and closed ({len(opened)}, {len(closed)})")
pcap = os.path.join(wd, "incident-1.pcapng")
check(os.path.exists(pcap), "incident-1.pcapng written")
if opened and closed and os.path.exists(pcap):
    check(opened[0]["capture"] == pcap and closed[0]["capture"] == pcap, "the incident JSON names the capture file")
    rc, err, rows = tshark(pcap, "frame.time_epoch", "frame.len", "frame.cap_len", "ip.dst", "ip.proto",
                           "tcp.hdr_len", "frame.comment", "tcp.flags.syn", "tcp.flags.ack")
    check(rc == 0 and not err, f"tshark reads it cleanly (exit {rc}{', ' + err if err else ''})")
    check(len(rows) > 100, f"it holds sampled frames ({len(rows)})")
    check(closed[0]["capture_packets"] == len(rows),
          f"the close record counts them ({closed[0]['capture_packets']} vs tshark {len(rows)})")
    check(all(r[3] == "198.51.100.10" for r in rows), "every frame is toward the incident's target")
    # Header only: each frame stops after its TCP header.
    cut = [r for r in rows if r[4] == "6" and int(r[2]) != 14 + 20 + int(r[5])]
    check(not cut, f"every frame is cut after its TCP header ({len(cut)} are not)")
    check(any(int(r[1]) > int(r[2]) for r in rows), "frames with payload were captured shorter than they were")

    def epoch(iso):
        return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()

    start, end = epoch(opened[0]["start"]), epoch(closed[0]["end"])
    times = [float(r[0]) for r in rows]
    before = [t for t in times if t < start]
    check(len(before) > 0, f"{len(before)} frames from before the incident opened (the always-on ring)")
    check(min(times) > start - 30 and max(times) < end + 5,
          f"timestamps are wall clock around the incident ({min(times) - start:+.2f} s to {max(times) - end:+.2f} s)")
    comments = [r[6] for r in rows]
    check(all(c.startswith("inbound to ehr-portal: ") for c in comments), "every frame says what triage did")
    cookie = [r for r in rows if r[6].endswith("dropped (syn_cookie)")]
    check(len(cookie) > 50 and all(r[7] == "1" and r[8] == "0" for r in cookie),
          f"the flood's SYNs are there, marked dropped (syn_cookie) ({len(cookie)})")
    check(any(c.endswith(": forwarded") for c in comments), "forwarded patient frames are there too")
    # Top source prefixes: the /24 that sent half the flood comes first,
    # with about half the packets; the spoofed /16 is spread over 256 /24s.
    top = closed[0].get("top_sources", [])
    print("top sources:", ", ".join(f"{t['prefix']} {t['packets']}±{t['error']} ({t['share']:.1%})" for t in top[:4]))
    check(len(top) > 0 and top[0]["prefix"] == "203.0.113.0/24", "the heavy /24 is the top source prefix")
    if top:
        check(0.3 <= top[0]["share"] <= 0.7, f"with about half the packets toward the target ({top[0]['share']:.1%})")
        check(all(t["packets"] - t["error"] <= top[0]["packets"] for t in top[1:]) and
              all(t["packets"] <= top[0]["packets"] / 5 for t in top[1:]),
              "every other prefix is far smaller")
        check(all(t["error"] <= t["packets"] for t in top), "error bounds are within the counts")
    # Drops by mechanism: the flood's SYNs went to cookies, and the
    # mechanisms add up to the incident's drops.
    by = closed[0].get("dropped_by", {})
    check(by.get("syn_cookie", 0) > 10000 and sum(by.values()) == closed[0]["dropped"],
          f"the incident's drops by mechanism add up ({by}, {closed[0]['dropped']} dropped)")
    md = open(os.path.join(wd, "incident-1.md")).read() if os.path.exists(os.path.join(wd, "incident-1.md")) else ""
    check(pcap in md and f"({len(rows)} packets)" in md, "the Markdown report names the file and its count")
    check("## Dropped, by mechanism" in md and "| syn_cookie | " in md, "the report lists drops by mechanism")

# ---- 2. the manual capture
check(os.path.exists(manual), "the manual capture file exists")
if os.path.exists(manual):
    rc, err, rows = tshark(manual, "ip.dst", "tcp.dstport", "frame.cap_len", "tcp.hdr_len", "frame.comment",
                           "frame.interface_id")
    check(rc == 0 and not err, f"tshark reads the manual capture cleanly (exit {rc})")
    check(len(rows) == 500, f"the packet limit holds: 500 frames (got {len(rows)})")
    check(all(r[0] == "198.51.100.10" and r[1] == "443" for r in rows), "every frame matches the filter")
    check(all(int(r[2]) == 14 + 20 + int(r[3]) for r in rows), "headers only")
    check(all(r[4].startswith("inbound") for r in rows), "the frames are marked inbound")
    check(all(r[5] == "0" for r in rows), "all on the outside port's interface")
log = open(os.path.join(wd, "triage.log")).read() if os.path.exists(os.path.join(wd, "triage.log")) else ""
check("capture stopped (packet count reached): 500 packets" in log, "triage logged the capture's end at its limit")

if failures:
    print(f"\n{len(failures)} check(s) failed; files kept in {work}")
    sys.exit(1)
shutil.rmtree(work, ignore_errors=True)
print("\nall capture checks passed")
