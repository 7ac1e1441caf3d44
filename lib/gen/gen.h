// lib/gen: the byte-level frame builder shared by the tests, the benchmarks
// and triage-gen's scenarios (scenario.h, traffic.h). Every field the parser looks at can be
// forced to a wrong value, so each malformed reason can be produced from an
// otherwise well-formed frame. L4 checksums are left zero (the parser never
// reads them) unless fill_l4_checksum() is called on the finished frame.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <vector>

#include "net.h"

namespace triage::gen {

using Bytes = std::vector<uint8_t>;
using Addr4 = std::array<uint8_t, 4>;
using Addr6 = std::array<uint8_t, 16>;

template <class... Parts>
Bytes cat(const Parts&... parts) {
    Bytes out;
    (out.insert(out.end(), std::begin(parts), std::end(parts)), ...);
    return out;
}

inline void push16(Bytes& b, uint16_t x) {
    b.push_back(static_cast<uint8_t>(x >> 8));
    b.push_back(static_cast<uint8_t>(x));
}

inline void push32(Bytes& b, uint32_t x) {
    push16(b, static_cast<uint16_t>(x >> 16));
    push16(b, static_cast<uint16_t>(x));
}

inline uint16_t get16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1));
}

inline uint32_t get32(const Bytes& b, size_t at) {
    return static_cast<uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}

