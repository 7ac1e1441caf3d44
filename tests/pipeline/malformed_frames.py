"""The malformed-frame catalogue shared by the malformed-inbound and
malformed-outbound cases, plus the well-formed "near miss" frames they are
interleaved with.

Every entry names the lib/net/malformed.h reason lib/net/parse.h returns for
it; the frames were checked against the parser itself. Frames are built as
they would arrive from the ISP side (ISP router MAC -> clinic MAC); the
outbound case sends the very same bytes into the inside port.
"""

from __future__ import annotations

import struct

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    PadN,
    RouterAlert,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

import pktlib as P

# Shorthands: inbound direction, remote -> clinic.
SRC4, DST4 = P.V4_REMOTE, P.V4_CLINIC
SRC6, DST6 = P.V6_REMOTE, P.V6_CLINIC


def eth(ethertype: int | None = None):
    e = Ether(src=P.MAC_ISP, dst=P.MAC_CLINIC)
    if ethertype is not None:
        e.type = ethertype
    return e


def eth_hdr(ethertype: int) -> bytes:
    return bytes(eth(ethertype))[:14]


def ip4(**kw):
    kw.setdefault("src", SRC4)
    kw.setdefault("dst", DST4)
    kw.setdefault("id", 0x1000)
    return IP(**kw)


def ip6(**kw):
    kw.setdefault("src", SRC6)
    kw.setdefault("dst", DST6)
    return IPv6(**kw)


def tcp(flags="A", **kw):
    kw.setdefault("sport", 443)
    kw.setdefault("dport", 40000)
    kw.setdefault("seq", 1000)
    kw.setdefault("ack", 2000 if "A" in str(flags) else 0)
    kw.setdefault("window", 502)
    return TCP(flags=flags, **kw)


def tcp_raw_opts(opts: bytes, flags="S", payload: bytes = b"", doff: int | None = None, **kw):
    """TCP header whose option bytes are given verbatim (possibly malformed).

    Scapy sees header-without-options + Raw; the checksum still covers all."""
    if doff is None:
        assert len(opts) % 4 == 0
        doff = 5 + len(opts) // 4
    return tcp(flags=flags, dataofs=doff, **kw) / Raw(opts + payload)


def frag6(**kw):
    kw.setdefault("id", 0xC0FFEE)
    return IPv6ExtHdrFragment(**kw)


# --------------------------------------------------------------------------
# The catalogue: (reason, what the frame is, frame bytes)


