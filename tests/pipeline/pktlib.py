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


# --------------------------------------------------------------------------
# Scrubbing cases (syn-auth, service-acl, precedence): SYN cookies computed
# here, independently of lib/syncookie, and counters with every drop reason
# and scrub event. Appended; nothing above depends on it.

def siphash24(k0: int, k1: int, msg: bytes) -> int:
    """SipHash-2-4 of msg under the 128-bit key (k0, k1) (k0 = the key's
    first 8 bytes read little-endian), as in the reference implementation."""
    mask = (1 << 64) - 1

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & mask

    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & mask
            v1 = rotl(v1, 13) ^ v0
            v0 = rotl(v0, 32)
            v2 = (v2 + v3) & mask
            v3 = rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & mask
            v3 = rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & mask
            v1 = rotl(v1, 17) ^ v2
            v2 = rotl(v2, 32)

    whole = len(msg) - len(msg) % 8
    blocks = [int.from_bytes(msg[i:i + 8], "little") for i in range(0, whole, 8)]
    blocks.append(((len(msg) & 0xFF) << 56) | int.from_bytes(msg[whole:], "little"))
    for m in blocks:
        v3 ^= m
        rounds(2)
        v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def siphash_self_test() -> None:
    """The reference vectors (key 00..0f): refuse to generate with a broken hash."""
    k0 = int.from_bytes(bytes(range(8)), "little")
    k1 = int.from_bytes(bytes(range(8, 16)), "little")
    got = (siphash24(k0, k1, b""), siphash24(k0, k1, bytes(range(15))))
    want = (0x726FDB47DD0E0E31, 0xA129CA6149BE45E5)
    if got != want:
        raise SystemExit(f"siphash24 self-test failed: {got[0]:#x}, {got[1]:#x} != {want[0]:#x}, {want[1]:#x}")


def cookie_secret_key(secret_hex: str) -> tuple[int, int]:
    """`set syn-auth secret HEX32`: the first 16 hex digits are k0, the last 16 k1."""
    assert len(secret_hex) == 32
    return int(secret_hex[:16], 16), int(secret_hex[16:], 16)


def cookie_window_key(secret_hex: str, window: int) -> tuple[int, int]:
    """The key of one cookie window under a shared secret: SipHash-2-4 keyed by
    the secret over the 64-bit words (window, "triageck") and (window, "key-win1")."""
    k0, k1 = cookie_secret_key(secret_hex)

    def words(*w):
        return b"".join(x.to_bytes(8, "little") for x in w)

    return (siphash24(k0, k1, words(window, 0x747269616765636B)),
            siphash24(k0, k1, words(window, 0x6B65792D77696E31)))


COOKIE_MSS4 = (536, 1300, 1440, 1460)
COOKIE_MSS6 = (1220, 1420, 1440, 8940)


def cookie_mss_index(mss: int, v6: bool) -> int:
    """The largest table entry <= mss (0 below all of them)."""
    t = COOKIE_MSS6 if v6 else COOKIE_MSS4
    return sum(1 for m in t[1:] if mss >= m)


def syn_cookie(secret_hex: str, window: int, src: str, dst: str, sport: int, dport: int,
               mss_idx: int) -> int:
    """[hash:28][window mod 4:2][MSS index:2]; hash = top 28 bits of SipHash-2-4
    (window key) over the addresses, then sport:16 dport:16 window:22 family:8 mss:2.
    IPv4 packs both addresses into one word, source in its high half, each
    address's bytes taken as a little-endian integer (so the message starts
    with the destination's bytes)."""
    import ipaddress

    key = cookie_window_key(secret_hex, window)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    family = s.version
    tail = (sport << 48) | (dport << 32) | ((window & 0x3FFFFF) << 10) | (family << 2) | (mss_idx & 3)
    if family == 4:
        w0 = (int.from_bytes(s.packed, "little") << 32) | int.from_bytes(d.packed, "little")
        msg = w0.to_bytes(8, "little") + tail.to_bytes(8, "little")
    else:
        msg = s.packed + d.packed + tail.to_bytes(8, "little")
    h = siphash24(key[0], key[1], msg)
    return ((h >> 32) & 0xFFFFFFF0) | ((window & 3) << 2) | (mss_idx & 3)


