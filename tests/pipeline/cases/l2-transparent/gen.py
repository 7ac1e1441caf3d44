#!/usr/bin/python3
"""l2-transparent: the bump is invisible at layer 2.

001: link-local control traffic a real uplink carries, both directions:
     ARP (request/reply, gratuitous, padded and unpadded), IPv6 neighbour
     and router discovery (incl. DAD from ::), MLD with a hop-by-hop router
     alert, DHCPv4/DHCPv6, IGMP with an IPv4 router-alert option, LLDP,
     STP (802.3 length field + LLC), LACP, EAPOL, Wake-on-LAN, MPLS,
     PPPoE discovery and an experimental ethertype.
002: VLANs: 802.1Q (incl. a 1518-byte full-size tagged frame), priority
     tag (VID 0), QinQ 802.1ad + 802.1Q carrying IPv6 (incl. 1522 bytes),
     0x9100 + 802.1Q, double 802.1Q, tagged ARP / NDP / non-IP.
003: Ethernet padding: zero and non-zero padding after ARP, IPv4 and IPv6
     packets, trailers longer than the minimum, exactly 60-byte frames.

Everything is forwarded byte for byte, MACs and tags included.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import struct
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scapy.contrib.igmpv3 import IGMPv3, IGMPv3gr, IGMPv3mq, IGMPv3mr  # noqa: E402
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.dhcp6 import (  # noqa: E402
    DHCP6_Advertise,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptElapsedTime,
    DHCP6OptIA_NA,
    DHCP6OptServerId,
    DUID_LL,
)
from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6MLDMultAddrRec,
    ICMPv6MLQuery,
    ICMPv6MLReport2,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.layers.l2 import ARP, LLC, STP, Dot1AD, Dot1Q, Dot3, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402

ISP, CLINIC = P.MAC_ISP, P.MAC_CLINIC
V4_GW = P.V4_ISP_GW


def mcast6_mac(addr: str) -> str:
    import ipaddress

    b = ipaddress.IPv6Address(addr).packed[-4:]
    return "33:33:" + ":".join("%02x" % x for x in b)


def solicited_node(addr: str) -> str:
    import ipaddress

    b = ipaddress.IPv6Address(addr).packed[-3:]
    return str(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + b))


def lldp(src_mac: str, port: bytes, sysname: bytes) -> bytes:
    def tlv(t: int, v: bytes) -> bytes:
        return struct.pack("!H", t << 9 | len(v)) + v

    mac = bytes.fromhex(src_mac.replace(":", ""))
    body = (tlv(1, b"\x04" + mac) + tlv(2, b"\x05" + port) + tlv(3, struct.pack("!H", 120))
            + tlv(5, sysname) + tlv(0, b""))
    return bytes(Ether(src=src_mac, dst="01:80:c2:00:00:0e", type=0x88CC)) + body


def lacpdu(actor_mac: str) -> bytes:
    """Slow-protocols LACPDU (IEEE 802.1AX): actor active, partner unknown."""
    mac = bytes.fromhex(actor_mac.replace(":", ""))
    actor = b"\x01\x14" + struct.pack("!H6sHHHB3x", 0x8000, mac, 1, 0x8000, 1, 0x3D)
    partner = b"\x02\x14" + struct.pack("!H6sHHHB3x", 0, b"\x00" * 6, 0, 0, 0, 0)
    collector = b"\x03\x10" + struct.pack("!H12x", 0)
    return b"\x01\x01" + actor + partner + collector + b"\x00\x00" + b"\x00" * 50


def control_run() -> P.Traffic:
    t = P.Traffic()
    # ARP: clinic router resolves the ISP gateway (padded, as a NIC sends it)...
    t.add(OUT, Ether(src=CLINIC, dst=P.MAC_BCAST)
          / ARP(op=1, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst="00:00:00:00:00:00", pdst=V4_GW))
    t.add(IN, Ether(src=ISP, dst=CLINIC) / ARP(op=2, hwsrc=ISP, psrc=V4_GW, hwdst=CLINIC, pdst=P.V4_CLINIC))
    # ...and the other way round, unpadded 42-byte frames (as captured at the sender).
    t.add(IN, Ether(src=ISP, dst=P.MAC_BCAST)
          / ARP(op=1, hwsrc=ISP, psrc=V4_GW, hwdst="00:00:00:00:00:00", pdst=P.V4_CLINIC), pad_frame=False)
    t.add(OUT, Ether(src=CLINIC, dst=ISP) / ARP(op=2, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst=ISP, pdst=V4_GW),
          pad_frame=False)
    # Gratuitous ARP from both sides; ARP probe (sender 0.0.0.0).
    t.add(IN, Ether(src=P.MAC_ISP2, dst=P.MAC_BCAST)
          / ARP(op=1, hwsrc=P.MAC_ISP2, psrc="203.0.113.2", hwdst="00:00:00:00:00:00", pdst="203.0.113.2"))
    t.add(OUT, Ether(src=CLINIC, dst=P.MAC_BCAST)
          / ARP(op=2, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst=P.MAC_BCAST, pdst=P.V4_CLINIC))
    t.add(OUT, Ether(src=P.MAC_CLINIC2, dst=P.MAC_BCAST)
          / ARP(op=1, hwsrc=P.MAC_CLINIC2, psrc="0.0.0.0", hwdst="00:00:00:00:00:00", pdst="203.0.113.11"))

    # IPv6 router discovery.
    ll_c, ll_i = P.V6_LL_CLINIC, P.V6_LL_ISP
    t.add(OUT, Ether(src=CLINIC, dst=mcast6_mac("ff02::2")) / IPv6(src=ll_c, dst="ff02::2", hlim=255)
          / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=CLINIC))
    t.add(IN, Ether(src=ISP, dst=mcast6_mac("ff02::1")) / IPv6(src=ll_i, dst="ff02::1", hlim=255)
          / ICMPv6ND_RA(chlim=64, M=1, O=1, routerlifetime=1800)
          / ICMPv6NDOptSrcLLAddr(lladdr=ISP) / ICMPv6NDOptMTU(mtu=1500)
          / ICMPv6NDOptPrefixInfo(prefix="2001:db8:c1::", prefixlen=64, validlifetime=86400,
                                  preferredlifetime=14400))
    # Duplicate address detection from the unspecified address.
    t.add(OUT, Ether(src=CLINIC, dst=mcast6_mac(solicited_node(P.V6_CLINIC)))
          / IPv6(src="::", dst=solicited_node(P.V6_CLINIC), hlim=255) / ICMPv6ND_NS(tgt=P.V6_CLINIC))
    # Address resolution both ways, solicited and unsolicited advertisements.
    t.add(IN, Ether(src=ISP, dst=mcast6_mac(solicited_node(P.V6_CLINIC)))
          / IPv6(src=ll_i, dst=solicited_node(P.V6_CLINIC), hlim=255)
          / ICMPv6ND_NS(tgt=P.V6_CLINIC) / ICMPv6NDOptSrcLLAddr(lladdr=ISP))
    t.add(OUT, Ether(src=CLINIC, dst=ISP) / IPv6(src=P.V6_CLINIC, dst=ll_i, hlim=255)
          / ICMPv6ND_NA(R=0, S=1, O=1, tgt=P.V6_CLINIC) / ICMPv6NDOptDstLLAddr(lladdr=CLINIC))
    t.add(OUT, Ether(src=CLINIC, dst=mcast6_mac(solicited_node(ll_i)))
          / IPv6(src=ll_c, dst=solicited_node(ll_i), hlim=255)
          / ICMPv6ND_NS(tgt=ll_i) / ICMPv6NDOptSrcLLAddr(lladdr=CLINIC))
    t.add(IN, Ether(src=ISP, dst=CLINIC) / IPv6(src=ll_i, dst=ll_c, hlim=255)
          / ICMPv6ND_NA(R=1, S=1, O=1, tgt=ll_i) / ICMPv6NDOptDstLLAddr(lladdr=ISP))
    t.add(IN, Ether(src=ISP, dst=mcast6_mac("ff02::1")) / IPv6(src=ll_i, dst="ff02::1", hlim=255)
          / ICMPv6ND_NA(R=1, S=0, O=1, tgt=ll_i) / ICMPv6NDOptDstLLAddr(lladdr=ISP))
    # MLD: query from the router, MLDv2 report from the clinic, hop-by-hop router alert.
    t.add(IN, Ether(src=ISP, dst=mcast6_mac("ff02::1")) / IPv6(src=ll_i, dst="ff02::1", hlim=1)
          / IPv6ExtHdrHopByHop(options=[RouterAlert()]) / ICMPv6MLQuery(mrd=10000))
    t.add(OUT, Ether(src=CLINIC, dst=mcast6_mac("ff02::16")) / IPv6(src=ll_c, dst="ff02::16", hlim=1)
          / IPv6ExtHdrHopByHop(options=[RouterAlert()])
          / ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst=solicited_node(P.V6_CLINIC))]))
    # ICMPv6 echo between link-local addresses.
    t.add(IN, Ether(src=ISP, dst=CLINIC) / IPv6(src=ll_i, dst=ll_c) / ICMPv6EchoRequest(id=1, seq=1))
    t.add(OUT, Ether(src=CLINIC, dst=ISP) / IPv6(src=ll_c, dst=ll_i) / ICMPv6EchoReply(id=1, seq=1))

    # DHCPv4 discover/offer.
    chaddr = bytes.fromhex(CLINIC.replace(":", "")) + b"\x00" * 10
    t.add(OUT, Ether(src=CLINIC, dst=P.MAC_BCAST) / IP(src="0.0.0.0", dst="255.255.255.255", id=0, ttl=64)
          / UDP(sport=68, dport=67) / BOOTP(xid=0x3903F326, chaddr=chaddr, flags="B")
          / DHCP(options=[("message-type", "discover"), ("hostname", b"clinic-rtr"), "end"]))
    t.add(IN, Ether(src=ISP, dst=P.MAC_BCAST) / IP(src=V4_GW, dst="255.255.255.255", id=0x0101)
          / UDP(sport=67, dport=68)
          / BOOTP(op=2, xid=0x3903F326, yiaddr=P.V4_CLINIC, siaddr=V4_GW, chaddr=chaddr, flags="B")
          / DHCP(options=[("message-type", "offer"), ("server_id", V4_GW), ("lease_time", 86400),
                          ("subnet_mask", "255.255.255.0"), ("router", V4_GW),
                          ("name_server", P.V4_DNS), "end"]))
    # DHCPv6 solicit/advertise.
    duid_c, duid_s = DUID_LL(lladdr=CLINIC), DUID_LL(lladdr=ISP)
    t.add(OUT, Ether(src=CLINIC, dst=mcast6_mac("ff02::1:2")) / IPv6(src=ll_c, dst="ff02::1:2", hlim=1)
          / UDP(sport=546, dport=547) / DHCP6_Solicit(trid=0x00ABCD)
          / DHCP6OptClientId(duid=duid_c) / DHCP6OptElapsedTime(elapsedtime=0) / DHCP6OptIA_NA(iaid=1))
    t.add(IN, Ether(src=ISP, dst=CLINIC) / IPv6(src=ll_i, dst=ll_c, hlim=64)
          / UDP(sport=547, dport=546) / DHCP6_Advertise(trid=0x00ABCD)
          / DHCP6OptClientId(duid=duid_c) / DHCP6OptServerId(duid=duid_s) / DHCP6OptIA_NA(iaid=1))
    # IGMPv3 general query (IPv4 router alert option) and report.
    t.add(IN, Ether(src=ISP, dst="01:00:5e:00:00:01")
          / IP(src=V4_GW, dst="224.0.0.1", ttl=1, tos=0xC0, id=0x0202, options=b"\x94\x04\x00\x00")
          / IGMPv3(type=0x11, mrcode=100) / IGMPv3mq())
    t.add(OUT, Ether(src=CLINIC, dst="01:00:5e:00:00:16")
          / IP(src=P.V4_CLINIC, dst="224.0.0.22", ttl=1, tos=0xC0, id=0x0303, options=b"\x94\x04\x00\x00")
          / IGMPv3(type=0x22) / IGMPv3mr(records=[IGMPv3gr(rtype=4, maddr="239.255.255.250")]))

    # Non-IP ethertypes.
    t.add(IN, lldp(ISP, b"xe-0/0/1", b"isp-pe1"))
    t.add(OUT, lldp(CLINIC, b"wan0", b"clinic-rtr"))
    t.add(IN, Dot3(src=P.MAC_ISP2, dst="01:80:c2:00:00:00") / LLC() / STP(rootmac=P.MAC_ISP2, bridgemac=P.MAC_ISP2))
    t.add(OUT, Ether(src=CLINIC, dst="01:80:c2:00:00:02", type=0x8809) / Raw(lacpdu(CLINIC)))
    t.add(OUT, Ether(src=CLINIC, dst="01:80:c2:00:00:03", type=0x888E) / Raw(b"\x01\x01\x00\x00"))
    t.add(IN, Ether(src=ISP, dst=P.MAC_BCAST, type=0x0842)
          / Raw(b"\xff" * 6 + bytes.fromhex(P.MAC_CLINIC2.replace(":", "")) * 16))
    mpls = struct.pack("!I", 1000 << 12 | 1 << 8 | 64)
    t.add(IN, Ether(src=ISP, dst=CLINIC, type=0x8847) / Raw(
        mpls + bytes(IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0404) / UDP(sport=33434, dport=33435) / Raw(P.filler(30)))))
    t.add(OUT, Ether(src=CLINIC, dst=P.MAC_BCAST, type=0x8863)
          / Raw(b"\x11\x09\x00\x00\x00\x0c" + b"\x01\x01\x00\x00" + b"\x01\x03\x00\x04\xde\xad\xbe\xef"))
    t.add(IN, Ether(src=ISP, dst=CLINIC, type=0x88B5) / Raw(P.filler(100)))
    t.add(OUT, Ether(src=CLINIC, dst=ISP, type=0x88B6) / Raw(P.filler(46)))
    return t


def vlan_run() -> P.Traffic:
    t = P.Traffic()
    # 802.1Q VLAN 100: TCP both ways, including a full-size 1518-byte tagged frame.
    def q(d, vid=100, prio=0):
        return P.l2(d) / Dot1Q(vlan=vid, prio=prio)

    t.add(OUT, q(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0100, flags="DF")
          / TCP(sport=40100, dport=80, flags="S", seq=1, options=P.tcp_syn_options(1460, 11)))
    t.add(IN, q(IN) / IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0200, flags="DF")
          / TCP(sport=80, dport=40100, flags="SA", seq=100, ack=2, options=P.tcp_syn_options(1460, 22, 11)))
    t.add(OUT, q(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0101, flags="DF")
          / TCP(sport=40100, dport=80, flags="A", seq=2, ack=101))
    t.add(IN, P.pad_to(q(IN) / IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0201, flags="DF")
                       / TCP(sport=80, dport=40100, flags="A", seq=101, ack=2) / Raw(b"H"), 1518))
    t.add(OUT, P.pad_to(q(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0102, flags="DF")
                        / TCP(sport=40100, dport=80, flags="PA", seq=2, ack=1561) / Raw(b"G"), 1518))
    # Priority tag (VID 0, PCP 5): voice RTP both ways.
    t.add(OUT, q(OUT, vid=0, prio=5) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE2, tos=0xB8, id=0x0103)
          / UDP(sport=16384, dport=20000) / Raw(b"\x80\x00\x00\x01" + P.filler(168)))
    t.add(IN, q(IN, vid=0, prio=5) / IP(src=P.V4_REMOTE2, dst=P.V4_CLINIC, tos=0xB8, id=0x0203)
          / UDP(sport=20000, dport=16384) / Raw(b"\x80\x00\x00\x01" + P.filler(168)))
    # Tagged ARP and tagged NDP.
    t.add(OUT, q(OUT) / ARP(op=1, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst="00:00:00:00:00:00", pdst=V4_GW))
    t.add(IN, q(IN) / ARP(op=2, hwsrc=ISP, psrc=V4_GW, hwdst=CLINIC, pdst=P.V4_CLINIC))
    t.add(IN, q(IN) / IPv6(src=P.V6_LL_ISP, dst=solicited_node(P.V6_CLINIC), hlim=255)
          / ICMPv6ND_NS(tgt=P.V6_CLINIC) / ICMPv6NDOptSrcLLAddr(lladdr=ISP))
    t.add(OUT, q(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_LL_ISP, hlim=255)
          / ICMPv6ND_NA(R=0, S=1, O=1, tgt=P.V6_CLINIC) / ICMPv6NDOptDstLLAddr(lladdr=CLINIC))

    # QinQ: 802.1ad S-tag 200 + 802.1Q C-tag 300 around IPv6.
    def qinq(d, outer=0x88A8):
        e = P.l2(d)
        if outer == 0x88A8:
            return e / Dot1AD(vlan=200) / Dot1Q(vlan=300)
        e.type = outer
        return e / Dot1Q(vlan=200) / Dot1Q(vlan=300)

    t.add(OUT, qinq(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_REMOTE)
          / TCP(sport=40200, dport=443, flags="S", seq=7, options=P.tcp_syn_options(1440, 33)))
    t.add(IN, qinq(IN) / IPv6(src=P.V6_REMOTE, dst=P.V6_CLINIC)
          / TCP(sport=443, dport=40200, flags="SA", seq=70, ack=8, options=P.tcp_syn_options(1440, 44, 33)))
    t.add(IN, P.pad_to(qinq(IN) / IPv6(src=P.V6_REMOTE, dst=P.V6_CLINIC)
                       / TCP(sport=443, dport=40200, flags="A", seq=71, ack=8) / Raw(b"\x17"), 1522))
    t.add(OUT, P.pad_to(qinq(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_REMOTE)
                        / TCP(sport=40200, dport=443, flags="PA", seq=8, ack=1503) / Raw(b"\x17"), 1522))
    t.add(OUT, qinq(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_REMOTE) / ICMPv6EchoRequest(id=2, seq=1) / Raw(P.filler(32)))
    t.add(IN, qinq(IN) / IPv6(src=P.V6_REMOTE, dst=P.V6_CLINIC) / ICMPv6EchoReply(id=2, seq=1) / Raw(P.filler(32)))
    t.add(IN, qinq(IN) / IPv6(src=P.V6_REMOTE2, dst=P.V6_CLINIC_SRV) / UDP(sport=33001, dport=41001) / Raw(P.filler(60)))
    # Legacy 0x9100 outer tag and double 802.1Q, carrying IPv4.
    t.add(IN, qinq(IN, 0x9100) / IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0204) / ICMP(type=8, id=5, seq=1) / Raw(P.filler(56)))
    t.add(OUT, qinq(OUT, 0x9100) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0104) / ICMP(type=0, id=5, seq=1) / Raw(P.filler(56)))
    t.add(OUT, qinq(OUT, 0x8100) / IP(src=P.V4_CLINIC, dst=P.V4_DNS, id=0x0105) / UDP(sport=53003, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname="clinic.example", qtype="TXT")))
    t.add(IN, qinq(IN, 0x8100) / IP(src=P.V4_DNS, dst=P.V4_CLINIC, id=0x0205) / UDP(sport=53, dport=53003) / DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname="clinic.example", qtype="TXT"), an=DNSRR(rrname="clinic.example", type="TXT", ttl=60, rdata=b"v=spf1 -all")))
    # Tagged non-IP and QinQ ARP.
    t.add(IN, P.l2(IN) / Dot1Q(vlan=4094, type=0x88B5) / Raw(P.filler(50)))
    t.add(OUT, qinq(OUT) / ARP(op=1, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst="00:00:00:00:00:00", pdst=V4_GW))
    return t


def padding_run() -> P.Traffic:
    t = P.Traffic()
    arp = Ether(src=ISP, dst=CLINIC) / ARP(op=2, hwsrc=ISP, psrc=V4_GW, hwdst=CLINIC, pdst=P.V4_CLINIC)
    t.add(IN, P.pad(arp, fill=b"\xa5\x5a"), pad_frame=False)
    t.add(OUT, P.pad(Ether(src=CLINIC, dst=ISP) / ARP(op=2, hwsrc=CLINIC, psrc=P.V4_CLINIC, hwdst=ISP, pdst=V4_GW),
                     fill=b"\xde\xad\xbe\xef"), pad_frame=False)
    # IPv4 packets shorter than the frame: zero padding, garbage padding, long trailer.
    ack = (IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0300, flags="DF")
           / TCP(sport=443, dport=40300, flags="A", seq=5, ack=6))
    t.add(IN, P.l2(IN) / ack)  # zero-padded 54 -> 60
    t.add(IN, P.pad(P.l2(IN) / ack, fill=b"\xff"), pad_frame=False)
    t.add(IN, P.pad(P.l2(IN) / ack, size=100, fill=b"\x13\x37"), pad_frame=False)
    rev = (IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0301, flags="DF")
           / TCP(sport=40300, dport=443, flags="A", seq=6, ack=5))
    t.add(OUT, P.pad(P.l2(OUT) / rev, fill=b"\x01"), pad_frame=False)
    t.add(OUT, P.pad(P.l2(OUT) / rev, size=128, fill=b"\x00\x11\x22\x33"), pad_frame=False)
    # UDP with 1 payload byte (43 -> 60), ICMP 28 -> 60.
    t.add(OUT, P.pad(P.l2(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0302) / UDP(sport=40010, dport=40011)
                     / Raw(b"!"), fill=b"\xcc"), pad_frame=False)
    t.add(IN, P.l2(IN) / IP(src=P.V4_REMOTE, dst=P.V4_CLINIC, id=0x0303) / ICMP(type=8, id=9, seq=9))
    # IPv6 with a trailer after the payload length.
    t.add(IN, P.pad(P.l2(IN) / IPv6(src=P.V6_REMOTE, dst=P.V6_CLINIC) / ICMPv6EchoRequest(id=3, seq=3),
                    size=80, fill=b"\x99"), pad_frame=False)
    t.add(OUT, P.pad(P.l2(OUT) / IPv6(src=P.V6_CLINIC, dst=P.V6_REMOTE) / UDP(sport=40010, dport=40011),
                     size=72, fill=b"\x77"), pad_frame=False)
    # Tagged frame padded to 64 (60 + tag).
    t.add(IN, P.pad(P.l2(IN) / Dot1Q(vlan=100) / ack, size=64, fill=b"\xee"), pad_frame=False)
    # Exactly 60 bytes, no padding needed.
    t.add(OUT, P.pad_to(P.l2(OUT) / IP(src=P.V4_CLINIC, dst=P.V4_REMOTE, id=0x0304) / UDP(sport=40010, dport=40011)
                        / Raw(b"x"), 60), pad_frame=False)
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    control_run().run_into(case, 1)
    vlan_run().run_into(case, 2)
    padding_run().run_into(case, 3)
    case.write()


if __name__ == "__main__":
    main()
