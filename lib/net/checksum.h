// Internet checksum (RFC 1071) over plain bytes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace triage::net {

// Folded 16-bit one's-complement sum of the bytes (not inverted), plus
// `seed` (a value in network order, e.g. a pseudo-header sum). A header whose
// checksum field is correct sums to 0xffff. Sums native 64-bit loads 32 bits
// at a time and swaps the folded result once: one's-complement addition
// commutes with byte swapping (RFC 1071, 2.(B)), so no per-byte work.
[[gnu::always_inline]] inline uint16_t ones_complement_sum(const uint8_t* p, size_t n, uint32_t seed = 0) noexcept {
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, p + i, 8);
        sum += (w & 0xffffffffu) + (w >> 32);
    }
    if (i + 4 <= n) {
        uint32_t w;
        __builtin_memcpy(&w, p + i, 4);
        sum += w;
        i += 4;
    }
    if (i + 2 <= n) {
        uint16_t w;
        __builtin_memcpy(&w, p + i, 2);
        sum += w;
        i += 2;
    }
    // A last odd byte is the high byte of its (zero-padded) 16-bit word.
    if (i < n) sum += std::endian::native == std::endian::little ? uint64_t{p[i]} : uint64_t{p[i]} << 8;
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    if constexpr (std::endian::native == std::endian::little) sum = __builtin_bswap16(static_cast<uint16_t>(sum));
    sum += seed;  // < 2^33: three folds
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The value to store in a checksum field that was zero while summing.
[[gnu::always_inline]] inline uint16_t internet_checksum(const uint8_t* p, size_t n, uint32_t seed = 0) noexcept {
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
