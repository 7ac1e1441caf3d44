// The compact result of parsing one frame: offsets into the caller's bytes
// plus the fields later stages key on. Fits one cache line.
#pragma once

#include <cstdint>

namespace triage::net {

namespace ip_proto {
inline constexpr uint8_t hop_by_hop = 0;
inline constexpr uint8_t icmp = 1;
inline constexpr uint8_t tcp = 6;
inline constexpr uint8_t udp = 17;
inline constexpr uint8_t ipv6_routing = 43;
inline constexpr uint8_t ipv6_fragment = 44;
inline constexpr uint8_t icmpv6 = 58;
inline constexpr uint8_t ipv6_no_next = 59;
inline constexpr uint8_t ipv6_dest_opts = 60;
}  // namespace ip_proto

namespace ether_type {
inline constexpr uint16_t ipv4 = 0x0800;
inline constexpr uint16_t arp = 0x0806;
inline constexpr uint16_t vlan = 0x8100;
inline constexpr uint16_t qinq = 0x88a8;
inline constexpr uint16_t qinq_old = 0x9100;
inline constexpr uint16_t ipv6 = 0x86dd;
}  // namespace ether_type

namespace tcp_flag {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
inline constexpr uint8_t ece = 0x40;
inline constexpr uint8_t cwr = 0x80;
}  // namespace tcp_flag

// PacketView::flags bits.
namespace view_flag {
inline constexpr uint8_t fragment = 0x01;       // part of a fragmented datagram
inline constexpr uint8_t later_fragment = 0x02;  // offset != 0: no L4 header here
inline constexpr uint8_t more_fragments = 0x04;
inline constexpr uint8_t tcp_mss = 0x08;         // tcp_mss is valid
inline constexpr uint8_t tcp_wscale = 0x10;      // tcp_wscale is valid
inline constexpr uint8_t tcp_sack_ok = 0x20;
inline constexpr uint8_t tcp_timestamps = 0x40;  // tcp_ts_off is valid
inline constexpr uint8_t l4_parsed = 0x80;       // sport/dport/L4 fields are valid
}  // namespace view_flag

// Byte offsets are from the start of the frame. For IPv4, addresses use the
// first 4 bytes of src/dst and the rest are zero.
struct PacketView {
    uint8_t src[16];          //  0
    uint8_t dst[16];          // 16
    uint16_t l3_off;          // 32 start of IPv4/IPv6 header (0 when not IP)
    uint16_t l4_off;          // 34 start of the transport header
    uint16_t l4_len;          // 36 transport header + payload, bounded by the IP length
    uint16_t payload_off;     // 38 start of the transport payload
    uint16_t ether_type;      // 40 innermost ethertype
    uint16_t sport;           // 42
    uint16_t dport;           // 44
    uint16_t frag_off;        // 46 fragment offset in 8-byte units
    uint16_t tcp_mss;         // 48
    uint16_t tcp_ts_off;      // 50 offset of the timestamps option's TSval
    uint8_t ip_version;       // 52 0 (not IP), 4 or 6
    uint8_t l4_proto;         // 53 upper-layer protocol after IPv6 extension headers
    uint8_t vlan_count;       // 54 0, 1 or 2
    uint8_t tcp_flags;        // 55
    uint8_t flags;            // 56 view_flag bits
    uint8_t tcp_wscale;       // 57
    uint8_t icmp_type;        // 58
    uint8_t icmp_code;        // 59
    uint8_t ttl;              // 60 IPv4 TTL / IPv6 hop limit
    uint8_t ext_count;        // 61 IPv6 extension headers walked
    uint8_t pad_[2];          // 62

    bool is_ip() const noexcept { return ip_version != 0; }
    bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
};
static_assert(sizeof(PacketView) == 64, "PacketView must stay one cache line");

}  // namespace triage::net
