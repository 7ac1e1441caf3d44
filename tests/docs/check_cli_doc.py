#!/usr/bin/python3
"""docs/cli.md is generated from the console's command table; it must be
exactly what the binary prints, so the reference cannot drift from the
grammar. On a difference, shows it and the command that regenerates the page."""
import difflib
import os
import subprocess
import sys

triage, doc = sys.argv[1], sys.argv[2]
want = subprocess.run([triage, "--", "--cli-reference"], capture_output=True, text=True, timeout=30, check=True).stdout
try:
    have = open(doc).read()
except OSError as e:
    have = ""
    print(f"FAIL: cannot read {doc}: {e.strerror}")
if have == want:
    print(f"PASS: {doc} matches `triage -- --cli-reference`")
    sys.exit(0)
diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), doc, "triage -- --cli-reference", lineterm=""))
print("\n".join(diff[:80]))
if len(diff) > 80:
    print(f"... ({len(diff) - 80} more diff lines)")
print(f"FAIL: {doc} differs from the command table; regenerate it with:\n"
      f"  {os.path.abspath(triage)} -- --cli-reference > {os.path.abspath(doc)}")
sys.exit(1)
