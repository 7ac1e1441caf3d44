// lib/classify: IPv4/IPv6 prefixes and immutable longest-prefix-match
// tables. The control core builds a table once per policy snapshot; workers
// only look up. EAL-free, so unit tests and fuzzers need no DPDK.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
// What a default-constructed table points at: one interval covering the whole
// space with no value, so lookup needs no emptiness test.
inline constexpr uint64_t kEmptyKeys4[1] = {kNoMatch};
struct Start6 {
    uint64_t hi = 0, lo = 0;
};
inline constexpr Start6 kEmptyStarts6[1] = {{0, 0}};
inline constexpr uint32_t kEmptyValues6[1] = {kNoMatch};
}  // namespace detail

// Immutable IPv4 longest-prefix-match table: value of the longest rule that
// contains the address, or kNoMatch.
class Table4 {
public:
    struct Rule {
        uint32_t addr = 0;  // host byte order, host bits zero
        uint8_t len = 0;    // 0..32
        uint32_t value = 0; // anything but kNoMatch
    };

    Table4() = default;  // empty: every lookup misses
    // Throws std::invalid_argument on a duplicate prefix, a length over 32,
    // host bits set, or value == kNoMatch.
    explicit Table4(std::vector<Rule> rules);

    uint32_t lookup(uint32_t addr_host) const noexcept;
    bool empty() const noexcept;
    size_t rules() const noexcept;
    size_t memory_bytes() const noexcept;
    // Disjoint address ranges the rules cut the space into (after merging
    // neighbours with the same value); what lookup searches.
    size_t intervals() const noexcept { return size_t{last_} + 1; }

private:
    // The rules become sorted disjoint intervals [start_i, start_{i+1}), each
    // carrying the value of the longest rule covering it, so a lookup is
    // "last start <= addr". Start and value share one 64-bit key
    // (start << 32 | value): the search compares keys and the answer comes
    // from the line it last touched. An optional direct index over 2^b
    // equal slices of the region the starts occupy narrows the search to the
    // few intervals of one slice. Storage is immutable and shared, so a copy
    // is cheap and the raw pointers below stay valid in every copy.
    struct Storage;
    std::shared_ptr<const Storage> storage_;
    const uint64_t* keys_ = detail::kEmptyKeys4;  // keys_[0] starts at 0
    const uint32_t* index_ = nullptr;  // buckets_ + 1 entries: first candidate interval
    uint32_t last_ = 0;                // number of intervals - 1
    uint32_t base_ = 0;                // first address of the indexed region
    uint32_t buckets_ = 0;             // 0: no index, search every interval
    uint8_t shift_ = 0;                // (addr - base_) >> shift_ = bucket
    size_t rules_ = 0;
    size_t bytes_ = 0;
};

// Immutable IPv6 longest-prefix-match table; addresses are 16 bytes in
// network byte order.
class Table6 {
public:
    struct Rule {
        std::array<uint8_t, 16> addr{};
        uint8_t len = 0;     // 0..128
        uint32_t value = 0;
    };

    Table6() = default;
    explicit Table6(std::vector<Rule> rules);

    uint32_t lookup(const uint8_t* addr16) const noexcept;
    bool empty() const noexcept;
    size_t rules() const noexcept;
    size_t memory_bytes() const noexcept;
    size_t intervals() const noexcept { return size_t{last_} + 1; }

private:
    // Same scheme as Table4 over 128-bit starts; the index slices the high
    // 64 bits below the prefix all starts share (IPv6 rules tend to sit in a
    // few allocations, so the top bits alone would say nothing).
    struct Storage;
    std::shared_ptr<const Storage> storage_;
    const detail::Start6* starts_ = detail::kEmptyStarts6;
    const uint32_t* values_ = detail::kEmptyValues6;
    const uint32_t* index_ = nullptr;
    uint32_t last_ = 0;
    uint32_t buckets_ = 0;
    uint64_t base_ = 0;  // high 64 bits of the indexed region's first address
    uint8_t shift_ = 0;
    size_t rules_ = 0;
    size_t bytes_ = 0;
};

// Hot path, inline: workers call these once or twice per packet.

namespace detail {
inline uint64_t load_be64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return v;
}
}  // namespace detail

inline uint32_t Table4::lookup(uint32_t addr_host) const noexcept {
    const uint64_t* p = keys_;
    uint32_t n = last_ + 1;
    if (buckets_ != 0) {
        // Wraps below base_, so one compare tells "inside the region".
        const uint32_t bucket = (addr_host - base_) >> shift_;
        if (bucket < buckets_) [[likely]] {
            const uint32_t first = index_[bucket];
            p += first;
            n = index_[bucket + 1] - first + 1;
        } else {
            // Every start but the first lies in the region.
            p += addr_host < base_ ? 0 : last_;
            n = 1;
        }
    }
    // p[0] starts at or below addr; find the last key that does. Branch-free
    // halving so the compiler emits cmov rather than a mispredicted jump.
    const uint64_t probe = uint64_t{addr_host} << 32 | 0xffffffffu;
    while (n > 1) {
        const uint32_t half = n / 2;
        p = p[half] <= probe ? p + half : p;
        n -= half;
    }
    return static_cast<uint32_t>(*p);
}

inline bool Table4::empty() const noexcept { return rules_ == 0; }
inline size_t Table4::rules() const noexcept { return rules_; }
inline size_t Table4::memory_bytes() const noexcept { return sizeof(*this) + bytes_; }

inline uint32_t Table6::lookup(const uint8_t* addr16) const noexcept {
    const uint64_t hi = detail::load_be64(addr16);
    const uint64_t lo = detail::load_be64(addr16 + 8);
    const detail::Start6* p = starts_;
    uint32_t n = last_ + 1;
    if (buckets_ != 0) {
        const uint64_t bucket = (hi - base_) >> shift_;
        if (bucket < buckets_) [[likely]] {
            const uint32_t first = index_[bucket];
            p += first;
            n = index_[bucket + 1] - first + 1;
        } else {
            p += hi < base_ ? 0 : last_;
            n = 1;
        }
    }
    while (n > 1) {
        const uint32_t half = n / 2;
        const detail::Start6& s = p[half];
        const bool le = (s.hi < hi) | ((s.hi == hi) & (s.lo <= lo));
        p = le ? p + half : p;
        n -= half;
    }
    return values_[p - starts_];
}

inline bool Table6::empty() const noexcept { return rules_ == 0; }
inline size_t Table6::rules() const noexcept { return rules_; }
inline size_t Table6::memory_bytes() const noexcept { return sizeof(*this) + bytes_; }

}  // namespace triage::classify