def cookie_synack(syn_frame: bytes, secret_hex: str, window: int) -> tuple[bytes, int]:
    """The SYN-ACK the box must send for a SYN (Ethernet, 0-2 VLAN tags, IPv4
    or IPv6, TCP): MACs and tags kept (MACs swapped), IPv4 ID 0 + DF + TTL 64
    or IPv6 hop limit 64 with traffic class and flow label 0, seq = cookie,
    ack = cookie (cookie + 1 in the one case where the cookie is the SYN's
    ISN + 1), window 65535, one option: MSS from the cookie's table. Not
    padded (the box leaves that to the NIC). Returns (frame, cookie)."""
    from scapy.layers.l2 import Dot1AD, Dot1Q

    e = Ether(syn_frame)
    out = Ether(src=e.dst, dst=e.src)
    layer = e.payload
    while isinstance(layer, (Dot1Q, Dot1AD)):
        out = out / type(layer)(prio=layer.prio, id=layer.id, vlan=layer.vlan)  # id: the DEI bit
        layer = layer.payload
    v6 = isinstance(layer, IPv6)
    assert v6 or isinstance(layer, IP), "not an IP frame"
    tcp = layer[TCP]
    assert tcp.flags.S and not tcp.flags.A, "not a SYN"
    mss = dict((k, v) for k, v in tcp.options if isinstance(k, str)).get("MSS", 536)
    idx = cookie_mss_index(mss, v6)
    cookie = syn_cookie(secret_hex, window, layer.src, layer.dst, tcp.sport, tcp.dport, idx)
    ack = (cookie + 1) & 0xFFFFFFFF if cookie == (tcp.seq + 1) & 0xFFFFFFFF else cookie
    if v6:
        l3 = IPv6(tc=0, fl=0, hlim=64, src=layer.dst, dst=layer.src)
    else:
        l3 = IP(ihl=5, tos=0, id=0, flags="DF", frag=0, ttl=64, src=layer.dst, dst=layer.src)
    seg = TCP(sport=tcp.dport, dport=tcp.sport, seq=cookie, ack=ack, flags="SA", window=65535, urgptr=0,
              options=[("MSS", (COOKIE_MSS6 if v6 else COOKIE_MSS4)[idx])])
    return bytes(out / l3 / seg), cookie


def pipeline_drop_names() -> list[str]:
    """lib/telemetry/drop_reason.h TRIAGE_PIPELINE_DROP_REASONS, as named in --stats-json."""
    return ["deny_list", "transit_drop", "service_acl", "fragment_policy", "rate_source",
            "rate_destination", "syn_cookie", "syn_auth_answer", "tcp_unauthenticated", "signature",
            "tx_full", "steer_full", "shutdown"]


def scrub_event_names() -> list[str]:
    """lib/telemetry/counters.h TRIAGE_SCRUB_EVENTS: the "scrub" object of --stats-json."""
    return ["syn_cookies_sent", "syn_cookies_unsent", "sources_authenticated", "sources_learned",
            "authenticated_tcp", "solicited_responses", "icmp_exempt", "signature_counted",
            "meter_evictions", "auth_evictions", "solicit_evictions"]


