// Frame parser: Ethernet (+802.1Q/QinQ), IPv4, IPv6 with a bounded walk of
// extension headers, TCP (with options), UDP, ICMP, ICMPv6. Pure function over
// (bytes, length) so it runs the same in workers, unit tests and fuzzers.
#pragma once

#include <cstdint>
#include <cstring>

#include "checksum.h"
#include "malformed.h"
#include "packet_view.h"

namespace triage::net {

// How many IPv6 extension headers the walk follows before giving up.
inline constexpr unsigned kMaxIpv6ExtHeaders = 8;

struct ParseOptions {
    // Verify the IPv4 header checksum in software. Workers clear this when the
    // NIC has already reported the checksum good.
    bool verify_ipv4_checksum = true;
};

namespace detail {

inline uint16_t rd16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

inline bool is_zero(const uint8_t* p, unsigned n) noexcept {
    uint8_t acc = 0;
    for (unsigned i = 0; i < n; ++i) acc |= p[i];
    return acc == 0;
}

// TCP options: kinds with a fixed length are checked, the others need len >= 2.
inline Malformed parse_tcp_options(const uint8_t* pkt, unsigned off, unsigned end,
                                   PacketView& v) noexcept {
    while (off < end) {
        const uint8_t kind = pkt[off];
        if (kind == 0) break;  // end of option list
        if (kind == 1) {       // NOP
            ++off;
            continue;
        }
        if (off + 1 >= end) return Malformed::tcp_bad_options;
        const uint8_t len = pkt[off + 1];
        if (len < 2 || off + len > end) return Malformed::tcp_bad_options;
        switch (kind) {
        case 2:  // MSS
            if (len != 4) return Malformed::tcp_bad_options;
            v.tcp_mss = rd16(pkt + off + 2);
            v.flags |= view_flag::tcp_mss;
            break;
        case 3:  // window scale
            if (len != 3) return Malformed::tcp_bad_options;
            v.tcp_wscale = pkt[off + 2];
            v.flags |= view_flag::tcp_wscale;
            break;
        case 4:  // SACK permitted
            if (len != 2) return Malformed::tcp_bad_options;
            v.flags |= view_flag::tcp_sack_ok;
            break;
        case 5:  // SACK blocks
            if (len < 10 || (len - 2) % 8 != 0) return Malformed::tcp_bad_options;
            break;
        case 8:  // timestamps
            if (len != 10) return Malformed::tcp_bad_options;
            v.tcp_ts_off = static_cast<uint16_t>(off + 2);
            v.flags |= view_flag::tcp_timestamps;
            break;
        default:
            break;
        }
        off += len;
    }
    return Malformed::none;
}

// Verdict on the six classic TCP flags (FIN SYN RST PSH ACK URG), one
// table lookup per segment instead of a chain of tests.
constexpr Malformed tcp_flag_verdict(uint8_t f) {
    using namespace tcp_flag;
    if ((f & (syn | fin)) == (syn | fin)) return Malformed::tcp_syn_fin;
    if ((f & (syn | rst)) == (syn | rst)) return Malformed::tcp_syn_rst;
    if ((f & (fin | psh | urg)) == (fin | psh | urg)) return Malformed::tcp_xmas;
    if ((f & (fin | ack)) == fin) return Malformed::tcp_fin_no_ack;
    if (f == 0) return Malformed::tcp_null;
    return Malformed::none;
}

struct TcpFlagTable {
    Malformed verdict[64];
    constexpr TcpFlagTable() : verdict() {
        for (unsigned f = 0; f < 64; ++f) verdict[f] = tcp_flag_verdict(static_cast<uint8_t>(f));
    }
    constexpr Malformed operator[](unsigned f) const { return verdict[f]; }
};
inline constexpr TcpFlagTable kTcpFlagVerdict{};

// Transport header at v.l4_off with v.l4_len bytes available.
[[gnu::always_inline]] inline Malformed parse_l4(const uint8_t* pkt, PacketView& v) noexcept {
    const uint8_t* l4 = pkt + v.l4_off;
    const unsigned len = v.l4_len;
    switch (v.l4_proto) {
    case ip_proto::tcp: {
        if (len < 20) return Malformed::tcp_truncated;
        const unsigned doff = (l4[12] >> 4) * 4u;
        if (doff < 20 || doff > len) return Malformed::tcp_bad_data_offset;
        v.sport = rd16(l4);
        v.dport = rd16(l4 + 2);
        v.tcp_flags = l4[13];
        v.payload_off = static_cast<uint16_t>(v.l4_off + doff);
        v.flags |= view_flag::l4_parsed;
        if (doff > 20) {
            if (Malformed m = parse_tcp_options(pkt, v.l4_off + 20u, v.l4_off + doff, v);
                m != Malformed::none)
                return m;
        }
        if (Malformed m = kTcpFlagVerdict[v.tcp_flags & 0x3f]; m != Malformed::none) return m;
        if (v.sport == 0 || v.dport == 0) return Malformed::l4_port_zero;
        return Malformed::none;
    }
    case ip_proto::udp: {
        if (len < 8) return Malformed::udp_truncated;
        const unsigned ulen = rd16(l4 + 4);
        // A first fragment's UDP length covers the whole datagram.
        if (ulen < 8 || (ulen > len && !v.has(view_flag::fragment))) return Malformed::udp_bad_length;
        v.sport = rd16(l4);
        v.dport = rd16(l4 + 2);
        v.payload_off = static_cast<uint16_t>(v.l4_off + 8);
        v.flags |= view_flag::l4_parsed;
        if (v.sport == 0 || v.dport == 0) return Malformed::l4_port_zero;
        return Malformed::none;
    }
    case ip_proto::icmp:
    case ip_proto::icmpv6:
        if (len < 8)
            return v.l4_proto == ip_proto::icmp ? Malformed::icmp_truncated
                                                : Malformed::icmpv6_truncated;
        v.icmp_type = l4[0];
        v.icmp_code = l4[1];
        v.payload_off = static_cast<uint16_t>(v.l4_off + 8);
        v.flags |= view_flag::l4_parsed;
        return Malformed::none;
    default:  // other protocols (GRE, ESP, SCTP, ...) are carried opaquely
        v.payload_off = v.l4_off;
        return Malformed::none;
    }
}

// Smallest transport header a first fragment must carry whole.
inline unsigned min_l4_header(uint8_t proto) noexcept {
    switch (proto) {
    case ip_proto::tcp: return 20;
    case ip_proto::udp:
    case ip_proto::icmp:
    case ip_proto::icmpv6: return 8;
    default: return 0;
    }
}

inline Malformed check_addresses_v6(const PacketView& v) noexcept {
    static constexpr uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (v.src[0] == 0xff || std::memcmp(v.src, loopback, 16) == 0)
        return Malformed::ip_src_martian;
    // :: -> :: is not a land attack; duplicate address detection sends from ::.
    if (std::memcmp(v.src, v.dst, 16) == 0 && !is_zero(v.src, 16)) return Malformed::land;
    return Malformed::none;
}

[[gnu::always_inline]] inline Malformed parse_ipv4(const uint8_t* pkt, unsigned len, PacketView& v,
                                                  const ParseOptions& opt) noexcept {
    const unsigned l3 = v.l3_off;
    if (len - l3 < 20) return Malformed::ipv4_truncated;
    const uint8_t* ip = pkt + l3;
    unsigned ihl = 20;
    if (ip[0] != 0x45) {  // the common case has no options: one test
        if ((ip[0] >> 4) != 4) return Malformed::ipv4_bad_version;
        ihl = (ip[0] & 0x0f) * 4u;
        if (ihl < 20 || ihl > len - l3) return Malformed::ipv4_bad_ihl;
    }
    const unsigned total = rd16(ip + 2);
    if (total < ihl || total > len - l3) return Malformed::ipv4_bad_length;
    v.ip_version = 4;
    v.ttl = ip[8];
    uint32_t src, dst;
    std::memcpy(&src, ip + 12, 4);
    std::memcpy(&dst, ip + 16, 4);
    std::memcpy(v.src, &src, 4);
    std::memcpy(v.dst, &dst, 4);
    // Options: EOL ends the list, NOP is one byte, the rest carry a length.
    for (unsigned o = 20; o < ihl;) {
        const uint8_t t = ip[o];
        if (t == 0) break;
        if (t == 1) {
            ++o;
            continue;
        }
        if (o + 1 >= ihl || ip[o + 1] < 2 || o + ip[o + 1] > ihl) return Malformed::ipv4_bad_options;
        o += ip[o + 1];
    }
    if (opt.verify_ipv4_checksum && !ipv4_header_checksum_ok(ip, ihl))
        return Malformed::ipv4_bad_checksum;
    const uint8_t s0 = ip[12];
    if (s0 == 127 || (s0 & 0xf0) == 0xe0 || src == 0xffffffffu) return Malformed::ip_src_martian;
    if (src == dst) return Malformed::land;

    v.l4_proto = ip[9];
    v.l4_off = static_cast<uint16_t>(l3 + ihl);
    v.l4_len = static_cast<uint16_t>(total - ihl);
    const uint16_t frag = rd16(ip + 6);
    if ((frag & 0xbfff) != 0) {  // anything but DF: reserved bit, MF or an offset
        const bool mf = (frag & 0x2000) != 0;
        v.frag_off = frag & 0x1fff;
        if (frag & 0x8000) return Malformed::frag_bad;  // reserved ("evil") bit
        v.flags |= view_flag::fragment;
        if (mf) v.flags |= view_flag::more_fragments;
        if (mf && v.l4_len % 8 != 0) return Malformed::frag_bad;
        if (v.frag_off * 8u + v.l4_len > 65535u - ihl) return Malformed::frag_oversize;
        if (v.frag_off != 0) {
            v.flags |= view_flag::later_fragment;
            // RFC 1858: offset 1 lets a fragment rewrite the TCP flags.
            if (v.frag_off == 1 && v.l4_proto == ip_proto::tcp) return Malformed::frag_tiny;
            v.payload_off = v.l4_off;
            return Malformed::none;
        }
        if (v.l4_len < min_l4_header(v.l4_proto)) return Malformed::frag_tiny;
    }
    return parse_l4(pkt, v);
}

// Hop-by-hop and destination options: Pad1, PadN and TLVs inside the header.
inline bool ipv6_options_ok(const uint8_t* h, unsigned hlen) noexcept {
    for (unsigned o = 2; o < hlen;) {
        if (h[o] == 0) {
            ++o;
            continue;
        }
        if (o + 1 >= hlen || o + 2u + h[o + 1] > hlen) return false;
        o += 2u + h[o + 1];
    }
    return true;
}

inline Malformed parse_ipv6(const uint8_t* pkt, unsigned len, PacketView& v) noexcept {
    const unsigned l3 = v.l3_off;
    if (len - l3 < 40) return Malformed::ipv6_truncated;
    const uint8_t* ip = pkt + l3;
    if ((ip[0] >> 4) != 6) return Malformed::ipv6_bad_version;
    const unsigned plen = rd16(ip + 4);
    if (plen > len - l3 - 40) return Malformed::ipv6_bad_length;
    v.ip_version = 6;
    v.ttl = ip[7];
    std::memcpy(v.src, ip + 8, 16);
    std::memcpy(v.dst, ip + 24, 16);
    if (Malformed m = check_addresses_v6(v); m != Malformed::none) return m;

    const unsigned end = l3 + 40 + plen;
    unsigned off = l3 + 40;
    uint8_t nh = ip[6];
    for (;;) {
        if (nh != ip_proto::hop_by_hop && nh != ip_proto::ipv6_routing &&
            nh != ip_proto::ipv6_fragment && nh != ip_proto::ipv6_dest_opts)
            break;
        if (v.ext_count == kMaxIpv6ExtHeaders) return Malformed::ipv6_ext_too_many;
        if (nh == ip_proto::hop_by_hop && v.ext_count != 0) return Malformed::ipv6_ext_order;
        if (end - off < 8) return Malformed::ipv6_ext_truncated;
        const uint8_t* h = pkt + off;
        const unsigned hlen = nh == ip_proto::ipv6_fragment ? 8u : (h[1] + 1u) * 8u;
        if (hlen > end - off) return Malformed::ipv6_ext_truncated;
        ++v.ext_count;
        if (nh == ip_proto::ipv6_fragment) {
            const uint16_t fo = rd16(h + 2);
            const bool mf = (fo & 1) != 0;
            v.frag_off = fo >> 3;
            if (fo & 0x0006) return Malformed::frag_bad;  // reserved bits
            const unsigned frag_payload = end - off - 8;
            // An atomic fragment (offset 0, M clear) is a whole packet.
            if (mf || v.frag_off != 0) {
                v.flags |= view_flag::fragment;
                if (mf) v.flags |= view_flag::more_fragments;
                if (mf && frag_payload % 8 != 0) return Malformed::frag_bad;
                // RFC 8200 4.5: the reassembled payload also carries the
                // unfragmentable extension headers in front of this one.
                const unsigned unfrag = off - (l3 + 40);
                if (unfrag + v.frag_off * 8u + frag_payload > 65535u)
                    return Malformed::frag_oversize;
                if (v.frag_off != 0) {
                    v.flags |= view_flag::later_fragment;
                    // As for IPv4 (RFC 1858): offset 1 could rewrite TCP flags.
                    if (v.frag_off == 1 && h[0] == ip_proto::tcp) return Malformed::frag_tiny;
                    v.l4_proto = h[0];
                    v.l4_off = static_cast<uint16_t>(off + 8);
                    v.l4_len = static_cast<uint16_t>(frag_payload);
                    v.payload_off = v.l4_off;
                    return Malformed::none;
                }
            }
        } else if (nh == ip_proto::ipv6_routing) {
            if (h[2] == 0) return Malformed::ipv6_rh0;
        } else if (!ipv6_options_ok(h, hlen)) {
            return Malformed::ipv6_bad_options;
        }
        nh = h[0];
        off += hlen;
    }
    v.l4_proto = nh;
    v.l4_off = static_cast<uint16_t>(off);
    v.l4_len = static_cast<uint16_t>(end - off);
    // RFC 7112: the first fragment carries the whole header chain.
    if (v.has(view_flag::fragment) && v.l4_len < min_l4_header(nh)) return Malformed::frag_tiny;
    if (nh == ip_proto::ipv6_no_next) {
        v.payload_off = v.l4_off;
        return Malformed::none;
    }
    return parse_l4(pkt, v);
}

}  // namespace detail

// Parse one frame. On Malformed::none the view describes the packet; on any
// other result the view holds whatever was parsed before the fault (useful for
// logging addresses) and must not be trusted beyond that.
[[gnu::always_inline]] inline Malformed parse(const uint8_t* pkt, uint32_t len, PacketView& v,
                                             const ParseOptions& opt = {}) noexcept {
    std::memset(&v, 0, sizeof v);
    if (len < 14) return Malformed::l2_truncated;
    if (len > 65535) len = 65535;  // offsets are 16-bit; no Ethernet frame is larger
    unsigned off = 12;
    uint16_t et = detail::rd16(pkt + off);
    // Untagged IPv4, the common case, skips the tag loop with one compare.
    if (et != ether_type::ipv4) {
        while (et == ether_type::vlan || et == ether_type::qinq || et == ether_type::qinq_old) {
            if (v.vlan_count == 2) return Malformed::l2_too_many_tags;
            // The tag (TPID + TCI) and the ethertype after it must be in the frame.
            if (len < off + 4 + 2) return Malformed::l2_truncated;
            ++v.vlan_count;
            off += 4;
            et = detail::rd16(pkt + off);
        }
    }
    v.ether_type = et;
    off += 2;
    v.l3_off = static_cast<uint16_t>(off);
    if (et == ether_type::ipv4) return detail::parse_ipv4(pkt, len, v, opt);
    if (et == ether_type::ipv6) return detail::parse_ipv6(pkt, len, v);
    v.l3_off = 0;
    return Malformed::none;  // ARP, LLDP and other non-IP frames pass untouched
}

}  // namespace triage::net
