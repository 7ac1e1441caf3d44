#!/usr/bin/python3
"""Bad scenario files and bad `triage-gen build` command lines.

Every bad scenario line must make both `triage-gen check` and `triage-gen
build` exit 2 with exactly one line on stderr (nothing on stdout) that names
FILE:LINE and the offending word; a missing file is named. A build with a bad
scenario must fail before it creates any output (an existing file of that
name stays as it was), and a build whose outputs cannot all be opened must
not leave the others behind. Command-line mistakes (no outputs, an unknown
option, ...) exit 2 with one line, and no output file appears.

Exit 0 pass, 1 fail.
"""
import os
import shutil
import subprocess
import sys
import tempfile

GEN = sys.argv[1]
work = tempfile.mkdtemp(prefix="gen-bad-")
failures = 0


def check(ok, what, detail=""):
    global failures
    if not ok:
        failures += 1
    print(("PASS" if ok else "FAIL"), what + (f" -- {detail}" if detail and not ok else ""), flush=True)
    return ok


# A good scenario; each case inserts one bad line at a 1-based line number
# (the lines from there on move down one).
GOOD = [
    "# a scenario that parses",                                                             # 1
    'name bad-scenarios',                                                                   # 2
    "duration 2s",                                                                          # 3
    "",                                                                                     # 4
    "stream patients web-clients src 198.19.0.0/16 dst 198.51.100.10 port 443 rate 10",     # 5
    "stream lookups dns-clients src 198.51.100.32/28 dst 192.0.2.53 rate 5   # clinic PCs",  # 6
    "stream synflood syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k start 500ms duration 1s",  # 7
    "expect legit delivered >= 99%",                                                        # 8
]
S = "src 198.18.0.0/16 dst 198.51.100.10"

