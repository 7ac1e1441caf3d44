#!/usr/bin/python3
"""What a monitoring stack reads from a running triage: the demo mix through
the real binary (no --exit-on-eof: it keeps running, as in production), then
/metrics over HTTP (promtool lint, prometheus_client parse, values equal to
the --stats-json written at exit), the /triage/* DPDK telemetry commands via
dpdk-telemetry.py, the log file, and refused --metrics values.

Exit 77 (meson: skipped) only when promtool or prometheus_client is missing,
after every other check has passed."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

triage, demo = sys.argv[1], sys.argv[2]
pid = os.getpid()
prefix = f"metrics_{pid}"
work = tempfile.mkdtemp(prefix="triage-metrics-")
failures = []
skipped = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def pcap_records(path):
    n = 0
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        while hdr := f.read(16):
            f.seek(struct.unpack(endian + "IIII", hdr)[2], 1)
            n += 1
    return n


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eal(file_prefix):
    return ["-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--file-prefix", file_prefix,
            "--log-level=lib.eal:error",
            "--vdev", f"net_pcap0,rx_pcap={demo}/outside.pcap,tx_pcap={work}/o.pcap",
            "--vdev", f"net_pcap1,rx_pcap={demo}/inside.pcap,tx_pcap={work}/i.pcap"]


def get(url, timeout=5):
    """(status, content-type, body); status 0 when nothing listens yet."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return 0, None, ""


