#!/usr/bin/python3
"""Writes the bundled demo traffic mix that `./setup.sh demo` pushes through
triage: a morning at a small clinic (patient-portal HTTPS, DNS, telehealth
UDP, pings, ARP, IPv6 neighbour discovery) with junk from the Internet mixed
in (SYN+FIN and NULL scans, land attacks, ping-of-death fragments, spoofed
loopback sources, truncated headers). Deterministic: rerunning gives the same
bytes. Addresses are from the benchmarking and documentation ranges.
"""
import os
import random

from scapy.all import (ARP, DNS, DNSQR, DNSRR, ICMP, IP, IPv6, TCP, UDP, Ether, ICMPv6EchoRequest,
                       ICMPv6ND_NA, ICMPv6ND_NS, Raw, wrpcap)

UPLINK = "02:00:00:00:00:01"   # ISP router
PORTAL = "02:00:00:00:01:02"   # clinic servers behind the box
rng = random.Random(20261122)
HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1795000000.0


def patient(i):
    return f"203.0.113.{i % 250 + 1}" if i % 2 else f"198.51.100.{i % 250 + 1}"


def https_session(i, inbound, outbound):
    cli, srv = patient(i), "198.18.0.10"
    sp = 30000 + i
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (i, 0)), ("NOP", None), ("WScale", 7)]
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src=cli, dst=srv) / TCP(sport=sp, dport=443, flags="S", seq=1000, options=opts))
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src=srv, dst=cli) / TCP(sport=443, dport=sp, flags="SA", seq=5000, ack=1001, options=opts))
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src=cli, dst=srv) / TCP(sport=sp, dport=443, flags="A", seq=1001, ack=5001))
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src=cli, dst=srv) / TCP(sport=sp, dport=443, flags="PA", seq=1001, ack=5001) / Raw(bytes(rng.randrange(256) for _ in range(300))))
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src=srv, dst=cli) / TCP(sport=443, dport=sp, flags="A", seq=5001, ack=1301) / Raw(b"\x17" * 1400))
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src=srv, dst=cli) / TCP(sport=443, dport=sp, flags="PA", seq=6401, ack=1301) / Raw(b"\x17" * 200))
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src=cli, dst=srv) / TCP(sport=sp, dport=443, flags="FA", seq=1301, ack=6601))
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src=srv, dst=cli) / TCP(sport=443, dport=sp, flags="FA", seq=6601, ack=1302))


def dns(i, inbound, outbound):
    q = f"portal{i % 7}.clinic.example"
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src="198.18.0.53", dst="192.0.2.53") / UDP(sport=40000 + i, dport=53) / DNS(id=i, rd=1, qd=DNSQR(qname=q)))
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src="192.0.2.53", dst="198.18.0.53") / UDP(sport=53, dport=40000 + i) / DNS(id=i, qr=1, qd=DNSQR(qname=q), an=DNSRR(rrname=q, rdata="198.18.0.10")))


def telehealth_v6(i, inbound, outbound):
    cli, srv = f"2001:db8:100::{i % 200 + 1:x}", "2001:db8:1::20"
    inbound.append(Ether(src=UPLINK, dst=PORTAL) / IPv6(src=cli, dst=srv) / UDP(sport=50000 + i, dport=3478) / Raw(b"\x00" * 160))
    outbound.append(Ether(src=PORTAL, dst=UPLINK) / IPv6(src=srv, dst=cli) / UDP(sport=3478, dport=50000 + i) / Raw(b"\x00" * 160))


def junk(i):
    """One malformed or hostile frame from the Internet."""
    dst = "198.18.0.10"
    src = f"198.19.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    base = Ether(src=UPLINK, dst=PORTAL)
    kind = i % 7
    if kind == 0:
        return base / IP(src=src, dst=dst) / TCP(sport=rng.randrange(1024, 65535), dport=443, flags="SF")
    if kind == 1:
        return base / IP(src=src, dst=dst) / TCP(sport=rng.randrange(1024, 65535), dport=22, flags="")
    if kind == 2:
        return base / IP(src=dst, dst=dst) / TCP(sport=443, dport=443, flags="S")  # land
    if kind == 3:  # ping of death: last fragment reaches past 65535
        return base / IP(src=src, dst=dst, frag=8189, proto=1) / Raw(b"\x00" * 64)
    if kind == 4:
        return base / IP(src="127.0.0.1", dst=dst) / UDP(sport=53, dport=53)
    if kind == 5:  # TCP header cut short
        return Ether(bytes(base / IP(src=src, dst=dst, proto=6, len=32) / Raw(b"\x00" * 12)))
    return base / IP(src=src, dst=dst) / TCP(sport=rng.randrange(1024, 65535), dport=80, flags="FPU")


def main():
    inbound, outbound = [], []
    for i in range(300):
        https_session(i, inbound, outbound)
        if i % 2 == 0:
            dns(i, inbound, outbound)
        if i % 3 == 0:
            telehealth_v6(i, inbound, outbound)
        if i % 4 == 0:
            inbound.append(junk(i))
        if i % 25 == 0:
            inbound.append(Ether(src=UPLINK, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.18.0.1", pdst="198.18.0.10"))
            outbound.append(Ether(src=PORTAL, dst=UPLINK) / ARP(op=2, psrc="198.18.0.10", pdst="198.18.0.1", hwsrc=PORTAL, hwdst=UPLINK))
            outbound.append(Ether(src=PORTAL, dst="33:33:ff:00:00:01") / IPv6(src="2001:db8:1::20", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="2001:db8:1::1"))
            inbound.append(Ether(src=UPLINK, dst=PORTAL) / IPv6(src="2001:db8:1::1", dst="2001:db8:1::20", hlim=255) / ICMPv6ND_NA(tgt="2001:db8:1::1", R=1, S=1))
        if i % 10 == 0:
            inbound.append(Ether(src=UPLINK, dst=PORTAL) / IP(src=patient(i), dst="198.18.0.10") / ICMP(id=i, seq=1))
            outbound.append(Ether(src=PORTAL, dst=UPLINK) / IP(src="198.18.0.10", dst=patient(i)) / ICMP(type=0, id=i, seq=1))
            inbound.append(Ether(src=UPLINK, dst=PORTAL) / IPv6(src="2001:db8:100::9", dst="2001:db8:1::20") / ICMPv6EchoRequest(id=i, seq=1))
    for n, p in enumerate(inbound):
        p.time = T0 + n * 0.001
    for n, p in enumerate(outbound):
        p.time = T0 + n * 0.001
    wrpcap(os.path.join(HERE, "outside.pcap"), inbound)
    wrpcap(os.path.join(HERE, "inside.pcap"), outbound)
    print(f"outside.pcap: {len(inbound)} frames, inside.pcap: {len(outbound)} frames")


if __name__ == "__main__":
    main()
