#include "signature.h"

#include <hs.h>

#include <algorithm>
#include <climits>
#include <string>
#include <unordered_set>

namespace triage::signature {

namespace {

// Console tokens are split on spaces; any other whitespace in a pattern is
// just as surely a typing or pasting accident.
bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string rule_prefix(const Rule& r) {
    return "signature " + std::to_string(r.id) + ": ";
}

[[noreturn]] void fail(const Rule& r, const std::string& what) {
    throw SignatureError(rule_prefix(r) + what);
}

bool any_port(uint16_t lo, uint16_t hi) noexcept {
    return lo == 0 && hi == 65535;
}

// Sets bits lo..hi (inclusive) a word at a time: 1,024 rules with wide port
// ranges would otherwise cost 64M single-bit stores per compile.
void set_range(std::array<uint64_t, 65536 / 64>& bits, unsigned lo, unsigned hi) noexcept {
    while (lo <= hi) {
        const unsigned word = lo >> 6, first = lo & 63;
        const unsigned last = (word == hi >> 6) ? (hi & 63) : 63;
        const uint64_t upto = last == 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
        bits[word] |= upto & (~uint64_t{0} << first);
        lo = (word + 1) << 6;
    }
}

void set_bit(std::array<uint64_t, 4>& bits, unsigned i) noexcept {
    bits[i >> 6] |= uint64_t{1} << (i & 63);
}

// Whether rule m applies to a packet of (proto, dport): see Rule.
[[gnu::always_inline]] inline bool applies(const detail::RuleMeta& m, uint8_t proto,
                                           uint16_t dport) noexcept {
    if (m.proto != kProtoAny && m.proto != proto) return false;
    if (any_port(m.port_lo, m.port_hi)) return true;
    return (proto == kProtoTcp || proto == kProtoUdp) && dport >= m.port_lo && dport <= m.port_hi;
}

struct ScanContext {
    const detail::RuleMeta* meta;
    Hits* hits;
    uint8_t proto;
    uint16_t dport;
    Result result;
};

// Hyperscan's match callback. With HS_FLAG_SINGLEMATCH each rule reports at
// most once per scan, so counting here counts rules, not occurrences.
// Returning nonzero stops the scan (hs_scan returns HS_SCAN_TERMINATED).
int on_match(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/,
             unsigned int /*flags*/, void* context) {
    auto& c = *static_cast<ScanContext*>(context);
    const detail::RuleMeta& m = c.meta[id];
    if (!applies(m, c.proto, c.dport)) return 0;
    ++c.result.matched;
    if (c.hits) c.hits->add(m.slot);
    if (m.drop) {
        c.result.drop = static_cast<int>(id);
        return 1;  // the packet is dropped: the remaining rules cannot change that
    }
    return 0;
}

}  // namespace

bool parse_pattern(std::string_view text, std::string& expr, unsigned& hs_flags, std::string& err) {
    // Whitespace first: "/GET /x/" would otherwise be misread as regex "GET "
    // with flag "x".
    if (std::any_of(text.begin(), text.end(), is_space)) {
        err = "contains a space: write \\x20 or \\s";
        return false;
    }
    const size_t close = text.rfind('/');
    if (text.size() < 2 || text.front() != '/' || close == 0) {
        err = "pattern must look like /regex/flags";
        return false;
    }
    const std::string_view regex = text.substr(1, close - 1);
    const std::string_view flags = text.substr(close + 1);
    if (regex.empty()) {
        err = "empty regex";
        return false;
    }
    // Hyperscan takes NUL-terminated expressions; a raw NUL would silently
    // cut the regex short.
    if (regex.find('\0') != std::string_view::npos) {
        err = "contains a NUL byte: write \\x00";
        return false;
    }
    unsigned f = 0;
    for (const char c : flags) {
        unsigned bit = 0;
        switch (c) {
            case 'i':
                bit = HS_FLAG_CASELESS;
                break;
            case 's':
                bit = HS_FLAG_DOTALL;
                break;
            case 'm':
                bit = HS_FLAG_MULTILINE;
                break;
            default:
                err = std::string("unknown flag '") + c + "'";
                return false;
        }
        if (f & bit) {
            err = std::string("repeated flag '") + c + "'";
            return false;
        }
        f |= bit;
    }
    expr.assign(regex);
    hs_flags = f;
    return true;
}

std::shared_ptr<const Database> Database::compile(const std::vector<Rule>& rules,
                                                  unsigned nworkers) {
    if (rules.size() > kMaxRules)
        throw SignatureError("signatures: " + std::to_string(rules.size()) + " rules, at most " +
                             std::to_string(kMaxRules));

    // Owned by the shared_ptr from here on, so a throw below frees whatever
    // Hyperscan objects were made (~Database).
    std::shared_ptr<Database> d(new Database());
    d->rules_ = rules;
    d->meta_.reserve(rules.size());

    std::vector<std::string> exprs(rules.size());
    std::vector<unsigned> flags(rules.size());
    std::vector<unsigned> ids(rules.size());
    std::unordered_set<uint32_t> seen_ids;
    std::unordered_set<uint16_t> seen_slots;
    for (size_t i = 0; i < rules.size(); ++i) {
        const Rule& r = rules[i];
        if (!seen_ids.insert(r.id).second) fail(r, "duplicate signature id");
        if (r.slot >= kMaxRules)
            fail(r, "counter slot " + std::to_string(r.slot) + " out of range (< " +
                        std::to_string(kMaxRules) + ")");
        // Two rules on one slot would silently merge their counters.
        if (!seen_slots.insert(r.slot).second)
            fail(r, "counter slot " + std::to_string(r.slot) + " already used");
        if (r.port_lo > r.port_hi)
            fail(r, "port range " + std::to_string(r.port_lo) + "-" + std::to_string(r.port_hi) +
                        " is empty");
        const bool ports = !any_port(r.port_lo, r.port_hi);
        if (ports && r.proto != kProtoAny && r.proto != kProtoTcp && r.proto != kProtoUdp)
            fail(r, "a port range needs protocol tcp or udp");
        std::string err;
        if (!parse_pattern(r.pattern, exprs[i], flags[i], err)) fail(r, err);
        flags[i] |= HS_FLAG_SINGLEMATCH;
        ids[i] = static_cast<unsigned>(i);

        d->meta_.push_back({r.port_lo, r.port_hi, r.slot, r.proto,
                            static_cast<uint8_t>(r.action == Action::drop)});
        if (r.proto == kProtoAny || r.proto == kProtoTcp)
            set_range(d->tcp_ports_, r.port_lo, r.port_hi);
        if (r.proto == kProtoAny || r.proto == kProtoUdp)
            set_range(d->udp_ports_, r.port_lo, r.port_hi);
        // Packets of other protocols have no ports: only any-port rules reach
        // them (tcp_ports_/udp_ports_ answer for 6 and 17, so their bits here
        // are never read).
        if (!ports) {
            if (r.proto == kProtoAny)
                d->other_protos_.fill(~uint64_t{0});
            else
                set_bit(d->other_protos_, r.proto);
        }
    }
    if (rules.empty()) return d;  // matches nothing; may_apply() is always false

    std::vector<const char*> cexprs(exprs.size());
    for (size_t i = 0; i < exprs.size(); ++i) cexprs[i] = exprs[i].c_str();
    hs_compile_error_t* cerr = nullptr;
    const hs_error_t rc = hs_compile_multi(cexprs.data(), flags.data(), ids.data(),
                                           static_cast<unsigned>(rules.size()), HS_MODE_BLOCK,
                                           nullptr, &d->db_, &cerr);
    if (rc != HS_SUCCESS) {
        std::string msg;
        if (cerr) {
            const std::string hs_msg = cerr->message ? cerr->message : "(no message)";
            // expression is the index into our arrays, i.e. the rule index;
            // < 0 when the failure is not down to one expression (e.g. the
            // rule set as a whole is too large).
            if (cerr->expression >= 0 && static_cast<size_t>(cerr->expression) < rules.size())
                msg = rule_prefix(rules[static_cast<size_t>(cerr->expression)]) +
                      "Hyperscan: " + hs_msg;
            else
                msg = "signatures: Hyperscan (not down to one rule): " + hs_msg;
            hs_free_compile_error(cerr);
        } else {
            msg = "signatures: Hyperscan compile failed (error " + std::to_string(rc) + ")";
        }
        d->db_ = nullptr;
        throw SignatureError(msg);
    }

    size_t bytes = 0;
    if (hs_database_size(d->db_, &bytes) != HS_SUCCESS) bytes = 0;
    d->memory_bytes_ = bytes;
    // One scratch sized for this database, cloned per worker: Hyperscan
    // scratch is single-threaded, and allocating here keeps malloc off the
    // workers. Scratches die with the database, so a worker still holding an
    // older snapshot keeps scratch that fits the older database.
    d->scratch_.reserve(nworkers);
    for (unsigned w = 0; w < nworkers; ++w) {
        hs_scratch_t* s = nullptr;
        const hs_error_t e =
            w == 0 ? hs_alloc_scratch(d->db_, &s) : hs_clone_scratch(d->scratch_[0], &s);
        if (e != HS_SUCCESS)
            throw SignatureError("signatures: Hyperscan could not allocate scratch for worker " +
                                 std::to_string(w) + " (error " + std::to_string(e) + ")");
        d->scratch_.push_back(s);
        size_t sz = 0;
        if (hs_scratch_size(s, &sz) == HS_SUCCESS) d->memory_bytes_ += sz;
    }
    return d;
}

Database::~Database() {
    for (hs_scratch* s : scratch_) hs_free_scratch(s);
    if (db_) hs_free_database(db_);
}

Result detail::scan_hs(const Database& db, unsigned worker, uint8_t proto, uint16_t dport,
                       const uint8_t* payload, size_t len, Hits* hits) noexcept {
    // A worker index the database has no scratch for is a wiring bug; the
    // packet passes unscanned (Result::error) rather than the worker crashing.
    if (worker >= db.scratch_.size()) [[unlikely]] {
        Result r;
        r.error = true;
        return r;
    }
    ScanContext c{db.meta_.data(), hits, proto, dport, {}};
    const auto n = static_cast<unsigned>(std::min<size_t>(len, UINT_MAX));
    const hs_error_t e = hs_scan(db.db_, reinterpret_cast<const char*>(payload), n, 0,
                                 db.scratch_[worker], on_match, &c);
    if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) [[unlikely]]
        c.result.error = true;
    return c.result;
}

}  // namespace triage::signature