class ScrubRun:
    """One run of a scrubbing case: each frame with its expected fate, the
    output order the single worker produces, notes and counters.

    Fates of an inbound frame (port 0): "fwd" (leaves port 1 unchanged),
    "reply" (the box answers: `reply` leaves port 0, the frame is dropped as
    syn_cookie) or a drop reason. Outbound frames (port 1) always leave port 0.

    Output order: the worker polls port 0 then port 1, `burst` frames each,
    then transmits what goes out of port 1, then port 0's forwarded frames,
    then its own replies (pipelines/scrub/scrub.cpp flush()). finish()
    replays that schedule, so a frame at index >= burst of send-p0 is
    handled after the first `burst` frames of send-p1."""

    def __init__(self, title: str, burst: int = 32):
        self.title = title
        self.burst = burst
        self.p0: list[tuple[bytes, str, str, bytes | None]] = []
        self.p1: list[tuple[bytes, str]] = []

    def inbound(self, frame, note: str, fate: str = "fwd", reply: bytes | None = None,
                pad_frame: bool = True) -> None:
        assert (fate == "reply") == (reply is not None)
        self.p0.append((pad(frame) if pad_frame else bytes(frame), note, fate, reply))

    def outbound(self, frame, note: str, pad_frame: bool = True) -> None:
        self.p1.append((pad(frame) if pad_frame else bytes(frame), note))

    def schedule(self):
        """(expect_p0, expect_p1) in the order the worker sends them."""
        e0, e1 = [], []
        i0 = i1 = 0
        while i0 < len(self.p0) or i1 < len(self.p1):
            replies = []
            for f, _, fate, reply in self.p0[i0:i0 + self.burst]:
                if fate == "fwd":
                    e1.append(f)
                elif fate == "reply":
                    replies.append(reply)
            tx0 = [f for f, _ in self.p1[i1:i1 + self.burst]]
            i0 += self.burst
            i1 += self.burst
            e0 += tx0 + replies
        return e0, e1

    def counters(self, drops: dict | None = None, scrub: dict | None = None,
                 classes: dict | None = None, traffic: dict | None = None) -> dict:
        """Every port/direction count, every drop reason (0 unless given) and
        scrub event (0 unless given), inbound_classes as given. The drop
        counts must account for every inbound frame not forwarded."""
        s0 = [f for f, *_ in self.p0]
        s1 = [f for f, _ in self.p1]
        e0, e1 = self.schedule()
        fates: dict[str, int] = {}
        for _, _, fate, _ in self.p0:
            key = "syn_cookie" if fate == "reply" else fate
            fates[key] = fates.get(key, 0) + 1
        fates.pop("fwd", None)
        all_drops = zero_drops()
        all_drops.update({r: 0 for r in pipeline_drop_names()})
        all_drops.update(fates)
        if drops is not None:
            assert all(all_drops[k] == v for k, v in drops.items()), (drops, fates)
        all_scrub = {e: 0 for e in scrub_event_names()}
        all_scrub.update(scrub or {})
        replies = sum(1 for *_, r in self.p0 if r is not None)
        assert all_scrub["syn_cookies_sent"] == replies, (all_scrub, replies)
        c = {
            "inbound": {"rx": len(s0), "forwarded": len(e1), "dropped": len(s0) - len(e1)},
            "outbound": {"rx": len(s1), "forwarded": len(s1), "dropped": 0, "malformed_seen": 0},
            "ports": port_counters(s0, s1, e0, e1),
            "drops": all_drops,
            "scrub": all_scrub,
        }
        if classes is not None:
            full = {"protected": 0, "transit": 0, "allowed": 0}
            full.update(classes)
            assert sum(full.values()) == len(e1), (full, len(e1))
            c["inbound_classes"] = full
        if traffic is not None:
            c["traffic_classes"] = traffic
        return c

    def notes(self) -> list[str]:
        out = [self.title, ""]
        for i, (f, note, fate, _) in enumerate(self.p0):
            verdict = {"fwd": "-> port 1", "reply": "-> cookie SYN-ACK out of port 0 (syn_cookie)"}.get(
                fate, f"dropped ({fate})")
            out.append(f"p0 #{i:<3} {len(f):>4} B  {note}  {verdict}")
        for i, (f, note) in enumerate(self.p1):
            out.append(f"p1 #{i:<3} {len(f):>4} B  {note}  -> port 0")
        return out

    def write_into(self, case: "Case", nnn: int, **counters) -> None:
        e0, e1 = self.schedule()
        case.run(nnn, send_p0=[f for f, *_ in self.p0], send_p1=[f for f, _ in self.p1],
                 expect_p0=e0, expect_p1=e1, counters=self.counters(**counters), notes=self.notes())


def case_options(case_dir) -> dict[str, str]:
    """The `--name value` pairs of a case's config file."""
    import shlex

    words = []
    for line in (Path(case_dir) / "config").read_text().splitlines():
        words += shlex.split(line, comments=True)
    return {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}


def case_burst(case_dir) -> int:
    """The case's --burst (triage's default 32 when absent)."""
    return int(case_options(case_dir).get("--burst", 32))


def case_cookie_settings(case_dir) -> tuple[str, int, int]:
    """(secret, window, burst) of a case from its script.cli (`set syn-auth
    secret HEX32`) and config (`--cookie-window N`, `--burst N`), so the
    committed files stay the one source of truth for both sides."""
    case_dir = Path(case_dir)
    m = re.search(r"^\s*set syn-auth secret ([0-9A-Fa-f]{32})\s*$", (case_dir / "script.cli").read_text(), re.M)
    if not m:
        raise SystemExit(f"{case_dir}/script.cli: no `set syn-auth secret HEX32` line")
    opts = case_options(case_dir)
    if "--cookie-window" not in opts:
        raise SystemExit(f"{case_dir}/config: no --cookie-window N")
    return m.group(1).lower(), int(opts["--cookie-window"]), case_burst(case_dir)


