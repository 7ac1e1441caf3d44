#!/usr/bin/python3
"""reflection: UDP from reflector ports is limited per vector; answers to the clinic's own requests are not.

script.cli (run by every run via config `-f`):
  refl    limit reflection destination 5 burst 5        203.0.113.16/28, 2001:db8:c1:10::/64
  pervec  the same + limit ntp source 1 burst 2         203.0.113.32/28
  open    no limits                                     203.0.113.80/28
  set reflection window 30s

001 destination limit: DNS (source port 53) responses from 10 reflectors to
    one host, 5 pass and 5 are dropped (rate_destination); NTP (123) and
    memcached (11211) toward the same host each have a bucket of their own
    ("reflection" sets the limit of every vector, each vector is its own
    class); another host has its own; the unlimited policy takes them all;
    IPv6 alike; UDP that is not from a reflector port (a query to the
    host's DNS server, source port 1901 next to SSDP's 1900) is class udp.
002 per-vector override: NTP meets its own per-source limit (2 per source,
    rate_source) before the destination limit it still gets from
    "reflection" (5 toward the host, rate_destination): a source's 5th
    token is refused by the destination after its source token is spent.
    DNS in the same policy has no per-source limit.
003 solicited responses (--burst 32): send-p0 opens with 32 filler frames to
    an unprotected address, so the worker's first pass reads them from
    port 0 and then the clinic's requests from port 1 (DNS from
    203.0.113.17:33001 to 192.0.2.53:53, ...), before any response. Then
    with the host's dns bucket spent by unsolicited responses, the answers
    from the resolver's address and port to the requesting port pass (class
    udp, scrub.solicited_responses); from the right resolver to another
    port, from another resolver, or to another host they are dropped. NTP
    and IPv6 alike. Toward the unlimited policy nothing is looked up: the
    answer passes as class dns, not counted as solicited.
004 the same frames into port 0 without the requests: every one of those
    answers is now unsolicited and dropped.

Each frame's verdict is in NNN-notes.txt.

Regenerate:  /usr/bin/python3 gen.py   (or --out DIR)
"""

import itertools
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pktlib as P  # noqa: E402
from pktlib import IN, OUT  # noqa: E402

_ids = itertools.count(0x3000)

H, H2, H6 = "203.0.113.17", "203.0.113.18", "2001:db8:c1:10::1"
HV, HV2 = "203.0.113.33", "203.0.113.34"
U = "203.0.113.81"
TRANSIT = "203.0.113.200"
RESOLVER, RESOLVER2, RESOLVER6 = "192.0.2.53", "192.0.2.54", "2001:db8:100::53"
NTP_SERVER = "192.0.2.123"
PORT_CLASS = {53: "dns", 123: "ntp", 11211: "memcached"}


def policy_of(dst: str) -> str:
    if dst in (H, H2, H6):
        return "refl"
    if dst in (HV, HV2):
        return "pervec"
    if dst == U:
        return "open"
    raise ValueError(dst)


class Box:
    """What the scrubber does with UDP toward these policies (no refill:
    bursts only), in its order: solicited? -> per-source -> per-destination."""

    def __init__(self):
        self.src: dict = {}
        self.dst: dict = {}
        self.requests: set = set()

    @staticmethod
    def take(buckets: dict, key, burst: int) -> bool:
        left = buckets.get(key, burst)
        if left == 0:
            return False
        buckets[key] = left - 1
        return True

    def learn(self, local, lport, remote, rport):
        self.requests.add((remote, rport, local, lport))

    def judge(self, src, sport, dst, dport):
        """(fate, class, event)."""
        pol = policy_of(dst)
        cls = PORT_CLASS.get(sport, "udp")
        if cls == "udp" or pol == "open":
            return "fwd", cls, None
        if (src, sport, dst, dport) in self.requests:
            return "fwd", "udp", "solicited_responses"
        if pol == "pervec" and cls == "ntp" and not self.take(self.src, (src, cls), 2):
            return "rate_source", cls, None
        if not self.take(self.dst, (dst, cls), 5):
            return "rate_destination", cls, None
        return "fwd", cls, None


def response(src, sport, dst, dport, body=b"answer"):
    return P.scrub_udp(IN, src, dst, sport, dport, body, ident=next(_ids))


def add(t: P.ScrubTally, box: Box, src, sport, dst, dport, note):
    fate, cls, event = box.judge(src, sport, dst, dport)
    t.inbound(response(src, sport, dst, dport), f"{src}:{sport} -> {dst}:{dport} {note}", fate, cls=cls,
              event=event)


