// What later stages rely on when parse() returns Malformed::none: every offset
// they dereference lies inside the frame. Shared by the unit tests (prefix and
// bit-flip sweeps) and the libFuzzer target, so both check the same contract.
#pragma once

#include <cstdint>

#include "net.h"

namespace triage::test {

// nullptr when the view is consistent with a frame of `len` bytes, else the
// first broken rule (for the failure message).
inline const char* view_violation(const net::PacketView& v, uint32_t len) noexcept {
    using namespace net;
    if (len > 65535) len = 65535;  // parse() looks at no more than this
    if (v.vlan_count > 2) return "vlan_count > 2";
    if (v.ext_count > kMaxIpv6ExtHeaders) return "ext_count > kMaxIpv6ExtHeaders";
    if (v.has(view_flag::later_fragment) && !v.has(view_flag::fragment))
        return "later_fragment without fragment";
    if (v.has(view_flag::more_fragments) && !v.has(view_flag::fragment))
        return "more_fragments without fragment";
    if (v.has(view_flag::later_fragment) && v.has(view_flag::l4_parsed))
        return "L4 parsed in a later fragment";

    if (!v.is_ip()) {
        if (v.l3_off || v.l4_off || v.l4_len || v.payload_off || v.flags || v.ext_count)
            return "non-IP frame with L3/L4 fields set";
        if (v.ether_type == ether_type::ipv4 || v.ether_type == ether_type::ipv6)
            return "IP ethertype without an IP view";
        return nullptr;
    }

    if (v.ip_version != 4 && v.ip_version != 6) return "ip_version not 4 or 6";
    const unsigned want_et = v.ip_version == 4 ? ether_type::ipv4 : ether_type::ipv6;
    if (v.ether_type != want_et) return "ether_type does not match ip_version";
    if (v.l3_off != 14u + 4u * v.vlan_count) return "l3_off does not follow the L2 header";
    const unsigned min_l3 = v.ip_version == 4 ? 20 : 40;
    if (v.l4_off < v.l3_off + min_l3) return "l4_off inside the IP header";
    if (v.ip_version == 4 && v.ext_count != 0) return "IPv4 with extension headers";
    if (v.l4_off > len) return "l4_off past the frame";
    if (unsigned{v.l4_off} + v.l4_len > len) return "l4_off + l4_len past the frame";
    if (v.payload_off < v.l4_off || v.payload_off > unsigned{v.l4_off} + v.l4_len)
        return "payload_off outside the L4 bytes";

    if (v.has(view_flag::l4_parsed)) {
        const bool tcp = v.l4_proto == ip_proto::tcp;
        if (v.l4_len < (tcp ? 20u : 8u)) return "L4 parsed from too few bytes";
        if (tcp && v.payload_off < v.l4_off + 20u) return "TCP payload inside the header";
    }
    constexpr uint8_t tcp_opt_flags = view_flag::tcp_mss | view_flag::tcp_wscale |
                                      view_flag::tcp_sack_ok | view_flag::tcp_timestamps;
    if ((v.flags & tcp_opt_flags) && (v.l4_proto != ip_proto::tcp || !v.has(view_flag::l4_parsed)))
        return "TCP option flags on a non-TCP view";
    if (v.has(view_flag::tcp_timestamps) &&
        (v.tcp_ts_off < v.l4_off + 20u || v.tcp_ts_off + 8u > v.payload_off))
        return "tcp_ts_off outside the TCP options";
    return nullptr;
}

}  // namespace triage::test
