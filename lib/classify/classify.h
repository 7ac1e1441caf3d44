// lib/classify: IPv4/IPv6 prefixes and immutable longest-prefix-match
// tables. The control core builds a table once per policy snapshot; workers
// only look up. EAL-free, so unit tests and fuzzers need no DPDK.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>  // offsetof
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace triage::classify {

// An IPv4 or IPv6 prefix. addr is in network byte order; IPv4 uses
// addr[0..3] and leaves the rest zero. Host bits are always zero.
struct Prefix {
    uint8_t family = 0;  // 4 or 6 (0 = unset)
    uint8_t len = 0;
    std::array<uint8_t, 16> addr{};

    auto operator<=>(const Prefix&) const = default;
    uint32_t v4() const noexcept {  // host byte order, IPv4 only
        return uint32_t{addr[0]} << 24 | uint32_t{addr[1]} << 16 | uint32_t{addr[2]} << 8 | addr[3];
    }
};

// Parses "198.51.100.0/24", "2001:db8::/32", or a bare address (a host
// prefix, /32 or /128). Refuses host bits set ("198.51.100.1/24"), naming
// the prefix the operator probably meant. On failure returns false and sets
// err to one line naming the problem.
bool parse_prefix(std::string_view s, Prefix& out, std::string& err);
// Canonical text: "198.51.100.0/24", "2001:db8::/32" (RFC 5952 form).
std::string to_string(const Prefix& p);
// Whether inner lies within outer (same family, inner.len >= outer.len).
bool contains(const Prefix& outer, const Prefix& inner) noexcept;

inline constexpr uint32_t kNoMatch = 0xffffffffu;

namespace detail {

__extension__ using u128 = unsigned __int128;

// Table6 finds its intervals through a small trie of nodes. A node slices
// the region [base, base + 2^(shift + bits)) into 2^bits equal buckets; keys
// outside the region are in interval `below` or `above`. bits == 0 makes it
// a plain binary search over intervals below..above (only past a depth
// limit).
template <class K>
struct LpmNode {
    K base = 0;
    uint32_t entries = 0;  // offset of this node's 2^bits entries
    uint32_t below = 0;
    uint32_t above = 0;
    uint8_t shift = 0;
    uint8_t bits = 0;
};

// A bucket entry: kChild | node, or a leaf: the index of the first of the
// kLeafMax intervals the key may lie in, told apart by a fixed, branch-free
// run of compares. Starts after a leaf's real candidates lie above every key
// of its bucket, and the interval arrays end with kLeafMax - 1 copies of the
// last interval, so the run needs no bound.
inline constexpr uint32_t kChild = 0x80000000u;
// 8 saves children at 100,000 rules but costs every lookup of a small table
// four more 128-bit compares; 4 was faster at 16 and 1,000 rules.
inline constexpr uint32_t kLeafMax = 4;

// Where a descent from the root ends: at a leaf (index = its first
// candidate), at a node whose region the key is outside of (index = the
// interval holding it), or at a search node (done out of line).
struct Descent {
    enum Kind : uint8_t { kLeaf, kInterval, kSearch };
    uint32_t index;
    Kind kind;
};

template <class K>
[[gnu::always_inline]] inline Descent lpm_descend(const LpmNode<K>* nodes, const uint32_t* entries,
                                                  const uint32_t* root_entries, K root_base,
                                                  unsigned root_shift, uint32_t root_buckets,
                                                  K key) noexcept {
    K bucket = (key - root_base) >> root_shift;  // wraps below base: one test
    if (bucket >= root_buckets) [[unlikely]]
        return {key < root_base ? nodes[0].below : nodes[0].above, Descent::kInterval};
    uint32_t e = root_entries[static_cast<uint32_t>(bucket)];
    while (e & kChild) {
        const LpmNode<K>& nd = nodes[e & ~kChild];
        if (nd.bits == 0) [[unlikely]]
            return {0, Descent::kSearch};
        bucket = (key - nd.base) >> nd.shift;
        if (bucket >> nd.bits != 0)
            return {key < nd.base ? nd.below : nd.above, Descent::kInterval};
        e = entries[nd.entries + static_cast<uint32_t>(bucket)];
    }
    return {e, Descent::kLeaf};
}

// IPv4 buckets carry their candidates themselves, so the common lookup
// reads one aligned cache line and nothing else (with a shared interval array
// behind the buckets, the second dependent miss cost twice rte_lpm's time at
// 100,000 rules). Candidate 0 is the interval holding the bucket's first
// address; candidates 1..7 begin at the given offsets into the bucket.
// Offsets are stored with the top bit flipped so SSE2's signed compare orders
// them as unsigned; bucket widths are at most 2^31, so an unused slot
// (~0u ^ kBias, INT_MAX) is above every offset.
struct alignas(64) Bucket4 {
    static constexpr uint32_t kBias = 0x80000000u;
    static constexpr uint32_t kUnused = ~0u ^ kBias;
    uint32_t start[7];  // ascending, biased
    uint32_t child;     // 0: a leaf; else the node slicing this bucket
    uint32_t value[8];

    // Value for an address `off` into the bucket (a leaf).
    uint32_t pick(uint32_t off) const noexcept {
#if defined(__SSE2__)
        const __m128i o = _mm_set1_epi32(static_cast<int>(off ^ kBias));
        const auto* v = reinterpret_cast<const __m128i*>(this);
        // Lanes where start > off; starts ascend, so the first such lane is
        // the count of candidates at or below off (lane 7, child, forced).
        const int gt = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(_mm_load_si128(v), o))) |
                       _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(_mm_load_si128(v + 1), o)))
                           << 4;
        return value[__builtin_ctz(static_cast<unsigned>(gt) | 0x80u)];
