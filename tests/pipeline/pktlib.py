"""Shared helpers for the golden pcap generators (tests/pipeline/cases/*/gen.py).

Addressing plan (documentation / benchmarking ranges only):

  outside (port 0, ISP side)
    ISP router MAC   02:00:00:00:00:01
    remote hosts     198.51.100.0/24, 192.0.2.0/24, 2001:db8:100::/48
  inside (port 1, clinic LAN)
    clinic hosts     02:00:00:00:01:xx, 203.0.113.0/24, 2001:db8:c1::/48

Link-local (fe80::/10), multicast (ff02::/16, 224.0.0.0/4) and their MACs
(33:33:.., 01:00:5e:.., ff:ff:.., 01:80:c2:..) appear only where the protocol
mandates them (ARP, NDP, MLD, LLDP, STP, DHCP) or a malformed reason needs
them (martian sources).

The pcap writer is ours (not scapy's) so the files depend only on the frame
bytes and the fixed timestamps: a generator run twice produces identical files.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path

# Scapy is only needed by the generators, never by the runner.
from scapy.config import conf

conf.verb = 0
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

PIPELINE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PIPELINE_DIR.parents[1]
MALFORMED_H = REPO_ROOT / "lib" / "net" / "malformed.h"

# --------------------------------------------------------------------------
# Addresses

MAC_ISP = "02:00:00:00:00:01"  # ISP router on the outside port
MAC_ISP2 = "02:00:00:00:00:02"  # a second device on the outside segment
MAC_BCAST = "ff:ff:ff:ff:ff:ff"


def mac_inside(n: int) -> str:
    """Clinic LAN host n (1..255)."""
    return "02:00:00:00:01:%02x" % n


MAC_CLINIC = mac_inside(0x0A)  # clinic router / main host
MAC_CLINIC2 = mac_inside(0x14)

# IPv4
V4_CLINIC = "203.0.113.10"
V4_CLINIC_SRV = "203.0.113.20"
V4_REMOTE = "198.51.100.20"
V4_REMOTE2 = "198.51.100.30"
V4_DNS = "192.0.2.53"
V4_ISP_GW = "203.0.113.1"  # ISP gateway on the clinic uplink subnet

# IPv6
V6_CLINIC = "2001:db8:c1::10"
V6_CLINIC_SRV = "2001:db8:c1::20"
V6_REMOTE = "2001:db8:100::20"
V6_REMOTE2 = "2001:db8:100::30"
V6_DNS = "2001:db8:100::53"
V6_LL_ISP = "fe80::1"
V6_LL_CLINIC = "fe80::200:ff:fe00:10a"

# Direction helpers: inbound frames go ISP -> clinic, outbound the reverse.
IN = "in"
OUT = "out"


def l2(direction: str) -> Ether:
    if direction == IN:
        return Ether(src=MAC_ISP, dst=MAC_CLINIC)
    return Ether(src=MAC_CLINIC, dst=MAC_ISP)


# --------------------------------------------------------------------------
# Frame shaping

ETH_MIN = 60  # minimum frame without FCS


def raw(pkt) -> bytes:
    return bytes(pkt)


def pad(frame, size: int = ETH_MIN, fill: bytes = b"\x00") -> bytes:
    """Ethernet padding up to `size` bytes (what a NIC adds to short frames)."""
    b = bytes(frame)
    if len(b) >= size:
        return b
    need = size - len(b)
    return b + (fill * need)[:need]


def pad_to(frame, size: int) -> bytes:
    """Grow the L4 payload so the frame is exactly `size` bytes.

    Works on a scapy packet whose last layer is Raw (or has no payload);
    lengths/checksums are recomputed by scapy."""
    base = len(bytes(frame))
    if base > size:
        raise ValueError(f"frame already {base} > {size} bytes")
    if base == size:
        return bytes(frame)
    extra = size - base
    p = frame.copy()
    last = p.lastlayer()
    if isinstance(last, Raw):
        last.load = bytes(last.load) + filler(extra, len(last.load))
    else:
        p = p / Raw(filler(extra))
    # len/chksum fields left unset (None) are recomputed by scapy here.
    b = bytes(p)
    assert len(b) == size, (len(b), size)
    return b


def filler(n: int, start: int = 0) -> bytes:
    """Deterministic printable payload bytes."""
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
    return bytes(alphabet[(start + i) % len(alphabet)] for i in range(n))


def ipv4_checksum(hdr: bytes) -> int:
    s = 0
    for i in range(0, len(hdr) - 1, 2):
        s += hdr[i] << 8 | hdr[i + 1]
    if len(hdr) % 2:
        s += hdr[-1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def patch(frame: bytes, offset: int, data: bytes) -> bytes:
    return frame[:offset] + data + frame[offset + len(data):]


def refresh_ipv4_checksum(frame: bytes, l3: int = 14) -> bytes:
    """Recompute the IPv4 header checksum in place (after manual edits)."""
    ihl = (frame[l3] & 0x0F) * 4
    hdr = bytearray(frame[l3:l3 + ihl])
    hdr[10:12] = b"\x00\x00"
    c = ipv4_checksum(bytes(hdr))
    return patch(frame, l3 + 10, struct.pack("!H", c))


# TCP option sets used across cases.
def tcp_syn_options(mss: int, tsval: int, tsecr: int = 0, wscale: int = 7):
    return [("MSS", mss), ("SAckOK", b""), ("Timestamp", (tsval, tsecr)), ("NOP", None),
            ("WScale", wscale)]


def tcp_ts_options(tsval: int, tsecr: int):
    return [("NOP", None), ("NOP", None), ("Timestamp", (tsval, tsecr))]


# --------------------------------------------------------------------------
# pcap I/O (classic libpcap format, microsecond timestamps, Ethernet)

PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
# Fixed epoch for every generated capture: 2024-01-01T00:00:00Z.
BASE_TIME_US = 1704067200 * 1_000_000


def write_pcap(path: Path, frames, step_us: int = 1000) -> None:
    """Write frames (bytes or scapy packets) with timestamps BASE + i*step."""
    out = bytearray(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, SNAPLEN,
                                LINKTYPE_ETHERNET))
    for i, f in enumerate(frames):
        b = bytes(f)
        t = BASE_TIME_US + i * step_us
        out += struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(b), len(b))
        out += b
    Path(path).write_bytes(bytes(out))


# --------------------------------------------------------------------------
# malformed.h


def malformed_reasons(header: Path = MALFORMED_H) -> list[str]:
    """Reason names, in declaration order, from TRIAGE_MALFORMED_REASONS
    (the same parser the runner's coverage check uses)."""
    from run_golden import malformed_reasons as parse

    return parse(Path(header))


# --------------------------------------------------------------------------
# Case output


class Case:
    """Collects the files of one case directory and writes them at the end.

    gen.py scripts call `Case.from_argv(__file__)`, add runs with `run()`,
    then `write()`. `--out DIR` redirects the output (used by the drift check)."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.runs: list[tuple[str, dict]] = []

    @classmethod
    def from_argv(cls, gen_file: str, argv=None):
        import argparse

        ap = argparse.ArgumentParser(description="regenerate this golden case")
        ap.add_argument("--out", type=Path, default=Path(gen_file).resolve().parent,
                        help="output directory (default: the case folder)")
        args = ap.parse_args(argv)
        return cls(args.out)

    def run(self, nnn: int, send_p0=(), send_p1=(), expect_p0=(), expect_p1=(),
            counters: dict | None = None, notes: list[str] | None = None) -> None:
        """One run. `notes` (optional) are written to NNN-notes.txt: a human
        index of the frames, for reading failure reports."""
        self.runs.append(("%03d" % nnn, dict(send_p0=[bytes(f) for f in send_p0],
                                               send_p1=[bytes(f) for f in send_p1],
                                               expect_p0=[bytes(f) for f in expect_p0],
                                               expect_p1=[bytes(f) for f in expect_p1],
                                               counters=counters, notes=notes)))

    def write(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # Remove stale generated files so renumbered runs don't linger.
        for old in self.out_dir.iterdir():
            if re.fullmatch(r"\d{3}-(send|expect)-p[01]\.pcap|\d{3}-(counters\.json|notes\.txt)", old.name):
                old.unlink()
        for nnn, r in self.runs:
            for key in ("send_p0", "send_p1", "expect_p0", "expect_p1"):
                kind, port = key.split("_")
                write_pcap(self.out_dir / f"{nnn}-{kind}-{port}.pcap", r[key])
            if r["counters"] is not None:
                (self.out_dir / f"{nnn}-counters.json").write_text(
                    json.dumps(r["counters"], indent=2, sort_keys=True) + "\n")
            if r["notes"] is not None:
                (self.out_dir / f"{nnn}-notes.txt").write_text("\n".join(r["notes"]) + "\n")
        summary = ", ".join(
            f"{nnn}: p0 {len(r['send_p0'])}->{len(r['expect_p1'])} p1, "
            f"p1 {len(r['send_p1'])}->{len(r['expect_p0'])} p0" for nnn, r in self.runs)
        print(f"{self.out_dir.name}: {summary}", file=sys.stderr)


def zero_drops(reasons=None) -> dict:
    return {r: 0 for r in (reasons if reasons is not None else malformed_reasons())}


def port_counters(send_p0=(), send_p1=(), expect_p0=(), expect_p1=()) -> list[dict]:
    """The "ports" section: what each port received and transmitted
    (bytes are frame lengths, no FCS)."""
    def n_bytes(frames):
        return sum(len(bytes(f)) for f in frames)

    return [
        {"role": "outside", "port_id": 0, "rx_packets": len(send_p0), "tx_packets": len(expect_p0),
         "rx_bytes": n_bytes(send_p0), "tx_bytes": n_bytes(expect_p0)},
        {"role": "inside", "port_id": 1, "rx_packets": len(send_p1), "tx_packets": len(expect_p1),
         "rx_bytes": n_bytes(send_p1), "tx_bytes": n_bytes(expect_p1)},
    ]


def clean_counters(inbound: list[bytes], outbound: list[bytes], reasons=None) -> dict:
    """Counters for a run where everything is forwarded and nothing is malformed."""
    return {
        "inbound": {"rx": len(inbound), "forwarded": len(inbound), "dropped": 0},
        "outbound": {"rx": len(outbound), "forwarded": len(outbound), "dropped": 0,
                     "malformed_seen": 0},
        "ports": port_counters(inbound, outbound, outbound, inbound),
        "drops": zero_drops(reasons),
    }


# --------------------------------------------------------------------------
# Conversations


class Traffic:
    """Frames of one run, in time order, tagged with the side they enter."""

    def __init__(self):
        self.frames: list[tuple[str, bytes]] = []

    def add(self, direction: str, frame, pad_frame: bool = True) -> None:
        """Add a frame; short frames get zero Ethernet padding to 60 bytes
        unless pad_frame is False (e.g. a frame captured before the NIC pads)."""
        assert direction in (IN, OUT)
        self.frames.append((direction, pad(frame) if pad_frame else bytes(frame)))

    @property
    def inbound(self) -> list[bytes]:
        return [f for d, f in self.frames if d == IN]

    @property
    def outbound(self) -> list[bytes]:
        return [f for d, f in self.frames if d == OUT]

    def run_into(self, case: "Case", nnn: int, extra_counters: dict | None = None) -> None:
        """Everything forwarded unchanged: inbound p0 -> p1, outbound p1 -> p0."""
        ib, ob = self.inbound, self.outbound
        counters = clean_counters(ib, ob)
        if extra_counters:
            counters.update(extra_counters)
        case.run(nnn, send_p0=ib, send_p1=ob, expect_p0=ob, expect_p1=ib, counters=counters)


class TcpConversation:
    """A TCP connection with consistent sequence/ack numbers and timestamps.

    `client_side` is IN when the client is on the outside (it sends inbound
    frames), OUT when the client is in the clinic."""

    def __init__(self, traffic: Traffic, client_side: str, client_ip: str, server_ip: str,
                 cport: int, sport: int, isn_client: int, isn_server: int,
                 mss_client: int, mss_server: int, timestamps: bool = True,
                 wscale: tuple[int, int] = (7, 9)):
        self.t = traffic
        self.v6 = ":" in client_ip
        self.client_side = client_side
        self.ip = {True: client_ip, False: server_ip}
        self.port = {True: cport, False: sport}
        self.next_seq = {True: isn_client, False: isn_server}
        self.ts = {True: 1_000_000 + isn_client % 1000, False: 50_000 + isn_server % 1000}
        self.last_ts = {True: 0, False: 0}
        self.timestamps = timestamps
        self.mss = {True: mss_client, False: mss_server}
        self.wscale = {True: wscale[0], False: wscale[1]}
        self.established = False
        self.ip_id = {True: 0x4000, False: 0x7000}

    def _dir(self, from_client: bool) -> str:
        if from_client:
            return self.client_side
        return OUT if self.client_side == IN else IN

    def send(self, from_client: bool, flags: str, payload: bytes = b"") -> None:
        me, peer = from_client, not from_client
        opts = []
        self.ts[me] += 7
        if "S" in flags:
            opts = [("MSS", self.mss[me]), ("SAckOK", b"")]
            if self.timestamps:
                opts += [("Timestamp", (self.ts[me], self.last_ts[me]))]
            opts += [("NOP", None), ("WScale", self.wscale[me])]
        elif self.timestamps:
            opts = tcp_ts_options(self.ts[me], self.last_ts[me])
        self.last_ts[peer] = self.ts[me]
        ack = self.next_seq[peer] if "A" in flags else 0
        window = 64240 if "S" in flags else 502
        seg = TCP(sport=self.port[me], dport=self.port[peer], seq=self.next_seq[me], ack=ack,
                  flags=flags, window=window, options=opts)
        if self.v6:
            l3 = IPv6(src=self.ip[me], dst=self.ip[peer], hlim=64)
        else:
            l3 = IP(src=self.ip[me], dst=self.ip[peer], id=self.ip_id[me], flags="DF")
            self.ip_id[me] += 1
        pkt = l2(self._dir(me)) / l3 / seg
        if payload:
            pkt = pkt / Raw(payload)
        self.t.add(self._dir(me), pkt)
        self.next_seq[me] = (self.next_seq[me] + len(payload) + ("S" in flags) + ("F" in flags)) % 2**32

    def header_len(self) -> int:
        """Ethernet + IP + TCP header bytes of a data segment."""
        return 14 + (40 if self.v6 else 20) + 20 + (12 if self.timestamps else 0)

    def handshake(self) -> None:
        self.send(True, "S")
        self.send(False, "SA")
        self.send(True, "A")

    def data(self, from_client: bool, size: int, frame_size: bool = False, push: bool = True) -> None:
        """Send `size` payload bytes (or a frame of `size` bytes)."""
        n = size - self.header_len() if frame_size else size
        self.send(from_client, "PA" if push else "A", filler(n, self.next_seq[from_client] % 36))

    def ack(self, from_client: bool) -> None:
        self.send(from_client, "A")

    def close(self, client_first: bool = True) -> None:
        a = client_first
        self.send(a, "FA")
        self.send(not a, "A")
        self.send(not a, "FA")
        self.send(a, "A")
