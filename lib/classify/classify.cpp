// Prefix parsing and the build side of the longest-prefix-match tables. The
// lookups are inline in classify.h.
#include "classify.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace triage::classify {

namespace {

using detail::u128;

// Operator text goes back into a one-line message: keep it printable and
// bounded whatever was typed (or pasted).
std::string quoted(std::string_view s) {
    constexpr size_t kShown = 80;
    std::string out = "'";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i == kShown) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c >= 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '\'';
    return out;
}

void clear_host_bits(std::array<uint8_t, 16>& a, unsigned len) {
    for (unsigned i = 0; i < a.size(); ++i) {
        const unsigned kept = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        a[i] &= static_cast<uint8_t>(0xff00u >> kept);
    }
}

// Host bits below a length; 64-bit arithmetic so /0 needs no special case.
constexpr uint32_t host_mask4(unsigned len) {
    return static_cast<uint32_t>(0xffffffffull >> len);
}
constexpr u128 host_mask6(unsigned len) {
    return len >= 128 ? 0 : ~u128{0} >> len;
}
static_assert(host_mask6(0) == ~u128{0} && host_mask6(128) == 0 && host_mask4(32) == 0);

u128 to_u128(const std::array<uint8_t, 16>& a) {
    return u128{detail::load_be64(a.data())} << 64 | detail::load_be64(a.data() + 8);
}

std::string format4(uint32_t addr, unsigned len) {
    Prefix p;
    p.family = 4;
    p.len = static_cast<uint8_t>(len);
    for (int i = 0; i < 4; ++i) p.addr[i] = static_cast<uint8_t>(addr >> (24 - 8 * i));
    return to_string(p);
}

std::string format6(const std::array<uint8_t, 16>& addr, unsigned len) {
    Prefix p;
    p.family = 6;
    p.len = static_cast<uint8_t>(len);
    p.addr = addr;
    return to_string(p);
}

// A rule as the span of addresses it covers. U is uint32_t or u128.
template <class U>
struct Span {
    U first;
    U last;  // inclusive, so /0 needs no 2^32 or 2^128
    uint8_t len;
    uint32_t value;
    size_t input_pos;  // for messages
};

// Sorts spans by (first, len): a rule comes after every rule containing it.
// Returns the position of a duplicate prefix, or spans.size().
template <class U>
size_t sort_and_find_duplicate(std::vector<Span<U>>& spans) {
    std::sort(spans.begin(), spans.end(), [](const Span<U>& a, const Span<U>& b) {
        return a.first != b.first ? a.first < b.first : a.len < b.len;
    });
    for (size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first == spans[i - 1].first && spans[i].len == spans[i - 1].len) return i;
    return spans.size();
}

// Cuts the space into disjoint intervals, each with the value of the longest
// rule covering it (kNoMatch where none does); neighbours with equal values
// merge. Prefixes either nest or are disjoint, so one pass with a stack of the
// rules still open does it: the top of the stack is the longest open rule.
// spans must be sorted by sort_and_find_duplicate.
template <class U>
std::vector<std::pair<U, uint32_t>> sweep(const std::vector<Span<U>>& spans) {
    std::vector<std::pair<U, uint32_t>> out;
    out.reserve(2 * spans.size() + 1);
    out.emplace_back(U{0}, kNoMatch);
    auto emit = [&out](U start, uint32_t value) {
        if (out.back().first == start) {
            // Several rules end (or one ends and another starts) here: the
            // last word wins, and may now equal the interval before it.
            out.back().second = value;
            if (out.size() > 1 && out[out.size() - 2].second == value) out.pop_back();
        } else if (out.back().second != value) {
            out.emplace_back(start, value);
        }
    };
    std::vector<std::pair<U, uint32_t>> open;  // (last, value), outermost first
    auto close = [&](U last) {
        open.pop_back();
        // last == max: the rule ran to the top of the space, nothing follows.
        if (last != static_cast<U>(~U{0}))
            emit(last + 1, open.empty() ? kNoMatch : open.back().second);
    };
    for (const Span<U>& s : spans) {
        while (!open.empty() && open.back().first < s.first) close(open.back().first);
        emit(s.first, s.value);
        open.emplace_back(s.last, s.value);
    }
    while (!open.empty()) close(open.back().first);
    return out;
}

