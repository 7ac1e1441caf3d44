#!/usr/bin/python3
"""syn-auth: SYN authentication by cookie SYN-ACK and the client's RST answer.

script.cli: policy `web` (syn-auth on) protects 203.0.113.0/26 and
2001:db8:c1::/64; policy `standby` (syn-auth auto) protects 203.0.113.64/27
(`calm`, mitigation off) and 203.0.113.96/27 (`attacked`, mitigation on).
config pins the cookie window, so with the shared secret every cookie is
fixed. The expected SYN-ACKs are computed here (pktlib.syn_cookie: our own
SipHash-2-4, key derivation and word packing), not taken from triage.

001: IPv4. Client A's SYN is answered by the box (cookie SYN-ACK out of port
     0, nothing reaches port 1); A's RST with seq = cookie authenticates A and
     ends there; A's retransmitted SYN, its ACK, data and a SYN to another
     port pass untouched. Spoofed source B gets SYN-ACKs only: its bare ACK,
     an RST with a forged cookie, an RST carrying A's cookie, an RST naming a
     window that is not accepted, and an ACK flood from random sources are
     dropped (tcp_unauthenticated). B's SYN sent again gets the same cookie.
002: the same over IPv6 (cookie MSS table 1220/1420/1440/8940), plus client
     C behind an 802.1Q tag: its SYN-ACK keeps the tag, its RST authenticates
     it, its SYN then passes tagged.
003: policy `auto`, prefix mitigation off: SYN, ACK, data and a stray ACK
     pass untouched, no cookie, no authentication counted.
004: outbound learning. 32 transit frames first (one burst), so the clinic
     host's frames on port 1 are handled before what follows on port 0: the
     host's ACK to remote C authenticates C (sources_learned), and C's ACK,
     data and a SYN to another protected host pass. A SYN-ACK or RST from the
     host, or UDP to a remote, teaches nothing: those remotes' ACKs and a
     never-seen remote's ACK are dropped.
005: 003's conversation toward the `attacked` prefix (mitigation on): cookies.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import random
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402

HERE = Path(__file__).resolve().parent
SECRET, WINDOW, BURST = P.case_cookie_settings(HERE)

# Protected (script.cli)
WEB4_A = P.V4_CLINIC        # 203.0.113.10, web4
WEB4_B = P.V4_CLINIC_SRV    # 203.0.113.20, web4
WEB6_A = P.V6_CLINIC        # 2001:db8:c1::10, web6
CALM = "203.0.113.70"
ATTACKED = "203.0.113.100"
# Remote
CLIENT_A4, CLIENT_B4 = P.V4_REMOTE, "192.0.2.77"
CLIENT_A6, CLIENT_B6, CLIENT_C6 = P.V6_REMOTE, "2001:db8:100::77", P.V6_REMOTE2
TRANSIT_SRC, TRANSIT_DST = "192.0.2.100", "198.19.0.1"  # 198.18.0.0/15 is not protected

HTTP_GET = b"GET / HTTP/1.1\r\nHost: portal.clinic.example\r\n\r\n"


def seg(src, dst, sport, dport, flags, seq, ack=0, payload=b"", options=(), vlan=None, ipid=0x3000,
        direction=IN):
    return P.tcp_segment(direction, src, dst, sport, dport, flags, seq, ack, payload, options, vlan, ipid)


linux_syn_opts = P.linux_syn_options


def answered(run: P.ScrubRun, syn, note):
    """A SYN the box answers; returns the cookie."""
    reply, cookie = P.cookie_synack(P.pad(syn), SECRET, WINDOW)
    run.inbound(syn, f"{note} (cookie {cookie:#010x})", "reply", reply)
    return cookie


def wrong_window(cookie):
    """The cookie with window bits naming neither the current nor the previous window."""
    bad = (WINDOW + 1) & 3
    return (cookie & ~0xC) | bad << 2


def ack_flood(run, n, dst, dport, rng, v6=False):
    for i in range(n):
        if v6:
            src = "2001:db8:%x:%x::%x" % (rng.randrange(0x200, 0xffff), rng.randrange(1, 0xffff),
                                         rng.randrange(1, 0xffff))
        else:
            src = "198.%d.%d.%d" % (rng.choice((18, 19)), rng.randrange(0, 256), rng.randrange(1, 255))
        run.inbound(seg(src, dst, rng.randrange(1024, 65536), dport, "A", rng.getrandbits(32),
                        rng.getrandbits(32), ipid=rng.getrandbits(16)),
                    f"ACK flood {i + 1}/{n} from {src}", "tcp_unauthenticated")


def handshake_run(v6: bool) -> tuple[P.ScrubRun, dict]:
    """001 / 002."""
    rng = random.Random(6 if v6 else 4)
    fam = "IPv6" if v6 else "IPv4"
    run = P.ScrubRun(f"syn-auth {'002' if v6 else '001'}: cookie handshake over {fam}", BURST)
    srv = WEB6_A if v6 else WEB4_A
    a, b = (CLIENT_A6, CLIENT_B6) if v6 else (CLIENT_A4, CLIENT_B4)
    mss_a, mss_b = (1440, 1400) if v6 else (1460, None)
    isn_a, isn_b, isn_srv = 0x1A2B3C4D, 0x0BADC0DE, 0x55AA0000
    ts = 3_000_000

    syn_a = seg(a, srv, 40001, 443, "S", isn_a, options=linux_syn_opts(mss_a, ts), ipid=0x4000)
    cookie_a = answered(run, syn_a, f"A {a}:40001 SYN -> {srv}:443, MSS {mss_a}")
    syn_b = seg(b, srv, 33333, 443, "S", isn_b,
                options=[("MSS", mss_b)] if mss_b else [], ipid=0x0101)
    cookie_b = answered(run, syn_b, f"B {b}:33333 (spoofed) SYN, {'MSS %d' % mss_b if mss_b else 'no MSS option'}")
    run.inbound(seg(a, srv, 40001, 443, "R", cookie_a, ipid=0x4001),
                "A's RST answering the SYN-ACK: seq = cookie A, no ACK flag", "syn_auth_answer")
    run.inbound(seg(a, srv, 40001, 443, "S", isn_a, options=linux_syn_opts(mss_a, ts + 4), ipid=0x4002),
                "A's retransmitted SYN (A authenticated)", "fwd")
    run.inbound(seg(a, srv, 40001, 443, "A", isn_a + 1, isn_srv + 1, ipid=0x4003),
                "A's ACK of the server's SYN-ACK", "fwd")
    run.inbound(seg(a, srv, 40001, 443, "PA", isn_a + 1, isn_srv + 1, HTTP_GET, ipid=0x4004),
                "A's request", "fwd")
    run.inbound(seg(a, srv, 40002, 80, "S", isn_a + 0x10000, options=linux_syn_opts(mss_a, ts + 9), ipid=0x4005),
                "A's SYN to port 80 (authentication is per source address)", "fwd")
    run.inbound(seg(b, srv, 33333, 443, "A", isn_b + 1, rng.getrandbits(32), ipid=0x0102),
                "B's bare ACK (B never saw its SYN-ACK)", "tcp_unauthenticated")
    run.inbound(seg(b, srv, 33333, 443, "R", cookie_b ^ 0x00100000, ipid=0x0103),
                "B's RST, seq = B's cookie with one hash bit flipped", "tcp_unauthenticated")
    run.inbound(seg(b, srv, 33333, 443, "R", cookie_a, ipid=0x0104),
                "B's RST carrying A's cookie (made for another tuple)", "tcp_unauthenticated")
    run.inbound(seg(b, srv, 33333, 443, "R", wrong_window(cookie_b), ipid=0x0105),
                "B's RST, B's cookie naming a window neither current nor previous", "tcp_unauthenticated")
    ack_flood(run, 5, srv, 443, rng, v6)
    again = answered(run, seg(b, srv, 33333, 443, "S", isn_b, options=[("MSS", mss_b)] if mss_b else [],
                              ipid=0x0106), "B's SYN again: still unauthenticated, same cookie")
    assert again == cookie_b
    n_syn, n_tcp, passed, unauth, cookies = 5, 12, 4, 9, 3

    if v6:
        # C behind VLAN 100 (priority 5), jumbo MSS 9000 -> table entry 8940.
        c, tag = CLIENT_C6, (5, 100)
        syn_c = seg(c, srv, 52000, 443, "S", 0x77777777, options=linux_syn_opts(9000, 123456), vlan=tag)
        cookie_c = answered(run, syn_c, f"C {c} on VLAN 100 prio 5: SYN, MSS 9000 (SYN-ACK keeps the tag)")
        run.inbound(seg(c, srv, 52000, 443, "R", cookie_c, vlan=tag), "C's tagged RST, seq = cookie C",
                    "syn_auth_answer")
        run.inbound(seg(c, srv, 52000, 443, "S", 0x77777777, options=linux_syn_opts(9000, 123460), vlan=tag),
                    "C's tagged SYN again: passes, tag intact", "fwd")
        n_syn, n_tcp, passed, cookies = n_syn + 2, n_tcp + 1, passed + 1, cookies + 1
    auth = 2 if v6 else 1
    return run, dict(
        drops={"syn_cookie": cookies, "syn_auth_answer": auth, "tcp_unauthenticated": unauth},
        scrub={"syn_cookies_sent": cookies, "sources_authenticated": auth, "authenticated_tcp": passed},
        classes={"protected": passed},
        traffic={"syn": {"packets": n_syn, "dropped": 0}, "tcp": {"packets": n_tcp, "dropped": 0}})


def auto_run(dst: str, mitigation: bool) -> tuple[P.ScrubRun, dict]:
    """003 (calm, mitigation off) / 005 (attacked, mitigation on): the same frames."""
    nnn = "005" if mitigation else "003"
    run = P.ScrubRun(f"syn-auth {nnn}: policy auto, prefix mitigation {'on' if mitigation else 'off'} "
                     f"({dst})", BURST)
    d = "198.51.100.40"
    isn = 0x31415926
    syn = seg(d, dst, 45000, 443, "S", isn, options=linux_syn_opts(1460, 777), ipid=0x5000)
    rst_seq = 0
    if mitigation:
        rst_seq = answered(run, syn, f"D {d} SYN -> {dst}:443")
    else:
        run.inbound(syn, f"D {d} SYN -> {dst}:443", "fwd")
    late = "fwd" if not mitigation else "tcp_unauthenticated"
    run.inbound(seg(d, dst, 45000, 443, "A", isn + 1, 0x27182818 + 1, ipid=0x5001), "D's ACK", late)
    run.inbound(seg(d, dst, 45000, 443, "PA", isn + 1, 0x27182818 + 1, HTTP_GET, ipid=0x5002), "D's request",
                late)
    run.inbound(seg("198.18.7.7", dst, 61000, 443, "A", 0x01020304, 0x05060708, ipid=0x0707),
                "stray ACK from 198.18.7.7", late)
    if not mitigation:
        return run, dict(drops={"syn_cookie": 0, "tcp_unauthenticated": 0},
                         scrub={"syn_cookies_sent": 0}, classes={"protected": 4},
                         traffic={"syn": {"packets": 1, "dropped": 0}, "tcp": {"packets": 3, "dropped": 0}})
    run.inbound(seg(d, dst, 45000, 443, "R", rst_seq, ipid=0x5003), "D's RST, seq = cookie", "syn_auth_answer")
    run.inbound(seg(d, dst, 45000, 443, "S", isn, options=linux_syn_opts(1460, 781), ipid=0x5004),
                "D's SYN again", "fwd")
    return run, dict(drops={"syn_cookie": 1, "syn_auth_answer": 1, "tcp_unauthenticated": 3},
                     scrub={"syn_cookies_sent": 1, "sources_authenticated": 1, "authenticated_tcp": 1},
                     classes={"protected": 1},
                     traffic={"syn": {"packets": 2, "dropped": 0}, "tcp": {"packets": 4, "dropped": 0}})


def learning_run() -> tuple[P.ScrubRun, dict]:
    """004."""
    run = P.ScrubRun("syn-auth 004: outbound learning (port 1 handled before port 0's second burst)", BURST)
    h = WEB4_A
    c, d, e, f, g = "198.51.100.30", "198.51.100.31", "198.51.100.32", "198.51.100.33", "198.51.100.34"
    P.transit_fillers(run, BURST, TRANSIT_SRC, TRANSIT_DST)
    # Port 1, all in the first loop: the clinic host on connections opened before syn-auth.
    run.outbound(seg(h, c, 50100, 443, "PA", 0x10000001, 0x20000001, b"\x17\x03\x03\x00\x10" + bytes(16),
                     ipid=0x7000, direction=OUT), f"host {h}:50100 -> C {c}:443 data+ACK: authenticates C")
    run.outbound(seg(h, e, 443, 51000, "SA", 0x30000000, 0x40000001, options=[("MSS", 1460)], ipid=0x7001,
                     direction=OUT), f"host SYN-ACK to E {e}: teaches nothing")
    run.outbound(seg(h, f, 443, 51001, "R", 0x50000000, ipid=0x7002, direction=OUT),
                 f"host RST to F {f}: teaches nothing")
    run.outbound(P.l2(OUT) / IP(src=h, dst=g, id=0x7003) / UDP(sport=50200, dport=3478) / Raw(b"\x00\x01\x00\x00"),
                 f"host UDP to G {g}:3478: not a TCP peer")
    # Port 0 after the fillers.
    run.inbound(seg(c, h, 443, 50100, "A", 0x20000001, 0x10000016, ipid=0x0c01), "C's ACK (learned)", "fwd")
    run.inbound(seg(c, h, 443, 50100, "PA", 0x20000001, 0x10000016, b"\x17\x03\x03\x00\x20" + bytes(32),
                    ipid=0x0c02), "C's data", "fwd")
    run.inbound(seg(c, WEB4_B, 52222, 443, "S", 0x0C0C0C0C, options=linux_syn_opts(1460, 99), ipid=0x0c03),
                f"C's SYN to another protected host {WEB4_B}: passes, no cookie", "fwd")
    run.inbound(seg(d, h, 443, 50101, "A", 0x60000001, 0x70000001, ipid=0x0d01),
                f"D {d} ACK: the host never talked to D", "tcp_unauthenticated")
    run.inbound(seg(e, h, 51000, 443, "A", 0x40000001, 0x30000001, ipid=0x0e01),
                "E's ACK completing the handshake the host answered", "tcp_unauthenticated")
    run.inbound(seg(f, h, 51001, 443, "A", 0x50000001, 0x50000001, ipid=0x0f01), "F's ACK after the host's RST",
                "tcp_unauthenticated")
    run.inbound(seg(g, h, 3478, 50200, "A", 0x12345678, 0x9abcdef0, ipid=0x0a01),
                "G's TCP ACK (the host only sent G UDP)", "tcp_unauthenticated")
    return run, dict(drops={"tcp_unauthenticated": 4, "syn_cookie": 0},
                     scrub={"sources_learned": 1, "authenticated_tcp": 3},
                     classes={"protected": 3, "transit": BURST},
                     traffic={"syn": {"packets": 1, "dropped": 0}, "tcp": {"packets": 6, "dropped": 0}})


def main() -> None:
    P.siphash_self_test()
    case = P.Case.from_argv(__file__)
    for nnn, (run, counters) in ((1, handshake_run(False)), (2, handshake_run(True)),
                                 (3, auto_run(CALM, False)), (4, learning_run()),
                                 (5, auto_run(ATTACKED, True))):
        run.write_into(case, nnn, **counters)
    case.write()


if __name__ == "__main__":
    main()
