// The set-index hash of the scrubbing tables (table.h): keyed per boot, so a
// sender who picks addresses and ports cannot aim keys at one set.
//
// Two implementations behind one interface, chosen once at construction:
//   - AES rounds (x86 with AES-NI, every server CPU since 2010): the key's
//     16-byte blocks are absorbed one AES round each into a state seeded
//     with a secret and the key length, then three more rounds, all with
//     secret round keys; the two halves of the state are folded. Every key
//     block passes at least four keyed rounds (two full diffusions of every
//     input bit over the state). Five `aesenc` for a 20-byte key:
//     about 25 instructions where SipHash-1-3 takes about 140 (the tables
//     hash twice per scrubbed packet, so this is a hot-path figure; see
//     docs/PERFORMANCE.md). Reduced-round AES is not a PRF against a
//     cryptanalyst who sees its outputs; nothing here ever shows a hash
//     value, and a set index is a handful of its low bits.
//   - SipHash-1-3 (Aumasson and Bernstein; lib/net/siphash.h) elsewhere, or
//     when the caller asks for it (tests compare the two).
// The round keys are derived from the table's SipKey with SipHash-2-4, so
// one per-boot secret still keys everything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "siphash.h"

namespace triage::meter {

class KeyedHash {
public:
    enum class Impl : uint8_t { best, siphash };
    // Keys of up to kMaxKeyBytes bytes (Key and FlowKey are 20 and 24).
    static constexpr size_t kMaxKeyBytes = 32;

    explicit KeyedHash(const net::SipKey& key = {}, Impl impl = Impl::best) noexcept;

    // Whether this CPU has the instructions of the AES implementation.
    static bool cpu_has_aes() noexcept;
    bool uses_aes() const noexcept { return aes_; }
    const net::SipKey& sip_key() const noexcept { return sip_; }

    template <class K>
    [[gnu::always_inline]] uint64_t operator()(const K& k) const noexcept {
        static_assert(sizeof(K) <= kMaxKeyBytes);
        constexpr size_t kWords = (sizeof(K) + 7) / 8;
        // The key's bytes as native-loaded words, zero-padded; each word
        // is one load straight from the key (building them in a zeroed
        // buffer would stall on store forwarding).
        const auto* p = reinterpret_cast<const uint8_t*>(&k);
        uint64_t w[4] = {};
        w[0] = load_word<sizeof(K)>(p);
        if constexpr (kWords > 1) w[1] = load_word<sizeof(K) - 8>(p + 8);
        if constexpr (kWords > 2) w[2] = load_word<sizeof(K) - 16>(p + 16);
        if constexpr (kWords > 3) w[3] = load_word<sizeof(K) - 24>(p + 24);
        if (aes_) return aes(w[0], w[1], w[2], w[3], sizeof(K));
        uint64_t sw[kWords];
        for (size_t i = 0; i < kWords; ++i) sw[i] = w[i];
        return net::siphash13_words(sip_, sw);
    }

private:
    template <size_t Left>
    [[gnu::always_inline]] static uint64_t load_word(const uint8_t* p) noexcept {
        if constexpr (Left >= 8) {
            uint64_t v;
            std::memcpy(&v, p, 8);
            return v;
        } else if constexpr (Left == 4) {
            uint32_t v;
            std::memcpy(&v, p, 4);
            return v;
        } else {
            uint64_t v = 0;
            std::memcpy(&v, p, Left);
            return v;
        }
    }

    // Out of line: compiled for AES-NI, which the callers are not.
    uint64_t aes(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, size_t len) const noexcept;

    // Five 128-bit round keys, aligned for the AES path.
    alignas(16) uint64_t rk_[10] = {};
    net::SipKey sip_;
    bool aes_ = false;
};

}  // namespace triage::meter
