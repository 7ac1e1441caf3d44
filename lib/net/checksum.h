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
