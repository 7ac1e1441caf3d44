// The AES-round implementation of KeyedHash (keyed_hash.h), compiled for
// AES-NI and called only after the CPU has said it has it.
#include "keyed_hash.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TRIAGE_KEYED_HASH_AES 1
#endif

namespace triage::meter {

namespace {

// 80 bytes of round keys: SipHash-2-4 of a counter under the table's key.
void derive(const net::SipKey& key, uint64_t (&rk)[10]) noexcept {
    static constexpr char kLabel[8] = {'t', 'r', 'i', 'a', 'g', 'e', 'k', 'h'};
    uint64_t label;
    std::memcpy(&label, kLabel, 8);
    for (uint64_t i = 0; i < 10; ++i) {
        const uint64_t w[2] = {label, i};
        rk[i] = net::siphash24_words(key, w);
    }
}


}  // namespace

bool KeyedHash::cpu_has_aes() noexcept {
#ifdef TRIAGE_KEYED_HASH_AES
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
    }();
    return has;
#else
    return false;
#endif
}

KeyedHash::KeyedHash(const net::SipKey& key, Impl impl) noexcept
    : sip_(key), aes_(impl == Impl::best && cpu_has_aes()) {
    derive(key, rk_);
}

#ifdef TRIAGE_KEYED_HASH_AES
__attribute__((target("aes,sse4.1"))) uint64_t KeyedHash::aes(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3,
                                                              size_t len) const noexcept {
    const auto* k = reinterpret_cast<const __m128i*>(rk_);
    const auto word = [](uint64_t lo, uint64_t hi) {
        return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
    };
    __m128i s = _mm_xor_si128(_mm_load_si128(k), word(len, 0));
    s = _mm_aesenc_si128(_mm_xor_si128(s, word(w0, w1)), _mm_load_si128(k + 1));
    if (len > 16) s = _mm_aesenc_si128(_mm_xor_si128(s, word(w2, w3)), _mm_load_si128(k + 1));
    s = _mm_aesenc_si128(s, _mm_load_si128(k + 2));
    s = _mm_aesenc_si128(s, _mm_load_si128(k + 3));
    s = _mm_aesenc_si128(s, _mm_load_si128(k + 4));
    return static_cast<uint64_t>(_mm_cvtsi128_si64(s)) ^ static_cast<uint64_t>(_mm_extract_epi64(s, 1));
}
#else
uint64_t KeyedHash::aes(uint64_t, uint64_t, uint64_t, uint64_t, size_t) const noexcept {
    return 0;  // unreachable: aes_ is false without the instructions
}
#endif

}  // namespace triage::meter
