#!/usr/bin/python3
"""signatures: payload rules drop or count what they match, only for policies that scan.

script.cli (run by every run via config `-f`):
  add signature 1001 tcp 80 drop /GET\\s+\\/admin/i
  add signature 1002 udp any count /exploit/
  sig     signatures on      203.0.113.16/28, 2001:db8:c1:10::/64
  nosig   (off)              203.0.113.80/28

001 TCP to port 80 of a scanned host: requests for /admin are dropped
    (reason signature, signatures.1001) however the method and path are
    spelled (caseless) and whatever whitespace follows GET (\\s+: spaces,
    a tab); POST /admin, /admin further down the request line, and a
    request split over two segments (no reassembly) pass, as do the same
    bytes to port 8080, from port 80, over UDP to port 80, and a SYN.
    UDP with "exploit" on any port is forwarded and counted
    (signatures.1002, scrub.signature_counted), once per packet however
    often it occurs; "EXPLOIT" is not (case-sensitive rule), nor is
    "exploit" over TCP (a udp rule) or in an Ethernet trailer after the IP
    datagram (only the L4 payload is scanned). IPv6 alike. The policy
    without signatures forwards and counts nothing.

Each frame's verdict is in NNN-notes.txt. That triage refuses to start
with a bad pattern (e.g. /(abc/) belongs to the console tests, not here.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import itertools
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN  # noqa: E402

_ids = itertools.count(0x7000)
_seq = itertools.count(0x5EC00000, 0x1000)

H, H6, U = "203.0.113.17", "2001:db8:c1:10::1", "203.0.113.81"
C, C6 = "198.51.100.20", "2001:db8:100::20"
REQ = b" HTTP/1.1\r\nHost: clinic.example\r\nUser-Agent: golden\r\n\r\n"


def tcp(src, dst, payload, dport=80, sport=51000, flags="PA"):
    return P.scrub_tcp(IN, src, dst, sport, dport, flags, next(_seq), 0x0A0B0C0D if "A" in flags else 0,
                       payload, ident=next(_ids))


def udp(src, dst, payload, dport=9999, sport=40000):
    return P.scrub_udp(IN, src, dst, sport, dport, payload, ident=next(_ids))


def run() -> P.ScrubTally:
    t = P.ScrubTally("001 signatures: 1001 tcp 80 drop /GET\\s+\\/admin/i, 1002 udp any count /exploit/",
                     signatures=(1001, 1002))

    def http(payload, fate, note, dst=H, src=C, **kw):
        drop = fate == "signature"
        t.inbound(tcp(src, dst, payload, **kw), f"{src} -> {dst}:{kw.get('dport', 80)} TCP {note}", fate,
                  cls="tcp", sig=1001 if drop else None)

    http(b"GET /index.html" + REQ, "fwd", "GET /index.html")
    http(b"GET /admin/login" + REQ, "signature", "GET /admin/login")
    http(b"get    /ADMIN" + REQ, "signature", "'get    /ADMIN' (caseless, several spaces)")
    http(b"GET\t/Admin/" + REQ, "signature", "'GET<tab>/Admin/'")
    http(b"GET /administrator" + REQ, "signature", "GET /administrator (no end anchor)")
    http(b"POST /admin" + REQ, "fwd", "POST /admin (not GET)")
    http(b"GET /index.html?next=/admin" + REQ, "fwd", "GET /index.html?next=/admin (not after GET)")
    http(b"GET ", "fwd", "'GET ' (first half of a split request)")
    http(b"/admin" + REQ, "fwd", "'/admin ...' (second half: no reassembly)")
    http(b"GET /admin" + REQ, "fwd", "GET /admin to port 8080 (rule is port 80)", dport=8080)
    http(b"GET /admin" + REQ, "fwd", "GET /admin from port 80 to 51000 (rule is the destination port)",
         sport=80, dport=51000)
    t.inbound(tcp(C, H, b"", flags="S"), f"{C} -> {H}:80 SYN (no payload)", cls="syn")
    t.inbound(udp(C, H, b"GET /admin" + REQ, dport=80), f"{C} -> {H}:80 UDP 'GET /admin' (rule 1001 is tcp)",
              cls="udp")

    def count(payload, note, hit, dst=H, src=C, **kw):
        t.inbound(udp(src, dst, payload, **kw), f"{src} -> {dst}:{kw.get('dport', 9999)} UDP {note}", cls="udp",
                  sig=1002 if hit else None, event="signature_counted" if hit else None)

    count(b"payload with an exploit inside", "'exploit' (counted, forwarded)", True)
    count(b"exploit", "'exploit' to port 53 (any port)", True, dport=53)
    count(b"exploit exploit exploit", "'exploit' three times (one count)", True, dport=5060)
    count(b"EXPLOIT", "'EXPLOIT' (rule 1002 is case-sensitive)", False)
    count(b"explo", "'explo' (partial)", False)
    # 43 bytes of frame, then a 17-byte trailer that starts with "exploit".
    trailer = bytes(P.l2(IN) / IP(src=C, dst=H, id=next(_ids)) / UDP(sport=40000, dport=9999) / Raw(b"x"))
    trailer += b"exploit" + bytes(60 - len(trailer) - 7)
    t.inbound(trailer, f"{C} -> {H}:9999 UDP 'x', Ethernet trailer 'exploit' (not in the datagram)", cls="udp")
    http(b"exploit" + REQ, "fwd", "'exploit' over TCP (rule 1002 is udp)")
    http(b"GET /admin?q=exploit" + REQ, "signature", "GET /admin?q=exploit (1001 only: TCP)")

    http(b"GET /admin" + REQ, "signature", "IPv6 GET /admin", dst=H6, src=C6)
    count(b"an exploit over IPv6", "IPv6 'exploit'", True, dst=H6, src=C6)

    http(b"GET /admin/login" + REQ, "fwd", "GET /admin/login to policy nosig", dst=U)
    http(b"get    /ADMIN" + REQ, "fwd", "'get    /ADMIN' to policy nosig", dst=U)
    count(b"payload with an exploit inside", "'exploit' to policy nosig (not counted)", False, dst=U)
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    run().write_into(case, 1)
    case.write()


if __name__ == "__main__":
    main()