// Index of the interval holding key (or of a padding copy of it), from the
// root; le(i): "start i <= key". The inline lookups cover the common paths.
template <class K, class Le>
uint32_t lpm_walk(const detail::LpmNode<K>* nodes, const uint32_t* entries, K key, Le le) {
    const detail::LpmNode<K>* nd = nodes;
    for (;;) {
        if (nd->bits == 0) {
            uint32_t i = nd->below;
            uint32_t n = nd->above - nd->below + 1;
            while (n > 1) {
                const uint32_t half = n / 2;
                i = le(i + half) ? i + half : i;
                n -= half;
            }
            return i;
        }
        const K bucket = (key - nd->base) >> nd->shift;
        if (bucket >> nd->bits != 0) return key < nd->base ? nd->below : nd->above;
        const uint32_t e = entries[nd->entries + static_cast<uint32_t>(bucket)];
        if (e & detail::kChild) {
            nd = nodes + (e & ~detail::kChild);
            continue;
        }
        uint32_t i = e;
        for (uint32_t j = 1; j < detail::kLeafMax; ++j) i += le(e + j);
        return i;
    }
}

// Table6: a node has about 2-4 entries per start it holds, so few buckets
// overflow a leaf into a child; the root has at most 2^18 (1 MiB).
constexpr int kMinBits6 = 4;
constexpr int kMaxRootBits6 = 18;
constexpr int kMaxChildBits6 = 12;
// Past this depth a bucket is binary-searched instead of sliced again, which
// bounds the index's size on adversarial rule sets. Each level narrows the
// region by at least a node's bits, so real tables stay far from it (the
// unit tests pass with it forced to 1).
constexpr int kMaxDepth = 8;

template <class K>
constexpr int key_bits = static_cast<int>(sizeof(K) * 8);

template <class K>
int common_prefix(K a, K b) {
    const K x = a ^ b;
    if (x == 0) return key_bits<K>;
    if constexpr (std::is_same_v<K, u128>) {
        const auto hi = static_cast<uint64_t>(x >> 64);
        return hi != 0 ? std::countl_zero(hi) : 64 + std::countl_zero(static_cast<uint64_t>(x));
    } else {
        return std::countl_zero(x);
    }
}

// Builds Table6's node trie over sorted interval starts (starts[0] == 0).
template <class K>
class IndexBuilder {
public:
    explicit IndexBuilder(const std::vector<K>& starts) : starts_(starts) {
        const auto last = static_cast<uint32_t>(starts.size() - 1);
        nodes_.emplace_back();
        if (last < detail::kLeafMax) {
            // One leaf holds them all; two buckets because a shift by the
            // key's full width would be undefined.
            detail::LpmNode<K>& root = nodes_[0];
            root.above = last;
            root.shift = static_cast<uint8_t>(key_bits<K> - 1);
            root.bits = 1;
            entries_ = {0, 0};
        } else {
            fill(0, 0, last, kMaxRootBits6, 0);
        }
    }
    std::vector<detail::LpmNode<K>> nodes_;
    std::vector<uint32_t> entries_;

private:
    // Last interval in [lo, hi] whose start is <= key; starts[lo] <= key.
    uint32_t last_le(K key, uint32_t lo, uint32_t hi) const {
        const auto it = std::upper_bound(starts_.begin() + lo, starts_.begin() + hi + 1, key);
        return static_cast<uint32_t>(it - starts_.begin()) - 1;
    }

