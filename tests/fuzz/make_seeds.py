#!/usr/bin/python3
"""Write the seed corpus for fuzz_parse into tests/fuzz/corpus_parse/.

Each seed is one well-formed Ethernet frame reaching a different part of the
parser, with correct IPv4 header and L4 checksums, so mutations start deep in
the parse instead of at the first check. Output is deterministic; rerun after
editing and commit the .bin files with the script.

usage: make_seeds.py [OUT_DIR]
"""

import pathlib
import struct
import sys

# Documentation/benchmarking ranges only (RFC 5737, RFC 2544, RFC 3849).
V4_A = bytes([198, 18, 0, 1])
V4_B = bytes([198, 51, 100, 7])
V4_C = bytes([203, 0, 113, 9])
V6_A = bytes.fromhex("20010db8000000000000000000000001")
V6_B = bytes.fromhex("20010db8000000000000000000000002")

ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_QINQ, ETH_IPV6 = 0x0800, 0x0806, 0x8100, 0x88A8, 0x86DD
TCP, UDP, ICMP, HBH, ROUTING, FRAG, ICMPV6, DEST_OPTS = 6, 17, 1, 0, 43, 44, 58, 60


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(ether_type: int, tags=()) -> bytes:
    # Locally administered MACs.
    b = bytes.fromhex("020000000002" "020000000001")
    for tpid, tci in tags:
        b += struct.pack("!HH", tpid, tci)
    return b + struct.pack("!H", ether_type)


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, frag=0, options=b"") -> bytes:
    ihl = (20 + len(options)) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(payload),
                      0x1C46, frag, 64, proto, 0, src, dst) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src: bytes, dst: bytes, next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src, dst) + payload


def ipv6_ext(next_header: int, body: bytes) -> bytes:
    b = bytes([next_header, 0]) + body
    b += b"\0" * (-len(b) % 8)  # Pad1
    return bytes([next_header, len(b) // 8 - 1]) + b[2:]


def ipv6_frag(next_header: int, offset: int, more: bool) -> bytes:
    return struct.pack("!BBHI", next_header, 0, offset << 3 | int(more), 0xDECAFBAD)


def l4_with_csum(seg: bytes, at: int, pseudo: bytes) -> bytes:
    c = csum(pseudo + seg)
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def pseudo4(src, dst, proto, length):
    return struct.pack("!4s4sBBH", src, dst, 0, proto, length)


def pseudo6(src, dst, proto, length):
    return struct.pack("!16s16sIxxxB", src, dst, length, proto)


def tcp(sport, dport, flags, options=b"", payload=b"", seq=0x01020304, ack=0):
    options += b"\0" * (-len(options) % 4)
    doff = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 64240, 0,
                       0) + options + payload


def udp(sport, dport, payload=b"", length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length,
                       0) + payload


SYN, ACK, PSH = 0x02, 0x10, 0x08

SYN_OPTIONS = (bytes([2, 4]) + struct.pack("!H", 1460)  # MSS
               + bytes([4, 2])                            # SACK permitted
               + bytes([8, 10]) + struct.pack("!II", 0x11223344, 0)  # timestamps
               + bytes([1])                               # NOP
               + bytes([3, 3, 7]))                        # window scale


def seeds():
    seg = tcp(40000, 443, SYN, SYN_OPTIONS)
    seg = l4_with_csum(seg, 16, pseudo4(V4_A, V4_B, TCP, len(seg)))
    yield "ipv4_tcp_syn_options", eth(ETH_IPV4) + ipv4(V4_A, V4_B, TCP, seg)

    seg = tcp(40000, 22, PSH | ACK, bytes([1, 1]) + bytes([8, 10]) + struct.pack("!II", 7, 8),
              b"SSH-2.0-x\r\n", ack=0x0A0B0C0D)
    seg = l4_with_csum(seg, 16, pseudo6(V6_A, V6_B, TCP, len(seg)))
    exts = (ipv6_ext(ROUTING, bytes([5, 2, 0, 0, 1, 0]))     # HBH: router alert
            + ipv6_ext(FRAG, bytes([4, 0, 0, 0, 0, 0]))      # routing type 4, 0 left
            + ipv6_frag(DEST_OPTS, 0, False)                 # atomic fragment
            + ipv6_ext(TCP, bytes([1, 4, 0, 0, 0, 0])))      # dest opts: PadN
    yield "ipv6_ext_headers_tcp", eth(ETH_IPV6) + ipv6(V6_A, V6_B, HBH, exts + seg)

    dgram = udp(40000, 53, bytes.fromhex("abcd01000001000000000000076578616d706c6500000100" "01"))
    dgram = l4_with_csum(dgram, 6, pseudo4(V4_C, V4_B, UDP, len(dgram)))
    yield "qinq_ipv4_udp", (eth(ETH_IPV4, [(ETH_QINQ, 10), (ETH_VLAN, 20)])
                            + ipv4(V4_C, V4_B, UDP, dgram))

    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, bytes.fromhex("020000000001"),
                      V4_A, bytes(6), V4_B)
    yield "arp_request", eth(ETH_ARP) + arp + bytes(18)

    # First fragment: the UDP length covers the whole datagram.
    first = udp(40000, 4500, bytes(range(256)) * 4, length=8 + 3000)
    yield "ipv4_udp_first_fragment", eth(ETH_IPV4) + ipv4(V4_A, V4_C, UDP, first[:1032],
                                                          frag=0x2000)
    yield "ipv4_later_fragment", eth(ETH_IPV4) + ipv4(V4_A, V4_C, UDP, bytes(64), frag=129)

    echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"triage-seed-ping"
    echo = l4_with_csum(echo, 2, b"")
    yield "vlan_ipv4_icmp_rr_option", (eth(ETH_IPV4, [(ETH_VLAN, 7)])
                                       + ipv4(V4_A, V4_B, ICMP, echo,
                                              options=bytes([1, 7, 7, 4]) + bytes(4)))

    echo6 = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"triage"
    echo6 = l4_with_csum(echo6, 2, pseudo6(V6_A, V6_B, ICMPV6, len(echo6)))
    yield "ipv6_icmpv6_echo", eth(ETH_IPV6) + ipv6(V6_A, V6_B, ICMPV6, echo6)

    yield "ipv6_udp_first_fragment", eth(ETH_IPV6) + ipv6(
        V6_A, V6_B, FRAG, ipv6_frag(UDP, 0, True) + udp(5353, 5353, bytes(40), length=2000))


def main() -> None:
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                       pathlib.Path(__file__).resolve().parent / "corpus_parse")
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in seeds():
        (out / f"{name}.bin").write_bytes(frame)
        print(f"{out / (name + '.bin')}: {len(frame)} bytes")


if __name__ == "__main__":
    main()
