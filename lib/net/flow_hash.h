// Symmetric hash of the IP address pair: both directions of a conversation
// map to the same value, so software steering keeps them on one worker.
#pragma once

#include <cstdint>
#include <cstring>

#include "packet_view.h"

namespace triage::net {

inline uint32_t symmetric_ip_hash(const PacketView& v) noexcept {
    uint64_t a[2], b[2];
    std::memcpy(a, v.src, 16);
    std::memcpy(b, v.dst, 16);
    // XOR is order-independent; the splitmix64 finaliser spreads every input
    // bit over the high half, which owner_of() uses.
    uint64_t x = (a[0] ^ b[0]) ^ ((a[1] ^ b[1]) * 0x9e3779b97f4a7c15ull);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<uint32_t>(x >> 32);
}

// Maps a hash onto 0..n-1 without a division.
inline unsigned owner_of(uint32_t hash, unsigned n) noexcept {
    return static_cast<unsigned>((static_cast<uint64_t>(hash) * n) >> 32);
}

}  // namespace triage::net