    // Node n over intervals a..b: interval a holds everything up to the first
    // of starts a+1..b, which all lie in the space the node answers for.
    void fill(uint32_t n, uint32_t a, uint32_t b, int max_bits, int depth) {
        constexpr int W = key_bits<K>;
        const uint32_t inner = b - a;
        const int bits =
            std::clamp(static_cast<int>(std::bit_width(inner)) + 1, kMinBits6, max_bits);
        // Slice only the region the inner starts share; with full-width keys
        // a bucket narrows to one address before it could overflow a leaf.
        const int common = std::min(common_prefix(starts_[a + 1], starts_[b]), W - bits);
        const int shift = W - common - bits;
        const K base = common == 0 ? K{0} : starts_[a + 1] & static_cast<K>(~K{0} << (W - common));
        const auto offset = static_cast<uint32_t>(entries_.size());
        const uint32_t buckets = uint32_t{1} << bits;
        {
            detail::LpmNode<K>& nd = nodes_[n];
            nd.base = base;
            nd.entries = offset;
            nd.below = a;
            nd.above = b;
            nd.shift = static_cast<uint8_t>(shift);
            nd.bits = static_cast<uint8_t>(bits);
        }
        entries_.resize(entries_.size() + buckets);
        const K width_minus_1 = static_cast<K>((K{1} << shift) - 1);
        uint32_t first = a;
        for (uint32_t k = 0; k < buckets; ++k) {
            // Within the region, so neither end wraps.
            const K lo = base + (static_cast<K>(k) << shift);
            first = last_le(lo, first, b);
            const uint32_t last = last_le(static_cast<K>(lo + width_minus_1), first, b);
            uint32_t e;
            if (last - first < detail::kLeafMax) {
                e = first;
            } else {
                const auto child = static_cast<uint32_t>(nodes_.size());
                nodes_.emplace_back();
                if (depth + 1 >= kMaxDepth) {
                    nodes_[child].below = first;  // bits 0: binary search
                    nodes_[child].above = last;
                } else {
                    fill(child, first, last, kMaxChildBits6, depth + 1);
                }
                e = detail::kChild | child;
            }
            entries_[offset + k] = e;
        }
    }

    const std::vector<K>& starts_;
};

// Table4's trie of one-line buckets over sorted interval starts (starts[0] == 0).
class Builder4 {
public:
    Builder4(const std::vector<uint32_t>& starts, const std::vector<uint32_t>& values)
        : starts_(starts), values_(values) {
        nodes.emplace_back();
        if (starts.size() == 1) {
            // Nothing to slice: two buckets (a shift by 32 would be
            // undefined), both the one interval.
            detail::Node4& root = nodes[0];
            root.mask = 0x7fffffffu;
            root.shift = 31;
            root.bits = 1;
            root.below = root.above = values[0];
            buckets.resize(2);
            for (detail::Bucket4& b : buckets) leaf(b, 0, 0, 0);
        } else {
            fill(0, 0, static_cast<uint32_t>(starts.size() - 1), kMaxRootBits4, 0);
        }
    }

    std::vector<detail::Node4> nodes;
    std::vector<detail::Bucket4> buckets;
    bool searches = false;  // some node binary-searches the intervals

private:
    // About one bucket per two starts, and a root of at most 2^17 buckets
    // (8 MiB): a child costs a mispredicted branch and another miss, and a
    // rule's two starts often share a bucket.
    static constexpr int kMaxRootBits4 = 17;
    static constexpr int kMaxChildBits4 = 12;

    uint32_t last_le(uint32_t key, uint32_t lo, uint32_t hi) const {
        const auto it = std::upper_bound(starts_.begin() + lo, starts_.begin() + hi + 1, key);
        return static_cast<uint32_t>(it - starts_.begin()) - 1;
    }

    // Candidates first..last (at most 8) of the bucket starting at lo.
    void leaf(detail::Bucket4& b, uint32_t first, uint32_t last, uint32_t lo) const {
        b.child = 0;
        for (uint32_t j = 0; j < 7; ++j)
            b.start[j] = first + j + 1 <= last
                             ? (starts_[first + j + 1] - lo) ^ detail::Bucket4::kBias
                             : detail::Bucket4::kUnused;
        for (uint32_t j = 0; j < 8; ++j) b.value[j] = values_[std::min(first + j, last)];
    }