# (label, bad line, where it goes, words the message must contain)
CASES = [
    ("unknown kind", f"stream x syn-flod {S} rate 1k", 6, ["syn-flod"]),
    ("unknown key", f"stream x udp-flood {S} rate 1k colour red", 9, ["colour"]),
    ("missing rate", f"stream x udp-flood {S} port 53", 5, ["'rate'", "x"]),
    ("src/dst family mismatch (v4 -> v6)", "stream x syn-flood src 198.18.0.0/16 dst 2001:db8::1 rate 5", 8,
     ["x", "src", "dst", "IPv6"]),
    ("src/dst family mismatch (v6 -> v4)", "stream x syn-flood src 2001:db8::/64 dst 198.51.100.1 rate 5", 2,
     ["x", "src", "dst", "IPv4"]),
    ("rate 0", f"stream x udp-flood {S} rate 0", 9, ["'0'", "rate"]),
    ("negative rate", f"stream x udp-flood {S} rate -5", 9, ["'-5'"]),
    ("rate with a bad unit", f"stream x udp-flood {S} rate 5q", 9, ["'5q'"]),
    ("bad start time", f"stream x udp-flood {S} rate 1k start 5x", 7, ["'5x'", "start"]),
    ("bad duration statement", "duration 2h", 4, ["'2h'", "duration"]),
    ("time without a unit", f"stream x udp-flood {S} rate 1k duration 3", 9, ["'3'", "duration"]),
    ("stream duration 0", f"stream x udp-flood {S} rate 1k duration 0s", 9, ["duration", "more than 0"]),
    ("reflection without vector", f"stream x reflection {S} rate 1k", 6, ["x", "vector"]),
    ("unknown vector", f"stream x reflection vector chargen {S} rate 1k", 6, ["chargen"]),
    ("vector on a non-reflection", f"stream x udp-flood vector dns {S} rate 1k", 6, ["x", "'vector'"]),
    ("unknown expect target", "expect nosuch dropped >= 90%", 9, ["nosuch"]),
    ("bad expect percentage", "expect attack dropped >= 190%", 9, ["'190%'"]),
    ("start after the end", f"stream late udp-flood {S} rate 1k start 3s", 8, ["late", "3s", "2s"]),
    ("start at the end", f"stream late udp-flood {S} rate 1k start 2s", 8, ["late", "2s"]),
    ("duplicate stream", f"stream synflood udp-flood {S} rate 5", 9, ["synflood", "twice"]),
    ("key given twice", f"stream x udp-flood {S} rate 5 rate 6", 9, ["'rate'", "twice"]),
    ("key without a value", f"stream x udp-flood {S} rate", 9, ["'rate'"]),
    ("unknown statement", "speed 10", 3, ["'speed'"]),
    ("reserved stream name", f"stream legit udp-flood {S} rate 5", 9, ["'legit'"]),
    ("bad stream name", f"stream x/y udp-flood {S} rate 5", 9, ["'x/y'"]),
    ("too many sources", "stream x udp-flood src 198.18.0.0/30 dst 198.51.100.1 rate 5 sources 3", 9,
     ["x", "3 sources"]),
    ("bad address block", "stream x udp-flood src 198.18.0.0/33 dst 198.51.100.1 rate 5", 9, ["src"]),
    ("port 0", f"stream x udp-flood {S} rate 5 port 0", 9, ["'0'", "port"]),
    ("port on a ping stream", f"stream x ping-clients {S} rate 5 port 7", 9, ["'port'", "ping-clients"]),
    ("size too small", f"stream x udp-flood {S} rate 5 size 20", 9, ["'20'", "size"]),
    ("size on a session kind", f"stream x web-clients {S} rate 5 size 500", 9, ["'size'"]),
    ("path without a slash", f"stream x http-get-flood {S} rate 5 path index.html", 9, ["'index.html'"]),
    ("path on a flood", f"stream x syn-flood {S} rate 5 path /a", 9, ["'path'"]),
    ("unterminated quote", 'description "half a description', 2, ["quote"]),
    ("seed not a number", "seed abc", 3, ["seed"]),
    # detection checks (issue 6)
    ("incidents with a bad operator", "expect incidents > 1", 9, ["'>'", "=="]),
    ("incidents not a count", "expect incidents == one", 9, ["'one'", "incidents"]),
    ("mitigations not a whole number", "expect mitigations <= 1.5", 9, ["'1.5'", "mitigations"]),
    ("detected on a legit stream", "expect patients detected <= 100ms", 9, ["patients", "web-clients", "detected"]),
    ("detected on legit", "expect legit detected <= 100ms", 9, ["legit", "detected"]),
    ("detected without a unit", "expect synflood detected <= 100", 9, ["'100'"]),
    ("detected with ==", "expect synflood detected == 100ms", 9, ["'=='"]),
    ("detected on an unknown stream", "expect nosuch detected <= 100ms", 9, ["nosuch"]),
    ("classified as an unknown vector", "expect synflood classified syn-flod", 9, ["'syn-flod'", "vector"]),
    ("classified without a vector", "expect synflood classified", 9, ["classified", "VECTOR"]),
    ("classified confidence above 1", "expect synflood classified syn-flood confidence >= 1.5", 9,
     ["'1.5'", "confidence"]),
    ("classified with a wrong word", "expect synflood classified syn-flood certainty >= 0.8", 9,
     ["'certainty'", "confidence"]),
    ("classified on attack", "expect attack classified syn-flood", 9, ["'attack'", "classified"]),
    ("reserved name incidents", f"stream incidents udp-flood {S} rate 5", 9, ["'incidents'", "reserved"]),
]


def run(args):
    return subprocess.run([GEN, *args], capture_output=True, text=True, timeout=60)


def one_line(res):
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    return len(lines) == 1 and not res.stdout.strip(), (lines[0] if lines else "")


def expect_error(label, args, words, outputs=()):
    res = run(args)
    single, msg = one_line(res)
    missing = [w for w in words if w not in msg]
    check(res.returncode == 2 and single and not missing,
          f"{label}: {' '.join(a if not a.startswith(work) else os.path.basename(a) for a in args)} -> rc 2, "
          f"one line naming {', '.join(words)}",
          f"rc={res.returncode}, stdout={res.stdout.strip()[:200]!r}, stderr={res.stderr.strip()[:300]!r}"
          + (f", missing {missing}" if missing else ""))
    print(f"      {msg}")
    for o in outputs:
        check(not os.path.exists(o), f"{label}: no {os.path.basename(o)} was created")
    return res


# the good scenario must pass, or the cases below prove nothing
good = os.path.join(work, "good.scn")
with open(good, "w") as f:
    f.write("\n".join(GOOD) + "\n")
