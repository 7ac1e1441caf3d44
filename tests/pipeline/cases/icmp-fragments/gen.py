#!/usr/bin/python3
"""icmp-fragments: ICMP limits spare path-MTU and neighbour discovery; fragments follow their policy.

script.cli (run by every run via config `-f`):
  icmplim   limit icmp source 1 burst 3        203.0.113.16/28, 2001:db8:c1:10::/64
  fragdrop  fragments drop                      203.0.113.32/28, 2001:db8:c1:20::/64
  fraglim   limit fragment source 1 burst 2     203.0.113.48/28
  open      no limits, fragments allowed        203.0.113.80/28, 2001:db8:c1:80::/64

001 ICMP: 6 echo requests from one router, 3 pass and 3 are dropped
    (rate_source). From that same, empty, source: fragmentation-needed
    (type 3 code 4) passes, never limited (scrub.icmp_exempt), while port
    unreachable (3/3), time exceeded and an echo reply are dropped. IPv6:
    packet-too-big (type 2) passes after the source's bucket is spent, and
    so do router/neighbour solicitation/advertisement and redirect
    (133-137) from the ISP router's link-local address, while destination
    unreachable (1), time exceeded (3), MLD done (132) and type 138 on
    either side of the ND range are dropped. The unlimited policy takes
    all its echoes; exempt messages are in no traffic class.
002 fragments: toward fragdrop every fragment of a UDP, TCP and ICMP
    datagram and of an IPv6 UDP datagram is dropped, first and later ones
    (fragment_policy), while unfragmented datagrams and an IPv6 atomic
    fragment (offset 0, M clear: a whole packet) pass; the same datagrams
    toward the open policy pass (class fragment). Toward fraglim one
    source's first two fragments pass and its next four are dropped
    (rate_source, class fragment) while another source's pass and the
    first source's unfragmented UDP (class udp) passes.

Rates are 1 per second: the run takes well under a millisecond of refill,
so the bursts alone decide. Each frame's verdict is in NNN-notes.txt.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import itertools
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6MLDone,  # noqa: E402
                                ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_Redirect,
                                ICMPv6ND_RS, ICMPv6PacketTooBig, ICMPv6TimeExceeded, ICMPv6Unknown,
                                IPv6)
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN  # noqa: E402

_ids = itertools.count(0x5000)

H, H6 = "203.0.113.17", "2001:db8:c1:10::1"
HD, HD6 = "203.0.113.33", "2001:db8:c1:20::1"
HF = "203.0.113.49"
U, U6 = "203.0.113.81", "2001:db8:c1:80::1"
ROUTER, ROUTER2, ROUTER6 = "198.51.100.7", "198.51.100.8", "2001:db8:100::7"
ISP_LL = P.V6_LL_ISP  # fe80::1
REMOTE, REMOTE_B, REMOTE6 = "198.51.100.10", "198.51.100.11", "2001:db8:100::10"


def echo(src, dst, seq):
    return P.scrub_echo(IN, src, dst, next(_ids), seq)


def quoted_v4(inner_src, inner_dst) -> bytes:
    """What an ICMP error quotes: the offending IPv4 header + 8 bytes (a TCP
    segment the clinic host sent, 1500 bytes with DF)."""
    seg = IP(src=inner_src, dst=inner_dst, id=0x4242, flags="DF", len=1500) / TCP(
        sport=443, dport=51000, seq=0x01020304, flags="PA")
    return bytes(seg)[:28]


def quoted_v6(inner_src, inner_dst) -> bytes:
    seg = IPv6(src=inner_src, dst=inner_dst, plen=1460) / TCP(sport=443, dport=51000, seq=0x01020304,
                                                            flags="PA")
    return bytes(seg)[:48]


def icmp4(src, dst, type_, code, body=None, **kw):
    b = body if body is not None else quoted_v4(dst, src)
    p = P.l2(IN) / IP(src=src, dst=dst, id=next(_ids)) / ICMP(type=type_, code=code, **kw) / Raw(b)
    return P.pad(p)


def icmp6(src, dst, layer, body=b"", hlim=64):
    p = P.l2(IN) / IPv6(src=src, dst=dst, hlim=hlim) / layer
    if body:
        p = p / Raw(body)
    return P.pad(p)


def icmp_run() -> P.ScrubTally:
    t = P.ScrubTally("001 ICMP: icmplim limit icmp source 1 burst 3")
    for i in range(1, 7):
        t.inbound(echo(ROUTER, H, i), f"{ROUTER} -> {H} echo request #{i}", "fwd" if i <= 3 else "rate_source",
                  cls="icmp")
    for i in range(4):
        t.inbound(icmp4(ROUTER, H, 3, 4, nexthopmtu=1400 - 8 * i),
                  f"{ROUTER} -> {H} fragmentation needed (3/4), MTU {1400 - 8 * i}", event="icmp_exempt")
    t.inbound(icmp4(ROUTER, H, 3, 3), f"{ROUTER} -> {H} port unreachable (3/3)", "rate_source", cls="icmp")
    t.inbound(icmp4(ROUTER, H, 11, 0), f"{ROUTER} -> {H} time exceeded (11/0)", "rate_source", cls="icmp")
    t.inbound(P.pad(P.l2(IN) / IP(src=ROUTER, dst=H, id=next(_ids)) / ICMP(type=0, id=0x0A0A, seq=9)
                    / Raw(b"pong")), f"{ROUTER} -> {H} echo reply", "rate_source", cls="icmp")
    for i in range(1, 3):
        t.inbound(echo(ROUTER2, H, i), f"{ROUTER2} (own bucket) -> {H} echo request #{i}", cls="icmp")
    for i in range(1, 6):
        t.inbound(echo(ROUTER, U, 10 + i), f"{ROUTER} -> {U} echo request (policy open)", cls="icmp")

    for i in range(1, 6):
        t.inbound(echo(ROUTER6, H6, i), f"{ROUTER6} -> {H6} echo request #{i}", "fwd" if i <= 3 else "rate_source",
                  cls="icmp")
    for i in range(3):
        t.inbound(icmp6(ROUTER6, H6, ICMPv6PacketTooBig(mtu=1280 + 40 * i), quoted_v6(H6, "2001:db8:100::99")),
                  f"{ROUTER6} -> {H6} packet too big (2), MTU {1280 + 40 * i}", event="icmp_exempt")
    t.inbound(icmp6(ROUTER6, H6, ICMPv6DestUnreach(code=4), quoted_v6(H6, "2001:db8:100::99")),
              f"{ROUTER6} -> {H6} destination unreachable (1)", "rate_source", cls="icmp")
    t.inbound(icmp6(ROUTER6, H6, ICMPv6TimeExceeded(code=0), quoted_v6(H6, "2001:db8:100::99")),
              f"{ROUTER6} -> {H6} time exceeded (3)", "rate_source", cls="icmp")

    for i in range(1, 5):
        t.inbound(echo(ISP_LL, H6, 20 + i), f"{ISP_LL} -> {H6} echo request #{i}",
                  "fwd" if i <= 3 else "rate_source", cls="icmp")
    nd = [
        (ICMPv6ND_RS(), b"", "router solicitation (133)"),
        (ICMPv6ND_RA(routerlifetime=1800), b"", "router advertisement (134)"),
        (ICMPv6ND_NS(tgt=H6), b"", "neighbour solicitation (135, unreachability probe)"),
        (ICMPv6ND_NA(tgt=ISP_LL, R=1, S=1, O=0), b"", "neighbour advertisement (136)"),
        (ICMPv6ND_Redirect(tgt="fe80::2", dst="2001:db8:100::99"), b"", "redirect (137)"),
    ]
    for layer, body, what in nd:
        t.inbound(icmp6(ISP_LL, H6, layer, body, hlim=255), f"{ISP_LL} -> {H6} {what}", event="icmp_exempt")
    t.inbound(icmp6(ISP_LL, H6, ICMPv6MLDone(mladdr="ff02::fb"), hlim=1), f"{ISP_LL} -> {H6} MLD done (132)",
              "rate_source", cls="icmp")
    t.inbound(icmp6(ISP_LL, H6, ICMPv6Unknown(type=138, code=0, msgbody=b"\x00" * 12), hlim=255),
              f"{ISP_LL} -> {H6} type 138 (router renumbering)", "rate_source", cls="icmp")
    for i in range(1, 3):
        t.inbound(echo(ROUTER6, U6, 30 + i), f"{ROUTER6} -> {U6} echo request (policy open)", cls="icmp")
    return t


def datagrams(src, dst):
    """(what, scapy L4 layer with payload, first fragment's length)."""
    n = next(_ids)
    return [
        ("UDP datagram", UDP(sport=40000 + n % 1000, dport=5004) / Raw(P.filler(120, n % 36)), 32),
        ("TCP segment", TCP(sport=41000 + n % 1000, dport=8443, seq=0x31415926, ack=0x27182818, flags="PA")
         / Raw(P.filler(100, n % 36)), 32),
        ("ICMP echo", (ICMP(type=8, id=0x0F0F, seq=n % 1000) if ":" not in src else
                       ICMPv6EchoRequest(id=0x0F0F, seq=n % 1000)) / Raw(P.filler(64, n % 36)), 16),
    ]


def frag_pair(t, src, dst, what, l4, first_len, fates, cls):
    frags = P.scrub_fragments(IN, src, dst, l4, next(_ids), first_len=first_len)
    for k, (f, fate) in enumerate(zip(frags, fates)):
        t.inbound(f, f"{src} -> {dst} {what}, {'first' if k == 0 else 'later'} fragment", fate, cls=cls)


def fragment_run() -> P.ScrubTally:
    t = P.ScrubTally("002 fragments: fragdrop (fragments drop), fraglim (limit fragment source 1 burst 2), open")
    for what, l4, first in datagrams(REMOTE, HD):
        frag_pair(t, REMOTE, HD, what, l4, first, ["fragment_policy"] * 2, None)
    for what, l4, first in datagrams(REMOTE6, HD6)[::2]:  # UDP and ICMPv6 echo
        frag_pair(t, REMOTE6, HD6, "IPv6 " + what, l4, first, ["fragment_policy"] * 2, None)
    t.inbound(P.scrub_udp(IN, REMOTE, HD, 40999, 5004, P.filler(120), ident=next(_ids)),
              f"{REMOTE} -> {HD} the UDP datagram unfragmented", cls="udp")
    t.inbound(P.scrub_tcp(IN, REMOTE, HD, 41999, 8443, "PA", 0x31415926, 0x27182818, P.filler(100),
                          ident=next(_ids)), f"{REMOTE} -> {HD} the TCP segment unfragmented (DF)", cls="tcp")
    from scapy.layers.inet6 import IPv6ExtHdrFragment
    atomic = P.pad(P.l2(IN) / IPv6(src=REMOTE6, dst=HD6) / IPv6ExtHdrFragment(offset=0, m=0, id=0xA70)
                   / UDP(sport=40998, dport=5004) / Raw(P.filler(40)))
    t.inbound(atomic, f"{REMOTE6} -> {HD6} IPv6 atomic fragment (offset 0, M clear: whole)", cls="udp")

    for what, l4, first in datagrams(REMOTE, U):
        frag_pair(t, REMOTE, U, what, l4, first, ["fwd"] * 2, "fragment")
    for what, l4, first in datagrams(REMOTE6, U6)[::2]:
        frag_pair(t, REMOTE6, U6, "IPv6 " + what, l4, first, ["fwd"] * 2, "fragment")

    fates = iter(["fwd", "fwd"] + ["rate_source"] * 4)
    for what, l4, first in datagrams(REMOTE, HF):
        frag_pair(t, REMOTE, HF, what, l4, first, [next(fates), next(fates)], "fragment")
    what, l4, first = datagrams(REMOTE_B, HF)[0]
    frag_pair(t, REMOTE_B, HF, what + " (another source)", l4, first, ["fwd", "fwd"], "fragment")
    t.inbound(P.scrub_udp(IN, REMOTE, HF, 40997, 5004, P.filler(120), ident=next(_ids)),
              f"{REMOTE} -> {HF} unfragmented UDP (class udp)", cls="udp")
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    icmp_run().write_into(case, 1)
    fragment_run().write_into(case, 2)
    case.write()


if __name__ == "__main__":
    main()
