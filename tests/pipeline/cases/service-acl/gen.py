#!/usr/bin/python3
"""service-acl: only the policy's services are open toward a protected prefix.

script.cli: policy `clinic` (acl on; tcp 80, tcp 443, udp 53) protects
203.0.113.0/25 and 2001:db8:c1::/64; policy `pingable` (the same plus icmp)
protects 203.0.113.128/25 and 2001:db8:c1:1::/64. No syn-auth, no limits.

001: `clinic`, IPv4 and IPv6. SYNs to 22 and 8443 are dropped
     (service_acl), to 80 and 443 pass; UDP to 53 passes, to 161 is dropped;
     ICMP echo and port-unreachable, ICMPv6 echo and destination-unreachable
     are dropped (icmp not open), but ICMP fragmentation-needed (3/4),
     ICMPv6 packet-too-big and unicast neighbour solicitation/advertisement
     pass (icmp_exempt).
002: `pingable`: the ICMP and ICMPv6 messages 001 dropped now pass; TCP 22
     and UDP 161 are still closed (opening icmp opens nothing else).
003: the host's own connections. 32 transit frames fill port 0's first
     burst, so the host's frames on port 1 are handled first: its SYN to a
     remote :443 (IPv4 and IPv6) lets that remote's SYN-ACK and data back to
     the host's closed ephemeral port, but not a pure SYN from it to a
     closed port; an unsolicited ACK from another address is dropped. Its
     UDP requests (STUN to :3478, DNS to :53) let the answers back to the
     closed source ports; the same answer to another port, from another
     address or from another source port is dropped.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,  # noqa: E402
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, ICMPv6PacketTooBig, IPv6)
from scapy.layers.snmp import SNMP, SNMPget, SNMPvarbind  # noqa: E402
from scapy.asn1.asn1 import ASN1_NULL, ASN1_OID  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402

HERE = Path(__file__).resolve().parent
BURST = P.case_burst(HERE)

CLINIC4, CLINIC6 = P.V4_CLINIC, P.V6_CLINIC            # 203.0.113.10, 2001:db8:c1::10 (clinic)
PING4, PING6 = "203.0.113.140", "2001:db8:c1:1::10"    # (pingable)
REMOTE4, REMOTE6 = P.V4_REMOTE, P.V6_REMOTE


def syn(src, dst, sport, dport, ipid):
    return P.tcp_segment(IN, src, dst, sport, dport, "S", 0x11110000 + sport,
                         options=P.linux_syn_options(1440 if ":" in src else 1460, 5000 + ipid), ipid=ipid)


def udp(src, dst, sport, dport, payload=b"\x00" * 8, ipid=0x2000, direction=IN):
    l3 = IPv6(src=src, dst=dst, hlim=57) if ":" in src else IP(src=src, dst=dst, id=ipid, ttl=52)
    return P.l2(direction) / l3 / UDP(sport=sport, dport=dport) / Raw(payload)


def snmp_get():
    """SNMPv2c get-request, community "public", sysDescr.0."""
    return bytes(SNMP(community="public", PDU=SNMPget(id=0x1234, varbindlist=[
        SNMPvarbind(oid=ASN1_OID("1.3.6.1.2.1.1.1.0"), value=ASN1_NULL(0))])))


def icmp4(src, dst, icmp, quote=b"", ipid=0x2100):
    return P.l2(IN) / IP(src=src, dst=dst, id=ipid, ttl=52) / icmp / Raw(quote)


def icmp6(src, dst, icmp, quote=b"", hlim=57):
    return P.l2(IN) / IPv6(src=src, dst=dst, hlim=hlim) / icmp / Raw(quote)


def quote4(host, remote):
    """The start of a full-size segment the host sent (what an ICMP error quotes)."""
    orig = IP(src=host, dst=remote, id=0x5151, flags="DF", len=1500) / TCP(sport=443, dport=41000, flags="A",
                                                                          seq=0x01000000, ack=0x02000000)
    return bytes(orig)[:28]


def quote6(host, remote, size=1280 - 48):
    orig = IPv6(src=host, dst=remote, plen=1460) / TCP(sport=443, dport=41000, flags="A", seq=0x01000000,
                                                      ack=0x02000000) / Raw(P.filler(1440))
    return bytes(orig)[:size]


def ndp(host):
    """Unicast neighbour solicitation (reachability check) and advertisement
    from the ISP router's link-local address, hop limit 255."""
    ns = icmp6(P.V6_LL_ISP, host, ICMPv6ND_NS(tgt=host) / ICMPv6NDOptSrcLLAddr(lladdr=P.MAC_ISP), hlim=255)
    na = icmp6(P.V6_LL_ISP, host, ICMPv6ND_NA(R=1, S=1, O=0, tgt=P.V6_LL_ISP)
               / ICMPv6NDOptDstLLAddr(lladdr=P.MAC_ISP), hlim=255)
    return ns, na


