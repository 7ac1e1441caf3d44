// lib/capture: the filter of a manual capture (`capture start FILE match
// FILTER`). One word, comma-separated terms that must all hold:
//   src=PREFIX  dst=PREFIX  host=PREFIX (either address)
//   tcp | udp | icmp | proto=N
//   port=N or port=N-M (either port; TCP/UDP only)
//   in | out (inbound from the uplink, outbound from the clinic)
// e.g. "dst=198.51.100.10,tcp,port=443,in". EAL-free: the console validates
// a filter with the same parser the control core compiles it with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "classify.h"
#include "packet_view.h"

namespace triage::capture {

struct Filter {
    bool has_src = false, has_dst = false, has_host = false;
    classify::Prefix src, dst, host;
    int proto = -1;  // IP protocol (ICMP matches ICMPv6 too), -1: any
    bool has_port = false;
    uint16_t port_lo = 0, port_hi = 0;
    int8_t direction = 0;  // 0 both, 1 inbound only, 2 outbound only

    bool any() const noexcept {
        return !has_src && !has_dst && !has_host && proto < 0 && !has_port && direction == 0;
    }
};

// Parses a filter; on failure returns false and sets err naming the term.
bool parse_filter(std::string_view text, Filter& out, std::string& err);
// Canonical text ("any" for the empty filter).
std::string to_string(const Filter& f);

// Whether a parsed frame (v of a frame the parser accepted) matches.
// Non-IP frames match only a filter without address, protocol and port terms.
bool matches(const Filter& f, const net::PacketView& v, bool inbound) noexcept;

// Captured length of a frame under a header-only policy: up to the end of
// its transport header (the IP header alone for later fragments and unknown
// protocols, 64 bytes for non-IP), plus `payload` bytes, never more than len.
uint32_t header_length(const net::PacketView& v, bool parsed, uint32_t len, uint32_t payload) noexcept;

}  // namespace triage::capture