    // Node n over intervals a..b: interval a holds everything up to the first
    // of starts a+1..b, which all lie in the space the node answers for.
    void fill(uint32_t n, uint32_t a, uint32_t b, int max_bits, int depth) {
        const uint32_t inner = b - a;
        const int bits = std::clamp(static_cast<int>(std::bit_width(inner)) - 1, 1, max_bits);
        const int common = std::min(common_prefix(starts_[a + 1], starts_[b]), 32 - bits);
        const int shift = 32 - common - bits;
        const uint32_t base = common == 0 ? 0 : starts_[a + 1] & (~0u << (32 - common));
        const auto offset = static_cast<uint32_t>(buckets.size());
        const uint32_t count = uint32_t{1} << bits;
        const uint32_t width_minus_1 = (uint32_t{1} << shift) - 1;
        {
            detail::Node4& nd = nodes[n];
            nd.base = base;
            nd.mask = width_minus_1;
            nd.buckets = offset;
            nd.below = values_[a];
            nd.above = values_[b];
            nd.shift = static_cast<uint8_t>(shift);
            nd.bits = static_cast<uint8_t>(bits);
        }
        buckets.resize(buckets.size() + count);
        uint32_t first = a;
        for (uint32_t k = 0; k < count; ++k) {
            const uint32_t lo = base + (k << shift);  // inside the region: no wrap
            first = last_le(lo, first, b);
            const uint32_t last = last_le(lo + width_minus_1, first, b);
            if (last - first <= 7) {
                leaf(buckets[offset + k], first, last, lo);
                continue;
            }
            const auto child = static_cast<uint32_t>(nodes.size());
            nodes.emplace_back();
            if (depth + 1 >= kMaxDepth) {
                nodes[child].first = first;  // bits 0: binary search
                nodes[child].last = last;
                searches = true;
            } else {
                fill(child, first, last, kMaxChildBits4, depth + 1);
            }
            buckets[offset + k].child = child;
        }
    }

    const std::vector<uint32_t>& starts_;
    const std::vector<uint32_t>& values_;
};

template <class Rule>
void check_count(const std::vector<Rule>& rules, const char* table) {
    // Intervals (at most 2 per rule + 1) must fit a leaf entry's index field.
    constexpr size_t kMaxRules = (size_t{1} << 31) / 2 - detail::kLeafMax;
    if (rules.size() > kMaxRules)
        throw std::invalid_argument(std::string(table) + ": " + std::to_string(rules.size()) +
                                    " rules are more than " + std::to_string(kMaxRules));
}

}  // namespace

// ---- Prefix ---------------------------------------------------------------

// Addresses go through inet_pton, so IPv4 is strictly four decimal octets:
// no leading zeros ("198.051.100.1" is refused, as glibc does, since some
// tools read 051 as octal), no shorthand ("10.1"), no whitespace. The length is
// decimal without a sign or leading zeros.
bool parse_prefix(std::string_view s, Prefix& out, std::string& err) {
    if (s.empty()) {
        err = "empty prefix";
        return false;
    }
    const size_t slash = s.find('/');
    const std::string_view addr_text = s.substr(0, slash);
    Prefix p;
    char buf[INET6_ADDRSTRLEN + 1];
    bool ok = false;
    if (addr_text.size() < sizeof buf) {
        std::memcpy(buf, addr_text.data(), addr_text.size());
        buf[addr_text.size()] = '\0';
        p.family = addr_text.find(':') != std::string_view::npos ? 6 : 4;
        ok = inet_pton(p.family == 6 ? AF_INET6 : AF_INET, buf, p.addr.data()) == 1;
    }
    if (!ok) {
        err = quoted(s) + " is not an IPv4 or IPv6 prefix";
        return false;
    }
    const unsigned max_len = p.family == 4 ? 32 : 128;
    unsigned len = max_len;
    if (slash != std::string_view::npos) {
        const std::string_view lt = s.substr(slash + 1);
        if (lt.empty()) {
            err = quoted(s) + ": missing prefix length after '/'";
            return false;
        }
        if (!std::all_of(lt.begin(), lt.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            err = quoted(s) + ": prefix length " + quoted(lt) + " is not a number";
            return false;
        }
        if (lt.size() > 1 && lt[0] == '0') {
            err = quoted(s) + ": prefix length " + quoted(lt) + " has a leading zero";
            return false;
        }
        len = 0;
        for (char c : lt) {
            len = len * 10 + static_cast<unsigned>(c - '0');
            if (len > max_len) break;  // also stops overflow on absurdly long input
        }
        if (len > max_len) {
            err = quoted(s) + ": prefix length " + std::string(lt.substr(0, 20)) +
                  (lt.size() > 20 ? "..." : "") + " is more than " + std::to_string(max_len);
            return false;
        }
    }
    p.len = static_cast<uint8_t>(len);
    Prefix net = p;
    clear_host_bits(net.addr, len);
    if (net.addr != p.addr) {
        err = quoted(s) + " has host bits set (did you mean " + to_string(net) + "?)";
        return false;
    }
    out = p;
    return true;
}

std::string to_string(const Prefix& p) {
    if (p.family != 4 && p.family != 6) return "(unset)";
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(p.family == 4 ? AF_INET : AF_INET6, p.addr.data(), buf, sizeof buf) == nullptr)
        return "(invalid)";
    return std::string(buf) + "/" + std::to_string(p.len);
}

