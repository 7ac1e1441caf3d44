#!/usr/bin/python3
"""The console end to end: a real triage on null vdevs, configured by a -f
start-up script and driven through triage-cli over its unix socket. Checks
the answers, that changes show up (and bad ones change nothing), the script
round trip through `save config` and a second triage, the socket's
permissions and exclusivity, refusals at start-up, an interactive rdline
session over the socket (completion, prompt), and `triage -i` from a pipe."""
import datetime
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

triage, triage_cli = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="triage-console-")
prefixes = []  # EAL runtime directories to remove
procs = []     # every triage started, killed at the end whatever happens
failures = 0


def check(ok, what, detail=""):
    global failures
    failures += not ok
    print("PASS" if ok else "FAIL", what, ("| " + detail.strip()[-600:]) if detail and not ok else "")
    return ok


def eal(name):
    prefix = f"console_{name}_{os.getpid()}"
    prefixes.append(prefix)
    return ["-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--file-prefix", prefix,
            "--log-level=lib.eal:error", "--vdev", "net_null0", "--vdev", "net_null1"]


def start(name, sock, *extra):
    """Starts triage in the background; its output goes to WORK/NAME.log."""
    log = open(os.path.join(work, f"{name}.log"), "w")
    p = subprocess.Popen([triage, *eal(name), "--", "--stats-interval", "0", "--no-summary",
                          "--socket", sock, *extra],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    p.log = log.name
    procs.append(p)
    return p


def log_of(p):
    with open(p.log) as f:
        return f.read()


def wait_socket(p, sock, timeout=60):
    """Waits until triage answers on sock; False if it exited or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(sock)
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(p, timeout=30):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    return p.returncode


def cli(sock, *words, stdin=subprocess.DEVNULL, timeout=20):
    return subprocess.run([triage_cli, "-s", sock, *words], stdin=stdin, capture_output=True, text=True,
                          timeout=timeout)


def policy_version(sock):
    r = cli(sock, "show policy")
    m = re.match(r"policy version (\d+)", r.stdout)
    return int(m.group(1)) if m else None


def recv_until(s, want, timeout=10):
    """Reads from s until the bytes seen so far contain want (or EOF/timeout)."""
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def closed_within(s, timeout):
    """Whether the peer closes s within timeout (whatever it says first)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return False
        if not s.recv(4096):
            return True


# The start-up script, already in the canonical order `show config` prints
# (policies by name; prefixes by family, then length, then address), with
# comments and blanks that the canonical form drops.
expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
canonical = f"""add policy lab.v2
add policy strict
add protect 198.51.100.0/24 name portal policy strict
add protect 203.0.113.10/32 name host policy default
add protect 2001:db8:10::/48 name v6portal policy lab.v2
add allow 192.0.2.64/26
add deny 198.18.0.0/15
add deny 192.0.2.0/24 expires {expires}
add deny 2001:db8:bad::/48 expires {expires}
set transit drop
"""
startup = os.path.join(work, "startup.cli")
with open(startup, "w") as f:
    f.write("# console test start-up script\n\n")
    for line in canonical.splitlines():
        f.write(f"   {line}   # from the test\n" if "deny" in line else line + "\n")

sock = os.path.join(work, "a", "triage.sock")
sock2 = os.path.join(work, "b", "triage.sock")
try:
    first = start("first", sock, "-f", startup)
    if not check(wait_socket(first, sock), "triage starts with -f and answers on --socket", log_of(first)):
        sys.exit(1)

    # ---- answers -------------------------------------------------------
    r = cli(sock, "show", "version")
    check(r.returncode == 0 and re.fullmatch(r"triage \S+\n", r.stdout) is not None,
          "show version", f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")
    r = cli(sock, "show config")
    check(r.returncode == 0 and r.stdout == canonical, "show config is the start-up script in canonical form",
          f"rc={r.returncode}\n{r.stdout}\nwanted:\n{canonical}")
    for cmd, want in [("show port info all", "port 0 (outside): net_null0"),
                      ("show port stats all", "RX packets"),
                      ("show port stats inside", "port 1 (inside)"),
                      ("show workers", "worker"),
                      ("show drops", "by class"),
                      ("show policy", "policy version"),
                      ("show protect", "v6portal"),
                      ("show deny", expires),
                      ("help", "Sections"),
                      ("clear port stats all", "cleared")]:
        r = cli(sock, cmd)
        check(r.returncode == 0 and want in r.stdout, cmd, f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    # ---- a change shows up, and bumps the policy version once ----------
    v0 = policy_version(sock)
    if not check(v0 is not None, "show policy gives a version", cli(sock, "show policy").stdout):
        sys.exit(1)
    r = cli(sock, "add", "protect", "2001:db8:20::/48", "name", "lab")
    check(r.returncode == 0, "add protect", r.stdout + r.stderr)
    after_add = cli(sock, "show config").stdout
    check("add protect 2001:db8:20::/48 name lab policy default\n" in after_add, "the new prefix is in show config",
          after_add)
    check(policy_version(sock) == v0 + 1, "add protect publishes one new policy version",
          cli(sock, "show policy").stdout)

    # ---- a bad command: exit 1, one line, nothing changed --------------
    r = cli(sock, "add", "protect", "2001:db8:30::/48", "name")
    out = r.stdout + r.stderr
    check(r.returncode == 1 and out.count("\n") == 1 and out.startswith("error: ") and "incomplete" in out,
          "a bad command exits 1 with one line", f"rc={r.returncode} {out!r}")
    r = cli(sock, "add", "deny", "203.0.113.0/33")
    out = r.stdout + r.stderr
    check(r.returncode == 1 and out.count("\n") == 1 and "prefix length 33 is more than 32" in out,
          "a bad prefix exits 1 with one line", f"rc={r.returncode} {out!r}")
    r = cli(sock, "del", "protect", "nosuch")
    out = r.stdout + r.stderr
    check(r.returncode == 1 and out == "error: no protected prefix named 'nosuch'\n",
          "deleting what is not there exits 1 with one line", f"rc={r.returncode} {out!r}")
    check(cli(sock, "show config").stdout == after_add and policy_version(sock) == v0 + 1,
          "bad commands change nothing")

    # ---- load: a bad line at line 3 applies nothing ---------------------
    bad3 = os.path.join(work, "bad3.cli")
    with open(bad3, "w") as f:
        f.write("add deny 203.0.113.0/24\nadd protect 198.51.100.128/25 name inner\nadd allow 192.0.2.64/33\n"
                "set transit forward\n")
    r = cli(sock, "load", bad3)
    out = r.stdout + r.stderr
    check(r.returncode == 1 and f"{bad3}:3:" in out and out.count("\n") == 1,
          "load of a script with a bad line 3 names FILE:3", f"rc={r.returncode} {out!r}")
    check(cli(sock, "show config").stdout == after_add and policy_version(sock) == v0 + 1,
          "the failed load changed nothing")

    # A good script is one change: one new version however many lines.
    good = os.path.join(work, "good.cli")
    with open(good, "w") as f:
        f.write("add deny 203.0.113.0/24\nadd protect 198.51.100.128/25 name inner\nset transit forward\n")
    r = cli(sock, "load", good)
    check(r.returncode == 0 and policy_version(sock) == v0 + 2, "a good load applies as one new version",
          r.stdout + r.stderr + cli(sock, "show policy").stdout)
    # Back as it was, so the second triage starts from the same kind of script.
    check(cli(sock, "set transit drop").returncode == 0, "set transit drop")

    # ---- several commands from a pipe ----------------------------------
    r = subprocess.run([triage_cli, "-s", sock], input="show version\n# comment\n\nshow policy\n",
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 0 and r.stdout.startswith("triage ") and "policy version" in r.stdout,
          "triage-cli runs one command per line from a pipe", f"rc={r.returncode} {r.stdout!r} {r.stderr!r}")

    # ---- the socket ----------------------------------------------------
    mode = stat.S_IMODE(os.stat(sock).st_mode)
    check(stat.S_ISSOCK(os.stat(sock).st_mode) and mode == 0o600, "the socket is mode 0600", oct(mode))
    dmode = stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode)
    check(dmode == 0o750, "the socket's directory is mode 0750", oct(dmode))

    intruder = start("intruder", sock)
    try:
        rc = intruder.wait(60)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 2 and "another triage is answering there" in log_of(intruder),
          "a second triage on the same --socket refuses to start", f"rc={rc}\n{log_of(intruder)}")
    check(cli(sock, "show version").returncode == 0 and os.path.exists(sock),
          "the first triage still answers on its socket")

    r = subprocess.run([triage_cli, "-s", os.path.join(work, "nobody.sock"), "show", "version"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    check(r.returncode not in (0, 1) and "cannot connect" in r.stderr,
          "triage-cli says so when nothing listens", f"rc={r.returncode} {r.stderr!r}")

    # ---- save config, then a second triage from the saved file -----------
    saved = os.path.join(work, "saved.cli")
    r = cli(sock, "save", "config", saved)
    check(r.returncode == 0 and os.path.exists(saved), "save config", r.stdout + r.stderr)
    running = cli(sock, "show config").stdout
    # This socket's directory exists already: triage must leave its mode be
    # (think --socket /tmp/x.sock).
    os.makedirs(os.path.dirname(sock2))
    os.chmod(os.path.dirname(sock2), 0o1777)
    second = start("second", sock2, "-f", saved)
    if check(wait_socket(second, sock2), "a second triage starts from the saved file", log_of(second)):
        r = cli(sock2, "show config")
        check(r.returncode == 0 and r.stdout == running, "the second triage has the same show config",
              f"{r.stdout}\nwanted:\n{running}")
        dmode = stat.S_IMODE(os.stat(os.path.dirname(sock2)).st_mode)
        check(dmode == 0o1777, "an existing socket directory keeps its mode", oct(dmode))
    stop(second)

    # ---- an interactive session over the socket --------------------------
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(b"show ver\t")
        got = recv_until(s, b"show version")
        check(b"show version" in got, "TAB completes 'show ver' to 'show version'", repr(got))
        s.sendall(b"\n")
        got = recv_until(s, b"triage> ")
        check(re.search(rb"\ntriage \S+\n", got) is not None and got.endswith(b"triage> "),
              "the answer and then the triage> prompt", repr(got))
        s.sendall(b"bogus words\n")
        got = recv_until(s, b"triage> ")
        check(b"error: unknown command 'bogus'" in got and got.endswith(b"triage> "),
              "a bad line gets its message and the prompt again", repr(got))
        s.sendall(b"quit\n")
        check(closed_within(s, 10), "quit ends the session")
    check(first.poll() is None and cli(sock, "show version").returncode == 0,
          "quit on a socket session leaves triage running")
    # Completion of typed arguments comes from the running configuration.
    for typed, want in [(b"del protect por\t", b"del protect portal "),
                        (b"add deny 192.0.2.0/24 ex\t", b"add deny 192.0.2.0/24 expires "),
                        (b"show port stats ou\t", b"show port stats outside ")]:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(sock)
            s.sendall(typed)
            got = recv_until(s, want)
            check(want in got, f"TAB completes {typed[:-1].decode()!r}", repr(got))

    # ---- refusals at start-up ------------------------------------------
    bad2 = os.path.join(work, "bad2.cli")
    with open(bad2, "w") as f:
        f.write("add policy strict\nadd protect 198.51.100.0/24 name portal policy nosuch\n")
    try:
        r = subprocess.run([triage, *eal("badscript"), "--", "--stats-interval", "0", "--no-summary",
                            "--socket", os.path.join(work, "c", "triage.sock"), "-f", bad2],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        check(r.returncode == 2 and f"{bad2}:2:" in out and "refusing to start" in out,
              "triage -f with a bad script refuses to start naming FILE:LINE", f"rc={r.returncode}\n{out}")
        check(not os.path.exists(os.path.join(work, "c", "triage.sock")), "and opens no socket")
    except subprocess.TimeoutExpired:
        check(False, "triage -f with a bad script refuses to start", "timed out")

    # ---- triage -i from a pipe -----------------------------------------
    try:
        r = subprocess.run([triage, *eal("interactive"), "--", "--stats-interval", "0", "--no-summary",
                            "--socket", "none", "-i"],
                           input="show version\nshow protect\nquit\n", capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and re.search(r"\ntriage \S+\n", r.stdout) is not None
              and "no protected prefixes" in r.stdout,
              "triage -i answers piped commands and quit stops it with 0", f"rc={r.returncode}\n{r.stdout}{r.stderr}")
    except subprocess.TimeoutExpired:
        check(False, "triage -i with piped commands stops", "timed out")

    # ---- stopping --------------------------------------------------------
    rc = stop(first)
    # rc last: check() keeps the last 600 characters (a negative rc is the signal that ended it).
    check(rc == 0, "the first triage stops cleanly on SIGTERM", f"{log_of(first)[-500:]}\nrc={rc}")
    check(not os.path.exists(sock), "and removes its socket")
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    for prefix in prefixes:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("logs and scripts kept in", work)

print("PASS" if not failures else f"{failures} failure(s)")
sys.exit(1 if failures else 0)
