#!/usr/bin/python3
"""malformed-inbound: every lib/net/malformed.h reason, sent from the outside.

001: the malformed catalogue (at least one frame per reason, several for
     most) interleaved with well-formed near-miss frames, all into port 0.
     Only the well-formed frames leave port 1, in order; nothing leaves
     port 0. The counters pin each reason's drop count and the totals.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import sys
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import malformed_frames as M  # noqa: E402
import pktlib as P  # noqa: E402


def main() -> None:
    case = P.Case.from_argv(__file__)
    reasons = P.malformed_reasons()
    cat = M.catalogue()

    unknown = sorted({r for r, _, _ in cat} - set(reasons))
    missing = [r for r in reasons if r not in {x for x, _, _ in cat}]
    if unknown or missing:
        sys.exit(f"catalogue out of sync with {P.MALFORMED_H}: "
                 f"missing {missing}, unknown {unknown}")

    bad = [f for _, _, f in cat]
    send, passed, notes = M.mixed_sequence(cat, M.near_misses())
    per_reason = Counter(r for r, _, _ in cat)

    counters = {
        "inbound": {"rx": len(send), "forwarded": len(passed), "dropped": len(bad)},
        "outbound": {"rx": 0, "forwarded": 0, "dropped": 0, "malformed_seen": 0},
        "ports": P.port_counters(send_p0=send, expect_p1=passed),
        "drops": {r: per_reason[r] for r in reasons},
    }
    case.run(1, send_p0=send, expect_p1=passed, counters=counters,
             notes=["# 001-send-p0.pcap frame by frame: parser verdict, size, what it is.",
                    "# Frames marked pass leave port 1 as the given 001-expect-p1.pcap index."] + notes)
    case.write()


if __name__ == "__main__":
    main()