def catalogue() -> list[tuple[str, str, bytes]]:
    c: list[tuple[str, str, bytes]] = []

    def add(reason: str, what: str, frame, pad: bool = True):
        b = bytes(frame)
        c.append((reason, what, P.pad(b) if pad else b))

    # --- L2 -------------------------------------------------------------
    add("l2_truncated", "12-byte runt: MAC addresses only",
        eth_hdr(0x0800)[:12], pad=False)
    add("l2_truncated", "802.1Q tag with nothing after the TCI",
        eth_hdr(0x8100) + struct.pack("!H", 100), pad=False)
    add("l2_too_many_tags", "three 802.1Q tags around a valid IPv4/UDP packet",
        eth() / Dot1Q(vlan=10) / Dot1Q(vlan=20) / Dot1Q(vlan=30)
        / ip4() / UDP(sport=53, dport=33000) / Raw(b"x" * 8))
    add("l2_too_many_tags", "802.1ad + two 802.1Q tags around IPv6/UDP",
        eth() / Dot1AD(vlan=200) / Dot1Q(vlan=300) / Dot1Q(vlan=400)
        / ip6() / UDP(sport=53, dport=33000) / Raw(b"x" * 8))

    # --- IPv4 header ----------------------------------------------------
    good4 = bytes(ip4(proto=17) / UDP(sport=53, dport=33000) / Raw(b"y" * 12))
    add("ipv4_truncated", "IPv4 ethertype, 16 of 20 header bytes",
        eth_hdr(0x0800) + good4[:16], pad=False)
    add("ipv4_truncated", "802.1Q-tagged IPv4 with a 10-byte header",
        bytes(eth() / Dot1Q(vlan=100, type=0x0800))[:18] + good4[:10], pad=False)
    add("ipv4_bad_version", "IPv4 ethertype carrying version 6",
        eth() / ip4(version=6) / UDP(sport=53, dport=33000))
    add("ipv4_bad_version", "IPv4 ethertype carrying version 0",
        eth() / ip4(version=0) / UDP(sport=53, dport=33000))
    add("ipv4_bad_ihl", "IHL 4 (16 bytes)",
        eth() / ip4(ihl=4) / UDP(sport=53, dport=33000))
    add("ipv4_bad_ihl", "IHL 15 (60 bytes) in a 46-byte L3",
        eth() / ip4(ihl=15) / tcp())
    add("ipv4_bad_length", "total length 19, below the header",
        eth() / ip4(len=19) / UDP(sport=53, dport=33000))
    add("ipv4_bad_length", "total length 1500 in a 60-byte frame",
        eth() / ip4(len=1500) / UDP(sport=53, dport=33000))
    # Options are laid out by hand; the checksum is recomputed so only the
    # option list is wrong.
    for what, opts in (
        ("timestamp option claiming 8 bytes in a 4-byte option area", b"\x44\x08\x05\x00"),
        ("option with length 1", b"\x07\x01\x00\x00"),
        ("option kind in the last header byte, no room for its length", b"\x01\x01\x01\x83"),
    ):
        hdr = bytes(ip4(proto=17, ihl=6, len=24 + 16))[:20]
        hdr = bytes([0x46]) + hdr[1:]
        frame = eth_hdr(0x0800) + hdr + opts + bytes(UDP(sport=53, dport=33000, len=16, chksum=0)) + b"z" * 8
        add("ipv4_bad_options", what, P.refresh_ipv4_checksum(frame))
    bad = bytearray(bytes(eth() / ip4() / UDP(sport=53, dport=33000) / Raw(b"q" * 10)))
    bad[24] ^= 0xFF  # high byte of the header checksum
    add("ipv4_bad_checksum", "UDP with one header checksum byte inverted", bytes(bad))
    bad = bytearray(bytes(eth() / Dot1Q(vlan=100) / ip4() / tcp()))
    bad[18 + 10:18 + 12] = b"\x00\x00"
    add("ipv4_bad_checksum", "802.1Q-tagged TCP with a zero header checksum", bytes(bad))

    # --- IPv6 header ----------------------------------------------------
    good6 = bytes(ip6() / UDP(sport=53, dport=33000) / Raw(b"y" * 8))
    add("ipv6_truncated", "IPv6 ethertype, 30 of 40 header bytes",
        eth_hdr(0x86DD) + good6[:30], pad=False)
    add("ipv6_truncated", "802.1ad/802.1Q-tagged IPv6 with a 20-byte header",
        bytes(eth() / Dot1AD(vlan=200) / Dot1Q(vlan=300, type=0x86DD))[:22] + good6[:20], pad=False)
    add("ipv6_bad_version", "IPv6 ethertype carrying version 4",
        eth() / ip6(version=4) / UDP(sport=53, dport=33000))
    add("ipv6_bad_length", "payload length 1000 in a 100-byte frame",
        eth() / ip6(plen=1000) / UDP(sport=53, dport=33000) / Raw(b"y" * 38))

    # --- IPv6 extension headers -------------------------------------------
    add("ipv6_ext_truncated", "destination options header with 4 bytes left",
        eth() / ip6(nh=60) / Raw(b"\x11\x00\x01\x02"))
    add("ipv6_ext_truncated", "destination options claiming 32 bytes, 16 present",
        eth() / ip6(nh=60) / Raw(b"\x11\x03\x01\x0c" + b"\x00" * 12))
    chain = IPv6ExtHdrDestOpt()
    for _ in range(8):
        chain = chain / IPv6ExtHdrDestOpt()
    add("ipv6_ext_too_many", "nine destination options headers before UDP",
        eth() / ip6() / chain / UDP(sport=53, dport=33000))
    add("ipv6_ext_order", "hop-by-hop after a destination options header",
        eth() / ip6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / UDP(sport=53, dport=33000))
    add("ipv6_ext_order", "hop-by-hop after a fragment header",
        eth() / ip6() / frag6() / IPv6ExtHdrHopByHop() / UDP(sport=53, dport=33000))
    add("ipv6_bad_options", "hop-by-hop router alert claiming 8 data bytes in 6",
        eth() / ip6(nh=0) / Raw(b"\x11\x00\x05\x08\x00\x00\x00\x00")
        / UDP(sport=53, dport=33000))
    add("ipv6_bad_options", "destination option type in the last byte, no length",
        eth() / ip6(nh=60) / Raw(b"\x11\x00\x01\x03\x00\x00\x00\xc2")
        / UDP(sport=53, dport=33000))
    add("ipv6_rh0", "type 0 routing header with one segment left",
        eth() / ip6() / IPv6ExtHdrRouting(type=0, segleft=1, addresses=[P.V6_REMOTE2])
        / UDP(sport=53, dport=33000))

    # --- Fragments -------------------------------------------------------
    add("frag_bad", "IPv4 reserved (evil) bit set",
        eth() / ip4(flags=4) / UDP(sport=53, dport=33000))
    add("frag_bad", "IPv4 first fragment (MF) with 13 payload bytes",
        eth() / ip4(flags="MF", proto=17) / Raw(b"\x00" * 13))
    add("frag_bad", "IPv6 fragment header with a reserved bit set",
        eth() / ip6() / frag6(nh=17, res2=1) / UDP(sport=53, dport=33000))
    add("frag_bad", "IPv6 non-last fragment with 12 payload bytes",
        eth() / ip6() / frag6(nh=17, m=1) / Raw(b"\x00" * 12))
    add("frag_oversize", "IPv4 last fragment at offset 65512 carrying 32 bytes",
        eth() / ip4(frag=8189, proto=1) / Raw(b"\x00" * 32))
    add("frag_oversize", "IPv6 last fragment at offset 65520 carrying 24 bytes",
        eth() / ip6() / frag6(nh=58, offset=8190) / Raw(b"\x00" * 24))
    add("frag_tiny", "IPv4 first TCP fragment with only 8 bytes",
        eth() / ip4(flags="MF", proto=6) / Raw(bytes(tcp("S"))[:8]))
    add("frag_tiny", "IPv4 TCP fragment at offset 1 (RFC 1858 overlap)",
        eth() / ip4(frag=1, proto=6) / Raw(b"\x00" * 16))
    add("frag_tiny", "IPv6 first TCP fragment with only 8 bytes",
        eth() / ip6() / frag6(nh=6, m=1) / Raw(bytes(tcp("S"))[:8]))

    # --- Addresses --------------------------------------------------------
    add("ip_src_martian", "IPv4 source 127.0.0.1",
        eth() / ip4(src="127.0.0.1") / tcp("S"))
    add("ip_src_martian", "IPv4 multicast source 224.0.0.5",
        eth() / ip4(src="224.0.0.5") / UDP(sport=520, dport=520))
    add("ip_src_martian", "IPv4 source 255.255.255.255",
        eth() / ip4(src="255.255.255.255") / ICMP())
    add("ip_src_martian", "IPv6 source ::1",
        eth() / ip6(src="::1") / tcp("S"))
    add("ip_src_martian", "IPv6 multicast source ff02::1",
        eth() / ip6(src="ff02::1") / ICMPv6EchoRequest(id=1, seq=1))
    add("land", "IPv4 SYN with source == destination (port 80 -> 80)",
        eth() / ip4(src=DST4) / tcp("S", sport=80, dport=80))
    add("land", "IPv6 SYN with source == destination",
        eth() / ip6(src=DST6) / tcp("S", sport=80, dport=80))

    # --- TCP ---------------------------------------------------------------
    add("tcp_truncated", "IPv4 protocol 6 with 12 payload bytes (padded frame)",
        eth() / ip4(proto=6) / Raw(bytes(tcp("S"))[:12]))
    add("tcp_truncated", "IPv6 next header 6 with 16 payload bytes",
        eth() / ip6(nh=6) / Raw(bytes(tcp("S"))[:16]))
    add("tcp_bad_data_offset", "data offset 4",
        eth() / ip4() / tcp("S", dataofs=4))
    add("tcp_bad_data_offset", "data offset 15 (60 bytes) in a 20-byte segment",
        eth() / ip4() / tcp("S", dataofs=15))
    for what, opts in (
        ("MSS option with length 3", b"\x02\x03\x05\xb4"),
        ("option with length 1", b"\x01\x01\x13\x01"),
        ("timestamps option running past the header", b"\x01\x01\x08\x0a\x00\x00\x00\x01"),
        ("window scale option with length 4", b"\x03\x04\x07\x00"),
        ("SACK option with a 6-byte block", b"\x05\x06\x00\x00\x00\x01\x01\x00"),
        ("option kind in the last header byte", b"\x01\x01\x01\x02"),
    ):
        add("tcp_bad_options", what, eth() / ip4() / tcp_raw_opts(opts, flags="S"))
    add("tcp_syn_fin", "SYN+FIN", eth() / ip4() / tcp("SF"))
    add("tcp_syn_fin", "IPv6 SYN+FIN+ACK", eth() / ip6() / tcp("SFA"))
    add("tcp_syn_rst", "SYN+RST", eth() / ip4() / tcp("SR"))
    add("tcp_null", "no flags", eth() / ip4() / tcp(""))
    add("tcp_null", "IPv6, only ECE and CWR", eth() / ip6() / tcp("EC"))
    add("tcp_xmas", "FIN+PSH+URG", eth() / ip4() / tcp("FPU"))
    add("tcp_xmas", "FIN+PSH+URG+ACK", eth() / ip4() / tcp("FPUA"))
    add("tcp_fin_no_ack", "bare FIN", eth() / ip4() / tcp("F"))
    add("tcp_fin_no_ack", "IPv6 FIN+PSH without ACK", eth() / ip6() / tcp("FP"))

    # --- UDP / ports / ICMP -------------------------------------------------
    add("udp_truncated", "IPv4 protocol 17 with 4 payload bytes",
        eth() / ip4(proto=17) / Raw(b"\x00\x35\x80\xe8"))
    add("udp_bad_length", "UDP length 4",
        eth() / ip4() / UDP(sport=53, dport=33000, len=4) / Raw(b"r" * 8))
    add("udp_bad_length", "UDP length 200 with 20 bytes present",
        eth() / ip4() / UDP(sport=53, dport=33000, len=200) / Raw(b"r" * 12))
    add("udp_bad_length", "IPv6 UDP length 64 with 16 bytes present",
        eth() / ip6() / UDP(sport=53, dport=33000, len=64) / Raw(b"r" * 8))
    add("l4_port_zero", "TCP SYN from port 0",
        eth() / ip4() / tcp("S", sport=0, dport=80))
    add("l4_port_zero", "UDP to port 0",
        eth() / ip4() / UDP(sport=40000, dport=0) / Raw(b"p" * 8))
    add("l4_port_zero", "IPv6 UDP from port 0",
        eth() / ip6() / UDP(sport=0, dport=123) / Raw(b"p" * 8))
    add("icmp_truncated", "IPv4 protocol 1 with a 4-byte ICMP header",
        eth() / ip4(proto=1) / Raw(b"\x08\x00\xf7\xff"))
    add("icmpv6_truncated", "IPv6 next header 58 with 4 bytes",
        eth() / ip6(nh=58) / Raw(b"\x80\x00\x00\x00"))
    return c