def tcp_segment(direction: str, src: str, dst: str, sport: int, dport: int, flags: str, seq: int,
                ack: int = 0, payload: bytes = b"", options=(), vlan=None, ipid: int = 0x3000,
                window=None, ttl: int | None = None):
    """One TCP segment entering port 0 (IN) or port 1 (OUT); IPv4 with DF.
    vlan: (priority, VLAN id) for one 802.1Q tag. Default window: 0 for a
    bare RST, 64240 for SYNs, 502 otherwise."""
    from scapy.layers.l2 import Dot1Q

    if ":" in src:
        l3 = IPv6(src=src, dst=dst, hlim=ttl or (57 if direction == IN else 64))
    else:
        l3 = IP(src=src, dst=dst, id=ipid, flags="DF", ttl=ttl or (52 if direction == IN else 64))
    if window is None:
        window = 0 if flags == "R" else 64240 if "S" in flags else 502
    eth = l2(direction)
    if vlan is not None:
        eth = eth / Dot1Q(prio=vlan[0], vlan=vlan[1])
    f = eth / l3 / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
                       options=list(options))
    return f / Raw(payload) if payload else f


def linux_syn_options(mss: int, tsval: int):
    """The options of a Linux SYN: MSS, SACK-permitted, timestamps, window scale 7."""
    return [("MSS", mss), ("SAckOK", b""), ("Timestamp", (tsval, 0)), ("NOP", None), ("WScale", 7)]


def transit_fillers(run: "ScrubRun", n: int, src: str = "192.0.2.100", dst: str = "198.19.0.1") -> None:
    """n UDP frames toward an unprotected destination (forwarded as transit):
    they fill port 0's first bursts so that port 1's first frames are
    handled before the port 0 frames that follow them."""
    from scapy.layers.inet import UDP

    for i in range(n):
        run.inbound(l2(IN) / IP(src=src, dst=dst, id=0x6000 + i, ttl=60) / UDP(sport=20000 + i, dport=9)
                    / Raw(b"filler"),
                    f"transit filler {i + 1}/{n} to {dst} (fills port 0's first burst)", "fwd")


# --------------------------------------------------------------------------
# Scrubbing cases (rate-limits, reflection, icmp-fragments, signatures):
# frame builders and a tally of traffic classes, scrub events and signature
# matches on top of ScrubRun. Appended; nothing above depends on it.

# --stats-json "traffic_classes": the five fixed classes, then one per
# built-in reflector (lib/policy/policy.h kDefaultReflectors), in name order.
SCRUB_BASE_CLASSES = ("syn", "tcp", "udp", "icmp", "fragment")
SCRUB_REFLECTORS = {"chargen": 19, "cldap": 389, "dns": 53, "memcached": 11211, "ntp": 123,
                    "snmp": 161, "ssdp": 1900, "wsd": 3702}
TRAFFIC_CLASS_NAMES = SCRUB_BASE_CLASSES + tuple(sorted(SCRUB_REFLECTORS))


def _scrub_l3(direction: str, src: str, dst: str, ident: int, **ip):
    if ":" in src:
        return l2(direction) / IPv6(src=src, dst=dst, hlim=ip.pop("ttl", 64), **ip)
    return l2(direction) / IP(src=src, dst=dst, id=ident & 0xFFFF, **ip)


def scrub_udp(direction: str, src: str, dst: str, sport: int, dport: int, payload: bytes = b"",
              size: int | None = None, ident: int = 0) -> bytes:
    """A UDP datagram (IPv4 or IPv6 by the address), payload grown with
    filler() to a frame of `size` bytes when given, else padded to 60."""
    from scapy.layers.inet import UDP

    p = _scrub_l3(direction, src, dst, ident) / UDP(sport=sport, dport=dport) / Raw(payload)
    return pad_to(p, size) if size else pad(p)


def scrub_tcp(direction: str, src: str, dst: str, sport: int, dport: int, flags: str, seq: int,
              ack: int = 0, payload: bytes = b"", ident: int = 0, size: int | None = None) -> bytes:
    """A TCP segment (IPv4 with DF); a SYN carries MSS/SACK-permitted/wscale like a real client."""
    opts = [("MSS", 1460 if ":" not in src else 1440), ("SAckOK", b""), ("NOP", None),
            ("WScale", 7)] if "S" in flags else []
    seg = TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags,
              window=64240 if "S" in flags else 502, options=opts)
    if ":" in src:
        p = _scrub_l3(direction, src, dst, ident) / seg
    else:
        p = _scrub_l3(direction, src, dst, ident, flags="DF") / seg
    if payload:
        p = p / Raw(payload)
    return pad_to(p, size) if size else pad(p)


