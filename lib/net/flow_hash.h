// Symmetric hash of the IP address pair: both directions of a conversation
// map to the same value, so software steering keeps them on one worker.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "packet_view.h"

namespace triage::net {

namespace detail {
// splitmix64 finaliser: every input bit reaches every output bit.
inline uint64_t mix64(uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
}  // namespace detail

inline uint32_t symmetric_ip_hash(const PacketView& v) noexcept {
    uint64_t a[2], b[2];
    std::memcpy(a, v.src, 16);
    std::memcpy(b, v.dst, 16);
    // Ordering the pair (rather than XOR-ing it) makes the hash symmetric
    // without letting a spoofer pick sources that collide for many
    // destinations (S = D ^ K).
    if (a[0] > b[0] || (a[0] == b[0] && a[1] > b[1])) {
        std::swap(a[0], b[0]);
        std::swap(a[1], b[1]);
    }
    uint64_t h = detail::mix64(a[0] + 0x9e3779b97f4a7c15ull);
    h = detail::mix64(h ^ a[1]);
    h = detail::mix64(h ^ b[0]);
    h = detail::mix64(h ^ b[1]);
    return static_cast<uint32_t>(h >> 32);
}

// Maps a hash onto 0..n-1 without a division.
inline unsigned owner_of(uint32_t hash, unsigned n) noexcept {
    return static_cast<unsigned>((static_cast<uint64_t>(hash) * n) >> 32);
}

}  // namespace triage::net