bool contains(const Prefix& outer, const Prefix& inner) noexcept {
    if (outer.family != inner.family || (outer.family != 4 && outer.family != 6)) return false;
    if (inner.len < outer.len) return false;
    // Compare whole bytes, then the partial one; host bits of outer are zero by
    // construction, but masking both keeps a hand-built Prefix honest.
    const unsigned full = outer.len / 8;
    if (std::memcmp(outer.addr.data(), inner.addr.data(), full) != 0) return false;
    const unsigned rest = outer.len % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> rest);
    return (outer.addr[full] & mask) == (inner.addr[full] & mask);
}

// ---- Table4 ---------------------------------------------------------------

struct Table4::Storage {
    std::vector<detail::Bucket4> buckets;
    std::vector<detail::Node4> nodes;
    std::vector<uint64_t> keys;
};

Table4::Table4(std::vector<Rule> rules) {
    check_count(rules, "Table4");
    std::vector<Span<uint32_t>> spans;
    spans.reserve(rules.size());
    for (size_t i = 0; i < rules.size(); ++i) {
        const Rule& r = rules[i];
        if (r.len > 32)
            throw std::invalid_argument("Table4: prefix length " + std::to_string(r.len) +
                                        " is more than 32 (rule " + std::to_string(i) + ")");
        if ((r.addr & host_mask4(r.len)) != 0)
            throw std::invalid_argument("Table4: " + format4(r.addr, r.len) +
                                        " has host bits set (did you mean " +
                                        format4(r.addr & ~host_mask4(r.len), r.len) + "?)");
        if (r.value == kNoMatch)
            throw std::invalid_argument("Table4: " + format4(r.addr, r.len) +
                                        " has value 0xffffffff, which means no match");
        spans.push_back({r.addr, r.addr | host_mask4(r.len), r.len, r.value, i});
    }
    rules.clear();
    rules.shrink_to_fit();
    if (const size_t d = sort_and_find_duplicate(spans); d != spans.size())
        throw std::invalid_argument(
            "Table4: duplicate prefix " + format4(spans[d].first, spans[d].len) + " (values " +
            std::to_string(spans[d - 1].value) + " and " + std::to_string(spans[d].value) + ")");
    const auto cuts = sweep(spans);
    std::vector<uint32_t> starts;
    std::vector<uint32_t> values;
    starts.reserve(cuts.size());
    values.reserve(cuts.size());
    for (const auto& [start, value] : cuts) {
        starts.push_back(start);
        values.push_back(value);
    }
    Builder4 index(starts, values);

    auto st = std::make_shared<Storage>();
    st->buckets = std::move(index.buckets);
    st->nodes = std::move(index.nodes);
    // Grown by doubling while built; a snapshot lives long, so give it back.
    st->buckets.shrink_to_fit();
    st->nodes.shrink_to_fit();
    if (index.searches) {
        st->keys.reserve(cuts.size());
        for (const auto& [start, value] : cuts) st->keys.push_back(uint64_t{start} << 32 | value);
    }

    const detail::Node4& root = st->nodes[0];
    root_ = st->buckets.data() + root.buckets;
    root_base_ = root.base;
    root_mask_ = root.mask;
    root_buckets_ = uint32_t{1} << root.bits;
    root_shift_ = root.shift;
    nodes_ = st->nodes.data();
    buckets_ = st->buckets.data();
    keys_ = st->keys.data();
    intervals_ = cuts.size();
    rules_ = spans.size();
    bytes_ = sizeof(Storage) + st->buckets.capacity() * sizeof(detail::Bucket4) +
             st->nodes.capacity() * sizeof(detail::Node4) + st->keys.capacity() * sizeof(uint64_t);
    storage_ = std::move(st);
}

