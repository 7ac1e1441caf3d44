#!/usr/bin/python3
"""Write an e2e load pcap (perf/e2e.sh): IPv4 frames, every one from a
different source in 198.18.0.0/15 (the RFC 2544 benchmarking range) toward
198.51.100.0/24, with valid IPv4 and L4 checksums. --kind picks the traffic:

  mix         (default) alternating UDP to port 5001 and TCP SYN to port 80,
              toward 198.51.100.1-254 (the plain and clean scenarios)
  synflood    TCP SYNs with an MSS option (58 bytes of headers; the rest of
              the frame is Ethernet padding), random source ports and ISNs,
              toward 198.51.100.10 port 443 (a random-source SYN flood)
  reflection  UDP answers from source port 53 (DNS), 123 (NTP) and 11211
              (memcached) in turn, each payload opening like that protocol's
              response, toward random ports of 198.51.100.20-23 (the victims
              of a reflection flood)

SIZE is the frame size on the wire including the 4-byte FCS, the way load
generators count it: -s 64 writes 60-byte frames into the pcap (the FCS is not
captured). Standard library only, so it runs without scapy. The default kind
writes the same bytes it always has (same seed, same frames).

usage: gen_pcap.py OUT.pcap [--kind mix] [--size 64] [--count 1024] [--seed 1]
"""
import argparse
import random
import struct
import sys

FCS = 4
ETH, IP4, UDP, TCP = 14, 20, 8, 20
ETH_HDR = bytes.fromhex("020000000002" "020000000001" "0800")
KINDS = ("mix", "synflood", "reflection")
# Reflection vectors: source port and the first bytes of a typical answer.
REFLECTORS = (
    (53, bytes.fromhex("1a2b8180000100010000000103697363036f726700")),   # DNS response, "isc.org"
    (123, bytes.fromhex("d700032a00060048")),                            # NTP mode 7 monlist reply
    (11211, bytes.fromhex("00010000000100000000") + b"VALUE k 0 1400\r\n"),  # memcached UDP "VALUE"
)


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(ident: int, proto: int, src: bytes, dst: bytes, l4len: int) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, IP4 + l4len, ident & 0xFFFF, 0x4000, 64,
                     proto, 0, src, dst)
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]


def tcp_segment(src: bytes, dst: bytes, sport: int, dport: int, seq: int, options: bytes,
                payload: bytes) -> bytes:
    hlen = TCP + len(options)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (hlen // 4) << 4, 0x02, 64240, 0, 0) + options
    pseudo = src + dst + struct.pack("!BBH", 0, 6, hlen + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    l4len = UDP + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, l4len, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, 17, l4len) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def frame_mix(i: int, src: bytes, caplen: int, rng: random.Random) -> bytes:
    dst = bytes([198, 51, 100, 1 + i % 254])
    tcp = i % 2 == 1
    l4len = caplen - ETH - IP4
    ip = ipv4(i, 6 if tcp else 17, src, dst, l4len)
    sport = 1024 + rng.randrange(64000)
    if tcp:
        l4 = tcp_segment(src, dst, sport, 80, rng.getrandbits(32), b"", bytes(l4len - TCP))
    else:
        l4 = udp_datagram(src, dst, sport, 5001, bytes((i + k) & 0xFF for k in range(l4len - UDP)))
    return ETH_HDR + ip + l4


def frame_synflood(i: int, src: bytes, caplen: int, rng: random.Random) -> bytes:
    dst = bytes([198, 51, 100, 10])
    mss = struct.pack("!BBH", 2, 4, 1460)
    l4 = tcp_segment(src, dst, 1024 + rng.randrange(64000), 443, rng.getrandbits(32), mss, b"")
    pkt = ETH_HDR + ipv4(i, 6, src, dst, len(l4)) + l4
    return pkt + bytes(caplen - len(pkt))  # Ethernet padding, outside the IP datagram


def frame_reflection(i: int, src: bytes, caplen: int, rng: random.Random) -> bytes:
    dst = bytes([198, 51, 100, 20 + i % 4])
    sport, head = REFLECTORS[i % len(REFLECTORS)]
    n = caplen - ETH - IP4 - UDP
    payload = (head + bytes((i + k) & 0xFF for k in range(max(0, n - len(head)))))[:n]
    l4 = udp_datagram(src, dst, sport, 1024 + rng.randrange(64000), payload)
    return ETH_HDR + ipv4(i, 17, src, dst, len(l4)) + l4


MIN_CAPLEN = {"mix": ETH + IP4 + TCP, "synflood": ETH + IP4 + TCP + 4, "reflection": ETH + IP4 + UDP}
BUILD = {"mix": frame_mix, "synflood": frame_synflood, "reflection": frame_reflection}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--kind", choices=KINDS, default="mix", help="traffic (default mix)")
    ap.add_argument("--size", type=int, default=64, help="wire frame size incl. FCS (64..1518)")
    ap.add_argument("--count", type=int, default=1024, help="frames (distinct sources)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 64 <= a.size <= 1518:
        ap.error("--size must be in 64..1518")
    if not 1 <= a.count <= 131072:
        ap.error("--count must be in 1..131072 (the size of 198.18.0.0/15)")
    caplen = a.size - FCS
    assert caplen >= MIN_CAPLEN[a.kind]
    rng = random.Random(a.seed)
    srcs = rng.sample(range(1 << 17), a.count)  # distinct hosts of 198.18.0.0/15
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, s in enumerate(srcs):
            src = struct.pack("!I", (198 << 24 | 18 << 16) + s)
            pkt = BUILD[a.kind](i, src, caplen, rng)
            assert len(pkt) == caplen
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(pkt), len(pkt)))
            f.write(pkt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
