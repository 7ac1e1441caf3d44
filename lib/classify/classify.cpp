// Prefix parsing and the build side of the longest-prefix-match tables. The
// lookups are inline in classify.h.
#include "classify.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace triage::classify {

namespace {

__extension__ using u128 = unsigned __int128;

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

// Below this many intervals the whole array is a handful of cache lines and a
// plain binary search over it beats (or ties) an index; see
// docs/PERFORMANCE.md for the measurement.
constexpr uint32_t kSearchAllMax = 8;
// The index has about 2-4 buckets per interval, so most buckets hold one or
// two interval starts, but never more than 2^16 buckets (256 KiB): beyond
// that the index itself stops fitting in L2 next to the intervals.
constexpr int kMinIndexBits = 4;
constexpr int kMaxIndexBits = 16;

struct IndexPlan {
    std::vector<uint32_t> index;  // empty: no index
    uint64_t base = 0;
    uint8_t shift = 0;
};

// Indexes the top `width` bits (32 for IPv4, the high 64 for IPv6) of the
// region all interval starts but the first share: common_bits is the length of
// their common prefix, top(i) the top word of start i, and le(i, w) whether
// start i <= the address whose top word is w and whose other bits are zero.
template <class Top, class Le>
IndexPlan plan_index(uint32_t intervals, int width, int common_bits, Top top, Le le) {
    IndexPlan plan;
    if (intervals <= kSearchAllMax) return plan;
    const int bits = std::clamp(static_cast<int>(std::bit_width(intervals)) + 1, kMinIndexBits,
                                kMaxIndexBits);
    const int common = std::min(common_bits, width - bits);
    plan.shift = static_cast<uint8_t>(width - common - bits);
    const uint64_t region_mask =
        common == 0 ? 0 : ~uint64_t{0} << (64 - common) >> (64 - width);
    plan.base = top(1) & region_mask;
    const uint32_t buckets = uint32_t{1} << bits;
    plan.index.resize(size_t{buckets} + 1);
    const uint32_t last = intervals - 1;
    uint32_t i = 0;
    for (uint32_t k = 0; k < buckets; ++k) {
        const uint64_t w = plan.base + (uint64_t{k} << plan.shift);
        while (i < last && le(i + 1, w)) ++i;
        plan.index[k] = i;
    }
    // The region may end at the top of the space; every start is inside it,
    // so the interval holding its end is the last one.
    plan.index[buckets] = last;
    return plan;
}

template <class Rule>
void check_count(const std::vector<Rule>& rules, const char* table) {
    // Intervals (at most 2 per rule + 1) are indexed with uint32_t.
    if (rules.size() > (size_t{1} << 30))
        throw std::invalid_argument(std::string(table) + ": " + std::to_string(rules.size()) +
                                    " rules are more than 2^30");
}

}  // namespace

// ---- Prefix ---------------------------------------------------------------

// Addresses go through inet_pton, so IPv4 is strictly four decimal octets:
// no leading zeros ("010.1.1.1" is refused, as glibc does, since some tools
// read it as octal), no shorthand ("10.1"), no whitespace. The length is
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
    std::vector<uint64_t> keys;
    std::vector<uint32_t> index;
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
        throw std::invalid_argument("Table4: duplicate prefix " +
                                    format4(spans[d].first, spans[d].len) + " (values " +
                                    std::to_string(spans[d - 1].value) + " and " +
                                    std::to_string(spans[d].value) + ")");
    const auto cuts = sweep(spans);
    auto st = std::make_shared<Storage>();
    st->keys.reserve(cuts.size());
    for (const auto& [start, value] : cuts) st->keys.push_back(uint64_t{start} << 32 | value);

    const auto n = static_cast<uint32_t>(st->keys.size());
    const auto start = [&st](uint32_t i) { return st->keys[i] >> 32; };
    const int common =
        n > 1 ? std::countl_zero(static_cast<uint32_t>(start(1) ^ start(n - 1))) : 32;
    IndexPlan plan =
        plan_index(n, 32, common, start, [&](uint32_t i, uint64_t w) { return start(i) <= w; });
    st->index = std::move(plan.index);

    keys_ = st->keys.data();
    index_ = st->index.empty() ? nullptr : st->index.data();
    last_ = n - 1;
    buckets_ = st->index.empty() ? 0 : static_cast<uint32_t>(st->index.size() - 1);
    base_ = static_cast<uint32_t>(plan.base);
    shift_ = plan.shift;
    rules_ = spans.size();
    bytes_ = sizeof(Storage) + st->keys.capacity() * sizeof(uint64_t) +
             st->index.capacity() * sizeof(uint32_t);
    storage_ = std::move(st);
}

// ---- Table6 ---------------------------------------------------------------

struct Table6::Storage {
    std::vector<detail::Start6> starts;
    std::vector<uint32_t> values;
    std::vector<uint32_t> index;
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
                                        " has host bits set (did you mean " +
                                        format6(net, r.len) + "?)");
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
    st->starts.reserve(cuts.size());
    st->values.reserve(cuts.size());
    for (const auto& [start, value] : cuts) {
        st->starts.push_back({static_cast<uint64_t>(start >> 64), static_cast<uint64_t>(start)});
        st->values.push_back(value);
    }

    const auto n = static_cast<uint32_t>(st->starts.size());
    int common = 128;
    if (n > 1) {
        const detail::Start6& a = st->starts[1];
        const detail::Start6& b = st->starts[n - 1];
        common = a.hi != b.hi ? std::countl_zero(a.hi ^ b.hi)
                              : (a.lo != b.lo ? 64 + std::countl_zero(a.lo ^ b.lo) : 128);
    }
    IndexPlan plan = plan_index(
        n, 64, common, [&st](uint32_t i) { return st->starts[i].hi; },
        [&st](uint32_t i, uint64_t w) {
            const detail::Start6& s = st->starts[i];
            return s.hi < w || (s.hi == w && s.lo == 0);
        });
    st->index = std::move(plan.index);

    starts_ = st->starts.data();
    values_ = st->values.data();
    index_ = st->index.empty() ? nullptr : st->index.data();
    last_ = n - 1;
    buckets_ = st->index.empty() ? 0 : static_cast<uint32_t>(st->index.size() - 1);
    base_ = plan.base;
    shift_ = plan.shift;
    rules_ = spans.size();
    bytes_ = sizeof(Storage) + st->starts.capacity() * sizeof(detail::Start6) +
             st->values.capacity() * sizeof(uint32_t) + st->index.capacity() * sizeof(uint32_t);
    storage_ = std::move(st);
}

}  // namespace triage::classify
