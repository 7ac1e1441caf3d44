// Every reason the parser can reject a frame for, declared once.
// The X-macro yields the enum, the name used in logs/JSON/metrics and a
// one-line description used in docs and `--help`.
#pragma once

#include <cstdint>

namespace triage::net {

// X(enumerator, "name", "description")
#define TRIAGE_MALFORMED_REASONS(X)                                                      \
    X(l2_truncated, "l2_truncated", "frame shorter than its Ethernet/VLAN headers")      \
    X(l2_too_many_tags, "l2_too_many_tags", "more than two VLAN tags (802.1Q/QinQ)")      \
    X(ipv4_truncated, "ipv4_truncated", "frame shorter than the IPv4 header")            \
    X(ipv4_bad_version, "ipv4_bad_version", "IPv4 ethertype but version field is not 4") \
    X(ipv4_bad_ihl, "ipv4_bad_ihl", "IPv4 header length below 20 bytes or past the frame") \
    X(ipv4_bad_length, "ipv4_bad_length", "IPv4 total length below the header or past the frame") \
    X(ipv4_bad_options, "ipv4_bad_options", "IPv4 option list overruns the header")      \
    X(ipv4_bad_checksum, "ipv4_bad_checksum", "IPv4 header checksum does not verify")    \
    X(ipv6_truncated, "ipv6_truncated", "frame shorter than the IPv6 header")            \
    X(ipv6_bad_version, "ipv6_bad_version", "IPv6 ethertype but version field is not 6") \
    X(ipv6_bad_length, "ipv6_bad_length", "IPv6 payload length past the frame")          \
    X(ipv6_ext_truncated, "ipv6_ext_truncated", "IPv6 extension header overruns the payload") \
    X(ipv6_ext_too_many, "ipv6_ext_too_many", "more IPv6 extension headers than the walk allows") \
    X(ipv6_ext_order, "ipv6_ext_order", "hop-by-hop options header not first")           \
    X(ipv6_bad_options, "ipv6_bad_options", "IPv6 hop-by-hop/destination option overruns its header") \
    X(ipv6_rh0, "ipv6_rh0", "deprecated type 0 routing header (RFC 5095)")               \
    X(frag_bad, "frag_bad", "reserved fragment flag, or non-last fragment not a multiple of 8") \
    X(frag_oversize, "frag_oversize", "fragment reaches past 65535 bytes (ping of death)") \
    X(frag_tiny, "frag_tiny", "first fragment too short for its L4 header, or TCP offset 1") \
    X(ip_src_martian, "ip_src_martian", "source is multicast, broadcast or loopback")     \
    X(land, "land", "source address equals destination address")                         \
    X(tcp_truncated, "tcp_truncated", "IP payload shorter than a TCP header")            \
    X(tcp_bad_data_offset, "tcp_bad_data_offset", "TCP data offset below 5 or past the payload") \
    X(tcp_bad_options, "tcp_bad_options", "TCP option with a wrong or overrunning length") \
    X(tcp_syn_fin, "tcp_syn_fin", "TCP SYN and FIN both set")                            \
    X(tcp_syn_rst, "tcp_syn_rst", "TCP SYN and RST both set")                            \
    X(tcp_null, "tcp_null", "TCP segment with no flags")                                 \
    X(tcp_xmas, "tcp_xmas", "TCP FIN, PSH and URG all set")                              \
    X(tcp_fin_no_ack, "tcp_fin_no_ack", "TCP FIN without ACK")                           \
    X(udp_truncated, "udp_truncated", "IP payload shorter than a UDP header")            \
    X(udp_bad_length, "udp_bad_length", "UDP length below 8 or past the IP payload")     \
    X(l4_port_zero, "l4_port_zero", "TCP/UDP source or destination port 0")              \
    X(icmp_truncated, "icmp_truncated", "IP payload shorter than an ICMP header")        \
    X(icmpv6_truncated, "icmpv6_truncated", "IP payload shorter than an ICMPv6 header")

enum class Malformed : uint8_t {
    none = 0,
#define TRIAGE_X(e, name, desc) e,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X)
#undef TRIAGE_X
        count_
};

inline constexpr unsigned kMalformedCount = static_cast<unsigned>(Malformed::count_);

// "ok" for Malformed::none.
const char* malformed_name(Malformed m) noexcept;
const char* malformed_description(Malformed m) noexcept;

}  // namespace triage::net
