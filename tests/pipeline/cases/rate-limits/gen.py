#!/usr/bin/python3
"""rate-limits: token-bucket limits drop what is over the rate and keep what is in it.

script.cli (run by every run via config `-f`) sets one policy per behaviour:
  persrc  limit udp source 1 burst 5          203.0.113.16/28, 2001:db8:c1:10::/64
  agg     aggregate ipv4 24 / ipv6 64,
          limit udp source 1 burst 4          203.0.113.32/28, 2001:db8:c1:20::/64
  perdst  limit syn destination 1 burst 10    203.0.113.48/28
  bytes   limit udp source 10 bits 16k burst 100 (20000 bytes)   203.0.113.64/28
  open    no limits                           203.0.113.80/28, 2001:db8:c1:80::/64

001 per source: 20 UDP frames from A, the first 5 pass and 15 are dropped
    (rate_source), while B's 3 frames, interleaved, pass; A's bucket is per
    source, not per destination (A to a second host is dropped too); A's TCP
    and SYNs (other classes) pass; A toward the unlimited policy and toward
    an unprotected address (transit) passes. IPv6: per /64 by default, so a
    second address of A's /64 shares its bucket, another /64 does not.
002 aggregation /24 and /64: six sources of one /24 share a bucket of 4, the
    next /24 has its own; the same six sources toward persrc (/32) all pass.
003 per destination: 30 SYNs from 30 sources to one host, 10 pass and 20 are
    dropped (rate_destination); another host has its own bucket; ACKs and
    SYN-ACKs are class tcp, not syn; the unlimited policy takes 15 SYNs.
004 bytes: with 20000 bytes of burst, full-size frames run out first (13
    pass, the next one does not fit) while 60-byte frames keep passing
    until the byte budget is spent; a source of small frames meets the
    100-packet burst instead.

Rates are 1-100 per second: the whole run takes well under a millisecond of
token refill (frames of one bucket mostly share one 32-frame burst and so one
timestamp), so the bursts alone decide. Each frame's verdict is in NNN-notes.txt.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import itertools
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pktlib as P  # noqa: E402
from pktlib import IN  # noqa: E402

_ids = itertools.count(0x1000)


def udp(src, dst, sport=40000, dport=5000, size=None):
    return P.scrub_udp(IN, src, dst, sport, dport, b"rate", size=size, ident=next(_ids))


def tcp(src, dst, flags, sport=41000, dport=443, payload=b""):
    n = next(_ids)
    return P.scrub_tcp(IN, src, dst, sport, dport, flags, seq=0x10000000 + n * 1000,
                       ack=0x20000000 if "A" in flags else 0, payload=payload, ident=n)


H_SRC, H_SRC2, H_SRC6 = "203.0.113.17", "203.0.113.18", "2001:db8:c1:10::1"
H_AGG, H_AGG6 = "203.0.113.33", "2001:db8:c1:20::1"
H_DST, H_DST2 = "203.0.113.49", "203.0.113.50"
H_BYTES = "203.0.113.65"
H_OPEN, H_OPEN6 = "203.0.113.81", "2001:db8:c1:80::1"
TRANSIT = "203.0.113.200"


def per_source() -> P.ScrubTally:
    t = P.ScrubTally("001 per-source limit: persrc limit udp source 1 burst 5")
    a, b = "198.18.0.10", "198.18.0.11"
    sent_a = 0

    def from_a(n):
        nonlocal sent_a
        for _ in range(n):
            sent_a += 1
            ok = sent_a <= 5
            t.inbound(udp(a, H_SRC), f"A {a} -> {H_SRC} UDP #{sent_a} of A",
                      "fwd" if ok else "rate_source", cls="udp")

    from_a(10)
    for i in range(3):
        t.inbound(udp(b, H_SRC), f"B {b} -> {H_SRC} UDP #{i + 1} (own bucket)", cls="udp")
    from_a(10)
    for i in range(2):
        t.inbound(udp(a, H_SRC2), f"A -> second host {H_SRC2}: A's bucket is empty", "rate_source", cls="udp")
    for i in range(3):
        t.inbound(tcp(a, H_SRC, "PA", payload=b"data"), f"A -> {H_SRC} TCP data (class tcp, no limit)", cls="tcp")
    for i in range(2):
        t.inbound(tcp(a, H_SRC, "S"), f"A -> {H_SRC} SYN (class syn, no limit)", cls="syn")
    for i in range(5):
        t.inbound(udp(a, H_OPEN), f"A -> {H_OPEN} UDP (policy open: no limits)", cls="udp")
    for i in range(3):
        t.inbound(udp(a, TRANSIT), f"A -> {TRANSIT} UDP (not protected: transit)", transit=True)

    a6, a6b, b6 = "2001:db8:100:a::10", "2001:db8:100:a::11", "2001:db8:100:b::10"
    for i in range(8):
        t.inbound(udp(a6, H_SRC6), f"A6 {a6} -> {H_SRC6} UDP #{i + 1}", "fwd" if i < 5 else "rate_source",
                  cls="udp")
    for i in range(2):
        t.inbound(udp(a6b, H_SRC6), f"{a6b} (A6's /64, the default IPv6 aggregation) -> {H_SRC6}",
                  "rate_source", cls="udp")
    for i in range(3):
        t.inbound(udp(b6, H_SRC6), f"{b6} (another /64) -> {H_SRC6} #{i + 1}", cls="udp")
    for i in range(3):
        t.inbound(udp(a6, H_OPEN6), f"A6 -> {H_OPEN6} (policy open)", cls="udp")
    return t


def aggregation() -> P.ScrubTally:
    t = P.ScrubTally("002 aggregation: agg aggregate ipv4 24 / ipv6 64, limit udp source 1 burst 4")
    for i in range(1, 7):
        src = f"198.18.1.{i}"
        t.inbound(udp(src, H_AGG), f"{src} -> {H_AGG}: token {i} of 198.18.1.0/24's 4",
                  "fwd" if i <= 4 else "rate_source", cls="udp")
    for i in range(5):
        t.inbound(udp("198.18.2.1", H_AGG), f"198.18.2.1 (another /24) -> {H_AGG} #{i + 1}",
                  "fwd" if i < 4 else "rate_source", cls="udp")
    t.inbound(udp("198.18.1.255", H_AGG), "198.18.1.255 (same /24, empty) -> agg", "rate_source", cls="udp")
    t.inbound(udp("198.18.0.255", H_AGG), "198.18.0.255 (the /24 below) -> agg", cls="udp")
    for i in range(1, 7):
        src = f"198.18.1.{i}"
        t.inbound(udp(src, H_SRC), f"{src} -> {H_SRC} (policy persrc counts per /32)", cls="udp")

    for i in range(1, 7):
        src = f"2001:db8:100:a::{i}"
        t.inbound(udp(src, H_AGG6), f"{src} -> {H_AGG6}: token {i} of the /64's 4",
                  "fwd" if i <= 4 else "rate_source", cls="udp")
    t.inbound(udp("2001:db8:100:a:ffff::1", H_AGG6), "2001:db8:100:a:ffff::1 (same /64) -> agg6",
              "rate_source", cls="udp")
    for i in range(2):
        t.inbound(udp("2001:db8:100:b::1", H_AGG6), f"2001:db8:100:b::1 (another /64) -> agg6 #{i + 1}",
                  cls="udp")
    return t


def per_destination() -> P.ScrubTally:
    t = P.ScrubTally("003 per-destination limit: perdst limit syn destination 1 burst 10")
    for i in range(1, 31):
        src = f"198.18.3.{i}"
        t.inbound(tcp(src, H_DST, "S", sport=42000 + i), f"{src} -> {H_DST}:443 SYN #{i} toward the host",
                  "fwd" if i <= 10 else "rate_destination", cls="syn")
    for i in range(1, 6):
        src = f"198.18.3.{i}"
        t.inbound(tcp(src, H_DST2, "S", sport=43000 + i), f"{src} -> {H_DST2}:443 SYN (other host's bucket)",
                  cls="syn")
    for i in range(3):
        t.inbound(tcp("198.18.3.1", H_DST, "A", sport=42001), f"198.18.3.1 -> {H_DST} ACK (class tcp)", cls="tcp")
    for i in range(2):
        t.inbound(tcp("198.18.3.2", H_DST, "SA", sport=42002), f"198.18.3.2 -> {H_DST} SYN-ACK (class tcp)",
                  cls="tcp")
    for i in range(1, 16):
        src = f"198.18.3.{100 + i}"
        t.inbound(tcp(src, H_OPEN, "S", sport=44000 + i), f"{src} -> {H_OPEN}:443 SYN (policy open)", cls="syn")
    return t


def bytes_limit() -> P.ScrubTally:
    t = P.ScrubTally("004 byte limit: bytes limit udp source 10 bits 16k burst 100 "
                     "(100 packets, 20000 bytes)")
    c, d, e = "198.18.4.1", "198.18.4.2", "198.18.4.3"
    budget = 20000
    plan = [1514] * 14 + [60] * 9 + [1514]
    for i, size in enumerate(plan):
        ok = size <= budget
        if ok:
            budget -= size
        t.inbound(udp(c, H_BYTES, size=size),
                  f"C {c} -> {H_BYTES} {size} B (byte tokens left before: {budget + size if ok else budget})",
                  "fwd" if ok else "rate_source", cls="udp")
    for i in range(105):
        t.inbound(udp(d, H_BYTES, size=60), f"D {d} -> {H_BYTES} 60 B #{i + 1} (packet burst 100)",
                  "fwd" if i < 100 else "rate_source", cls="udp")
    t.inbound(udp(e, H_BYTES, size=1514), f"E {e} -> {H_BYTES} 1514 B (fresh bucket)", cls="udp")
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    per_source().write_into(case, 1)
    aggregation().write_into(case, 2)
    per_destination().write_into(case, 3)
    bytes_limit().write_into(case, 4)
    case.write()


if __name__ == "__main__":
    main()