# --------------------------------------------------------------------------
# Well-formed frames placed between the malformed ones. Several sit right
# next to a reason's boundary and must NOT be dropped.


def near_misses() -> list[tuple[str, bytes]]:
    g: list[tuple[str, bytes]] = []

    def add(what: str, frame, pad: bool = True):
        b = bytes(frame)
        g.append((what, P.pad(b) if pad else b))

    add("TCP ACK with timestamps", eth() / ip4() / tcp("A", options=P.tcp_ts_options(100, 200)))
    add("UDP DNS-sized answer", eth() / ip4() / UDP(sport=53, dport=33000) / Raw(P.filler(120)))
    add("ICMP echo reply", eth() / ip4() / ICMP(type=0, id=7, seq=1) / Raw(P.filler(56)))
    add("IPv6 TCP ACK", eth() / ip6() / tcp("A"))
    add("ARP reply", Ether(src=P.MAC_ISP, dst=P.MAC_CLINIC)
        / ARP(op=2, hwsrc=P.MAC_ISP, psrc=P.V4_ISP_GW, hwdst=P.MAC_CLINIC, pdst=P.V4_CLINIC))
    add("IPv4 with a router alert option", eth() / ip4(options=b"\x94\x04\x00\x00") / UDP(sport=53, dport=33000))
    add("IPv4 options: NOP then EOL", eth() / ip4(options=b"\x01\x00\x00\x00") / UDP(sport=53, dport=33000))
    add("IPv4 first fragment, MF, 24 payload bytes", eth() / ip4(flags="MF", proto=17) / Raw(bytes(UDP(sport=53, dport=33000, len=1480)) + b"\x00" * 16))
    add("IPv4 TCP first fragment with exactly 24 bytes", eth() / ip4(flags="MF", proto=6) / Raw(bytes(tcp("A")) + b"\x00" * 4))
    add("IPv4 last fragment, offset 1480, 5 bytes", eth() / ip4(frag=185, proto=17) / Raw(b"\x00" * 5))
    add("IPv4 TCP fragment at offset 2", eth() / ip4(frag=2, proto=6, flags="MF") / Raw(b"\x00" * 16))
    add("IPv4 UDP fragment at offset 1", eth() / ip4(frag=1, proto=17) / Raw(b"\x00" * 7))
    add("IPv4 fragment ending at 65515", eth() / ip4(frag=8187, proto=17) / Raw(b"\x00" * 19))
    add("IPv6 atomic fragment (offset 0, M clear) with UDP", eth() / ip6() / frag6(nh=17) / UDP(sport=53, dport=33000))
    add("IPv6 last fragment ending at 65535", eth() / ip6() / frag6(nh=17, offset=8189) / Raw(b"\x00" * 23))
    add("IPv6 first fragment, 8-byte UDP header only", eth() / ip6() / frag6(nh=17, m=1) / UDP(sport=53, dport=33000, len=1000))
    chain = IPv6ExtHdrHopByHop(options=[RouterAlert()])
    for _ in range(7):
        chain = chain / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00\x00\x00\x00")])
    add("IPv6 eight extension headers (the maximum walked)", eth() / ip6() / chain / UDP(sport=53, dport=33000))
    add("IPv6 routing header type 2 (mobile IPv6)", eth() / ip6() / IPv6ExtHdrRouting(type=2, segleft=1, addresses=[P.V6_REMOTE2]) / UDP(sport=53, dport=33000))
    add("IPv6 routing header type 4 (SRH-like, segments left 0)", eth() / ip6() / IPv6ExtHdrRouting(type=4, segleft=0, addresses=[P.V6_REMOTE2]) / UDP(sport=53, dport=33000))
    add("IPv6 no next header, empty payload", eth() / ip6(nh=59))
    add("IPv6 DAD neighbour solicitation from ::",
        Ether(src=P.MAC_ISP, dst="33:33:ff:00:00:01") / IPv6(src="::", dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt="2001:db8:100::1"))
    add("IPv6 multicast destination", eth() / ip6(dst="ff02::1") / ICMPv6EchoRequest(id=9, seq=9))
    add("IPv4 DHCP from 0.0.0.0 to broadcast", Ether(src=P.MAC_ISP, dst=P.MAC_BCAST) / IP(src="0.0.0.0", dst="255.255.255.255", id=0) / UDP(sport=68, dport=67) / Raw(P.filler(240)))
    add("IPv4 multicast destination", eth() / ip4(dst="224.0.0.251") / UDP(sport=5353, dport=5353) / Raw(P.filler(20)))
    add("TCP RST", eth() / ip4() / tcp("R"))
    add("TCP RST+ACK", eth() / ip4() / tcp("RA"))
    add("TCP SYN+ACK with all options", eth() / ip4() / tcp("SA", options=P.tcp_syn_options(1460, 5, 4)))
    add("TCP FIN+ACK", eth() / ip4() / tcp("FA"))
    add("TCP FIN+PSH+ACK", eth() / ip4() / tcp("FPA"))
    add("TCP PSH+ACK+URG", eth() / ip4() / tcp("PAU", urgptr=1) / Raw(b"!"))
    add("TCP options ended by EOL", eth() / ip4() / tcp_raw_opts(b"\x02\x04\x05\xb4\x00\xff\xff\xff", flags="S"))
    add("TCP unknown option kind 30 with length 2", eth() / ip4() / tcp_raw_opts(b"\x1e\x02\x01\x00", flags="S"))
    add("TCP SACK with two blocks", eth() / ip4() / tcp("A", options=[("NOP", None), ("NOP", None), ("SAck", (1, 2, 3, 4))]))
    add("UDP with zero checksum", eth() / ip4() / UDP(sport=123, dport=123, chksum=0) / Raw(P.filler(48)))
    add("UDP length 8, empty payload", eth() / ip4() / UDP(sport=53, dport=33000))
    add("ICMP exactly 8 bytes", eth() / ip4() / ICMP(type=8, id=3, seq=3))
    add("ICMPv6 exactly 8 bytes", eth() / ip6() / ICMPv6EchoReply(id=3, seq=3))
    add("GRE carried opaquely", eth() / ip4(proto=47) / Raw(b"\x00\x00\x08\x00" + P.filler(20)))
    add("IPv4 frame padded with non-zero bytes", P.pad(eth() / ip4() / tcp("A"), fill=b"\xa5"), pad=False)
    return g


def interleave(bad: list[bytes], good: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """good[0], bad[0], good[1], bad[1], ... (good frames recycled as needed,
    the remaining good frames appended). Returns (all frames, good frames in order)."""
    seq, passed, _ = mixed_sequence([("", "", f) for f in bad], [("", f) for f in good])
    return seq, passed


def mixed_sequence(cat, near) -> tuple[list[bytes], list[bytes], list[str]]:
    """interleave() over (reason, what, frame) and (what, frame) entries, also
    returning one note line per sent frame: index, verdict, description."""
    seq: list[bytes] = []
    passed: list[bytes] = []
    notes: list[str] = []
    n = max(len(cat), len(near))
    for i in range(n):
        what, g = near[i % len(near)]
        verdict = f"pass -> expect #{len(passed)}"
        notes.append(f"send #{len(seq):<4d} {verdict:<26s} {len(g):5d} B  {what}")
        seq.append(g)
        passed.append(g)
        if i < len(cat):
            reason, what, b = cat[i]
            notes.append(f"send #{len(seq):<4d} {reason:<26s} {len(b):5d} B  {what}")
            seq.append(b)
    return seq, passed, notes