def icmp_messages(run, h4, h6, open_icmp: bool) -> tuple[int, int]:
    """ICMP toward the hosts; returns (exempt, passed-as-icmp-class)."""
    closed = "fwd" if open_icmp else "service_acl"
    run.inbound(P.pad_to(icmp4(REMOTE4, h4, ICMP(type=8, id=0x0B0B, seq=1), b"\x00"), 98),
                "ICMP echo request", closed)
    run.inbound(icmp4(REMOTE4, h4, ICMP(type=3, code=3), quote4(h4, REMOTE4)), "ICMP port unreachable (3/3)",
                closed)
    run.inbound(icmp4(P.V4_ISP_GW, h4, ICMP(type=3, code=4, nexthopmtu=1400), quote4(h4, REMOTE4)),
                "ICMP fragmentation needed (3/4), next-hop MTU 1400: exempt", "fwd")
    run.inbound(P.pad_to(icmp6(REMOTE6, h6, ICMPv6EchoRequest(id=0x0D0D, seq=1), b"\x00"), 118),
                "ICMPv6 echo request", closed)
    run.inbound(icmp6(REMOTE6, h6, ICMPv6DestUnreach(code=4), quote6(h6, REMOTE6, 48)),
                "ICMPv6 port unreachable (1/4)", closed)
    run.inbound(icmp6("2001:db8:100::1", h6, ICMPv6PacketTooBig(mtu=1280), quote6(h6, REMOTE6)),
                "ICMPv6 packet too big, MTU 1280: exempt", "fwd")
    ns, na = ndp(h6)
    run.inbound(ns, "ICMPv6 neighbour solicitation (unicast, from fe80::1): exempt", "fwd")
    run.inbound(na, "ICMPv6 neighbour advertisement (to the host, from fe80::1): exempt", "fwd")
    return 4, 4 if open_icmp else 0


def ports_run(h4, h6, open_icmp: bool) -> tuple[P.ScrubRun, dict]:
    """001 (clinic) / 002 (pingable)."""
    name = "pingable" if open_icmp else "clinic"
    run = P.ScrubRun(f"service-acl {'002' if open_icmp else '001'}: policy {name} ({h4}, {h6})", BURST)
    syn_pass = udp_pass = 0
    if not open_icmp:
        for dport, fate, ipid in ((22, "service_acl", 0x100), (443, "fwd", 0x101), (80, "fwd", 0x102),
                                  (8443, "service_acl", 0x103)):
            run.inbound(syn(REMOTE4, h4, 41000 + dport, dport, ipid), f"SYN -> {h4}:{dport}", fate)
            syn_pass += fate == "fwd"
        for dport, fate in ((22, "service_acl"), (443, "fwd")):
            run.inbound(syn(REMOTE6, h6, 42000 + dport, dport, 0), f"SYN -> [{h6}]:{dport}", fate)
            syn_pass += fate == "fwd"
    else:
        run.inbound(syn(REMOTE4, h4, 41022, 22, 0x104), f"SYN -> {h4}:22 (icmp opens no port)", "service_acl")
    query = bytes(DNS(id=0x0101, rd=0, qd=DNSQR(qname="clinic.example", qtype="MX")))
    run.inbound(udp(REMOTE4, h4, 41053, 53, query), "UDP DNS query -> :53", "fwd")
    udp_pass += 1
    run.inbound(udp(REMOTE4, h4, 41161, 161, snmp_get()), "UDP SNMP get -> :161", "service_acl")
    if not open_icmp:
        run.inbound(udp(REMOTE6, h6, 41053, 53, query), "UDP DNS query -> [v6]:53", "fwd")
        udp_pass += 1
        run.inbound(udp(REMOTE6, h6, 41161, 161, snmp_get()), "UDP SNMP get -> [v6]:161", "service_acl")
    exempt, icmp_pass = icmp_messages(run, h4, h6, open_icmp)
    acl = sum(1 for *_, fate, _ in run.p0 if fate == "service_acl")
    fwd = sum(1 for *_, fate, _ in run.p0 if fate == "fwd")
    traffic = {"syn": {"packets": syn_pass, "dropped": 0}, "udp": {"packets": udp_pass, "dropped": 0},
               "icmp": {"packets": icmp_pass, "dropped": 0}}
    return run, dict(drops={"service_acl": acl}, scrub={"icmp_exempt": exempt}, classes={"protected": fwd},
                     traffic=traffic)


