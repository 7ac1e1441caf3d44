#!/usr/bin/python3
"""Incident alerts end to end (docs/alerts.md): the portal-auto drill through
the real triage with every sink pointed at a listener in this script - CEF
over UDP syslog, JSON over TCP syslog, a webhook (http.server, whose first
answer is a 503 so the retry is exercised) and a notify script. The incident's
open and close (and the mitigation switches, when the incident log shows
them) must arrive at each, once and in order, parse, and match the incident
log. Then the same drill with unreachable collectors: the same verdict, the
same incident, and every failed delivery logged; and bad destinations are
refused before the EAL starts."""
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

gen, triage, root = sys.argv[1], sys.argv[2], sys.argv[3]
scenario = os.path.join(root, "config", "scenarios", "portal-auto.scn")
work = tempfile.mkdtemp(prefix="triage-alert-test-")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


# ---------------------------------------------------------------- listeners
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.settimeout(0.2)
udp_msgs = []
stop = threading.Event()


def udp_loop():
    while not stop.is_set():
        try:
            data, _ = udp.recvfrom(65536)
            udp_msgs.append(data.decode())
        except socket.timeout:
            pass


tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 0))
tcp.listen(4)
tcp.settimeout(0.2)
tcp_buf = []


def tcp_loop():
    while not stop.is_set():
        try:
            conn, _ = tcp.accept()
        except socket.timeout:
            continue
        conn.settimeout(0.2)
        while not stop.is_set():
            try:
                d = conn.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            tcp_buf.append(d)
        conn.close()


