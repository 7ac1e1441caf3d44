// lib/classify: prefix parsing and printing, and the LPM tables checked against
// a bit-by-bit trie on randomised rule sets (fixed seeds, so a failure repeats).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "classify.h"

namespace {

using triage::classify::contains;
using triage::classify::kNoMatch;
using triage::classify::parse_prefix;
using triage::classify::Prefix;
using triage::classify::Table4;
using triage::classify::Table6;
using triage::classify::to_string;
using Addr6 = std::array<uint8_t, 16>;

Prefix P(std::string_view s) {
    Prefix p;
    std::string err;
    EXPECT_TRUE(parse_prefix(s, p, err)) << s << ": " << err;
    return p;
}

std::string parse_error(std::string_view s) {
    Prefix p;
    std::string err;
    EXPECT_FALSE(parse_prefix(s, p, err)) << s << " parsed as " << to_string(p);
    return err;
}

uint32_t v4(std::string_view s) {
    return P(s).v4();
}
Addr6 v6(std::string_view s) {
    return P(s).addr;
}

Table4::Rule R4(std::string_view s, uint32_t value) {
    const Prefix p = P(s);
    return {p.v4(), p.len, value};
}
Table6::Rule R6(std::string_view s, uint32_t value) {
    const Prefix p = P(s);
    return {p.addr, p.len, value};
}

// ---- Prefix ---------------------------------------------------------------

TEST(Prefix, ParsesIPv4) {
    const Prefix p = P("198.51.100.0/24");
    EXPECT_EQ(p.family, 4);
    EXPECT_EQ(p.len, 24);
    EXPECT_EQ(p.v4(), 0xc6336400u);
    for (size_t i = 4; i < 16; ++i) EXPECT_EQ(p.addr[i], 0);
    EXPECT_EQ(P("0.0.0.0/0").len, 0);
    EXPECT_EQ(P("198.18.0.0/15").v4(), 0xc6120000u);
}

TEST(Prefix, BareAddressIsAHostPrefix) {
    EXPECT_EQ(P("203.0.113.7").len, 32);
    EXPECT_EQ(P("203.0.113.7").v4(), 0xcb007107u);
    EXPECT_EQ(P("2001:db8::1").len, 128);
    EXPECT_EQ(P("2001:db8::1").family, 6);
}

TEST(Prefix, ParsesIPv6) {
    const Prefix p = P("2001:db8:1::/48");
    EXPECT_EQ(p.family, 6);
    EXPECT_EQ(p.len, 48);
    const Addr6 want{0x20, 0x01, 0x0d, 0xb8, 0, 1};
    EXPECT_EQ(p.addr, want);
    EXPECT_EQ(P("::/0").len, 0);
    // Non-canonical spellings are accepted and printed canonically.
    EXPECT_EQ(to_string(P("2001:0DB8:0000:0000:0000:0000:0000:0000/32")), "2001:db8::/32");
}

TEST(Prefix, ErrorMessages) {
    EXPECT_EQ(parse_error("198.51.100.0/33"),
              "'198.51.100.0/33': prefix length 33 is more than 32");
    EXPECT_EQ(parse_error("2001:db8::/129"),
              "'2001:db8::/129': prefix length 129 is more than 128");
    EXPECT_EQ(parse_error("198.51.100.1/24"),
              "'198.51.100.1/24' has host bits set (did you mean 198.51.100.0/24?)");
    EXPECT_EQ(parse_error("2001:db8::1/32"),
              "'2001:db8::1/32' has host bits set (did you mean 2001:db8::/32?)");
    EXPECT_EQ(parse_error("foo"), "'foo' is not an IPv4 or IPv6 prefix");
    EXPECT_EQ(parse_error(""), "empty prefix");
    EXPECT_EQ(parse_error("198.51.100.0/"), "'198.51.100.0/': missing prefix length after '/'");
    EXPECT_EQ(parse_error("198.51.100.0/24x"),
              "'198.51.100.0/24x': prefix length '24x' is not a number");
    EXPECT_EQ(parse_error("198.51.100.0/24/8"),
              "'198.51.100.0/24/8': prefix length '24/8' is not a number");
    EXPECT_EQ(parse_error("198.51.100.0/024"),
              "'198.51.100.0/024': prefix length '024' has a leading zero");
    EXPECT_EQ(parse_error("198.51.100.0/99999999999999999999"),
              "'198.51.100.0/99999999999999999999': prefix length 99999999999999999999 is more "
              "than 32");
    EXPECT_EQ(parse_error("/24"), "'/24' is not an IPv4 or IPv6 prefix");
    // Control characters never reach the terminal raw.
    EXPECT_EQ(parse_error("198.51.100.0\n"), "'198.51.100.0\\x0a' is not an IPv4 or IPv6 prefix");
}

TEST(Prefix, RejectsMalformedAddresses) {
    for (const char* s : {"198.51.100", "198.51.100.256", "198.51.100.0.1", "198.051.100.1",
                          "198.51.100.01", " 198.51.100.0", "198.51.100.0 ", "198.51.100.0/ 24",
                          "198.51.100.0/+24", "198.51.100.0/-1", "2001:db8:::1", "2001:db8::g",
                          "2001:db8::%eth0", "192.0.2.1:80", "::ffff:192.0.2.1.5", ":", "/"}) {
        SCOPED_TRACE(s);
        EXPECT_FALSE(parse_error(s).empty());
    }
    // The rejection of leading zeros (inet_pton) has a message of its own kind.
    EXPECT_EQ(parse_error("198.051.100.1"), "'198.051.100.1' is not an IPv4 or IPv6 prefix");
}

TEST(Prefix, LongInputIsTruncatedInTheMessage) {
    const std::string s(1000, 'x');
    const std::string err = parse_error(s);
    EXPECT_LT(err.size(), 120u);
    EXPECT_NE(err.find("..."), std::string::npos);
}

TEST(Prefix, CanonicalPrinting) {
    EXPECT_EQ(to_string(P("198.51.100.0/24")), "198.51.100.0/24");
    EXPECT_EQ(to_string(P("203.0.113.9")), "203.0.113.9/32");
    EXPECT_EQ(to_string(P("0.0.0.0/0")), "0.0.0.0/0");
    EXPECT_EQ(to_string(P("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1/128");     // RFC 5952 4.2.3
    EXPECT_EQ(to_string(P("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1/128");  // no :: for one
    EXPECT_EQ(to_string(P("2001:DB8::/32")), "2001:db8::/32");
    EXPECT_EQ(to_string(P("::/0")), "::/0");
    EXPECT_EQ(to_string(Prefix{}), "(unset)");
    // Round trip.
    for (const char* s : {"198.18.0.0/15", "192.0.2.128/25", "2001:db8:8000::/33",
                          "2001:db8::1/128", "::ffff:192.0.2.1/128"})
        EXPECT_EQ(to_string(P(to_string(P(s)))), to_string(P(s)));
}

TEST(Prefix, Contains) {
    EXPECT_TRUE(contains(P("198.18.0.0/15"), P("198.19.255.0/24")));
    EXPECT_TRUE(contains(P("198.18.0.0/15"), P("198.18.0.0/15")));
    EXPECT_FALSE(contains(P("198.18.0.0/16"), P("198.19.0.0/16")));
    EXPECT_FALSE(contains(P("198.51.100.0/24"), P("198.51.100.0/23")));
    EXPECT_TRUE(contains(P("0.0.0.0/0"), P("203.0.113.1")));
    EXPECT_TRUE(contains(P("192.0.2.128/25"), P("192.0.2.255")));
    EXPECT_FALSE(contains(P("192.0.2.128/25"), P("192.0.2.127")));
    EXPECT_TRUE(contains(P("2001:db8::/32"), P("2001:db8:ffff::/48")));
    EXPECT_FALSE(contains(P("2001:db8::/33"), P("2001:db8:8000::/48")));
    EXPECT_TRUE(contains(P("::/0"), P("2001:db8::1")));
    // Families never contain each other, not even ::/0 and 0.0.0.0/0.
    EXPECT_FALSE(contains(P("::/0"), P("198.51.100.0/24")));
    EXPECT_FALSE(contains(P("0.0.0.0/0"), P("::/0")));
    EXPECT_FALSE(contains(Prefix{}, Prefix{}));
}

// ---- Reference: a binary trie, one bit per level -----------------------------

class Trie {
public:
    void insert(const uint8_t* addr, unsigned len, uint32_t value) {
        size_t n = 0;
        for (unsigned i = 0; i < len; ++i) {
            const int b = bit(addr, i);
            if (nodes_[n].child[b] == 0) {
                nodes_[n].child[b] = nodes_.size();
                nodes_.emplace_back();
            }
            n = nodes_[n].child[b];
        }
        nodes_[n].value = value;
    }
    uint32_t lookup(const uint8_t* addr, unsigned bits) const {
        uint32_t best = nodes_[0].value;
        size_t n = 0;
        for (unsigned i = 0; i < bits; ++i) {
            n = nodes_[n].child[bit(addr, i)];
            if (n == 0) break;
            if (nodes_[n].value != kNoMatch) best = nodes_[n].value;
        }
        return best;
    }

private:
    static int bit(const uint8_t* a, unsigned i) { return a[i / 8] >> (7 - i % 8) & 1; }
    struct Node {
        size_t child[2] = {0, 0};
        uint32_t value = kNoMatch;
    };
    std::vector<Node> nodes_ = std::vector<Node>(1);
};

std::array<uint8_t, 4> be4(uint32_t a) {
    return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
            static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
}

uint32_t mask4(unsigned len) {
    return len == 0 ? 0 : ~uint32_t{0} << (32 - len);
}

void mask6(Addr6& a, unsigned len) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned kept = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        a[i] &= static_cast<uint8_t>(0xff00u >> kept);
    }
}

// a + d (d = -1, 0, +1), wrapping at the ends of the space.
Addr6 add6(Addr6 a, int d) {
    if (d == 0) return a;
    for (int i = 15; i >= 0; --i) {
        const uint8_t before = a[i];
        a[i] = static_cast<uint8_t>(a[i] + d);
        if ((d > 0 && before != 0xff) || (d < 0 && before != 0)) break;
    }
    return a;
}

// Last address of a prefix.
Addr6 last6(Addr6 a, unsigned len) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned kept = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        a[i] |= static_cast<uint8_t>(0xffu >> kept);
    }
    return a;
}

// Random rule sets: fresh prefixes of every length, plus prefixes nested in
// earlier ones (so /8 > /24 > /32 chains are common), a few /0; values drawn
// from a small range in `few_values` mode, so neighbouring intervals often
// merge.
std::vector<Table4::Rule> random_rules4(std::mt19937_64& rng, size_t count, bool few_values) {
    std::vector<Table4::Rule> rules;
    std::set<std::pair<uint32_t, unsigned>> seen;
    while (rules.size() < count) {
        Table4::Rule r;
        if (!rules.empty() && rng() % 2 == 0) {
            const Table4::Rule& outer = rules[rng() % rules.size()];
            if (outer.len == 32) continue;
            r.len = static_cast<uint8_t>(outer.len + 1 + rng() % (32 - outer.len));
            r.addr =
                (outer.addr | (static_cast<uint32_t>(rng()) & ~mask4(outer.len))) & mask4(r.len);
        } else {
            r.len = static_cast<uint8_t>(rng() % 33);
            r.addr = static_cast<uint32_t>(rng()) & mask4(r.len);
        }
        if (!seen.insert({r.addr, r.len}).second) continue;
        r.value = few_values ? static_cast<uint32_t>(rng() % 4)
                             : static_cast<uint32_t>(rng() % 0xffffffffull);
        rules.push_back(r);
    }
    return rules;
}

std::vector<Table6::Rule> random_rules6(std::mt19937_64& rng, size_t count, bool few_values) {
    std::vector<Table6::Rule> rules;
    std::set<std::pair<Addr6, unsigned>> seen;
    while (rules.size() < count) {
        Table6::Rule r;
        if (!rules.empty() && rng() % 2 == 0) {
            const Table6::Rule& outer = rules[rng() % rules.size()];
            if (outer.len == 128) continue;
            // Mostly short steps, so chains stay inside the same allocation.
            const unsigned room = 128u - outer.len;
            const unsigned step = rng() % 2 ? 1 + rng() % std::min(room, 16u) : 1 + rng() % room;
            r.len = static_cast<uint8_t>(outer.len + step);
            r.addr = outer.addr;
            Addr6 noise;
            for (auto& b : noise) b = static_cast<uint8_t>(rng());
            Addr6 host = noise;
            Addr6 net_bits = noise;
            mask6(net_bits, outer.len);
            for (unsigned i = 0; i < 16; ++i) host[i] ^= net_bits[i];  // host bits of outer only
            for (unsigned i = 0; i < 16; ++i) r.addr[i] |= host[i];
            mask6(r.addr, r.len);
        } else {
            r.len = static_cast<uint8_t>(rng() % 129);
            for (auto& b : r.addr) b = static_cast<uint8_t>(rng());
            // Half the fresh ones inside one /16, so the index has a common
            // prefix to skip and buckets with many starts.
            if (rng() % 2) {
                r.addr[0] = 0x20;
                r.addr[1] = 0x01;
            }
            mask6(r.addr, r.len);
        }
        if (!seen.insert({r.addr, r.len}).second) continue;
        r.value = few_values ? static_cast<uint32_t>(rng() % 4)
                             : static_cast<uint32_t>(rng() % 0xffffffffull);
        rules.push_back(r);
    }
    return rules;
}

// The trie is checked in turn against the definition, on a sample: the
// longest rule containing the address, by linear scan.
uint32_t brute_force4(const std::vector<Table4::Rule>& rules, uint32_t a) {
    int best_len = -1;
    uint32_t best = kNoMatch;
    for (const auto& r : rules)
        if ((a & mask4(r.len)) == r.addr && r.len > best_len) {
            best_len = r.len;
            best = r.value;
        }
    return best;
}

uint32_t brute_force6(const std::vector<Table6::Rule>& rules, const Addr6& a) {
    int best_len = -1;
    uint32_t best = kNoMatch;
    for (const auto& r : rules) {
        Addr6 net = a;
        mask6(net, r.len);
        if (net == r.addr && r.len > best_len) {
            best_len = r.len;
            best = r.value;
        }
    }
    return best;
}

constexpr size_t kBruteForceEvery = 20;

void check_against_trie4(const std::vector<Table4::Rule>& rules, std::mt19937_64& rng,
                         size_t random_lookups) {
    Trie trie;
    for (const auto& r : rules) trie.insert(be4(r.addr).data(), r.len, r.value);
    const Table4 t(rules);
    ASSERT_EQ(t.rules(), rules.size());
    size_t checked = 0;
    auto check = [&](uint32_t a) {
        const uint32_t want = trie.lookup(be4(a).data(), 32);
        if (++checked % kBruteForceEvery == 0) {
            EXPECT_EQ(want, brute_force4(rules, a)) << a;
        }
        const uint32_t got = t.lookup(a);
        if (got != want) {
            ADD_FAILURE() << "lookup(" << be4(a)[0] + 0 << "." << be4(a)[1] + 0 << "."
                          << be4(a)[2] + 0 << "." << be4(a)[3] + 0 << ") = " << got
                          << ", reference says " << want;
            return false;
        }
        return true;
    };
    size_t failures = 0;
    for (size_t i = 0; i < random_lookups && failures < 10; ++i) {
        uint32_t a = static_cast<uint32_t>(rng());
        if (i % 2 && !rules.empty()) {  // inside a rule: hits, and nested ones
            const auto& r = rules[rng() % rules.size()];
            a = r.addr | (a & ~mask4(r.len));
        }
        failures += !check(a);
    }
    // Every interval boundary is a rule's first or one past its last address.
    for (const auto& r : rules) {
        const uint32_t last = r.addr | ~mask4(r.len);
        for (int d = -1; d <= 1; ++d) {
            failures += !check(r.addr + static_cast<uint32_t>(d));
            failures += !check(last + static_cast<uint32_t>(d));
        }
        if (failures >= 10) break;
    }
    for (uint32_t a : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
        failures += !check(a);
}

void check_against_trie6(const std::vector<Table6::Rule>& rules, std::mt19937_64& rng,
                         size_t random_lookups) {
    Trie trie;
    for (const auto& r : rules) trie.insert(r.addr.data(), r.len, r.value);
    const Table6 t(rules);
    ASSERT_EQ(t.rules(), rules.size());
    size_t checked = 0;
    auto check = [&](const Addr6& a) {
        const uint32_t want = trie.lookup(a.data(), 128);
        if (++checked % kBruteForceEvery == 0) {
            EXPECT_EQ(want, brute_force6(rules, a));
        }
        const uint32_t got = t.lookup(a.data());
        if (got != want) {
            Prefix p;
            p.family = 6;
            p.len = 128;
            p.addr = a;
            ADD_FAILURE() << "lookup(" << to_string(p) << ") = " << got << ", reference says "
                          << want;
            return false;
        }
        return true;
    };
    size_t failures = 0;
    for (size_t i = 0; i < random_lookups && failures < 10; ++i) {
        Addr6 a;
        for (auto& b : a) b = static_cast<uint8_t>(rng());
        if (i % 2 && !rules.empty()) {
            const auto& r = rules[rng() % rules.size()];
            Addr6 net_bits = a;
            mask6(net_bits, r.len);
            for (unsigned j = 0; j < 16; ++j) a[j] = (a[j] ^ net_bits[j]) | r.addr[j];
        }
        failures += !check(a);
    }
    for (const auto& r : rules) {
        const Addr6 last = last6(r.addr, r.len);
        for (int d = -1; d <= 1; ++d) {
            failures += !check(add6(r.addr, d));
            failures += !check(add6(last, d));
        }
        if (failures >= 10) break;
    }
    Addr6 top;
    top.fill(0xff);
    for (const Addr6& a : {Addr6{}, add6(Addr6{}, 1), top, add6(top, -1)}) failures += !check(a);
}

// ---- Table4 ---------------------------------------------------------------

TEST(Table4, EmptyTableMisses) {
    const Table4 t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.rules(), 0u);
    for (uint32_t a : {0u, v4("198.51.100.1"), 0xffffffffu}) EXPECT_EQ(t.lookup(a), kNoMatch);
    const Table4 built{std::vector<Table4::Rule>{}};
    EXPECT_TRUE(built.empty());
    EXPECT_EQ(built.lookup(v4("203.0.113.1")), kNoMatch);
    EXPECT_GT(t.memory_bytes(), 0u);
}

TEST(Table4, NestedPrefixesLongestWins) {
    const Table4 t({R4("198.18.0.0/15", 1), R4("198.19.0.0/16", 2), R4("198.19.7.0/24", 3),
                    R4("198.19.7.77/32", 4), R4("198.19.7.128/25", 5)});
    EXPECT_EQ(t.lookup(v4("198.18.0.0")), 1u);
    EXPECT_EQ(t.lookup(v4("198.18.255.255")), 1u);
    EXPECT_EQ(t.lookup(v4("198.19.0.0")), 2u);
    EXPECT_EQ(t.lookup(v4("198.19.6.255")), 2u);
    EXPECT_EQ(t.lookup(v4("198.19.7.0")), 3u);
    EXPECT_EQ(t.lookup(v4("198.19.7.76")), 3u);
    EXPECT_EQ(t.lookup(v4("198.19.7.77")), 4u);
    EXPECT_EQ(t.lookup(v4("198.19.7.78")), 3u);
    EXPECT_EQ(t.lookup(v4("198.19.7.127")), 3u);
    EXPECT_EQ(t.lookup(v4("198.19.7.128")), 5u);
    EXPECT_EQ(t.lookup(v4("198.19.7.255")), 5u);
    EXPECT_EQ(t.lookup(v4("198.19.8.0")), 2u);
    EXPECT_EQ(t.lookup(v4("198.19.255.255")), 2u);
    EXPECT_EQ(t.lookup(v4("198.17.255.255")), kNoMatch);
    EXPECT_EQ(t.lookup(v4("198.20.0.0")), kNoMatch);
    EXPECT_EQ(t.rules(), 5u);
    EXPECT_FALSE(t.empty());
}

TEST(Table4, DefaultRuleAndTopOfTheSpace) {
    const Table4 t({R4("0.0.0.0/0", 7), R4("203.0.113.0/24", 8), R4("255.255.255.255/32", 9),
                    R4("0.0.0.0/32", 10)});
    EXPECT_EQ(t.lookup(0), 10u);
    EXPECT_EQ(t.lookup(1), 7u);
    EXPECT_EQ(t.lookup(v4("203.0.112.255")), 7u);
    EXPECT_EQ(t.lookup(v4("203.0.113.0")), 8u);
    EXPECT_EQ(t.lookup(v4("203.0.113.255")), 8u);
    EXPECT_EQ(t.lookup(v4("203.0.114.0")), 7u);
    EXPECT_EQ(t.lookup(0xfffffffeu), 7u);
    EXPECT_EQ(t.lookup(0xffffffffu), 9u);

    const Table4 only_default({R4("0.0.0.0/0", 3)});
    for (uint32_t a : {0u, v4("192.0.2.1"), 0xffffffffu}) EXPECT_EQ(only_default.lookup(a), 3u);

    const Table4 top_half({R4("128.0.0.0/1", 4)});
    EXPECT_EQ(top_half.lookup(0x7fffffffu), kNoMatch);
    EXPECT_EQ(top_half.lookup(0x80000000u), 4u);
    EXPECT_EQ(top_half.lookup(0xffffffffu), 4u);
}

TEST(Table4, AdjacentRanges) {
    const Table4 t({R4("192.0.2.0/26", 1), R4("192.0.2.64/26", 2), R4("192.0.2.128/25", 1),
                    R4("198.51.100.0/24", 3), R4("198.51.101.0/24", 3)});
    EXPECT_EQ(t.lookup(v4("192.0.1.255")), kNoMatch);
    EXPECT_EQ(t.lookup(v4("192.0.2.0")), 1u);
    EXPECT_EQ(t.lookup(v4("192.0.2.63")), 1u);
    EXPECT_EQ(t.lookup(v4("192.0.2.64")), 2u);
    EXPECT_EQ(t.lookup(v4("192.0.2.127")), 2u);
    EXPECT_EQ(t.lookup(v4("192.0.2.128")), 1u);
    EXPECT_EQ(t.lookup(v4("192.0.2.255")), 1u);
    EXPECT_EQ(t.lookup(v4("192.0.3.0")), kNoMatch);
    EXPECT_EQ(t.lookup(v4("198.51.100.0")), 3u);
    EXPECT_EQ(t.lookup(v4("198.51.101.255")), 3u);
    EXPECT_EQ(t.lookup(v4("198.51.102.0")), kNoMatch);
    // Equal neighbours merge: 198.51.100.0/23 is one interval.
    EXPECT_LT(t.intervals(), 2 * t.rules() + 1);
}

TEST(Table4, HostRulesOnly) {
    std::vector<Table4::Rule> rules;
    for (uint32_t i = 0; i < 256; i += 2) rules.push_back({v4("203.0.113.0") + i, 32, i});
    const Table4 t(rules);
    for (uint32_t i = 0; i < 256; ++i)
        EXPECT_EQ(t.lookup(v4("203.0.113.0") + i), i % 2 ? kNoMatch : i) << i;
    EXPECT_EQ(t.lookup(v4("203.0.112.255")), kNoMatch);
    EXPECT_EQ(t.lookup(v4("203.0.114.0")), kNoMatch);
}

TEST(Table4, RejectsBadRules) {
    auto message = [](std::vector<Table4::Rule> rules) -> std::string {
        try {
            Table4 t(std::move(rules));
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(no exception)";
    };
    EXPECT_EQ(message({R4("198.51.100.0/24", 1), R4("192.0.2.0/24", 2), R4("198.51.100.0/24", 3)}),
              "Table4: duplicate prefix 198.51.100.0/24 (values 1 and 3)");
    EXPECT_EQ(message({{v4("198.51.100.0"), 33, 1}}),
              "Table4: prefix length 33 is more than 32 (rule 0)");
    EXPECT_EQ(message({R4("192.0.2.0/24", 1), {v4("198.51.100.1"), 24, 1}}),
              "Table4: 198.51.100.1/24 has host bits set (did you mean 198.51.100.0/24?)");
    EXPECT_EQ(message({{v4("198.51.100.0"), 0, 1}}),
              "Table4: 198.51.100.0/0 has host bits set (did you mean 0.0.0.0/0?)");
    EXPECT_EQ(message({R4("192.0.2.0/24", kNoMatch)}),
              "Table4: 192.0.2.0/24 has value 0xffffffff, which means no match");
    // Same address, different lengths: not duplicates.
    EXPECT_EQ(message({R4("198.51.100.0/24", 1), R4("198.51.100.0/25", 1)}), "(no exception)");
}

TEST(Table4, CopiesShareTheTable) {
    std::unique_ptr<Table4> original =
        std::make_unique<Table4>(std::vector{R4("192.0.2.0/24", 1), R4("192.0.2.0/25", 2)});
    const Table4 copy = *original;
    Table4 moved = std::move(*original);
    // The source of a move stays a working table.
    EXPECT_EQ(original->lookup(v4("192.0.2.1")), 2u);
    original.reset();
    EXPECT_EQ(copy.lookup(v4("192.0.2.1")), 2u);
    EXPECT_EQ(copy.lookup(v4("192.0.2.200")), 1u);
    EXPECT_EQ(moved.lookup(v4("192.0.2.200")), 1u);
    moved = Table4();
    EXPECT_EQ(moved.lookup(v4("192.0.2.200")), kNoMatch);
    EXPECT_EQ(copy.lookup(v4("192.0.2.200")), 1u);
}

TEST(Table4, MemoryIsCompact) {
    std::mt19937_64 rng(7);
    const Table4 small(random_rules4(rng, 16, false));
    EXPECT_LE(small.memory_bytes(), 4096u);
    // A 64-byte bucket per two interval starts or so, plus children where
    // nested rules crowd starts together.
    const Table4 big(random_rules4(rng, 2000, false));
    EXPECT_LE(big.memory_bytes(), 96 * big.intervals() + 4096);
    EXPECT_LE(Table4().memory_bytes(), sizeof(Table4));
}

TEST(Table4, MatchesReferenceOnRandomRules) {
    std::mt19937_64 rng(20261122);
    check_against_trie4(random_rules4(rng, 2000, false), rng, 200000);
}

TEST(Table4, MatchesReferenceWithMergingValues) {
    std::mt19937_64 rng(4);
    check_against_trie4(random_rules4(rng, 2000, true), rng, 100000);
}

TEST(Table4, MatchesReferenceAtEverySize) {
    // Crosses the no-index / index threshold and every index size.
    std::mt19937_64 rng(99);
    for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64, 100, 500}) {
        SCOPED_TRACE(n);
        check_against_trie4(random_rules4(rng, n, n % 2 == 0), rng, 2000);
    }
}