#else
        uint32_t i = 0;
        for (uint32_t j = 0; j < 7; ++j) i += (start[j] ^ kBias) <= off;
        return value[i];
#endif
    }
};
static_assert(sizeof(Bucket4) == 64, "a bucket is one cache line");
static_assert(offsetof(Bucket4, child) == 28, "pick() reads child as start lane 7");

struct Node4 {
    uint32_t base = 0;     // region [base, base + 2^(shift + bits))
    uint32_t mask = 0;     // 2^shift - 1: an address's offset into its bucket
    uint32_t buckets = 0;  // offset of the node's 2^bits buckets
    uint32_t below = 0;    // value for addresses under the region
    uint32_t above = 0;    // value for addresses over it
    uint32_t first = 0;    // bits == 0: binary search intervals first..last
    uint32_t last = 0;
    uint8_t shift = 0;
    uint8_t bits = 0;
};

// What a default-constructed table points at: a root of two buckets, both a
// leaf on one interval covering the whole space with no value (plus padding
// for Table6's leaves).
constexpr Bucket4 empty_bucket4() {
    Bucket4 b{};
    for (uint32_t& x : b.start) x = Bucket4::kUnused;
    for (uint32_t& x : b.value) x = kNoMatch;
    return b;
}
inline constexpr Bucket4 kEmptyBuckets4[2] = {empty_bucket4(), empty_bucket4()};
inline constexpr uint32_t kEmptyEntries[2] = {0, 0};
inline constexpr u128 kEmptyStarts6[kLeafMax] = {0, 0, 0, 0};
inline constexpr uint32_t kEmptyValues6[kLeafMax] = {kNoMatch, kNoMatch, kNoMatch, kNoMatch};

inline uint64_t load_be64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return v;
}

}  // namespace detail

// Immutable IPv4 longest-prefix-match table: value of the longest rule that
// contains the address, or kNoMatch.
class Table4 {
public:
    struct Rule {
        uint32_t addr = 0;   // host byte order, host bits zero
        uint8_t len = 0;     // 0..32
        uint32_t value = 0;  // anything but kNoMatch
    };

    Table4() = default;  // empty: every lookup misses
    // Throws std::invalid_argument on a duplicate prefix, a length over 32,
    // host bits set, or value == kNoMatch.
    explicit Table4(std::vector<Rule> rules);
    // Copies share the immutable storage (a reference count). No move: a
    // moved-from table would keep pointers into storage it no longer owns,
    // so moving copies and the source stays a working table.
    Table4(const Table4&) = default;
    Table4& operator=(const Table4&) = default;

    uint32_t lookup(uint32_t addr_host) const noexcept;
    bool empty() const noexcept;
    size_t rules() const noexcept;
    size_t memory_bytes() const noexcept;
    // Disjoint address ranges the rules cut the space into (after merging
    // neighbours with the same value): what a lookup resolves to.
    size_t intervals() const noexcept { return intervals_; }

private:
    // The rules become sorted disjoint intervals [start_i, start_{i+1}), each
    // carrying the value of the longest rule covering it. The root slices
    // the region all interval starts share (so rules packed into one /15
    // still spread over every bucket) into a bucket per two starts or so; a
    // bucket holding more than 7 starts gets a child node doing the same for
    // it. The root's fields live here, so the common lookup is one cache line
    // and two SIMD compares, no branch on the data. Storage is immutable and
    // shared: a copy is cheap and the pointers stay valid in every copy.
    uint32_t lookup_slow(uint32_t addr_host) const noexcept;