hooks = []  # (status answered, headers, body)
hook_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with hook_lock:
            status = 503 if not hooks else 200  # the very first request fails: triage must retry
            hooks.append((status, dict(self.headers), body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
for target in (udp_loop, tcp_loop, httpd.serve_forever):
    threading.Thread(target=target, daemon=True).start()

notify_dir = os.path.join(work, "notify")
os.mkdir(notify_dir)
notify = os.path.join(work, "notify.sh")
with open(notify, "w") as f:
    f.write(f"""#!/bin/sh
# argv: EVENT INCIDENT_ID TARGET VECTORS; the incident JSON on stdin
cat > "{notify_dir}/$1-$2.json"
printf '%s|%s|%s|%s|%s|%s\\n' "$1" "$2" "$3" "$4" "$TRIAGE_EVENT" "$TRIAGE_PREFIX" >> "{notify_dir}/calls"
""")
os.chmod(notify, 0o755)


def drill(name, sink_args):
    wd = os.path.join(work, name)
    out = os.path.join(work, name + ".json")
    cmd = [gen, "drill", scenario, "--triage", triage, "--json", out, "--workdir", wd, "--quiet"]
    for a in sink_args:
        cmd += ["--triage-arg", a]
    print("$ " + " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL)
    print(res.stdout)
    print(res.stderr, file=sys.stderr)
    return res, wd


# ------------------------------------------------------- 1. every sink live
udp_port, tcp_port, hook_port = udp.getsockname()[1], tcp.getsockname()[1], httpd.server_address[1]
res, wd = drill("live", ["--syslog-cef", f"udp://127.0.0.1:{udp_port}",
                         "--syslog-json", f"tcp://127.0.0.1:{tcp_port}",
                         "--webhook", f"http://127.0.0.1:{hook_port}/hooks/triage",
                         "--webhook-header", "Authorization: Bearer lab-token",
                         "--notify-command", notify])
# The drill's verdict is about scrubbing; here it must only come to one (0
# pass, 1 fail; 2 is an error), and the same one without working collectors.
live_rc = res.returncode
check(live_rc in (0, 1), f"drill with every alert sink: a verdict (exit {live_rc})")
log_lines = [json.loads(l) for l in open(os.path.join(wd, "incidents.jsonl"))]
by_event = {l["event"]: l for l in log_lines}
check("open" in by_event and "close" in by_event, f"the incident log has an open and a close ({list(by_event)})")
raw_log = {json.loads(l)["event"]: l.rstrip("\n") for l in open(os.path.join(wd, "incidents.jsonl"))}
inc_id = by_event.get("open", {}).get("id")
# Mitigation events are expected exactly when the incident log says detection
# switched mitigation (portal-auto: mode auto).
mitigated = any(a["action"] == "mitigation on" for a in by_event.get("close", {}).get("actions", []))
print(f"incident {inc_id}: mitigation switched by detection: {mitigated}")
triage_log = open(os.path.join(wd, "triage.log")).read()
check(f"incident alerts to syslog-cef udp://127.0.0.1:{udp_port}" in triage_log, "triage logs its alert sinks")

# CEF over UDP syslog.
HEADER = re.compile(r"^<(\d+)>1 (\S+) (\S+) triage (\d+) (\S+) - (.*)$")


def cef_fields(line):
    """The 7 header fields (unescaped) and the extension as a dict."""
    parts, cur, i = [], "", 0
    while i < len(line) and len(parts) < 7:
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            cur += line[i + 1]
            i += 2
            continue
        if c == "|":
            parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    ext = line[i:]
    fields = {}
    for m in re.finditer(r"(?:^| )(\w+)=((?:[^=\\]|\\.)*?)(?= \w+=|$)", ext):
        fields[m.group(1)] = re.sub(r"\\(.)", lambda x: {"n": "\n", "r": "\r"}.get(x.group(1), x.group(1)), m.group(2))
    return parts, fields


cef = []
for m in udp_msgs:
    h = HEADER.match(m)
    check(h is not None, f"a syslog RFC 5424 message: {m[:80]!r}")
    if h:
        hdr, ext = cef_fields(h.group(6))
        cef.append((int(h.group(1)), h.group(5), hdr, ext))
sigs = [c[2][4] for c in cef if len(c[2]) == 7]
want = ["incident-open", "mitigation-on", "mitigation-off", "incident-close"] if mitigated else ["incident-open",
                                                                                             "incident-close"]
check(sigs == want, f"CEF: {', '.join(want)} arrived, in order ({sigs})")
for pri, msgid, hdr, ext in cef:
    if len(hdr) != 7:
        check(False, f"CEF header has 7 fields: {hdr}")
        continue
    check(hdr[0] == "CEF:0" and hdr[1] == "Triage" and hdr[2] == "Triage" and hdr[3] == "0.1.0",
          f"CEF {hdr[4]}: vendor, product, version ({hdr[:4]})")
    check(msgid == hdr[4], f"CEF {hdr[4]}: syslog MSGID is the signature id")
    check(ext.get("externalId") == str(inc_id) and ext.get("cs1") == "ehr-portal" and ext.get("cs1Label") == "target" and
          ext.get("dst") == "198.51.100.10" and "syn-flood" in ext.get("cs2", "") and
          ext.get("cs3") == "198.51.100.10/32", f"CEF {hdr[4]}: incident, target, dst, vectors, prefix ({ext})")
    if hdr[4] == "incident-open":
        check(hdr[6] == "8" and pri == 16 * 8 + 4, f"CEF open: severity 8, syslog local0.warning ({hdr[6]}, <{pri}>)")
        check(abs(int(ext["start"]) - int(ext["rt"])) < 1000 and float(ext.get("cfp1", 0)) >= 0.9,
              f"CEF open: start, rt and confidence ({ext.get('start')}, {ext.get('rt')}, {ext.get('cfp1')})")
    if hdr[4] == "incident-close":
        check(hdr[6] == "3" and pri == 16 * 8 + 6, f"CEF close: severity 3, syslog local0.info ({hdr[6]}, <{pri}>)")
        check(int(ext.get("cnt", 0)) == by_event["close"]["packets"] and "end" in ext,
              f"CEF close: cnt is the incident's packets ({ext.get('cnt')} vs {by_event['close']['packets']})")
    if hdr[4] == "mitigation-on":
        check("mitigation on for ehr-portal" in ext.get("msg", ""), f"CEF mitigation-on: msg says why ({ext.get('msg')})")

# JSON over TCP syslog.
tcp_lines = b"".join(tcp_buf).decode().splitlines()
tjson = {}
for l in tcp_lines:
    h = HEADER.match(l)
    check(h is not None, f"syslog-json over TCP: one RFC 5424 message per line ({l[:60]!r})")
    if h:
        d = json.loads(h.group(6))
        tjson.setdefault(d["event"], h.group(6))
check(tjson.get("open") == raw_log.get("open") and tjson.get("close") == raw_log.get("close"),
      "syslog-json: the open and close messages are the incident log's lines")
check(list(tjson) == [w.replace("incident-", "") for w in want], f"syslog-json: the same events ({list(tjson)})")

# Webhook.
ok_bodies = [json.loads(b) for s, _, b in hooks if s == 200]
check(len(hooks) >= 2 and hooks[0][0] == 503 and hooks[1][2] == hooks[0][2],
      "webhook: the first POST got a 503 and was retried with the same body")
events = [b["event"] for b in ok_bodies]
check(events == [w.replace("incident-", "") for w in want], f"webhook: each event delivered once, in order ({events})")
for b in ok_bodies:
    check(b["id"] == inc_id and b["target"] == "ehr-portal", f"webhook {b['event']}: incident id and target")
hdrs = hooks[-1][1] if hooks else {}
check(hdrs.get("Content-Type") == "application/json" and hdrs.get("User-Agent") == "triage/0.1.0" and
      hdrs.get("Authorization") == "Bearer lab-token", f"webhook: content type, user agent, extra header ({hdrs})")
close_body = next((b for s, _, b in hooks if s == 200 and json.loads(b)["event"] == "close"), None)
check(close_body == raw_log.get("close"), "webhook: the close body is the incident log's close line")

# Notify command.
calls = open(os.path.join(notify_dir, "calls")).read().splitlines() if os.path.exists(
    os.path.join(notify_dir, "calls")) else []
check(f"open|{inc_id}|ehr-portal|syn-flood|open|198.51.100.10/32" in calls and
      f"close|{inc_id}|ehr-portal|syn-flood|close|198.51.100.10/32" in calls,
      f"notify: argv EVENT ID TARGET VECTORS and TRIAGE_* for open and close ({calls})")
check([c.split("|")[0] for c in calls] == [w.replace("incident-", "") for w in want], "notify: once per event, in order")
for ev in ("open", "close"):
    p = os.path.join(notify_dir, f"{ev}-{inc_id}.json")
    body = open(p).read() if os.path.exists(p) else ""
    check(body == raw_log.get(ev), f"notify {ev}: the incident JSON on stdin")
m = re.search(r"alerts: syslog-cef sent (\d+), failed (\d+), dropped (\d+); syslog-json sent (\d+), failed (\d+), "
              r"dropped (\d+); webhook sent (\d+), failed (\d+), dropped (\d+); notify sent (\d+), failed (\d+), "
              r"dropped (\d+)", triage_log)
check(m is not None and all(int(m.group(k)) == 0 for k in (2, 3, 5, 6, 8, 9, 11, 12)) and
      int(m.group(1)) == len(cef), f"the exit summary: everything sent, nothing failed or dropped ({m and m.group(0)})")

# ------------------------------------------- 2. collectors that are not there
s = socket.socket()
s.bind(("127.0.0.1", 0))
dead = s.getsockname()[1]
s.close()
res, wd = drill("dead", ["--syslog-cef", f"tcp://127.0.0.1:{dead}",
                         "--webhook", f"http://127.0.0.1:{dead}/hook"])
check(res.returncode == live_rc, f"unreachable collectors: the same verdict (exit {res.returncode}, {live_rc} before)")
log = open(os.path.join(wd, "triage.log")).read()
check(re.search(rf"alert syslog-cef tcp://127.0.0.1:{dead}: incident \d+ open not delivered: connect: Connection refused",
                log) is not None, "a refused syslog connection is logged with sink, destination and reason")
check(re.search(rf"alert webhook http://127.0.0.1:{dead}/hook: incident \d+ open not delivered: cannot connect "
                r"\(try 3 of 3\)", log) is not None, "a refused webhook is logged after 3 tries")
dead_events = [json.loads(l)["event"] for l in open(os.path.join(wd, "incidents.jsonl"))]
check(dead_events == ["open", "close"], f"detection went on regardless: the incident opened and closed ({dead_events})")
check("triage wrote no counters" not in res.stderr, "triage stopped cleanly")

# --------------------------------------------------- 3. refused at parse time
for args, want in ((["--syslog-cef", "192.0.2.1:514"], "--syslog-cef '192.0.2.1:514': not udp://HOST:PORT or tcp://HOST:PORT"),
                   (["--syslog-json", "udp://2001:db8::1:514"], "an IPv6 address goes in brackets"),
                   (["--webhook", "ftp://192.0.2.1/"], "--webhook 'ftp://192.0.2.1/': not an http:// or https:// URL"),
                   (["--webhook", "http://192.0.2.1/", "--webhook-header", "Bad"], "--webhook-header 'Bad': not 'Name: value'"),
                   (["--webhook-header", "X-A: b"], "--webhook-header needs --webhook URL"),
                   (["--notify-command", os.path.join(work, "nope.sh")], "No such file or directory"),
                   (["--notify-command", work], "not an executable file")):
    r = subprocess.run([triage, "--"] + args, capture_output=True, text=True, timeout=20)
    check(r.returncode == 2 and want in r.stderr and "EAL" not in r.stderr,
          f"{' '.join(args)}: exit 2 before the EAL, saying {want!r} (got {r.returncode}: {r.stderr.strip()!r})")

stop.set()
httpd.shutdown()
if failures:
    sys.exit(f"{len(failures)} check(s) failed: " + "; ".join(failures))
shutil.rmtree(work, ignore_errors=True)
print("alert test passed")
