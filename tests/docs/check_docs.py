#!/usr/bin/python3
"""docs/operations.md must describe every option `triage --help` prints and
every drop reason `triage --list-drop-reasons` prints, word for word for the
reasons, so the operator guide cannot fall behind the code."""
import re
import subprocess
import sys

triage, doc = sys.argv[1], open(sys.argv[2]).read()
bad = []
helptext = subprocess.run([triage, "--", "--help"], capture_output=True, text=True, check=True).stdout
options = helptext.split("Options:", 1)[1]
for opt in re.findall(r"^\s+(--[a-z-]+)", options, re.M):
    if f"`{opt}" not in doc:
        bad.append(f"option {opt} is not documented in docs/operations.md")
reasons = subprocess.run([triage, "--", "--list-drop-reasons"], capture_output=True, text=True, check=True).stdout
for line in reasons.splitlines():
    name, desc = line.split(None, 1)
    if f"| `{name}` | {desc} |" not in doc:
        bad.append(f"drop reason {name} ('{desc}') is missing or differs in docs/operations.md")
for b in bad:
    print("FAIL:", b)
print("PASS" if not bad else f"{len(bad)} problem(s)")
sys.exit(1 if bad else 0)