// Documentation/benchmarking ranges only (RFC 5737, RFC 2544, RFC 3849).
inline constexpr Addr4 kHostA4{198, 18, 0, 1};
inline constexpr Addr4 kHostB4{198, 51, 100, 7};
inline constexpr Addr4 kHostC4{203, 0, 113, 9};
inline constexpr Addr4 kHostD4{192, 0, 2, 33};
inline constexpr Addr6 kHostA6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr Addr6 kHostB6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
inline constexpr Addr6 kHostC6{0x20, 0x01, 0x0d, 0xb8, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

// ---------------------------------------------------------------- Ethernet

struct Vlan {
    uint16_t tpid = net::ether_type::vlan;
    uint16_t tci = 100;
};

inline Bytes eth(uint16_t ether_type, std::initializer_list<Vlan> tags = {}) {
    // Locally administered MACs, so no vendor OUI appears in the tests.
    Bytes b{0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    for (const Vlan& t : tags) {
        push16(b, t.tpid);
        push16(b, t.tci);
    }
    push16(b, ether_type);
    return b;
}

inline Bytes arp_request() {
    Bytes b;
    push16(b, 1);       // Ethernet
    push16(b, 0x0800);  // IPv4
    b.push_back(6);
    b.push_back(4);
    push16(b, 1);  // request
    b.insert(b.end(), {0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
    b.insert(b.end(), kHostA4.begin(), kHostA4.end());
    b.insert(b.end(), 6, 0);
    b.insert(b.end(), kHostB4.begin(), kHostB4.end());
    return b;
}

// -------------------------------------------------------------------- IPv4

inline constexpr uint16_t kEvil = 0x8000;  // reserved flag
inline constexpr uint16_t kDF = 0x4000;
inline constexpr uint16_t kMF = 0x2000;

struct Ipv4 {
    Addr4 src = kHostA4;
    Addr4 dst = kHostB4;
    uint8_t proto = net::ip_proto::tcp;
    uint8_t ttl = 64;
    uint16_t frag = 0;  // flags | offset in 8-byte units, as on the wire
    Bytes options;      // EOL-padded to a multiple of 4 unless ihl is forced
    uint8_t version = 4;
    int ihl = -1;           // 32-bit words; -1 derives it from the options
    int total_length = -1;  // -1 is header + payload
    bool corrupt_checksum = false;
    uint16_t id = 0x1c46;   // identification
};

inline Bytes ipv4(const Ipv4& h, const Bytes& payload) {
    Bytes opts = h.options;
    if (h.ihl < 0)
        while (opts.size() % 4 != 0) opts.push_back(0);
    const unsigned hlen = 20 + static_cast<unsigned>(opts.size());
    const unsigned ihl = h.ihl >= 0 ? static_cast<unsigned>(h.ihl) : hlen / 4;
    const unsigned total = h.total_length >= 0 ? static_cast<unsigned>(h.total_length)
                                               : hlen + static_cast<unsigned>(payload.size());
    Bytes b;
    b.push_back(static_cast<uint8_t>(h.version << 4 | (ihl & 0x0f)));
    b.push_back(0);  // DSCP/ECN
    push16(b, static_cast<uint16_t>(total));
    push16(b, h.id);
    push16(b, h.frag);
    b.push_back(h.ttl);
    b.push_back(h.proto);
    push16(b, 0);
    b.insert(b.end(), h.src.begin(), h.src.end());
    b.insert(b.end(), h.dst.begin(), h.dst.end());
    b.insert(b.end(), opts.begin(), opts.end());
    // Sum what the IHL claims when it is in the buffer, so a header with a
    // forced IHL still verifies and the test reaches the check it aims at.
    const size_t sum_len = std::min<size_t>(ihl * 4u, b.size());
    uint16_t csum = net::internet_checksum(b.data(), sum_len);
    if (h.corrupt_checksum) csum ^= 0x0001;  // never maps 0x0000 <-> 0xffff
    b[10] = static_cast<uint8_t>(csum >> 8);
    b[11] = static_cast<uint8_t>(csum);
    return cat(b, payload);
}

// -------------------------------------------------------------------- IPv6

struct Ipv6 {
    Addr6 src = kHostA6;
    Addr6 dst = kHostB6;
    uint8_t next = net::ip_proto::tcp;
    uint8_t hop_limit = 64;
    uint8_t version = 6;
    int payload_length = -1;  // -1 is the payload size
    uint32_t flow = 0xabcde;  // flow label (20 bits)
};

inline Bytes ipv6(const Ipv6& h, const Bytes& payload) {
    const unsigned plen = h.payload_length >= 0 ? static_cast<unsigned>(h.payload_length)
                                                : static_cast<unsigned>(payload.size());
    Bytes b;
    push32(b, static_cast<uint32_t>(h.version) << 28 | (h.flow & 0xfffffu));
    push16(b, static_cast<uint16_t>(plen));
    b.push_back(h.next);
    b.push_back(h.hop_limit);
    b.insert(b.end(), h.src.begin(), h.src.end());
    b.insert(b.end(), h.dst.begin(), h.dst.end());
    return cat(b, payload);
}

// Hop-by-hop / destination options / routing header: next header, length in
// 8-byte units beyond the first, then `body` Pad1-padded to a multiple of 8.
// hdr_ext_len >= 0 overrides the computed length field.
inline Bytes ipv6_ext(uint8_t next, const Bytes& body, int hdr_ext_len = -1) {
    Bytes b{next, 0};
    b.insert(b.end(), body.begin(), body.end());
    while (b.size() % 8 != 0) b.push_back(0);
    b[1] = static_cast<uint8_t>(hdr_ext_len >= 0 ? hdr_ext_len : int(b.size() / 8) - 1);
    return b;
}

inline Bytes ipv6_routing(uint8_t next, uint8_t type, uint8_t segments_left = 0) {
    return ipv6_ext(next, {type, segments_left, 0, 0, 0, 0});
}

// `reserved` goes into the two reserved bits next to M (values 0..3).
inline Bytes ipv6_frag(uint8_t next, uint16_t offset, bool more, uint8_t reserved = 0) {
    Bytes b{next, 0};
    push16(b, static_cast<uint16_t>(offset << 3 | (reserved & 3u) << 1 | (more ? 1 : 0)));
    push32(b, 0xdecafbadu);  // identification
    return b;
}

// --------------------------------------------------------------------- TCP

namespace opt {
inline Bytes eol() {
    return {0};
}
inline Bytes nop() {
    return {1};
}
inline Bytes mss(uint16_t v) {
    return {2, 4, static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}
inline Bytes wscale(uint8_t s) {
    return {3, 3, s};
}
inline Bytes sack_ok() {
    return {4, 2};
}
inline Bytes sack(unsigned blocks) {
    Bytes b{5, static_cast<uint8_t>(2 + 8 * blocks)};
    for (unsigned i = 0; i < blocks; ++i) {
        push32(b, 1000 + 100 * i);
        push32(b, 1050 + 100 * i);
    }
    return b;
}
inline Bytes timestamps(uint32_t tsval, uint32_t tsecr) {
    Bytes b{8, 10};
    push32(b, tsval);
    push32(b, tsecr);
    return b;
}
}  // namespace opt

struct Tcp {
    uint16_t sport = 40000;
    uint16_t dport = 80;
    uint8_t flags = net::tcp_flag::syn;
    Bytes options;  // EOL-padded to a multiple of 4 unless doff is forced
    int doff = -1;  // 32-bit words; -1 derives it from the options
    uint32_t seq = 0x01020304;
    int64_t ack = -1;  // -1: 0x0a0b0c0d with the ACK flag, else 0
    uint16_t window = 64240;
};

inline Bytes tcp(const Tcp& t, const Bytes& payload = {}) {
    Bytes opts = t.options;
    if (t.doff < 0)
        while (opts.size() % 4 != 0) opts.push_back(0);
    const unsigned doff =
        t.doff >= 0 ? static_cast<unsigned>(t.doff) : (20 + static_cast<unsigned>(opts.size())) / 4;
    Bytes b;
    push16(b, t.sport);
    push16(b, t.dport);
    push32(b, t.seq);
    push32(b, t.ack >= 0 ? static_cast<uint32_t>(t.ack) : (t.flags & net::tcp_flag::ack) ? 0x0a0b0c0du : 0u);
    b.push_back(static_cast<uint8_t>((doff & 0x0f) << 4));
    b.push_back(t.flags);
    push16(b, t.window);
    push16(b, 0);      // checksum
    push16(b, 0);      // urgent pointer
    return cat(b, opts, payload);
}

// --------------------------------------------------------------- UDP, ICMP

struct Udp {
    uint16_t sport = 40000;
    uint16_t dport = 53;
    int length = -1;  // -1 is header + payload
};

inline Bytes udp(const Udp& u, const Bytes& payload = {}) {
    Bytes b;
    push16(b, u.sport);
    push16(b, u.dport);
    push16(b, static_cast<uint16_t>(u.length >= 0 ? u.length : int(8 + payload.size())));
    push16(b, 0);
    return cat(b, payload);
}

// ICMP and ICMPv6 share the 8-byte header layout the parser reads.
inline Bytes icmp(uint8_t type, uint8_t code, const Bytes& payload = {}) {
    Bytes b{type, code, 0, 0};
    push32(b, 0x00010001);  // echo identifier / sequence
    return cat(b, payload);
}

inline Bytes filler(size_t n, uint8_t seed = 0x5a) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i);
    return b;
}

// ------------------------------------------------------------- whole frames

inline Bytes frame4(const Ipv4& h, const Bytes& l4, std::initializer_list<Vlan> tags = {}) {
    return cat(eth(net::ether_type::ipv4, tags), ipv4(h, l4));
}

inline Bytes frame6(const Ipv6& h, const Bytes& l4, std::initializer_list<Vlan> tags = {}) {
    return cat(eth(net::ether_type::ipv6, tags), ipv6(h, l4));
}

// Writes the TCP, UDP, ICMP or ICMPv6 checksum of a finished frame (with
// the IPv4 / IPv6 pseudo-header where the protocol has one). Returns false,
// changing nothing, when the frame does not parse as an unfragmented IP
// datagram carrying one of those.
inline bool fill_l4_checksum(Bytes& f) {
    net::PacketView v;
    if (net::parse(f.data(), static_cast<uint32_t>(f.size()), v) != net::Malformed::none || !v.is_ip() ||
        v.has(net::view_flag::fragment) || !v.has(net::view_flag::l4_parsed))
        return false;
    size_t at;
    bool pseudo = true;
    switch (v.l4_proto) {
    case net::ip_proto::tcp: at = 16; break;
    case net::ip_proto::udp: at = 6; break;
    case net::ip_proto::icmp: at = 2; pseudo = false; break;
    case net::ip_proto::icmpv6: at = 2; break;
    default: return false;
    }
    uint8_t* l4 = f.data() + v.l4_off;
    l4[at] = l4[at + 1] = 0;
    uint32_t seed = 0;
    if (pseudo) {
        const size_t alen = v.ip_version == 4 ? 4 : 16;
        seed = uint32_t{net::ones_complement_sum(v.src, alen)} + net::ones_complement_sum(v.dst, alen) +
               v.l4_proto + v.l4_len;
    }
    uint16_t c = net::internet_checksum(l4, v.l4_len, seed);
    if (v.l4_proto == net::ip_proto::udp && c == 0) c = 0xffff;  // 0 means "no checksum" for UDP
    l4[at] = static_cast<uint8_t>(c >> 8);
    l4[at + 1] = static_cast<uint8_t>(c);
    return true;
}

}  // namespace triage::gen