TEST(Table4, MatchesReferenceInsideOneSmallRegion) {
    // All rules in 198.18.0.0/15: the index slices that region, not the space.
    std::mt19937_64 rng(15);
    std::vector<Table4::Rule> rules;
    std::set<std::pair<uint32_t, unsigned>> seen;
    while (rules.size() < 3000) {
        const auto len = static_cast<uint8_t>(15 + rng() % 18);
        const uint32_t a =
            (v4("198.18.0.0") | (static_cast<uint32_t>(rng()) & 0x1ffffu)) & mask4(len);
        if (seen.insert({a, len}).second)
            rules.push_back({a, len, static_cast<uint32_t>(rng() % 8)});
    }
    check_against_trie4(rules, rng, 50000);
}

// ---- Table6 ---------------------------------------------------------------

TEST(Table6, CopiesShareTheTable) {
    auto original =
        std::make_unique<Table6>(std::vector{R6("2001:db8::/32", 1), R6("2001:db8:1::/48", 2)});
    const Table6 copy = *original;
    Table6 moved = std::move(*original);
    EXPECT_EQ(original->lookup(v6("2001:db8:1::1").data()), 2u);
    original.reset();
    EXPECT_EQ(copy.lookup(v6("2001:db8:1::1").data()), 2u);
    EXPECT_EQ(moved.lookup(v6("2001:db8:2::1").data()), 1u);
}

