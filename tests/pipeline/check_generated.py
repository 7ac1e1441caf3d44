#!/usr/bin/python3
"""Check that every committed golden file is exactly what its generator writes.

For each case folder with a gen.py, run `gen.py --out TMP` and compare the
NNN-*.pcap / NNN-counters.json files it writes with the committed ones,
byte for byte. A generator edited without regenerating, or a golden edited
by hand, fails here. Fix by running `/usr/bin/python3 gen.py` in the case folder.

    check_generated.py [--cases DIR] [CASE ...]

Exit status: 0 identical, 1 drift, 77 (skip) when scapy is not importable.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(HERE))

from run_golden import PcapError, first_difference, read_pcap  # noqa: E402

GOLDEN = re.compile(r"\d{3}-(?:(?:send|expect)-p[01]\.pcap|counters\.json|notes\.txt)")


def goldens(d: Path) -> set[str]:
    return {f.name for f in d.iterdir() if GOLDEN.fullmatch(f.name)} if d.is_dir() else set()


def explain(committed: Path, generated: Path) -> str:
    if committed.suffix != ".pcap":
        return "content differs"
    try:
        a, b = read_pcap(committed), read_pcap(generated)
    except PcapError as e:
        return str(e)
    if len(a) != len(b):
        return f"{len(a)} packets committed, generator writes {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return (f"packet #{i}: committed {len(x)} bytes, generated {len(y)} bytes, "
                    f"first difference at offset {first_difference(x, y)}")
    return "same packets, pcap headers/timestamps differ"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, default=HERE / "cases", help="cases folder")
    ap.add_argument("--python", default=sys.executable, help="interpreter for gen.py")
    ap.add_argument("names", nargs="*", help="cases to check (default: all with a gen.py)")
    args = ap.parse_args()

    probe = subprocess.run([args.python, "-c", "import scapy.all"], capture_output=True)
    if probe.returncode != 0:
        print(f"scapy not importable by {args.python}; skipping (install python3-scapy)")
        return 77

    cases = [args.cases / n for n in args.names] if args.names else sorted(
        p.parent for p in args.cases.glob("*/gen.py"))
    if not cases:
        print(f"no cases with a gen.py under {args.cases}")
        return 1
    bad = 0
    with tempfile.TemporaryDirectory(prefix="golden-gen-") as tmp:
        for case in cases:
            out = Path(tmp) / case.name
            r = subprocess.run([args.python, str(case / "gen.py"), "--out", str(out)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{case.name}: gen.py failed (exit {r.returncode})\n{r.stdout}{r.stderr}")
                bad += 1
                continue
            committed, generated = goldens(case), goldens(out)
            problems = []
            for name in sorted(generated - committed):
                problems.append(f"{name}: generated but not committed")
            for name in sorted(committed - generated):
                problems.append(f"{name}: committed but no longer generated")
            for name in sorted(committed & generated):
                if not filecmp.cmp(case / name, out / name, shallow=False):
                    problems.append(f"{name}: {explain(case / name, out / name)}")
            if problems:
                bad += 1
                print(f"{case.name}: committed goldens differ from gen.py output "
                      f"(regenerate: cd {case} && {args.python} gen.py)")
                for p in problems:
                    print("  " + p)
            else:
                print(f"{case.name}: {len(committed)} files identical to gen.py output")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