def samples(text):
    """{(sample name, frozenset(labels)): value} via the official parser."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            if key in out:
                failures.append(f"duplicate sample {key}")
            out[key] = s.value
    return out


def value(text, name, **labels):
    m = re.search(r"^" + re.escape(name) + (r"\{" + ",".join(f'{k}="{re.escape(v)}"' for k, v in labels.items())
                                             + r"\}" if labels else "") + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


n_out, n_in = pcap_records(f"{demo}/outside.pcap"), pcap_records(f"{demo}/inside.pcap")
port = free_port()
url = f"http://127.0.0.1:{port}"
log_file = f"{work}/triage.log"
cmd = [triage, *eal(prefix), "--", "--metrics", f"127.0.0.1:{port}", "--stats-interval", "0.5",
       "--stats-json", f"{work}/s.json", "--log-file", log_file]
print(" ".join(cmd))
out_f, err_f = open(f"{work}/stdout", "w+"), open(f"{work}/stderr", "w+")
proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f)
try:
    # 1. Wait until every frame of both pcaps went through (bounded).
    text, deadline = "", time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        status, ctype, body = get(url + "/metrics")
        if status == 200:
            text = body
            rx = [value(body, "triage_port_packets_total", port=p, direction="rx") for p in ("outside", "inside")]
            got = [value(body, "triage_received_packets_total", direction=d) for d in ("inbound", "outbound")]
            fwd = [value(body, "triage_forwarded_packets_total", direction=d) for d in ("inbound", "outbound")]
            dropped = sum(float(v) for v in re.findall(r"^triage_dropped_packets_total\{.*\} (\S+)$", body, re.M))
            if rx == [n_out, n_in] and got == [n_out, n_in] and fwd[0] + fwd[1] + dropped == n_out + n_in:
                break
        time.sleep(0.2)
    else:
        sys.exit(f"FAIL: triage did not forward the demo mix within 30 s (exit {proc.poll()}); last scrape:\n{text}")
    # A scrape 0.6 s later (two refreshes) must agree: nothing left in flight.
    time.sleep(0.6)
    status, ctype, text = get(url + "/metrics")
    check(status == 200, f"GET /metrics -> {status}")
    check(ctype == "text/plain; version=0.0.4; charset=utf-8", f"Content-Type {ctype}")
    check(value(text, "triage_port_packets_total", port="outside", direction="rx") == n_out,
          f"outside rx = {n_out} records of outside.pcap")
    with open(f"{work}/metrics.txt", "w") as f:
        f.write(text)

    status, ctype, body = get(url + "/")
    check(status == 200 and 'href="/metrics"' in body, f"GET / -> {status}, links /metrics")
    status, _, _ = get(url + "/nope")
    check(status == 404, f"GET /nope -> {status}")

    # 2. promtool's linter.
    if shutil.which("promtool"):
        res = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        check(res.returncode == 0 and not (res.stdout + res.stderr).strip(),
              f"promtool check metrics: rc {res.returncode} {(res.stdout + res.stderr).strip()}")
    else:
        print("SKIP: promtool not found; the metrics were not linted")
        skipped.append("promtool")

    # 3. DPDK telemetry, read the way an operator would.
    cmds = ["/triage/info", "/triage/drops", "/triage/classes", "/triage/workers", "/triage/ports",
            "/triage/policy", "/triage/traffic", "/help,/triage/drops", "/"]
    res = subprocess.run([sys.executable, "/usr/bin/dpdk-telemetry.py", "-f", prefix],
                         input="\n".join(cmds) + "\n", capture_output=True, text=True, timeout=30)
    tel = {}
    for line in res.stdout.splitlines():
        try:
            tel.update(json.loads(line))
        except json.JSONDecodeError:
            pass
    check(res.returncode == 0 and all(c.split(",")[0] in tel for c in cmds),
          f"dpdk-telemetry.py -f {prefix} answered {sorted(tel)} (rc {res.returncode}) {res.stderr.strip()}")
    check(all(c in tel.get("/", []) for c in cmds[:7]), "every /triage/* command is listed by '/'")
    check(bool(tel.get("/help", {}).get("/triage/drops")), "/triage/drops has a help string")

    # 4. Stop it; --stats-json is what the box counted.
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"triage stopped on SIGINT with status {rc}")
    s = json.load(open(f"{work}/s.json"))

    # 5. The values, through the official parser.
    try:
        got = samples(text)
    except ImportError:
        print("SKIP: prometheus_client not importable; values compared by regex only")
        skipped.append("prometheus_client")
        got = None
    want = {("triage_build_info", frozenset({("version", s["version"])})): 1,
            ("triage_workers", frozenset()): len(s["workers"]),
            ("triage_outbound_malformed_packets_total", frozenset()): s["outbound"]["malformed_seen"],
            ("triage_policy_version", frozenset()): s["policy"]["version"],
            ("triage_policy_publications_total", frozenset()): s["policy"]["publications"],
            ("triage_protected_prefixes", frozenset()): s["policy"]["protected_prefixes"],
            ("triage_list_entries", frozenset({("list", "allow")})): s["policy"]["allow_entries"],
            ("triage_list_entries", frozenset({("list", "deny")})): s["policy"]["deny_entries"]}
    for p in s["ports"]:
        for d in ("rx", "tx"):
            L = frozenset({("port", p["role"]), ("direction", d)})
            want[("triage_port_packets_total", L)] = p[f"{d}_packets"]
            want[("triage_port_bytes_total", L)] = p[f"{d}_bytes"]
            want[("triage_port_errors_total", L)] = p[f"{d}_errors"]
        want[("triage_port_missed_packets_total", frozenset({("port", p["role"])}))] = p["rx_missed"]
        want[("triage_port_rx_nombuf_total", frozenset({("port", p["role"])}))] = p["rx_nombuf"]
    for d in ("inbound", "outbound"):
        L = frozenset({("direction", d)})
        want[("triage_received_packets_total", L)] = s[d]["rx"]
        want[("triage_received_bytes_total", L)] = s[d]["rx_bytes"]
        want[("triage_forwarded_packets_total", L)] = s[d]["forwarded"]
        want[("triage_forwarded_bytes_total", L)] = s[d]["forwarded_bytes"]
    for reason, n in s["drops"].items():
        want[("triage_dropped_packets_total", frozenset({("reason", reason)}))] = n
    for cls, n in s["inbound_classes"].items():
        want[("triage_inbound_packets_total", frozenset({("class", cls)}))] = n
    for i, w in enumerate(s["workers"]):
        for d in ("inbound", "outbound"):
            want[("triage_worker_received_packets_total", frozenset({("worker", str(i)), ("direction", d)}))] = \
                w[f"{d}_rx"]
    if got is not None:
        bad = [f"{n}{dict(L)}: metrics {got.get((n, L))}, stats-json {v}" for (n, L), v in want.items()
               if got.get((n, L)) != v]
        check(not bad, f"{len(want)} samples equal --stats-json" + "".join("\n    " + b for b in bad))
        check(got.get(("triage_uptime_seconds", frozenset()), 0) > 0, "triage_uptime_seconds > 0")
        names = {l.split()[0] for l in subprocess.run([triage, "--", "--list-drop-reasons"], capture_output=True,
                                                      text=True, timeout=30).stdout.splitlines()}
        labelled = {dict(L)["reason"] for (n, L) in got if n == "triage_dropped_packets_total"}
        check(labelled == names, f"every drop reason ({len(names)}) is a label of triage_dropped_packets_total")
    # The demo mix's known figures (tests/demo/check_demo.py), so a shared bug
    # in the JSON and the metrics cannot hide.
    check(s["inbound"]["rx"] == 1609 and s["inbound"]["forwarded"] == 1534 and s["outbound"]["forwarded"] == 1504,
          "demo figures 1609 in / 1534 forwarded inbound, 1504 forwarded outbound")

    # 6. DPDK telemetry agrees with the metrics.
    drops = tel.get("/triage/drops") or {}
    check(drops == s["drops"], "/triage/drops equals the drops of --stats-json (every reason)")
    info = tel.get("/triage/info") or {}
    check(info.get("version") == s["version"] and info.get("workers") == len(s["workers"])
          and info.get("policy_version") == s["policy"]["version"] and info.get("dropped") == sum(s["drops"].values()),
          f"/triage/info {info}")
    check((tel.get("/triage/classes") or {}) == s["inbound_classes"], "/triage/classes equals inbound_classes")
    ports = tel.get("/triage/ports") or {}
    check(all(ports.get(p["role"], {}).get("rx_packets") == p["rx_packets"] for p in s["ports"]),
          "/triage/ports rx_packets")
    workers = tel.get("/triage/workers") or {}
    check(len(workers) == len(s["workers"]) and all(workers[str(i)]["inbound_rx"] == w["inbound_rx"]
                                                    for i, w in enumerate(s["workers"])), f"/triage/workers {workers}")
    traffic = tel.get("/triage/traffic") or {}
    check(traffic.get("inbound", {}).get("dropped") == s["inbound"]["dropped"], "/triage/traffic inbound dropped")

    # 7. The log file got the stats lines (and the stop), in the console's format.
    log = open(log_file).read()
    check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info triage: in: rx ", log, re.M) is not None,
          "--log-file has the periodic stats lines")
    check("signal 2 received, stopping" in log, "--log-file has the stop")
    check(f"metrics at http://127.0.0.1:{port}/metrics" in log, "--log-file names the metrics address")
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    out_f.seek(0)
    err_f.seek(0)
    print("--- triage stdout\n" + out_f.read() + "--- triage stderr\n" + err_f.read())
    shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)

# 8. Refused --metrics values: status 2, one line, before the EAL starts.
for bad_addr, want_msg in [("192.0.2.300:9100", "'192.0.2.300' is not a numeric IPv4 address"),
                           ("2001:db8::1:9100", "brackets"),
                           ("[2001:db8::1]:99999", "port '99999'"),
                           ("0", "port '0'")]:
    res = subprocess.run([triage, *eal(f"{prefix}_bad"), "--", "--metrics", bad_addr], capture_output=True,
                         text=True, timeout=30)
    lines = (res.stdout + res.stderr).strip().splitlines()
    check(res.returncode == 2 and len(lines) == 1 and want_msg in lines[0] and lines[0].startswith("triage: --metrics"),
          f"--metrics {bad_addr} -> rc {res.returncode}: {lines}")
# A port already taken: refused with the reason, before forwarding.
with socket.socket() as holder:
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    res = subprocess.run([triage, *eal(f"{prefix}_busy"), "--", "--metrics", str(taken)], capture_output=True,
                         text=True, timeout=60)
    msg = f"--metrics 127.0.0.1:{taken}: cannot listen: Address already in use"
    check(res.returncode == 2 and msg in res.stderr, f"busy port -> rc {res.returncode}: {res.stderr.strip()[-200:]}")
# An unwritable --log-file is refused before the EAL starts.
res = subprocess.run([triage, *eal(f"{prefix}_log"), "--", "--log-file", f"{work}/missing/dir/t.log"],
                     capture_output=True, text=True, timeout=30)
check(res.returncode == 2 and "cannot open for writing" in res.stderr and len(res.stderr.strip().splitlines()) == 1,
      f"unwritable --log-file -> rc {res.returncode}: {res.stderr.strip()}")
for p in (f"{prefix}_bad", f"{prefix}_busy", f"{prefix}_log"):
    shutil.rmtree(f"/var/run/dpdk/{p}", ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s); work dir {work}")
    sys.exit(1)
shutil.rmtree(work, ignore_errors=True)
if skipped:
    print("SKIP: passed, but without " + " and ".join(skipped))
    sys.exit(77)
print("PASS")
