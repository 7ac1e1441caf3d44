// SipHash (Aumasson and Bernstein): a keyed pseudo-random function for short
// inputs. Keys chosen per boot (or per secret window) make hash values
// unpredictable, so a sender who picks addresses and ports cannot aim many
// keys at one hash bucket, nor forge a SYN cookie.
//   siphash24: SipHash-2-4, the reference strength (SYN cookies).
//   siphash13: SipHash-1-3, for hash-table indexing on the hot path.
// Both follow the reference implementation byte for byte (little-endian
// message words, length in the top byte of the last word).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace triage::net {

struct SipKey {
    uint64_t k0 = 0, k1 = 0;
    bool operator==(const SipKey&) const = default;
};

namespace detail {

inline uint64_t rotl64(uint64_t x, unsigned b) noexcept { return (x << b) | (x >> (64 - b)); }

struct SipState {
    uint64_t v0, v1, v2, v3;

    explicit SipState(const SipKey& k) noexcept
        : v0(k.k0 ^ 0x736f6d6570736575ull),
          v1(k.k1 ^ 0x646f72616e646f6dull),
          v2(k.k0 ^ 0x6c7967656e657261ull),
          v3(k.k1 ^ 0x7465646279746573ull) {}

    void round() noexcept {
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
    }

    template <unsigned C>
    void absorb(uint64_t m) noexcept {
        v3 ^= m;
        for (unsigned i = 0; i < C; ++i) round();
        v0 ^= m;
    }

    template <unsigned D>
    uint64_t finish() noexcept {
        v2 ^= 0xff;
        for (unsigned i = 0; i < D; ++i) round();
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

inline uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t w;
    std::memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

template <unsigned C, unsigned D>
inline uint64_t siphash(const SipKey& key, const void* data, size_t len) noexcept {
    const auto* p = static_cast<const uint8_t*>(data);
    SipState s(key);
    const size_t whole = len & ~size_t{7};
    for (size_t i = 0; i < whole; i += 8) s.absorb<C>(load_le64(p + i));
    uint64_t last = uint64_t{len & 0xff} << 56;
    for (size_t i = 0; i < (len & 7); ++i) last |= uint64_t{p[whole + i]} << (8 * i);
    s.absorb<C>(last);
    return s.finish<D>();
}

// The same function over whole 64-bit words already in host order (the
// message is the words' little-endian bytes): no byte loop, for fixed-size
// keys on the hot path.
template <unsigned C, unsigned D, size_t N>
inline uint64_t siphash_words(const SipKey& key, const uint64_t (&w)[N]) noexcept {
    SipState s(key);
    for (size_t i = 0; i < N; ++i) s.absorb<C>(w[i]);
    s.absorb<C>(uint64_t{(N * 8) & 0xff} << 56);
    return s.finish<D>();
}

}  // namespace detail

inline uint64_t siphash24(const SipKey& k, const void* data, size_t len) noexcept {
    return detail::siphash<2, 4>(k, data, len);
}
inline uint64_t siphash13(const SipKey& k, const void* data, size_t len) noexcept {
    return detail::siphash<1, 3>(k, data, len);
}
template <size_t N>
inline uint64_t siphash24_words(const SipKey& k, const uint64_t (&w)[N]) noexcept {
    return detail::siphash_words<2, 4>(k, w);
}
template <size_t N>
inline uint64_t siphash13_words(const SipKey& k, const uint64_t (&w)[N]) noexcept {
    return detail::siphash_words<1, 3>(k, w);
}

}  // namespace triage::net
