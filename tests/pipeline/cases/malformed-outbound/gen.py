#!/usr/bin/python3
"""malformed-outbound: the malformed-inbound frames, sent from the inside.

Outbound traffic is observed, never dropped: even malformed frames leave
unchanged, counted in outbound.malformed_seen.

001: the catalogue + near misses (same bytes as malformed-inbound/001) into
     port 1; all of them leave port 0 in order; no drops.
002: the same sequence into both ports at once: the outbound copy passes
     whole, the inbound copy is scrubbed (only the well-formed frames leave
     port 1).

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
    bad = [f for _, _, f in cat]
    send, passed, notes = M.mixed_sequence(cat, M.near_misses())
    n, nbad, ngood = len(send), len(bad), len(passed)

    case.run(1, send_p1=send, expect_p0=send, counters={
        "inbound": {"rx": 0, "forwarded": 0, "dropped": 0},
        "outbound": {"rx": n, "forwarded": n, "dropped": 0, "malformed_seen": nbad},
        "ports": P.port_counters(send_p1=send, expect_p0=send),
        "drops": P.zero_drops(reasons),
    }, notes=["# 001-send-p1.pcap frame by frame: parser verdict, size, what it is.",
              "# Outbound never drops: frame #i leaves port 0 as 001-expect-p0.pcap #i."] + notes)

    per_reason = Counter(r for r, _, _ in cat)
    case.run(2, send_p0=send, send_p1=send, expect_p0=send, expect_p1=passed, counters={
        "inbound": {"rx": n, "forwarded": ngood, "dropped": nbad},
        "outbound": {"rx": n, "forwarded": n, "dropped": 0, "malformed_seen": nbad},
        "ports": P.port_counters(send_p0=send, send_p1=send, expect_p0=send, expect_p1=passed),
        "drops": {r: per_reason[r] for r in reasons},
    }, notes=["# 002-send-p0.pcap and 002-send-p1.pcap (identical) frame by frame: parser",
              "# verdict, size, what it is. From port 1 every frame leaves port 0 (same",
              "# index); from port 0 only the pass frames leave port 1 (expect index given)."]
       + notes)
    case.write()


if __name__ == "__main__":
    main()