// Out of the root's region, into a child, or past the depth limit: rare
// enough to be out of line, and simplest done from the root again.
uint32_t Table4::lookup_slow(uint32_t addr_host) const noexcept {
    const detail::Node4* nd = nodes_;
    for (;;) {
        if (nd->bits == 0) {
            const uint64_t probe = uint64_t{addr_host} << 32 | 0xffffffffu;
            const uint64_t* p = keys_ + nd->first;
            uint32_t n = nd->last - nd->first + 1;
            while (n > 1) {
                const uint32_t half = n / 2;
                p = p[half] <= probe ? p + half : p;
                n -= half;
            }
            return static_cast<uint32_t>(*p);
        }
        const uint32_t rel = addr_host - nd->base;
        const uint32_t bucket = rel >> nd->shift;
        if (bucket >> nd->bits != 0) return addr_host < nd->base ? nd->below : nd->above;
        const detail::Bucket4& b = buckets_[nd->buckets + bucket];
        if (b.child != 0) {
            nd = nodes_ + b.child;
            continue;
        }
        return b.pick(rel & nd->mask);
    }
}

// ---- Table6 ---------------------------------------------------------------

struct Table6::Storage {
    std::vector<u128> starts;
    std::vector<uint32_t> values;
    std::vector<detail::LpmNode<u128>> nodes;
    std::vector<uint32_t> entries;
};

Table6::Table6(std::vector<Rule> rules) {
    check_count(rules, "Table6");
    std::vector<Span<u128>> spans;
    spans.reserve(rules.size());
    for (size_t i = 0; i < rules.size(); ++i) {
        const Rule& r = rules[i];
        if (r.len > 128)
            throw std::invalid_argument("Table6: prefix length " + std::to_string(r.len) +
                                        " is more than 128 (rule " + std::to_string(i) + ")");
        const u128 a = to_u128(r.addr);
        if ((a & host_mask6(r.len)) != 0) {
            auto net = r.addr;
            clear_host_bits(net, r.len);
            throw std::invalid_argument("Table6: " + format6(r.addr, r.len) +
                                        " has host bits set (did you mean " + format6(net, r.len) +
                                        "?)");
        }
        if (r.value == kNoMatch)
            throw std::invalid_argument("Table6: " + format6(r.addr, r.len) +
                                        " has value 0xffffffff, which means no match");
        spans.push_back({a, a | host_mask6(r.len), r.len, r.value, i});
    }
    if (const size_t d = sort_and_find_duplicate(spans); d != spans.size())
        throw std::invalid_argument("Table6: duplicate prefix " +
                                    format6(rules[spans[d].input_pos].addr, spans[d].len) +
                                    " (values " + std::to_string(spans[d - 1].value) + " and " +
                                    std::to_string(spans[d].value) + ")");
    rules.clear();
    rules.shrink_to_fit();
    const auto cuts = sweep(spans);
    auto st = std::make_shared<Storage>();
    st->starts.reserve(cuts.size() + detail::kLeafMax - 1);
    st->values.reserve(cuts.size() + detail::kLeafMax - 1);
    for (const auto& [start, value] : cuts) {
        st->starts.push_back(start);
        st->values.push_back(value);
    }
    {
        IndexBuilder<u128> index(st->starts);
        st->nodes = std::move(index.nodes_);
        st->entries = std::move(index.entries_);
        st->nodes.shrink_to_fit();
        st->entries.shrink_to_fit();
    }
    // Leaves at the end of the arrays read past them; copies of the last
    // interval answer for it there.
    st->starts.resize(cuts.size() + detail::kLeafMax - 1, st->starts.back());
    st->values.resize(cuts.size() + detail::kLeafMax - 1, st->values.back());

    starts_ = st->starts.data();
    values_ = st->values.data();
    nodes_ = st->nodes.data();
    entries_ = st->entries.data();
    root_entries_ = entries_ + nodes_[0].entries;
    root_base_ = nodes_[0].base;
    root_shift_ = nodes_[0].shift;
    root_buckets_ = uint32_t{1} << nodes_[0].bits;
    intervals_ = cuts.size();
    rules_ = spans.size();
    bytes_ = sizeof(Storage) + st->starts.capacity() * sizeof(u128) +
             st->values.capacity() * sizeof(uint32_t) +
             st->nodes.capacity() * sizeof(st->nodes[0]) +
             st->entries.capacity() * sizeof(uint32_t);
    storage_ = std::move(st);
}

uint32_t Table6::lookup_slow(u128 key) const noexcept {
    const u128* starts = starts_;
    const uint32_t i =
        lpm_walk(nodes_, entries_, key, [starts, key](uint32_t j) { return starts[j] <= key; });
    return values_[i];
}

}  // namespace triage::classify
