#!/usr/bin/python3
"""forward-basic: ordinary traffic crosses the bump in both directions untouched.

001: IPv4 TCP. A clinic client fetches a page from a remote server (MSS,
     window scale, SACK-permitted, timestamps; full-size 1514-byte segments),
     and a remote client talks to a clinic server without timestamps
     (60-byte padded ACKs). Both close with a FIN exchange.
002: the same over IPv6.
003: UDP (DNS A/AAAA query and answer, full-size QUIC-like datagrams),
     ICMP echo and ICMPv6 echo in both directions, 60 to 1514 bytes.

Every frame sent into one port must come out of the other, byte for byte
and in order; nothing is dropped.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402


def tcp_run(v6: bool) -> P.Traffic:
    t = P.Traffic()
    if v6:
        c_ip, s_ip, r_cli, c_srv, mss = P.V6_CLINIC, P.V6_REMOTE, P.V6_REMOTE2, P.V6_CLINIC_SRV, 1440
    else:
        c_ip, s_ip, r_cli, c_srv, mss = P.V4_CLINIC, P.V4_REMOTE, P.V4_REMOTE2, P.V4_CLINIC_SRV, 1460

    # Clinic client -> remote HTTPS server, all options negotiated.
    web = P.TcpConversation(t, OUT, c_ip, s_ip, 40001, 443, 0x1A2B3C4D, 0x55AA0000,
                            mss_client=mss, mss_server=mss - 40)
    web.handshake()
    web.data(True, 517)                       # ClientHello-sized request
    web.ack(False)
    web.data(False, 1514, frame_size=True, push=False)   # full-size segments
    web.data(False, 1514, frame_size=True, push=False)
    web.ack(True)
    web.data(False, 1514, frame_size=True, push=False)
    web.data(False, 700)
    web.ack(True)
    web.data(True, 64)
    web.data(False, 1)                        # 1-byte payload, still > 60 bytes
    web.ack(True)
    web.close(client_first=True)

    # Remote client -> clinic server, no timestamps: bare ACKs are padded runts.
    srv = P.TcpConversation(t, IN, r_cli, c_srv, 51515, 8443, 0x0BADF00D, 0x7E57C0DE,
                            mss_client=mss, mss_server=mss, timestamps=False, wscale=(8, 6))
    srv.handshake()
    srv.data(True, 200)
    srv.ack(False)
    srv.data(False, 1514, frame_size=True, push=False)
    srv.data(False, 999)
    srv.ack(True)
    srv.data(True, 6)                         # 60-byte frame (IPv4) with payload
    srv.ack(False)
    srv.close(client_first=False)
    return t


def udp_icmp_run() -> P.Traffic:
    t = P.Traffic()

    def eth(d):
        return P.l2(d)

    # DNS over IPv4 and IPv6, clinic resolver asking a remote one.
    q = DNS(id=0x1234, rd=1, qd=DNSQR(qname="www.example.org", qtype="A"))
    a = DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.org", qtype="A"),
            an=DNSRR(rrname="www.example.org", type="A", ttl=300, rdata="198.51.100.80"))
    t.add(OUT, eth(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_DNS, id=0x2001) / UDP(sport=53001, dport=53) / q)
    t.add(IN, eth(IN) / IP(src=P.V4_DNS, dst=P.V4_CLINIC, id=0x3001) / UDP(sport=53, dport=53001) / a)
    q6 = DNS(id=0x4321, rd=1, qd=DNSQR(qname="www.example.org", qtype="AAAA"))
    a6 = DNS(id=0x4321, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.org", qtype="AAAA"),
             an=DNSRR(rrname="www.example.org", type="AAAA", ttl=300, rdata="2001:db8:100::80"))
    t.add(OUT, eth(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_DNS) / UDP(sport=53002, dport=53) / q6)
    t.add(IN, eth(IN) / IPv6(src=P.V6_DNS, dst=P.V6_CLINIC) / UDP(sport=53, dport=53002) / a6)
    # Remote resolver asking the clinic's authoritative server (inbound query).
    t.add(IN, eth(IN) / IP(src=P.V4_REMOTE2, dst=P.V4_CLINIC_SRV, id=0x3002) / UDP(sport=41000, dport=53)
          / DNS(id=0x0101, qd=DNSQR(qname="clinic.example", qtype="MX")))
    t.add(OUT, eth(OUT) / IP(src=P.V4_CLINIC_SRV, dst=P.V4_REMOTE2, id=0x2002) / UDP(sport=53, dport=41000)
          / DNS(id=0x0101, qr=1, aa=1, qd=DNSQR(qname="clinic.example", qtype="MX")))
    # Full-size UDP datagrams both ways (QUIC-like), and a 60-byte one.
    for d, (s, dst) in ((OUT, (P.V4_CLINIC, P.V4_REMOTE)), (IN, (P.V4_REMOTE, P.V4_CLINIC))):
        sp, dp = (50443, 443) if d == OUT else (443, 50443)
        t.add(d, P.pad_to(eth(d) / IP(src=s, dst=dst, id=0x2100) / UDP(sport=sp, dport=dp) / Raw(b"\xc3"), 1514))
        t.add(d, P.pad_to(eth(d) / IP(src=s, dst=dst, id=0x2101) / UDP(sport=sp, dport=dp) / Raw(b"\x43"), 60))
    for d, (s, dst) in ((OUT, (P.V6_CLINIC, P.V6_REMOTE)), (IN, (P.V6_REMOTE, P.V6_CLINIC))):
        sp, dp = (50443, 443) if d == OUT else (443, 50443)
        t.add(d, P.pad_to(eth(d) / IPv6(src=s, dst=dst) / UDP(sport=sp, dport=dp) / Raw(b"\xc3"), 1514))

    # ICMP echo: clinic pings out, remote pings in; 60, 98 and 1514 bytes.
    for size, seq in ((60, 1), (98, 2), (1514, 3)):
        for d, (s, dst), ident in ((OUT, (P.V4_CLINIC, P.V4_REMOTE), 0x0A0A), (IN, (P.V4_REMOTE2, P.V4_CLINIC_SRV), 0x0B0B)):
            back = IN if d == OUT else OUT
            req = eth(d) / IP(src=s, dst=dst, id=0x5000 + seq) / ICMP(type=8, id=ident, seq=seq) / Raw(b"\x00")
            rep = eth(back) / IP(src=dst, dst=s, id=0x6000 + seq) / ICMP(type=0, id=ident, seq=seq) / Raw(b"\x00")
            t.add(d, P.pad_to(req, size))
            t.add(back, P.pad_to(rep, size))
    # ICMPv6 echo both ways; 70 (minimum with a 8-byte payload), 118 and 1514 bytes.
    for size, seq in ((70, 1), (118, 2), (1514, 3)):
        for d, (s, dst), ident in ((OUT, (P.V6_CLINIC, P.V6_REMOTE), 0x0C0C), (IN, (P.V6_REMOTE2, P.V6_CLINIC_SRV), 0x0D0D)):
            back = IN if d == OUT else OUT
            req = eth(d) / IPv6(src=s, dst=dst) / ICMPv6EchoRequest(id=ident, seq=seq) / Raw(b"\x00")
            rep = eth(back) / IPv6(src=dst, dst=s) / ICMPv6EchoReply(id=ident, seq=seq) / Raw(b"\x00")
            t.add(d, P.pad_to(req, size))
            t.add(back, P.pad_to(rep, size))
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    tcp_run(v6=False).run_into(case, 1)
    tcp_run(v6=True).run_into(case, 2)
    udp_icmp_run().run_into(case, 3)
    case.write()


if __name__ == "__main__":
    main()