def scrub_echo(direction: str, src: str, dst: str, ident: int, seq: int, size: int | None = None) -> bytes:
    """ICMP echo request (ICMPv6 for IPv6 addresses) with an 8-byte payload."""
    from scapy.layers.inet import ICMP
    from scapy.layers.inet6 import ICMPv6EchoRequest

    body = b"triage%02d" % (seq % 100)
    if ":" in src:
        p = _scrub_l3(direction, src, dst, ident) / ICMPv6EchoRequest(id=0x7100, seq=seq) / Raw(body)
    else:
        p = _scrub_l3(direction, src, dst, ident) / ICMP(type=8, id=0x7100, seq=seq) / Raw(body)
    return pad_to(p, size) if size else pad(p)


def scrub_fragments(direction: str, src: str, dst: str, l4, ident: int, first_len: int = 32) -> list[bytes]:
    """A datagram (a scapy L4 layer with its payload) as two fragments: the
    first carries `first_len` bytes (a multiple of 8, the L4 header whole),
    the second the rest. L4 checksums cover the whole datagram. IPv6 uses a
    fragment header with identification `ident`."""
    from scapy.layers.inet6 import IPv6ExtHdrFragment

    assert first_len % 8 == 0
    v6 = ":" in src
    built = (IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)) / l4
    whole = IPv6(bytes(built)) if v6 else IP(bytes(built))
    proto = whole.nh if v6 else whole.proto
    body = bytes(whole.payload)
    assert len(body) > first_len, (len(body), first_len)
    parts = [(0, True, body[:first_len]), (first_len // 8, False, body[first_len:])]
    out = []
    for off, more, chunk in parts:
        if v6:
            p = l2(direction) / IPv6(src=src, dst=dst, hlim=64) / IPv6ExtHdrFragment(
                nh=proto, offset=off, m=int(more), id=ident) / Raw(chunk)
        else:
            p = l2(direction) / IP(src=src, dst=dst, id=ident & 0xFFFF, proto=proto,
                                   flags="MF" if more else 0, frag=off) / Raw(chunk)
        out.append(pad(p))
    return out


class ScrubTally:
    """A ScrubRun plus what the counters must show of it: each inbound frame
    names the traffic class it is counted in (None: not classed, e.g. exempt
    ICMP, transit, or dropped by the fragment rule before classification),
    the scrub event it adds, the signature rule it matches. A drop by
    rate_source / rate_destination also counts as the class's `dropped`."""

    LIMIT_DROPS = ("rate_source", "rate_destination")

    def __init__(self, title: str, burst: int = 32, signatures=()):
        self.run = ScrubRun(title, burst)
        self.classes = {n: {"packets": 0, "dropped": 0} for n in TRAFFIC_CLASS_NAMES}
        self.events: dict[str, int] = {}
        self.sigs = {str(i): 0 for i in signatures}
        self.verdicts = {"protected": 0, "transit": 0}

    def inbound(self, frame, note: str, fate: str = "fwd", cls: str | None = None,
                event: str | None = None, sig: int | None = None, transit: bool = False) -> None:
        tags = [t for t in (cls, event and f"+{event}", sig and f"sig {sig}") if t]
        self.run.inbound(frame, note + (f" [{', '.join(tags)}]" if tags else ""), fate)
        if cls is not None:
            self.classes[cls]["packets"] += 1
            if fate in self.LIMIT_DROPS:
                self.classes[cls]["dropped"] += 1
        else:
            assert fate not in self.LIMIT_DROPS, "a limit drop has a class"
        if event:
            self.events[event] = self.events.get(event, 0) + 1
        if sig is not None:
            self.sigs[str(sig)] += 1
        if fate == "fwd":
            self.verdicts["transit" if transit else "protected"] += 1

    def outbound(self, frame, note: str) -> None:
        self.run.outbound(frame, note)

    def counters(self) -> dict:
        c = self.run.counters(scrub=self.events, classes=self.verdicts, traffic=self.classes)
        c["signatures"] = dict(self.sigs)
        return c

    def write_into(self, case: "Case", nnn: int) -> None:
        r = self.run
        e0, e1 = r.schedule()
        case.run(nnn, send_p0=[f for f, *_ in r.p0], send_p1=[f for f, _ in r.p1],
                 expect_p0=e0, expect_p1=e1, counters=self.counters(), notes=r.notes())
