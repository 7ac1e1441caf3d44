#!/usr/bin/python3
"""The bundled demo mix (config/demo: clean clinic traffic and malformed junk)
through the real triage binary on net_pcap ports.
Checks the counters against what the generator put in (every junk frame
dropped with its reason, every clinic frame delivered), so the demo can't
silently degrade."""
import json
import shutil
import os
import subprocess
import sys
import tempfile

triage, demo = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="triage-demo-test-")
cmd = [triage, "-l", "0,1", "--no-pci", "--no-huge", "-m", "256", "--file-prefix", f"demo_test_{os.getpid()}",
       "--log-level=lib.eal:error",
       "--vdev", f"net_pcap0,rx_pcap={demo}/outside.pcap,tx_pcap={work}/o.pcap",
       "--vdev", f"net_pcap1,rx_pcap={demo}/inside.pcap,tx_pcap={work}/i.pcap",
       "--", "--exit-on-eof", "--stats-interval", "0", "--stats-json", f"{work}/s.json"]
res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
# The EAL leaves its runtime directory behind for secondary processes.
shutil.rmtree(f"/var/run/dpdk/demo_test_{os.getpid()}", ignore_errors=True)
print(res.stdout, res.stderr)
if res.returncode:
    sys.exit(f"FAIL: triage exited {res.returncode}")
s = json.load(open(f"{work}/s.json"))
want = {"inbound": {"rx": 1609, "forwarded": 1534, "dropped": 75},
        "outbound": {"rx": 1504, "forwarded": 1504, "dropped": 0, "malformed_seen": 0},
        "drops": {"frag_oversize": 10, "ip_src_martian": 11, "land": 11, "tcp_truncated": 11,
                  "tcp_syn_fin": 11, "tcp_null": 11, "tcp_xmas": 10}}
bad = [f"{sec}.{k}: want {v}, got {s[sec][k]}" for sec, kv in want.items() for k, v in kv.items() if s[sec][k] != v]
bad += [f"drops.{k}: unexpected {v}" for k, v in s["drops"].items() if v and k not in want["drops"]]
ports = {p["role"]: p for p in s["ports"]}
if ports["inside"]["tx_packets"] != 1534 or ports["outside"]["tx_packets"] != 1504:
    bad.append(f"port TX counts {ports['inside']['tx_packets']}/{ports['outside']['tx_packets']} != 1534/1504")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