res = run(["check", good])
check(res.returncode == 0 and "patients" in res.stdout, "the base scenario checks clean", res.stderr.strip())
res = run(["build", good, "-o", os.path.join(work, "good.pcap")])
check(res.returncode == 0 and os.path.getsize(os.path.join(work, "good.pcap")) > 24, "the base scenario builds",
      res.stderr.strip())

for k, (label, line, at, words) in enumerate(CASES):
    text = GOOD[: at - 1] + [line] + GOOD[at - 1 :]
    path = os.path.join(work, f"bad{k:02}.scn")
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    want = [f"{path}:{at}:"] + words
    expect_error(label + " (check)", ["check", path], want)
    outs = [os.path.join(work, f"bad{k:02}.{n}.pcap") for n in ("all", "out", "in")]
    expect_error(label + " (build)", ["build", path, "-o", outs[0], "--outside", outs[1], "--inside", outs[2]],
                 want, outs)

# a bad scenario leaves an existing output as it was
keep = os.path.join(work, "keep.pcap")
with open(keep, "wb") as f:
    f.write(b"do not truncate me")
bad = os.path.join(work, "bad00.scn")
run(["build", bad, "-o", keep])
with open(keep, "rb") as f:
    check(f.read() == b"do not truncate me", "a bad scenario leaves an existing -o file untouched")

# a missing file is named
missing = os.path.join(work, "no-such-scenario.scn")
expect_error("missing file (check)", ["check", missing], [missing])
expect_error("missing file (build)", ["build", missing, "-o", os.path.join(work, "m.pcap")], [missing],
             [os.path.join(work, "m.pcap")])

# a directory is not a scenario: name it and say it cannot be read (not "no streams")
expect_error("a directory as the scenario", ["check", work], [work, "read"])

# errors found at the end of the file point at most one line past it
eof = os.path.join(work, "nostreams.scn")
with open(eof, "w") as f:
    f.write("name nothing\nduration 2s\n")  # 2 lines
res = run(["check", eof])
check(res.returncode == 2 and "no streams" in res.stderr, "a file without streams is refused", res.stderr.strip())
check(f"{eof}:3:" in res.stderr or f"{eof}:2:" in res.stderr,
      "an end-of-file error names line 2 or 3 of a 2-line file", res.stderr.strip())

# command lines (each with its own output name, so one wrongly created file
# does not taint the next case)
def o(n):
    return os.path.join(work, f"cl-{n}.pcap")


expect_error("build without outputs", ["build", good], ["-o"])
expect_error("build with an unknown option", ["build", good, "--bogus", "-o", o(1)], ["'--bogus'"], [o(1)])
expect_error("build without a scenario", ["build", "-o", o(2)], ["scenario"], [o(2)])
expect_error("build with two scenarios", ["build", good, good, "-o", o(3)], ["one scenario"], [o(3)])
expect_error("-o without a file name", ["build", good, "-o"], ["-o"])
expect_error("--start-time not a number", ["build", good, "-o", o(4), "--start-time", "x"], ["'x'"], [o(4)])
# The pcap record's seconds field is 32 bits and the builder works in
# nanoseconds in 64 bits: a start time that is negative, past 2^32 - 1 or
# overflowing cannot be written as given and must be refused, not wrapped.
expect_error("--start-time negative", ["build", good, "-o", o(5), "--start-time", "-1"], ["'-1'"], [o(5)])
expect_error("--start-time past 32-bit pcap seconds", ["build", good, "-o", o(6), "--start-time", "4294967296"],
             ["'4294967296'"], [o(6)])
expect_error("--start-time overflowing", ["build", good, "-o", o(7), "--start-time", "99999999999999999999"],
             ["'99999999999999999999'"], [o(7)])
expect_error("check without a file", ["check"], ["scenario"])
res = run(["bogus"])  # an unknown command: one line naming it, then the usage
first = (res.stderr.splitlines() or [""])[0]
check(res.returncode == 2 and "'bogus'" in first, "unknown command: rc 2, the first line names it",
      f"rc={res.returncode} {first!r}")

# an output that cannot be opened: nothing is left behind
a = os.path.join(work, "partial-all.pcap")
expect_error("an output in a missing directory", ["build", good, "-o", a, "--inside",
                                                  os.path.join(work, "no-dir", "in.pcap")], ["no-dir"], [a])

shutil.rmtree(work, ignore_errors=True)
print(f"{failures} failed")
sys.exit(1 if failures else 0)
