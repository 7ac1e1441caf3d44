#!/usr/bin/python3
"""Bad command lines get one clear line naming the problem and exit status 2,
before any frame moves; never a crash."""
import os
import shutil
import subprocess
import sys
import tempfile

triage = sys.argv[1]
demo = sys.argv[2]
work = tempfile.mkdtemp(prefix="triage-bad-")
prefix = f"badinput_{os.getpid()}"
eal = ["-l", "0,1", "--no-pci", "--no-huge", "-m", "128", "--file-prefix", prefix, "--log-level=lib.eal:error"]
pcap_ports = ["--vdev", f"net_pcap0,rx_pcap={demo}/outside.pcap,tx_pcap={work}/o0.pcap",
              "--vdev", f"net_pcap1,rx_pcap={demo}/inside.pcap,tx_pcap={work}/o1.pcap"]
cases = [
    (eal + pcap_ports + ["--", "--burst", "0"], "--burst: '0' is not a number in 1..64"),
    (eal + pcap_ports + ["--", "--burst", "12x"], "--burst: '12x' is not a number"),
    (eal + pcap_ports + ["--", "--bogus"], "unknown option '--bogus'"),
    (eal + pcap_ports + ["--", "--rxd"], "option '--rxd' needs a value"),
    (eal + pcap_ports + ["--", "--stats-interval", "-1"], "--stats-interval: '-1' is not a number of seconds"),
    (eal + pcap_ports + ["--", "--log-level", "loud"], "--log-level: 'loud' is not one of"),
    (eal + pcap_ports + ["--", "--inside-port", "0"], "--outside-port and --inside-port are both 0"),
    (eal + pcap_ports + ["--", "stray"], "unexpected argument 'stray'"),
    (eal + pcap_ports + ["--", "--inside-port", "5"], "port 5 does not exist"),
    (eal + ["--vdev", f"net_pcap0,rx_pcap={work}/missing.pcap", "--vdev", "net_null1", "--"],
     f"cannot read rx_pcap '{work}/missing.pcap'"),
    (eal + ["--vdev", f"net_pcap0,rx_pcap={demo}/outside.pcap,infinite_rx=1", "--vdev", "net_null1", "--", "--exit-on-eof"],
     "port 0 (net_pcap0) replays its rx_pcap forever"),
    (eal + ["--vdev", "net_null0", "--vdev", "net_null1", "--", "--exit-on-eof"],
     "port 0 (net_null0) is not a net_pcap vdev"),
    (["-l", "0"] + eal[2:] + pcap_ports + ["--"], "no worker lcores"),
]
failures = 0
for args, want in cases:
    res = subprocess.run([triage, *args], capture_output=True, text=True, timeout=60)
    out = res.stdout + res.stderr
    ok = res.returncode == 2 and want in out
    failures += not ok
    print(("PASS" if ok else "FAIL"), " ".join(args[args.index("--"):] if "--" in args else args), "->",
          f"rc={res.returncode}", "|", next((l for l in out.splitlines() if want in l), out.strip()[-300:]))
    if os.path.exists(f"{work}/o1.pcap") and os.path.getsize(f"{work}/o1.pcap") > 24:
        print("FAIL: a refused start still forwarded frames")
        failures += 1
shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
sys.exit(1 if failures else 0)
