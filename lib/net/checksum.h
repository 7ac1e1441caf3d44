// Internet checksum (RFC 1071) over plain bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace triage::net {

// Folded 16-bit one's-complement sum of the bytes (not inverted). A header
// whose checksum field is correct sums to 0xffff.
inline uint16_t ones_complement_sum(const uint8_t* p, size_t n, uint32_t seed = 0) noexcept {
    uint64_t sum = seed;
    size_t i = 0;
    for (; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (i < n) sum += static_cast<uint32_t>(p[i] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The value to store in a checksum field that was zero while summing.
inline uint16_t internet_checksum(const uint8_t* p, size_t n, uint32_t seed = 0) noexcept {
    return static_cast<uint16_t>(~ones_complement_sum(p, n, seed));
}

}  // namespace triage::net

namespace triage::net {

// True when an IPv4 header of `ihl` bytes (a multiple of 4) carries a correct
// checksum. Sums native 32-bit words: one's-complement addition commutes
// with byte swapping, and 0xffff reads the same in either byte order, so no
// per-byte work is needed (this runs for every inbound packet the NIC did
// not check).
inline bool ipv4_header_checksum_ok(const uint8_t* p, unsigned ihl) noexcept {
    uint64_t sum = 0;
    auto word = [p](unsigned i) {
        uint32_t w;
        __builtin_memcpy(&w, p + i, 4);
        return uint64_t{w};
    };
    if (ihl == 20) {  // no options: five loads, no loop
        sum = word(0) + word(4) + word(8) + word(12) + word(16);
    } else {
        for (unsigned i = 0; i < ihl; i += 4) sum += word(i);
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

}  // namespace triage::net