def destination_limit() -> P.ScrubTally:
    t = P.ScrubTally("001 refl: limit reflection destination 5 burst 5")
    box = Box()
    for i in range(1, 11):
        add(t, box, f"198.18.5.{i}", 53, H, 33000 + i, f"DNS response from reflector {i}")
    for i in range(1, 9):
        add(t, box, f"198.18.6.{i}", 123, H, 34000 + i, f"NTP response from reflector {i} (own bucket)")
    for i in range(1, 7):
        add(t, box, f"198.18.7.{i}", 11211, H, 35000 + i, f"memcached response {i} (own bucket)")
    for i in range(1, 4):
        add(t, box, f"198.18.5.{i}", 53, H2, 33000 + i, "DNS response to a second host (own bucket)")
    for i in range(1, 11):
        add(t, box, f"198.18.5.{i}", 53, U, 33000 + i, "DNS response toward policy open")
    for i in range(1, 8):
        add(t, box, f"2001:db8:100:5::{i}", 53, H6, 33000 + i, f"IPv6 DNS response {i}")
    for i in range(1, 7):
        add(t, box, f"198.18.9.{i}", 40000 + i, H, 53, "DNS query to the host's server (class udp)")
    for i in range(1, 4):
        add(t, box, f"198.18.9.{i}", 1901, H, 36000 + i, "source port 1901, not a reflector (class udp)")
    return t


def per_vector() -> P.ScrubTally:
    t = P.ScrubTally("002 pervec: limit reflection destination 5 burst 5 + limit ntp source 1 burst 2")
    box = Box()
    for r in range(1, 5):
        for i in range(1 if r == 4 else 4):
            add(t, box, f"198.18.7.{r}", 123, HV, 34100 + r, f"NTP from reflector {r}, #{i + 1}")
    for i in range(7):
        add(t, box, "198.18.7.10", 53, HV, 33100, f"DNS from one resolver #{i + 1} (no per-source dns limit)")
    for i in range(2):
        add(t, box, "198.18.7.1", 123, HV2, 34200, f"NTP from reflector 1 to a second host #{i + 1}")
    return t


def solicited(with_requests: bool) -> P.ScrubTally:
    nnn = 3 if with_requests else 4
    t = P.ScrubTally(f"00{nnn} solicited responses: refl, --burst 32, "
                     + ("requests on port 1" if with_requests else "the same without the requests"))
    box = Box()
    for i in range(32):
        t.inbound(P.scrub_udp(IN, "198.51.100.9", TRANSIT, 40000, 9, b"filler", ident=next(_ids)),
                  f"filler {i + 1} of 32 (transit): the first RX burst of port 0", transit=True)
    if with_requests:
        for local, lport, remote, rport, what in (
                (H, 33001, RESOLVER, 53, "DNS query"), (H, 33002, RESOLVER2, 53, "DNS query"),
                (H, 33003, NTP_SERVER, 123, "NTP request"), (H6, 33001, RESOLVER6, 53, "DNS query"),
                (U, 33001, RESOLVER, 53, "DNS query from the unlimited policy's host")):
            box.learn(local, lport, remote, rport)
            t.outbound(P.scrub_udp(OUT, local, remote, lport, rport, b"request", ident=next(_ids)),
                       f"{local}:{lport} -> {remote}:{rport} {what}")

    for i in range(1, 6):
        add(t, box, f"198.18.8.{i}", 53, H, 33001, "unsolicited DNS response (spends the dns bucket)")
    add(t, box, "198.18.8.6", 53, H, 33001, "unsolicited DNS response, bucket empty")
    for i in range(4):
        add(t, box, RESOLVER, 53, H, 33001, f"answer to H's query #{i + 1}")
    add(t, box, RESOLVER, 53, H, 33999, "the resolver to a port H sent no query from")
    add(t, box, "192.0.2.99", 53, H, 33001, "another resolver to the querying port")
    add(t, box, RESOLVER2, 53, H, 33002, "answer to H's second query")
    for i in range(1, 6):
        add(t, box, f"198.18.8.{i}", 53, H2, 33001, "unsolicited DNS response to H2")
    add(t, box, RESOLVER, 53, H2, 33001, "the resolver to H2 (H asked, not H2)")
    for i in range(1, 7):
        add(t, box, f"198.18.8.{i}", 123, H, 33003, "unsolicited NTP response")
    for i in range(2):
        add(t, box, NTP_SERVER, 123, H, 33003, f"answer to H's NTP request #{i + 1}")
    for i in range(1, 6):
        add(t, box, f"2001:db8:100:8::{i}", 53, H6, 33001, "unsolicited IPv6 DNS response")
    for i in range(2):
        add(t, box, RESOLVER6, 53, H6, 33001, f"answer to H6's query #{i + 1}")
    add(t, box, RESOLVER6, 53, H6, 33002, "the resolver to another port of H6")
    add(t, box, RESOLVER, 53, U, 33001, "answer toward policy open (no reflection limit: class dns)")
    return t


def main() -> None:
    case = P.Case.from_argv(__file__)
    destination_limit().write_into(case, 1)
    per_vector().write_into(case, 2)
    solicited(True).write_into(case, 3)
    solicited(False).write_into(case, 4)
    case.write()


if __name__ == "__main__":
    main()