    struct Storage;
    std::shared_ptr<const Storage> storage_;
    const detail::Bucket4* root_ = detail::kEmptyBuckets4;
    uint32_t root_base_ = 0;
    uint32_t root_mask_ = 0x7fffffffu;
    uint32_t root_buckets_ = 2;
    uint8_t root_shift_ = 31;
    const detail::Node4* nodes_ = nullptr;  // [0] is the root
    const detail::Bucket4* buckets_ = nullptr;
    const uint64_t* keys_ = nullptr;  // start << 32 | value; only for search nodes
    size_t intervals_ = 1;
    size_t rules_ = 0;
    size_t bytes_ = 0;
};

// Immutable IPv6 longest-prefix-match table; addresses are 16 bytes in
// network byte order.
class Table6 {
public:
    struct Rule {
        std::array<uint8_t, 16> addr{};
        uint8_t len = 0;  // 0..128
        uint32_t value = 0;
    };

    Table6() = default;
    explicit Table6(std::vector<Rule> rules);
    Table6(const Table6&) = default;  // shared storage, no move: see Table4
    Table6& operator=(const Table6&) = default;

    uint32_t lookup(const uint8_t* addr16) const noexcept;
    bool empty() const noexcept;
    size_t rules() const noexcept;
    size_t memory_bytes() const noexcept;
    size_t intervals() const noexcept { return intervals_; }

private:
    // The same intervals over 128-bit starts, found through detail::LpmNode:
    // each node slices the region its starts share (IPv6 rules sit in a few
    // allocations, so the top bits of the space alone would say nothing), a
    // bucket entry names a leaf of kLeafMax candidate intervals or a child.
    // Buckets do not carry their candidates as Table4's do: 128-bit starts
    // would make them several cache lines. So a lookup reads a bucket entry,
    // then the candidates' starts and values (in parallel), per level.
    uint32_t lookup_slow(detail::u128 key) const noexcept;

    struct Storage;
    std::shared_ptr<const Storage> storage_;
    const detail::u128* starts_ = detail::kEmptyStarts6;
    const uint32_t* values_ = detail::kEmptyValues6;
    const uint32_t* root_entries_ = detail::kEmptyEntries;
    detail::u128 root_base_ = 0;
    uint32_t root_buckets_ = 2;
    uint8_t root_shift_ = 127;
    const detail::LpmNode<detail::u128>* nodes_ = nullptr;
    const uint32_t* entries_ = nullptr;
    size_t intervals_ = 1;
    size_t rules_ = 0;
    size_t bytes_ = 0;
};

// Hot path, inline: workers call these once or twice per packet.

inline uint32_t Table4::lookup(uint32_t addr_host) const noexcept {
    const uint32_t rel = addr_host - root_base_;  // wraps below the region: one test
    const uint32_t bucket = rel >> root_shift_;
    if (bucket >= root_buckets_) [[unlikely]]
        return lookup_slow(addr_host);
    const detail::Bucket4& b = root_[bucket];
    if (b.child != 0) [[unlikely]]
        return lookup_slow(addr_host);
    return b.pick(rel & root_mask_);
}

inline bool Table4::empty() const noexcept {
    return rules_ == 0;
}
inline size_t Table4::rules() const noexcept {
    return rules_;
}
inline size_t Table4::memory_bytes() const noexcept {
    return sizeof(*this) + bytes_;
}

inline uint32_t Table6::lookup(const uint8_t* addr16) const noexcept {
    const detail::u128 key =
        detail::u128{detail::load_be64(addr16)} << 64 | detail::load_be64(addr16 + 8);
    const detail::Descent d = detail::lpm_descend(nodes_, entries_, root_entries_, root_base_,
                                                  root_shift_, root_buckets_, key);
    if (d.kind != detail::Descent::kLeaf) [[unlikely]]
        return d.kind == detail::Descent::kInterval ? values_[d.index] : lookup_slow(key);
    const uint32_t e = d.index;
    // The values sit in their own array: load all candidates' values along
    // with their starts and pick by mask, rather than wait on the compares
    // for one more cache miss. A mask, not ?:, or GCC makes the first pick a
    // branch.
    uint32_t v = values_[e];
#pragma GCC unroll 4
    for (uint32_t j = 1; j < detail::kLeafMax; ++j) {
        const uint32_t take = 0u - static_cast<uint32_t>(starts_[e + j] <= key);
        v ^= (v ^ values_[e + j]) & take;
    }
    return v;
}

inline bool Table6::empty() const noexcept {
    return rules_ == 0;
}
inline size_t Table6::rules() const noexcept {
    return rules_;
}
inline size_t Table6::memory_bytes() const noexcept {
    return sizeof(*this) + bytes_;
}

}  // namespace triage::classify
