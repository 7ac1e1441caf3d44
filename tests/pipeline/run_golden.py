#!/usr/bin/python3
"""Golden pcap runner for the triage pipeline.

A case is a folder tests/pipeline/cases/<behaviour>/ holding, for each run
NNN, the frames entering each port and the frames that must leave each port:

    NNN-send-p0.pcap    enters port 0 (outside, ISP uplink)
    NNN-send-p1.pcap    enters port 1 (inside, clinic LAN)
    NNN-expect-p0.pcap  must leave port 0, in this order, byte for byte
    NNN-expect-p1.pcap  must leave port 1
    NNN-counters.json   optional: a subset the --stats-json output must match
    NNN-notes.txt       optional: what each sent frame is (for reading failures)
    config              extra triage options, one or more per line, '#' comments;
                        `{case}` in a line becomes the case folder's absolute path
                        (e.g. `-f {case}/script.cli`: triage runs with cwd = the work dir)

For each run triage is started on two net_pcap vdevs (never a PCI device)
with --exit-on-eof, under a hard timeout; then its output pcaps are compared
with the expected ones (timestamps ignored) and the counters checked.

    run_golden.py --triage BUILD/app/triage/triage --case tests/pipeline/cases/forward-basic

Exit status: 0 pass, 1 fail, 2 usage/setup error. Only the standard library is
needed (scapy, when importable, adds a one-line decode to mismatch reports).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_MALFORMED_H = HERE.parents[1] / "lib" / "net" / "malformed.h"
PORT_ROLE = {0: "outside", 1: "inside"}
STATS_KEYS = ("version", "forwarding_seconds", "ports", "inbound", "outbound", "drops", "workers")
TAIL_LINES = 40

# --------------------------------------------------------------------------
# pcap


class PcapError(Exception):
    pass


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic libpcap file (any byte order, us or ns stamps)."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise PcapError(f"{path}: {len(data)} bytes, too short for a pcap header")
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic_le in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    elif magic_le == 0x0A0D0D0A:
        raise PcapError(f"{path}: pcapng is not supported, write classic pcap")
    else:
        raise PcapError(f"{path}: bad pcap magic 0x{magic_le:08x}")
    _, _, _, _, _, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    if linktype & 0xFFFF != 1:
        raise PcapError(f"{path}: linktype {linktype}, expected 1 (Ethernet)")
    frames = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise PcapError(f"{path}: truncated record header at byte {off}")
        _, _, caplen, origlen = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            raise PcapError(f"{path}: record {len(frames)} truncated ({caplen} bytes announced)")
        if caplen != origlen:
            raise PcapError(f"{path}: record {len(frames)} captured {caplen} of {origlen} bytes")
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def write_empty_pcap(path: Path) -> None:
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))


# --------------------------------------------------------------------------
# Reporting


def describe(frame: bytes) -> str:
    """One-line decode if scapy is available (best effort)."""
    try:
        from scapy.config import conf

        conf.verb = 0
        from scapy.layers.l2 import Ether

        return Ether(frame).summary()
    except Exception:  # noqa: BLE001 - decoration only
        return ""


def hexdump_pair(exp: bytes, act: bytes, first: int, context_rows: int = 4) -> str:
    """Expected and actual side by side, 16 bytes a row, rows that differ
    flagged with '*', the first differing byte marked with '^^'."""
    width = 16
    rows = (max(len(exp), len(act)) + width - 1) // width
    first_row = first // width
    if rows <= 2 * context_rows + 8:
        shown = range(rows)
    else:
        shown = range(max(0, first_row - context_rows), min(rows, first_row + 2 * context_rows + 1))

    def cells(b: bytes, r: int) -> list[str]:
        return [("%02x" % b[i]) if i < len(b) else "  " for i in range(r * width, r * width + width)]

    col = 3 * width + 1
    out = [f"    offset  {'expected':<{col}}   actual"]
    if shown.start > 0:
        out.append(f"    ...     ({shown.start} rows before)")
    for r in shown:
        e, a = cells(exp, r), cells(act, r)
        differs = any(
            (i < len(exp)) != (i < len(act)) or (i < len(exp) and exp[i] != act[i])
            for i in range(r * width, min(r * width + width, max(len(exp), len(act)))))
        e_s = " ".join(e[:8]) + "  " + " ".join(e[8:])
        a_s = " ".join(a[:8]) + "  " + " ".join(a[8:])
        out.append(f"  {'*' if differs else ' '} {r * width:06x}  {e_s:<{col}} | {a_s}")
        if r == first_row:
            i = first % width
            pos = 3 * i + (1 if i >= 8 else 0)
            marker = " " * pos + "^^"
            out.append(f"            {marker:<{col}}   {marker}   <- first difference at offset "
                       f"{first} (0x{first:x})")
    if shown.stop < rows:
        out.append(f"    ...     ({rows - shown.stop} rows after)")
    return "\n".join(out)


def first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare_port(port: int, expected: list[bytes], actual: list[bytes]) -> list[str]:
    """Empty list when equal, else human-readable failure lines."""
    errs: list[str] = []
    name = f"port {port} ({PORT_ROLE[port]}) output"
    if len(expected) != len(actual):
        errs.append(f"{name}: expected {len(expected)} packets, got {len(actual)}")
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e == a:
            continue
        off = first_difference(e, a)
        errs.append(f"{name}: packet #{i} (0-based) differs: expected {len(e)} bytes, got {len(a)} bytes, "
                    f"first difference at offset {off} (0x{off:x})")
        for label, f in (("expected", e), ("actual", a)):
            d = describe(f)
            if d:
                errs.append(f"    {label:<8} {d}")
        errs.append(hexdump_pair(e, a, off))
        break
    if errs and expected != actual:
        errs.extend(multiset_report(expected, actual))
    return errs


def multiset_report(expected: list[bytes], actual: list[bytes], limit: int = 10) -> list[str]:
    """Which expected frames never came out, which came out unexpectedly."""
    remaining: dict[bytes, list[int]] = {}
    for i, f in enumerate(actual):
        remaining.setdefault(f, []).append(i)
    missing = []
    for i, f in enumerate(expected):
        if remaining.get(f):
            remaining[f].pop(0)
        else:
            missing.append(i)
    extra = sorted(i for idxs in remaining.values() for i in idxs)
    out = []
    if not missing and not extra:
        out.append("    same frames, different order")
        return out

    def show(label: str, idxs: list[int], frames: list[bytes]) -> None:
        out.append(f"    {label}: {len(idxs)} frame(s): #" + ", #".join(map(str, idxs[:limit]))
                   + (" ..." if len(idxs) > limit else ""))
        for i in idxs[:3]:
            d = describe(frames[i])
            out.append(f"      #{i} {len(frames[i])} bytes" + (f": {d}" if d else "")
                       + f"  {frames[i][:32].hex()}{'...' if len(frames[i]) > 32 else ''}")

    if missing:
        show("expected but not sent", missing, expected)
    if extra:
        show("sent but not expected", extra, actual)
    return out


def subset_mismatches(expected, actual, path: str = "") -> list[str]:
    """Where `expected` is not contained in `actual` (dicts: subset of keys;
    lists: same length, element-wise; scalars: equal)."""
    here = path or "<root>"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{here}: expected an object, got {json.dumps(actual)}"]
        out = []
        for k, v in expected.items():
            sub = f"{path}.{k}" if path else k
            if k not in actual:
                out.append(f"{sub}: missing (expected {json.dumps(v)})")
            else:
                out.extend(subset_mismatches(v, actual[k], sub))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{here}: expected a list of {len(expected)}, got {json.dumps(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out.extend(subset_mismatches(e, a, f"{path}[{i}]"))
        return out
    if type(expected) is not type(actual) and not (
            isinstance(expected, (int, float)) and isinstance(actual, (int, float))
            and not isinstance(expected, bool) and not isinstance(actual, bool)):
        return [f"{here}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]
    if expected != actual:
        return [f"{here}: expected {json.dumps(expected)}, got {json.dumps(actual)}"]
    return []


def tail(path: Path, n: int = TAIL_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "    (no file)"
    if not lines:
        return "    (empty)"
    shown = lines[-n:]
    head = f"    ... ({len(lines) - n} earlier lines)\n" if len(lines) > n else ""
    return head + "\n".join("    " + line for line in shown)


# --------------------------------------------------------------------------
# Case handling


def malformed_reasons(header: Path) -> list[str]:
    text = header.read_text()
    m = re.search(r"#define\s+TRIAGE_MALFORMED_REASONS\s*\(\s*X\s*\)((?:[^\n]*\\\n)*[^\n]*)", text)
    if not m:
        raise ValueError(f"{header}: TRIAGE_MALFORMED_REASONS not found")
    names = re.findall(r'X\(\s*\w+\s*,\s*"([^"]+)"', m.group(1))
    if not names:
        raise ValueError(f"{header}: TRIAGE_MALFORMED_REASONS has no entries")
    return names


def read_config(path: Path) -> list[str]:
    """Options from a case's config file; `{case}` becomes the case folder's
    absolute path (triage runs in the work dir, so relative paths would not do)."""
    if not path.exists():
        return []
    case = str(path.resolve().parent)
    opts: list[str] = []
    for line in path.read_text().splitlines():
        opts.extend(w.replace("{case}", case) for w in shlex.split(line, comments=True))
    return opts


def case_runs(case_dir: Path) -> list[str]:
    runs = set()
    for f in case_dir.iterdir():
        m = re.fullmatch(r"(\d{3})-(?:(?:send|expect)-p[01]\.pcap|counters\.json)", f.name)
        if m:
            runs.add(m.group(1))
    return sorted(runs)


def dpdk_runtime_dir(prefix: str) -> Path:
    if os.geteuid() == 0:
        return Path("/var/run/dpdk") / prefix
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return Path(base) / "dpdk" / prefix


_child: subprocess.Popen | None = None


def _forward_signal(signum, _frame):
    if _child is not None and _child.poll() is None:
        try:
            os.killpg(_child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(128 + signum)


def run_triage(args, case_name: str, nnn: int | str, work: Path, send: dict[int, Path],
               config: list[str]) -> tuple[bool, list[str], Path]:
    global _child
    out = {p: work / f"out-p{p}.pcap" for p in (0, 1)}
    stats = work / "stats.json"
    for f in (*out.values(), stats):
        if f.exists():
            f.unlink()
    for p in (0, 1):
        for path in (send[p], out[p]):
            if re.search(r"[,=\s]", str(path)):
                raise SystemExit(f"path {path} contains ',', '=' or whitespace; "
                                 "DPDK devargs cannot carry it (use --workdir)")
    prefix = f"golden_{case_name}_{nnn}_{os.getpid()}"
    cmd = [str(args.triage), "-l", args.lcores, "--no-pci", "--no-huge", "-m", "256",
           "--file-prefix", prefix, "--log-level=lib.eal:error"]
    for p in (0, 1):
        cmd += ["--vdev", f"net_pcap{p},rx_pcap={send[p]},tx_pcap={out[p]}"]
    cmd += ["--", "--exit-on-eof", "--stats-interval", "0", "--stats-json", str(stats)] + config
    (work / "cmdline").write_text(shlex.join(cmd) + "\n")

    errs: list[str] = []
    t0 = time.monotonic()
    with open(work / "stdout.txt", "wb") as so, open(work / "stderr.txt", "wb") as se:
        _child = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                                  cwd=work, start_new_session=True)
        try:
            rc = _child.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(_child.pid, signal.SIGTERM)
            try:
                _child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(_child.pid, signal.SIGKILL)
                _child.wait()
            errs.append(f"triage did not exit within {args.timeout} s (killed); "
                        "--exit-on-eof should stop it once both rx pcaps are drained")
            rc = None
        finally:
            _child = None
    elapsed = time.monotonic() - t0
    rt = dpdk_runtime_dir(prefix)
    if rt.is_dir():
        shutil.rmtree(rt, ignore_errors=True)
    if rc is not None and rc != 0:
        errs.append(f"triage exited with status {rc}" + (f" (signal {-rc})" if rc < 0 else ""))
    print(f"  triage ran {elapsed:.2f} s, exit {rc}")
    return not errs, errs, stats


def check_run(args, case_dir: Path, nnn: str, work: Path, config: list[str],
              reasons: list[str] | None) -> tuple[list[str], dict | None]:
    errs: list[str] = []
    send: dict[int, Path] = {}
    for p in (0, 1):
        f = case_dir / f"{nnn}-send-p{p}.pcap"
        if not f.exists():
            f = work / f"empty-send-p{p}.pcap"
            write_empty_pcap(f)
        send[p] = f.resolve()
    expected = {}
    for p in (0, 1):
        f = case_dir / f"{nnn}-expect-p{p}.pcap"
        expected[p] = read_pcap(f) if f.exists() else []
    sent = {p: len(read_pcap(send[p])) for p in (0, 1)}
    print(f"  in: p0 {sent[0]} / p1 {sent[1]} frames; expected out: p0 {len(expected[0])} / "
          f"p1 {len(expected[1])}")

    ok, run_errs, stats_path = run_triage(args, case_dir.name, nnn, work, send, config)
    errs += run_errs

    for p in (0, 1):
        out = work / f"out-p{p}.pcap"
        if not out.exists():
            errs.append(f"port {p}: triage did not create {out}")
            continue
        try:
            actual = read_pcap(out)
        except PcapError as e:
            errs.append(f"port {p}: {e}")
            continue
        errs += compare_port(p, expected[p], actual)

    stats = None
    if stats_path.exists():
        try:
            stats = json.loads(stats_path.read_text())
        except json.JSONDecodeError as e:
            errs.append(f"{stats_path}: not valid JSON: {e}")
    elif ok:
        errs.append(f"triage did not write --stats-json {stats_path}")

    if stats is not None:
        missing = [k for k in STATS_KEYS if k not in stats]
        if missing:
            errs.append(f"stats JSON lacks top-level key(s) {missing}")
        cfile = case_dir / f"{nnn}-counters.json"
        if cfile.exists():
            for m in subset_mismatches(json.loads(cfile.read_text()), stats):
                errs.append(f"counters: {m}")
        if reasons is not None:
            drops = stats.get("drops", {})
            absent = [r for r in reasons if r not in drops]
            if absent:
                errs.append(f"stats JSON 'drops' lacks malformed.h reason(s) {absent}")
    return errs, stats


def check_coverage(case_dir: Path, runs: list[str], reasons: list[str], header: Path) -> list[str]:
    """Every malformed.h reason must be exercised (count >= 1) by some run's
    counters.json in this case, so a new reason cannot go untested."""
    covered: dict[str, int] = {}
    for nnn in runs:
        cfile = case_dir / f"{nnn}-counters.json"
        if cfile.exists():
            for k, v in json.loads(cfile.read_text()).get("drops", {}).items():
                if isinstance(v, int) and v > 0:
                    covered[k] = covered.get(k, 0) + v
    missing = [r for r in reasons if r not in covered]
    if not missing:
        print(f"  coverage: all {len(reasons)} reasons of {header.name} have frames")
        return []
    return [f"coverage: {header} reason(s) {missing} have no frame asserted in {case_dir.name}'s "
            "counters.json; add frames to tests/pipeline/malformed_frames.py and regenerate "
            "(/usr/bin/python3 gen.py in the case folder)"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--triage", required=True, type=Path, help="triage executable")
    ap.add_argument("--case", required=True, type=Path, help="case folder")
    ap.add_argument("--workdir", type=Path, help="where outputs go (kept); default: a temp dir, "
                    "removed on success")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per triage run (default 60)")
    ap.add_argument("--lcores", default="0,1", help="EAL -l list (default 0,1)")
    ap.add_argument("--only", action="append", metavar="NNN", help="run only these runs")
    ap.add_argument("--check-malformed-coverage", nargs="?", type=Path, const=DEFAULT_MALFORMED_H,
                    metavar="MALFORMED_H",
                    help="fail unless every TRIAGE_MALFORMED_REASONS entry is asserted with a "
                         "count >= 1 by this case (default header: lib/net/malformed.h)")
    ap.add_argument("--keep", action="store_true", help="keep the temp work dir on success")
    args = ap.parse_args()

    case_dir = args.case.resolve()
    if not case_dir.is_dir():
        print(f"no such case folder: {case_dir}", file=sys.stderr)
        return 2
    if not os.access(args.triage, os.X_OK):
        print(f"triage binary not executable: {args.triage}", file=sys.stderr)
        return 2
    args.triage = args.triage.resolve()
    runs = case_runs(case_dir)
    if args.only:
        runs = [r for r in runs if r in {"%03d" % int(x) for x in args.only}]
    if not runs:
        print(f"{case_dir}: no NNN-*.pcap runs found", file=sys.stderr)
        return 2
    config = read_config(case_dir / "config")

    reasons = None
    failures: list[str] = []
    if args.check_malformed_coverage:
        reasons = malformed_reasons(args.check_malformed_coverage)
        for e in check_coverage(case_dir, case_runs(case_dir), reasons, args.check_malformed_coverage):
            print(e)
            failures.append("coverage")

    signal.signal(signal.SIGTERM, _forward_signal)
    signal.signal(signal.SIGINT, _forward_signal)

    temp = args.workdir is None
    root = Path(tempfile.mkdtemp(prefix=f"golden-{case_dir.name}-")) if temp else args.workdir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    print(f"case {case_dir.name}: runs {', '.join(runs)}; config {config or '(none)'}; work {root}")

    for nnn in runs:
        work = root / nnn
        work.mkdir(parents=True, exist_ok=True)
        print(f"[{case_dir.name} {nnn}]")
        try:
            errs, _ = check_run(args, case_dir, nnn, work, config, reasons)
        except PcapError as e:
            errs = [str(e)]
        if errs:
            failures.append(f"run {nnn} failed")
            print("  FAIL")
            for e in errs:
                print("  " + e.replace("\n", "\n  "))
            print(f"  triage command: {(work / 'cmdline').read_text().strip() if (work / 'cmdline').exists() else '-'}")
            print("  triage stderr (tail):\n" + tail(work / "stderr.txt"))
            print("  triage stdout (tail):\n" + tail(work / "stdout.txt"))
            notes = case_dir / f"{nnn}-notes.txt"
            if notes.exists():
                print(f"  frame index: {notes}")
            print(f"  outputs kept in {work}")
        else:
            print("  PASS")

    if failures:
        print(f"case {case_dir.name}: FAIL ({'; '.join(failures)})")
        print(f"work dir kept: {root}")
        return 1
    print(f"case {case_dir.name}: PASS ({len(runs)} run(s))")
    if temp and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