def replies_run() -> tuple[P.ScrubRun, dict]:
    """003."""
    run = P.ScrubRun("service-acl 003: replies to the protected host's own traffic", BURST)
    h, h6 = CLINIC4, CLINIC6
    web, web6, stun, dns, other = REMOTE4, REMOTE6, "198.51.100.50", P.V4_DNS, "198.51.100.99"
    P.transit_fillers(run, BURST)
    # Port 1 (first loop): the host opens a TCP connection and sends UDP requests.
    run.outbound(P.tcp_segment(OUT, h, web, 50000, 443, "S", 0x0A000000, options=P.linux_syn_options(1460, 1),
                               ipid=0x7000), f"host {h}:50000 SYN -> {web}:443 (learns {web})")
    run.outbound(P.tcp_segment(OUT, h6, web6, 50001, 443, "S", 0x0A100000,
                               options=P.linux_syn_options(1440, 1)), f"host [{h6}]:50001 SYN -> [{web6}]:443")
    binding = bytes.fromhex("000100002112a442") + bytes(range(12))  # STUN binding request
    run.outbound(udp(h, stun, 40123, 3478, binding, 0x7001, OUT), f"host :40123 STUN request -> {stun}:3478")
    q = DNS(id=0x5353, rd=1, qd=DNSQR(qname="www.example.org", qtype="A"))
    run.outbound(udp(h, dns, 53001, 53, bytes(q), 0x7002, OUT), f"host :53001 DNS query -> {dns}:53")
    # Port 0 after the fillers.
    synack = P.tcp_segment(IN, web, h, 443, 50000, "SA", 0x0B000000, 0x0A000001, options=[("MSS", 1460)],
                           ipid=0x0100)
    run.inbound(synack, f"{web}:443 SYN-ACK -> host :50000 (closed port, peer known)", "fwd")
    run.inbound(P.tcp_segment(IN, web, h, 443, 50000, "PA", 0x0B000001, 0x0A000001, b"HTTP/1.1 200 OK\r\n\r\n",
                              ipid=0x0101), "its data", "fwd")
    run.inbound(P.tcp_segment(IN, web, h, 61000, 22, "S", 0x0C000000, options=P.linux_syn_options(1460, 2),
                              ipid=0x0102), f"a pure SYN from {web} to :22: a known peer opens no port",
                "service_acl")
    run.inbound(P.tcp_segment(IN, other, h, 443, 50002, "A", 0x0D000000, 0x0E000000, ipid=0x0103),
                f"unsolicited ACK from {other} to :50002", "service_acl")
    run.inbound(P.tcp_segment(IN, web6, h6, 443, 50001, "SA", 0x0B100000, 0x0A100001, options=[("MSS", 1440)]),
                f"[{web6}]:443 SYN-ACK -> host :50001", "fwd")
    resp = bytes.fromhex("010100002112a442") + bytes(range(12))
    run.inbound(udp(stun, h, 3478, 40123, resp, 0x0200), "STUN answer -> :40123 (solicited)", "fwd")
    run.inbound(udp(stun, h, 3478, 40124, resp, 0x0201), "the same answer to :40124", "service_acl")
    run.inbound(udp("198.51.100.51", h, 3478, 40123, resp, 0x0202), "the answer from 198.51.100.51",
                "service_acl")
    run.inbound(udp(stun, h, 3479, 40123, resp, 0x0203), "the answer from source port 3479", "service_acl")
    a = DNS(id=0x5353, qr=1, rd=1, ra=1, qd=DNSQR(qname="www.example.org", qtype="A"),
            an=DNSRR(rrname="www.example.org", type="A", ttl=300, rdata="198.51.100.80"))
    run.inbound(udp(dns, h, 53, 53001, bytes(a), 0x0204), "DNS answer -> :53001 (solicited)", "fwd")
    traffic = {"syn": {"packets": 0, "dropped": 0}, "tcp": {"packets": 3, "dropped": 0},
               "udp": {"packets": 1, "dropped": 0}, "dns": {"packets": 1, "dropped": 0}}
    return run, dict(drops={"service_acl": 5}, scrub={"sources_learned": 2, "solicited_responses": 0},
                     classes={"protected": 5, "transit": BURST}, traffic=traffic)


def main() -> None:
    case = P.Case.from_argv(__file__)
    for nnn, (run, counters) in ((1, ports_run(CLINIC4, CLINIC6, False)), (2, ports_run(PING4, PING6, True)),
                                 (3, replies_run())):
        run.write_into(case, nnn, **counters)
    case.write()


if __name__ == "__main__":
    main()
