// Frame builder for the replies Triage sends itself (the SYN-ACK that
// carries a SYN cookie, an RST): a complete Ethernet frame answering a TCP
// segment the parser has described. Pure function over bytes, so the worker
// rewrites a SYN's mbuf in place and unit tests check the result with
// net::parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "checksum.h"
#include "packet_view.h"

namespace triage::net {

// The longest frame build_tcp_reply() writes: Ethernet, two VLAN tags,
// IPv6, TCP with the MSS option. A worker rewriting in place needs this much
// room in the buffer (a SYN without options is shorter than its reply).
inline constexpr size_t kMaxTcpReplyLen = 14 + 8 + 40 + 24;

// The TCP sequence and acknowledgment numbers, which PacketView does not
// keep (the cookie check reads the RST's SEQ). v must describe a TCP
// segment with its header parsed (view_flag::l4_parsed).
inline uint32_t tcp_seq(const uint8_t* frame, const PacketView& v) noexcept {
    const uint8_t* p = frame + v.l4_off + 4;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint32_t tcp_ack(const uint8_t* frame, const PacketView& v) noexcept {
    const uint8_t* p = frame + v.l4_off + 8;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

namespace detail {
inline void wr16(uint8_t* p, uint16_t x) noexcept {
    p[0] = static_cast<uint8_t>(x >> 8);
    p[1] = static_cast<uint8_t>(x);
}
inline void wr32(uint8_t* p, uint32_t x) noexcept {
    wr16(p, static_cast<uint16_t>(x >> 16));
    wr16(p + 2, static_cast<uint16_t>(x));
}
}  // namespace detail

// Writes into `out` the frame answering the TCP segment in `frame` (parsed
// into `v`): MACs swapped, the same VLAN tags (0, 1 or 2), then
//   IPv4: IHL 5 (no options), TOS 0, ID 0, DF, TTL 64, header checksum; or
//   IPv6: traffic class and flow label 0, hop limit 64, no extension headers
//         (whatever the segment carried);
// addresses and ports swapped, TCP with the given seq, ack (written as given,
// even without the ACK flag), flags and window, urgent pointer 0, the MSS
// option when mss != 0 (data offset 6, else 5), and the TCP checksum over
// the pseudo-header. No payload, no padding to 60 bytes (the NIC pads).
//
// Returns the frame's length, or 0 when v is not a TCP segment with a parsed
// header or cap is too small (nothing is written then). `out` may be `frame`
// (or overlap it anyhow): the few bytes taken from the frame are copied
// before anything is written, the rest comes from v.
inline size_t build_tcp_reply(const uint8_t* frame, const PacketView& v, uint32_t seq, uint32_t ack,
                              uint8_t flags, uint16_t mss, uint16_t window, uint8_t* out,
                              size_t cap) noexcept {
    using detail::wr16;
    using detail::wr32;
    if (v.l4_proto != ip_proto::tcp || !v.has(view_flag::l4_parsed) ||
        v.has(view_flag::later_fragment) || (v.ip_version != 4 && v.ip_version != 6) ||
        v.vlan_count > 2)
        return 0;
    const size_t l2 = 14 + 4u * v.vlan_count;
    const size_t l3 = v.ip_version == 4 ? 20 : 40;
    const size_t l4 = mss != 0 ? 24 : 20;
    const size_t total = l2 + l3 + l4;
    if (cap < total) return 0;

    // Everything read from `frame`: the MACs and the tags (TPID + TCI each).
    // Copy them before `out` (possibly the same bytes) is written.
    uint8_t eth[12 + 8];
    std::memcpy(eth, frame, 12 + 4u * v.vlan_count);

    std::memcpy(out, eth + 6, 6);  // destination = the segment's source
    std::memcpy(out + 6, eth, 6);
    std::memcpy(out + 12, eth + 12, 4u * v.vlan_count);
    wr16(out + l2 - 2, v.ip_version == 4 ? ether_type::ipv4 : ether_type::ipv6);

    // The checksums are summed from the field values, not read back from
    // `out`: loading words over bytes just stored piecemeal stalls on store
    // forwarding (tens of cycles a load), and this runs once per SYN of a flood.
    const auto fold = [](uint64_t x) noexcept {
        x = (x & 0xffffffffu) + (x >> 32);
        x = (x & 0xffff) + (x >> 16);
        x = (x & 0xffff) + (x >> 16);
        x = (x & 0xffff) + (x >> 16);
        return static_cast<uint16_t>(x);
    };
    uint8_t* ip = out + l2;
    uint8_t* tcp = ip + l3;
    const size_t alen = v.ip_version == 4 ? 4 : 16;
    // Both addresses (their sum does not depend on which is which).
    const uint64_t addrs = ones_complement_sum(v.src, alen) + uint64_t{ones_complement_sum(v.dst, alen)};
    const uint64_t pseudo = addrs + ip_proto::tcp + l4;
    if (v.ip_version == 4) {
        ip[0] = 0x45;
        ip[1] = 0;
        wr16(ip + 2, static_cast<uint16_t>(l3 + l4));
        wr16(ip + 4, 0);       // ID: DF is set and nothing is fragmented (RFC 6864)
        wr16(ip + 6, 0x4000);  // DF
        ip[8] = 64;
        ip[9] = ip_proto::tcp;
        std::memcpy(ip + 12, v.dst, 4);
        std::memcpy(ip + 16, v.src, 4);
        wr16(ip + 10, static_cast<uint16_t>(~fold(0x4500 + l3 + l4 + 0x4000 + (64u << 8 | ip_proto::tcp) + addrs)));
    } else {
        wr32(ip, 0x60000000u);
        wr16(ip + 4, static_cast<uint16_t>(l4));
        ip[6] = ip_proto::tcp;
        ip[7] = 64;
        std::memcpy(ip + 8, v.dst, 16);
        std::memcpy(ip + 24, v.src, 16);
    }

    wr16(tcp, v.dport);
    wr16(tcp + 2, v.sport);
    wr32(tcp + 4, seq);
    wr32(tcp + 8, ack);
    tcp[12] = static_cast<uint8_t>((l4 / 4) << 4);
    tcp[13] = flags;
    wr16(tcp + 14, window);
    wr16(tcp + 18, 0);
    uint64_t sum = pseudo + v.dport + v.sport + (seq >> 16) + (seq & 0xffff) + (ack >> 16) + (ack & 0xffff) +
                   ((l4 / 4) << 12 | flags) + window;
    if (mss != 0) {
        tcp[20] = 2;  // kind MSS
        tcp[21] = 4;
        wr16(tcp + 22, mss);
        sum += 0x0204 + mss;
    }
    wr16(tcp + 16, static_cast<uint16_t>(~fold(sum)));
    return total;
}

}  // namespace triage::net
