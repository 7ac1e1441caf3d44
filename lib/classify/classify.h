// lib/classify: IPv4/IPv6 prefixes and immutable longest-prefix-match
// tables. The control core builds a table once per policy snapshot; workers
// only look up. EAL-free, so unit tests and fuzzers need no DPDK.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
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

private:
    // (implementation-defined members)
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

private:
    // (implementation-defined members)
};

}  // namespace triage::classify
