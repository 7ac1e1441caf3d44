#!/usr/bin/python3
"""Write the e2e load pcap: IPv4 UDP and TCP SYN frames, every one from a
different source in 198.18.0.0/15 (the RFC 2544 benchmarking range) toward
198.51.100.0/24, with valid IPv4 and L4 checksums.

SIZE is the frame size on the wire including the 4-byte FCS, the way load
generators count it: -s 64 writes 60-byte frames into the pcap (the FCS is not
captured). Standard library only, so it runs without scapy.

usage: gen_pcap.py OUT.pcap [--size 64] [--count 1024] [--seed 1]
"""
import argparse
import random
import struct
import sys

FCS = 4
ETH, IP4, UDP, TCP = 14, 20, 8, 20


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(i: int, src: bytes, dst: bytes, caplen: int, rng: random.Random) -> bytes:
    tcp = i % 2 == 1
    l4len = caplen - ETH - IP4
    proto = 6 if tcp else 17
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, IP4 + l4len, i & 0xFFFF, 0x4000, 64,
                     proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    sport = 1024 + rng.randrange(64000)
    pseudo = src + dst + struct.pack("!BBH", 0, proto, l4len)
    if tcp:
        payload = bytes(l4len - TCP)
        hdr = struct.pack("!HHIIBBHHH", sport, 80, rng.getrandbits(32), 0, 5 << 4, 0x02,
                          64240, 0, 0)
        c = csum(pseudo + hdr + payload)
        l4 = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
    else:
        payload = bytes((i + k) & 0xFF for k in range(l4len - UDP))
        hdr = struct.pack("!HHHH", sport, 5001, l4len, 0)
        c = csum(pseudo + hdr + payload) or 0xFFFF
        l4 = hdr[:6] + struct.pack("!H", c) + payload
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    return eth + ip + l4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64, help="wire frame size incl. FCS (64..1518)")
    ap.add_argument("--count", type=int, default=1024, help="frames (distinct sources)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not 64 <= a.size <= 1518:
        ap.error("--size must be in 64..1518")
    if not 1 <= a.count <= 131072:
        ap.error("--count must be in 1..131072 (the size of 198.18.0.0/15)")
    caplen = a.size - FCS
    rng = random.Random(a.seed)
    srcs = rng.sample(range(1 << 17), a.count)  # distinct hosts of 198.18.0.0/15
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, s in enumerate(srcs):
            src = struct.pack("!I", (198 << 24 | 18 << 16) + s)
            dst = bytes([198, 51, 100, 1 + i % 254])
            pkt = frame(i, src, dst, caplen, rng)
            assert len(pkt) == caplen
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(pkt), len(pkt)))
            f.write(pkt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