TEST(Table6, EmptyTableMisses) {
    const Table6 t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.lookup(v6("2001:db8::1").data()), kNoMatch);
    const Table6 built{std::vector<Table6::Rule>{}};
    EXPECT_EQ(built.lookup(v6("::").data()), kNoMatch);
}

TEST(Table6, NestedPrefixesLongestWins) {
    const Table6 t({R6("2001:db8::/32", 1), R6("2001:db8:1::/48", 2), R6("2001:db8:1:2::/64", 3),
                    R6("2001:db8:1:2::77/128", 4), R6("2001:db8:1:2:8000::/65", 5)});
    EXPECT_EQ(t.lookup(v6("2001:db8::").data()), 1u);
    EXPECT_EQ(t.lookup(v6("2001:db8:0:ffff::").data()), 1u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1::").data()), 2u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:1:ffff:ffff:ffff:ffff").data()), 2u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2::").data()), 3u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2::76").data()), 3u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2::77").data()), 4u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2::78").data()), 3u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2:7fff:ffff:ffff:ffff").data()), 3u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:2:8000::").data()), 5u);
    EXPECT_EQ(t.lookup(v6("2001:db8:1:3::").data()), 2u);
    EXPECT_EQ(t.lookup(v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").data()), 1u);
    EXPECT_EQ(t.lookup(v6("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff").data()), kNoMatch);
    EXPECT_EQ(t.lookup(v6("2001:db9::").data()), kNoMatch);
}

TEST(Table6, DefaultRuleAndTopOfTheSpace) {
    const Table6 t({R6("::/0", 7), R6("2001:db8::/32", 8),
                    R6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 9), R6("::/128", 10)});
    EXPECT_EQ(t.lookup(v6("::").data()), 10u);
    EXPECT_EQ(t.lookup(v6("::1").data()), 7u);
    EXPECT_EQ(t.lookup(v6("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff").data()), 7u);
    EXPECT_EQ(t.lookup(v6("2001:db8::").data()), 8u);
    EXPECT_EQ(t.lookup(v6("2001:db9::").data()), 7u);
    EXPECT_EQ(t.lookup(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").data()), 7u);
    EXPECT_EQ(t.lookup(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").data()), 9u);
}

TEST(Table6, RejectsBadRules) {
    auto message = [](std::vector<Table6::Rule> rules) -> std::string {
        try {
            Table6 t(std::move(rules));
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(no exception)";
    };
    EXPECT_EQ(message({R6("2001:db8::/32", 1), R6("2001:db8::/32", 2)}),
              "Table6: duplicate prefix 2001:db8::/32 (values 1 and 2)");
    EXPECT_EQ(message({{v6("2001:db8::"), 129, 1}}),
              "Table6: prefix length 129 is more than 128 (rule 0)");
    EXPECT_EQ(message({{v6("2001:db8::1"), 64, 1}}),
              "Table6: 2001:db8::1/64 has host bits set (did you mean 2001:db8::/64?)");
    EXPECT_EQ(message({R6("2001:db8::/32", kNoMatch)}),
              "Table6: 2001:db8::/32 has value 0xffffffff, which means no match");
}

TEST(Table6, MemoryIsCompact) {
    std::mt19937_64 rng(8);
    const Table6 small(random_rules6(rng, 16, false));
    EXPECT_LE(small.memory_bytes(), 4096u);
    // 20 bytes per interval, 2-4 index entries per start, a few nodes.
    const Table6 big(random_rules6(rng, 2000, false));
    EXPECT_LE(big.memory_bytes(), 96 * big.intervals() + 4096);
}

TEST(Table6, MatchesReferenceOnRandomRules) {
    std::mt19937_64 rng(20261123);
    check_against_trie6(random_rules6(rng, 2000, false), rng, 200000);
}

TEST(Table6, MatchesReferenceWithMergingValues) {
    std::mt19937_64 rng(6);
    check_against_trie6(random_rules6(rng, 2000, true), rng, 100000);
}

TEST(Table6, MatchesReferenceAtEverySize) {
    std::mt19937_64 rng(101);
    for (size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 64, 100, 500}) {
        SCOPED_TRACE(n);
        check_against_trie6(random_rules6(rng, n, n % 2 == 0), rng, 2000);
    }
}

TEST(Table6, MatchesReferenceInsideOne64) {
    // Every start shares its high 64 bits: the index cannot narrow anything
    // and the search runs on the low words.
    std::mt19937_64 rng(64);
    std::vector<Table6::Rule> rules;
    std::set<std::pair<Addr6, unsigned>> seen;
    const Addr6 base = v6("2001:db8:1:2::");
    while (rules.size() < 1000) {
        Table6::Rule r;
        r.len = static_cast<uint8_t>(64 + rng() % 65);
        r.addr = base;
        for (unsigned i = 8; i < 16; ++i) r.addr[i] = static_cast<uint8_t>(rng());
        mask6(r.addr, r.len);
        r.value = static_cast<uint32_t>(rng() % 5);
        if (seen.insert({r.addr, r.len}).second) rules.push_back(r);
    }
    check_against_trie6(rules, rng, 50000);
}

}  // namespace
