#!/usr/bin/python3
"""Detection drills (issue 6) through the real triage, one after another:
each vector of config/scenarios/detect-*.scn must be detected within 100 ms
of its first packet and classified with its vector, a legitimate surge must
open no incident, and a pulsing SYN flood must stay one incident with one
mitigation switch. Each drill must say PASS and exit 0; its JSON report is
checked against the incident log too. Two negative drills must FAIL (exit
1, the failing expect named): the legitimate surge with an absurdly low tcp
floor (it then opens a tcp-flood incident), and a pulsing flood whose pauses
are longer than the hold-down (the mitigation then flaps)."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

gen, triage, root = sys.argv[1], sys.argv[2], sys.argv[3]
scn = os.path.join(root, "config", "scenarios")
work = tempfile.mkdtemp(prefix="triage-detect-test-")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def drill(name, scenario, extra=()):
    out = os.path.join(work, name + ".json")
    cmd = [gen, "drill", os.path.join(scn, scenario), "--triage", triage, "--json", out, "--workdir",
           os.path.join(work, name), *extra]
    print("$ " + " ".join(cmd), flush=True)
    t = time.time()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    print(res.stdout)
    print(res.stderr, file=sys.stderr)
    print(f"({name}: {time.time() - t:.1f} s)")
    report = json.load(open(out)) if os.path.exists(out) else None
    return res, report


def verdict(res):
    return next((l for l in res.stdout.splitlines() if l.startswith("VERDICT:")), "")


# drill name -> (scenario, the vectors its one incident must hold)
VECTORS = {
    "syn": ("detect-syn.scn", {"syn-flood": "synflood"}),
    "ack": ("detect-ack.scn", {"tcp-flood": "ackflood"}),
    "udp": ("detect-udp.scn", {"udp-flood": "udpflood"}),
    "icmp": ("detect-icmp.scn", {"icmp-flood": "icmpflood"}),
    "fragment": ("detect-fragment.scn", {"fragment-flood": "fragflood"}),
    "reflection": ("detect-dns-reflection.scn", {"dns-reflection": "dnsrefl", "ntp-reflection": "ntprefl"}),
    # Three vectors at once: each is measured against the traffic that is
    # not itself anomalous, so none dilutes the others.
    "multi": ("detect-multi.scn", {"udp-flood": "udpflood", "icmp-flood": "icmpflood",
                                   "fragment-flood": "fragflood"}),
}
for name, (scenario, vectors) in VECTORS.items():
    res, rep = drill(name, scenario)
    check(res.returncode == 0 and verdict(res).startswith("VERDICT: PASS"),
          f"{name}: exit 0 and a PASS verdict (got {res.returncode}: {verdict(res)!r})")
    if not rep:
        check(False, f"{name}: a JSON report")
        continue
    check(rep["pass"] is True and all(c["pass"] for c in rep["checks"]), f"{name}: every check passed")
    check(any(c["check"].startswith("incidents == 1") for c in rep["checks"]), f"{name}: checks the incident count")
    inc = rep["incidents"]
    check(len(inc) == 1, f"{name}: one incident ({len(inc)})")
    if not inc:
        continue
    got = {v["vector"]: v["confidence"] for v in inc[0]["vectors"]}
    check(set(got) == set(vectors), f"{name}: vectors {sorted(got)} are {sorted(vectors)}")
    det = {d["vector"]: d for d in inc[0]["drill"]["detections"]}
    for vec, stream in vectors.items():
        d = det.get(vec, {})
        check(got.get(vec, 0) >= 0.9, f"{name}: {vec} confidence {got.get(vec)} >= 0.9")
        check(d.get("stream") == stream and d.get("delay_ms") is not None and 0 < d["delay_ms"] <= 100,
              f"{name}: {vec} detected 0-100 ms after {stream} began ({d})")
    check(len(inc[0]["drill"]["mitigation_on_s"]) == 1 and len(inc[0]["drill"]["mitigation_off_s"]) == 1,
          f"{name}: mitigation switched on once and off once ({inc[0]['drill']})")
    # The drill's figures agree with triage's own log.
    lines = [json.loads(l) for l in open(os.path.join(work, name, "incidents.jsonl"))]
    check([l["event"] for l in lines] == ["open", "close"], f"{name}: triage logged the opening and the close")

# Auto mitigation drops every vector: the TCP floods by SYN authentication,
# the others by the policy's mitigating per-host limits (detect.cli).
rep = json.load(open(os.path.join(work, "syn.json")))
f = next(s for s in rep["streams"] if s["name"] == "synflood")
check(f["dropped_pct"] >= 95 and "syn_cookie" in " ".join(f["mechanisms"]), "syn: dropped by SYN cookies once mitigated")
rep = json.load(open(os.path.join(work, "ack.json")))
f = next(s for s in rep["streams"] if s["name"] == "ackflood")
check(f["dropped_pct"] >= 95 and "tcp_unauthenticated" in " ".join(f["mechanisms"]),
      "ack: dropped as unauthenticated TCP once mitigated")

for name, stream, floor in (("udp", "udpflood", 80), ("icmp", "icmpflood", 85), ("fragment", "fragflood", 75),
                            ("reflection", "dnsrefl", 70), ("reflection", "ntprefl", 80), ("multi", "udpflood", 70),
                            ("multi", "icmpflood", 70), ("multi", "fragflood", 70)):
    rep = json.load(open(os.path.join(work, name + ".json")))
    f = next(s for s in rep["streams"] if s["name"] == stream)
    check(f["dropped_pct"] >= floor and "rate limit on the" in " ".join(f["mechanisms"]),
          f"{name}: {stream} cut by the mitigating per-host limit ({f['dropped_pct']:.1f}% dropped, "
          f"{', '.join(f['mechanisms'])})")

# A legitimate surge: no incident, everything delivered.
res, rep = drill("surge", "legit-surge.scn")
check(res.returncode == 0 and verdict(res).startswith("VERDICT: PASS"), f"legit surge: PASS ({verdict(res)!r})")
if rep:
    check(rep["incidents"] == [], "legit surge: no incident")
    s = next(s for s in rep["streams"] if s["name"] == "surge")
    check(s["sessions"] >= 750 and s["completed"] == s["sessions"],
          f"legit surge: every surge session completed ({s['completed']}/{s['sessions']})")

# The clinic's own lookups at 2,500/s, above the reflection floor: answers it
# asked for count as UDP, so no incident.
res, rep = drill("lookups", "legit-lookups.scn")
check(res.returncode == 0 and verdict(res).startswith("VERDICT: PASS"), f"legit lookups: PASS ({verdict(res)!r})")
if rep:
    check(rep["incidents"] == [], "legit lookups: no incident")

# Pulses shorter than the hold-down: one incident, one switch, later pulses dropped from their first packet.
res, rep = drill("pulsing", "pulsing.scn")
check(res.returncode == 0 and verdict(res).startswith("VERDICT: PASS"), f"pulsing: PASS ({verdict(res)!r})")
if rep:
    check(len(rep["incidents"]) == 1 and rep["incidents"][0]["drill"]["mitigation_on_s"].__len__() == 1,
          "pulsing: one incident, mitigation on once")
    for p in ("pulse2", "pulse3"):
        s = next(s for s in rep["streams"] if s["name"] == p)
        check(s["delivered_packets"] == 0 and s["first_drop_ms"] == 0, f"pulsing: {p} dropped from its first packet")


def variant(src, dst, fn):
    with open(os.path.join(scn, src)) as a, open(dst, "w") as b:
        for line in a:
            b.write(fn(line))


# Negative 1: the surge with a tcp floor far below its established traffic must open an incident and FAIL.
low = os.path.join(work, "low-floor.cli")
variant("detect.cli", low, lambda l: re.sub(r"^set policy web detect tcp \d+", "set policy web detect tcp 200", l))
res, rep = drill("surge-low-floor", "legit-surge.scn", ["--config", low])
v = verdict(res)
check(res.returncode == 1 and v.startswith("VERDICT: FAIL") and "incidents == 0" in v,
      f"surge with tcp floor 200: exit 1, FAIL naming incidents == 0 ({res.returncode}: {v!r})")
if rep:
    check(len(rep["incidents"]) >= 1 and any(x["vector"] == "tcp-flood" for x in rep["incidents"][0]["vectors"]),
          "surge with tcp floor 200: the surge became a tcp-flood incident")

# Negative 3: without a reflection limit in the policy (everyday or
# mitigating) the box does not tell solicited answers apart, so the same
# lookups read as a DNS reflection flood and the drill must FAIL.
nolim = os.path.join(work, "no-reflection-limit.cli")
variant("detect.cli", nolim, lambda l: "" if l.startswith("set policy web limit reflection") else l)
res, rep = drill("lookups-no-limit", "legit-lookups.scn", ["--config", nolim])
v = verdict(res)
check(res.returncode == 1 and "incidents == 0" in v,
      f"lookups without a reflection limit: exit 1, FAIL naming incidents == 0 ({res.returncode}: {v!r})")
if rep:
    check(any(x["vector"] == "dns-reflection" for i in rep["incidents"] for x in i["vectors"]),
          "lookups without a reflection limit: read as dns-reflection")

# Negative 2: pauses longer than the hold-down (pulses of 0.5 s every 2 s, hold-down 1 s): the incident
# closes in each pause and the mitigation flaps, so the same expects must FAIL.
short = os.path.join(work, "short-hold.cli")
variant("detect.cli", short, lambda l: "set detect hold-down 1s\n" if l.startswith("set detect hold-down") else l)
short_scn = os.path.join(work, "pulsing-short.scn")
variant("pulsing.scn", short_scn,
        lambda l: ("config " + short + "\n" if l.startswith("config ")
                   else re.sub(r"duration 1s$", "duration 500ms", l) if l.startswith("stream pulse") else l))
res, rep = drill("pulsing-short-hold", short_scn)
v = verdict(res)
check(res.returncode == 1 and "mitigations == 1" in v and "incidents == 1" in v,
      f"pulses with pauses longer than the hold-down: exit 1, FAIL naming incidents and mitigations "
      f"({res.returncode}: {v!r})")
if rep:
    check(len(rep["incidents"]) == 3, f"pauses longer than the hold-down: an incident per pulse ({len(rep['incidents'])})")

if failures:
    sys.exit(f"{len(failures)} check(s) failed: " + "; ".join(failures))
print("detection drill test passed")
