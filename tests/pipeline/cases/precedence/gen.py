#!/usr/bin/python3
"""precedence: allow and deny lists, transit and scrubbing, in that order.

script.cli: policy `guard` (syn-auth on, ACL with only tcp 443 open)
protects 203.0.113.0/24 and 2001:db8:c1::/48. Deny 198.51.100.0/24 with
an allow hole 198.51.100.64/26; allow 192.0.2.0/28 with a deny hole
192.0.2.8/30; deny 2001:db8:100::/48 with an allow hole
2001:db8:100:40::/64. Transit forward. The cookie window is pinned, so the
expected SYN-ACKs are computed here (pktlib.syn_cookie).

001: an unlisted source's SYN is answered with a cookie and its SYN to a
     closed port dropped (scrubbing is on); a deny-listed source's SYN, its
     RST carrying the right cookie and its SYN again are all dropped
     (deny_list: the RST authenticates nothing); an allow-listed source's
     SYNs to an open and a closed port and its bare ACK pass untouched, no
     cookie (inbound_classes.allowed); a source in the allow hole of a denied
     /24 passes, one outside it is dropped, one in the deny hole of an
     allowed /28 is dropped; the same over IPv6.
002: deny beats outbound learning: after 32 transit frames (one burst), the
     clinic host's data to a deny-listed remote and to an unlisted one (port
     1) authenticate both (sources_learned 2); the unlisted remote's ACK and
     SYN then pass, the deny-listed one's ACK, data and SYN are dropped.
003: transit is never scrubbed: SYNs to closed ports, bare ACKs (a flood),
     UDP to 161 and ICMP echo toward unprotected destinations, IPv4 and
     IPv6, all pass (inbound_classes.transit), an allow-listed source's too
     (class transit, not allowed); only a deny-listed source is dropped.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import random
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402

HERE = Path(__file__).resolve().parent
SECRET, WINDOW, BURST = P.case_cookie_settings(HERE)

H4, H6 = P.V4_CLINIC, P.V6_CLINIC   # protected (guard)
UNLISTED, UNLISTED6 = "192.0.2.200", "2001:db8:200::5"
DENIED, DENIED6 = P.V4_REMOTE, "2001:db8:100::20"    # 198.51.100.20 in the denied /24, the denied /48
HOLE, HOLE6 = "198.51.100.70", "2001:db8:100:40::5"  # allow holes in the denied prefixes
OUTSIDE_HOLE = "198.51.100.130"
ALLOWED = "192.0.2.5"                                # allow 192.0.2.0/28
DENY_HOLE = "192.0.2.9"                              # deny 192.0.2.8/30 inside it
TRANSIT4, TRANSIT6 = "198.19.0.10", "2001:db8:2::10"  # not protected


def syn(src, dst, sport, dport, ipid=0x1000, isn=None):
    return P.tcp_segment(IN, src, dst, sport, dport, "S", isn if isn is not None else 0x20000000 + sport,
                         options=P.linux_syn_options(1440 if ":" in src else 1460, 7000 + sport), ipid=ipid)


def answered(run, frame, note):
    reply, cookie = P.cookie_synack(P.pad(frame), SECRET, WINDOW)
    run.inbound(frame, f"{note} (cookie {cookie:#010x})", "reply", reply)
    return cookie


def lists_run() -> tuple[P.ScrubRun, dict]:
    """001."""
    run = P.ScrubRun("precedence 001: allow/deny lists before scrubbing", BURST)
    answered(run, syn(UNLISTED, H4, 40001, 443, 0x0101), f"unlisted {UNLISTED} SYN -> :443")
    run.inbound(syn(UNLISTED, H4, 40002, 22, 0x0102), "unlisted SYN -> :22 (closed)", "service_acl")

    d_syn = syn(DENIED, H4, 40003, 443, 0x0201)
    run.inbound(d_syn, f"deny-listed {DENIED} SYN -> :443: no cookie", "deny_list")
    _, d_cookie = P.cookie_synack(P.pad(d_syn), SECRET, WINDOW)
    run.inbound(P.tcp_segment(IN, DENIED, H4, 40003, 443, "R", d_cookie, ipid=0x0202),
                f"deny-listed RST with the right cookie {d_cookie:#010x} (would authenticate)", "deny_list")
    run.inbound(syn(DENIED, H4, 40003, 443, 0x0203), "deny-listed SYN again", "deny_list")

    run.inbound(syn(ALLOWED, H4, 40004, 443, 0x0301), f"allow-listed {ALLOWED} SYN -> :443: no cookie", "fwd")
    run.inbound(syn(ALLOWED, H4, 40005, 22, 0x0302), "allow-listed SYN -> :22: ACL skipped", "fwd")
    run.inbound(P.tcp_segment(IN, ALLOWED, H4, 40006, 443, "A", 0x30000000, 0x40000000, ipid=0x0303),
                "allow-listed bare ACK: not authenticated, passes", "fwd")
    run.inbound(syn(HOLE, H4, 40007, 443, 0x0401), f"{HOLE}: allow /26 inside the denied /24", "fwd")
    run.inbound(syn(OUTSIDE_HOLE, H4, 40008, 443, 0x0402), f"{OUTSIDE_HOLE}: denied /24 outside the hole",
                "deny_list")
    run.inbound(syn(DENY_HOLE, H4, 40009, 443, 0x0403), f"{DENY_HOLE}: deny /30 inside the allowed /28",
                "deny_list")

    run.inbound(syn(DENIED6, H6, 40010, 443), f"deny-listed {DENIED6} SYN", "deny_list")
    run.inbound(syn(HOLE6, H6, 40011, 22), f"{HOLE6} (allow /64 in the denied /48) SYN -> :22", "fwd")
    answered(run, syn(UNLISTED6, H6, 40012, 443), f"unlisted {UNLISTED6} SYN -> :443")
    return run, dict(drops={"deny_list": 6, "syn_cookie": 2, "service_acl": 1, "tcp_unauthenticated": 0},
                     scrub={"syn_cookies_sent": 2, "sources_authenticated": 0, "authenticated_tcp": 0},
                     classes={"allowed": 5},
                     traffic={"syn": {"packets": 2, "dropped": 0}, "tcp": {"packets": 0, "dropped": 0}})


def learning_run() -> tuple[P.ScrubRun, dict]:
    """002."""
    run = P.ScrubRun("precedence 002: deny beats outbound learning", BURST)
    other = "192.0.2.201"
    P.transit_fillers(run, BURST, "192.0.2.100", TRANSIT4)
    run.outbound(P.tcp_segment(OUT, H4, DENIED, 50100, 443, "PA", 0x01000000, 0x02000000, b"hello", ipid=0x7000),
                 f"host data -> deny-listed {DENIED}:443 (learns it)")
    run.outbound(P.tcp_segment(OUT, H4, other, 50101, 443, "PA", 0x03000000, 0x04000000, b"hello", ipid=0x7001),
                 f"host data -> unlisted {other}:443 (learns it)")
    run.inbound(P.tcp_segment(IN, DENIED, H4, 443, 50100, "A", 0x02000000, 0x01000005, ipid=0x0501),
                "deny-listed remote's ACK", "deny_list")
    run.inbound(P.tcp_segment(IN, DENIED, H4, 443, 50100, "PA", 0x02000000, 0x01000005, b"world", ipid=0x0502),
                "deny-listed remote's data", "deny_list")
    run.inbound(syn(DENIED, H4, 40020, 443, 0x0503), "deny-listed remote's SYN", "deny_list")
    run.inbound(P.tcp_segment(IN, other, H4, 443, 50101, "A", 0x04000000, 0x03000005, ipid=0x0601),
                "unlisted remote's ACK (learned: passes ACL and syn-auth)", "fwd")
    run.inbound(syn(other, H4, 40021, 443, 0x0602), "unlisted remote's SYN: no cookie", "fwd")
    return run, dict(drops={"deny_list": 3, "syn_cookie": 0, "tcp_unauthenticated": 0},
                     scrub={"sources_learned": 2, "authenticated_tcp": 2},
                     classes={"protected": 2, "transit": BURST})


def transit_run() -> tuple[P.ScrubRun, dict]:
    """003."""
    run = P.ScrubRun("precedence 003: transit is not scrubbed", BURST)
    rng = random.Random(3)
    run.inbound(syn(UNLISTED, TRANSIT4, 40030, 22, 0x0701), f"SYN -> {TRANSIT4}:22", "fwd")
    run.inbound(P.tcp_segment(IN, UNLISTED, TRANSIT4, 40030, 22, "A", 0x20000000 + 40031, 0x55555555, ipid=0x0702),
                "bare ACK", "fwd")
    for i in range(3):
        src = "198.18.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
        run.inbound(P.tcp_segment(IN, src, TRANSIT4, rng.randrange(1024, 65536), 443, "A", rng.getrandbits(32),
                                  rng.getrandbits(32), ipid=rng.getrandbits(16)), f"ACK flood {i + 1}/3 from {src}",
                    "fwd")
    run.inbound(P.l2(IN) / IP(src=UNLISTED, dst=TRANSIT4, id=0x0703) / UDP(sport=41161, dport=161)
                / Raw(b"\x30\x00"), "UDP -> :161", "fwd")
    run.inbound(P.pad_to(P.l2(IN) / IP(src=UNLISTED, dst=TRANSIT4, id=0x0704) / ICMP(type=8, id=7, seq=1)
                         / Raw(b"\x00"), 98), "ICMP echo", "fwd")
    run.inbound(syn(ALLOWED, TRANSIT4, 40032, 22, 0x0705), "allow-listed source to transit: class transit", "fwd")
    run.inbound(syn(DENIED, TRANSIT4, 40033, 22, 0x0706), "deny-listed source to transit", "deny_list")
    run.inbound(syn(UNLISTED6, TRANSIT6, 40034, 22), f"IPv6 SYN -> [{TRANSIT6}]:22", "fwd")
    run.inbound(P.tcp_segment(IN, UNLISTED6, TRANSIT6, 40034, 22, "A", 1, 1), "IPv6 bare ACK", "fwd")
    return run, dict(drops={"deny_list": 1, "syn_cookie": 0, "tcp_unauthenticated": 0, "service_acl": 0},
                     scrub={}, classes={"transit": 10},
                     traffic={"syn": {"packets": 0, "dropped": 0}, "tcp": {"packets": 0, "dropped": 0},
                              "udp": {"packets": 0, "dropped": 0}, "icmp": {"packets": 0, "dropped": 0}})


def main() -> None:
    P.siphash_self_test()
    case = P.Case.from_argv(__file__)
    for nnn, (run, counters) in ((1, lists_run()), (2, learning_run()), (3, transit_run())):
        run.write_into(case, nnn, **counters)
    case.write()


if __name__ == "__main__":
    main()
