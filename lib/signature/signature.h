// lib/signature: operator payload rules ("signatures") for the scrubbing
// pipeline. The control core compiles a policy's rules into one Hyperscan
// block-mode database, which is published with the immutable policy snapshot;
// each worker scans L4 payloads against it with a scratch of its own. Opt-in
// per policy: a policy without rules costs its workers nothing.
//
// Payloads are never stored or logged here: a scan yields rule indices and
// counts, never bytes. EAL-free, so unit tests and the sanitizer build need
// no DPDK.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Hyperscan's opaque handles (hs_common.h / hs_runtime.h declare the same
// structs), so the workers' translation units need not include <hs.h>.
struct hs_database;
struct hs_scratch;

namespace triage::signature {

// Rules per database, and the range of Rule::slot.
inline constexpr size_t kMaxRules = 1024;

enum class Action : uint8_t { drop, count };

inline constexpr uint8_t kProtoAny = 0;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

struct Rule {
    uint32_t id = 0;            // the operator's rule number, used in messages
    uint8_t proto = kProtoAny;  // IP protocol: 6 tcp, 17 udp, 0 any (others allowed, see below)
    // Destination port range, inclusive; 0-65535 means any. A narrower range
    // needs proto tcp, udp or any, and then only ever applies to TCP and UDP
    // packets (a packet without ports is in no range).
    uint16_t port_lo = 0;
    uint16_t port_hi = 65535;
    std::string pattern;  // "/regex/flags", see parse_pattern()
    Action action = Action::count;
    // Counter slot chosen by the configuration so a rule keeps its counter
    // across recompiles (its index here does not); < kMaxRules, unique.
    uint16_t slot = 0;

    bool operator==(const Rule&) const = default;
};

// Refused rules; the message is one line for the operator and names the rule:
// "signature 7: Hyperscan: Missing close parenthesis for group started at
// index 3."
class SignatureError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses an operator pattern "/regex/flags" into the Hyperscan expression and
// its flags (HS_FLAG_CASELESS for i, HS_FLAG_DOTALL for s, HS_FLAG_MULTILINE
// for m). The regex runs to the last '/', so it may itself contain '/'. It
// may not contain whitespace, because console tokens are split on spaces:
// operators write \x20 or \s. On failure returns false and sets err to one
// line ("pattern must look like /regex/flags", "unknown flag 'x'", "empty
// regex", "contains a space: write \x20 or \s", ...). Whether the regex
// itself is valid only Hyperscan can tell, in Database::compile().
bool parse_pattern(std::string_view text, std::string& expr, unsigned& hs_flags, std::string& err);

// Per-worker match counters, one per Rule::slot: each worker owns one and
// passes it to every scan(); the control core sums them over workers. Written
// by one worker only, so (as in telemetry/counters.h) relaxed atomics that
// compile to plain moves on x86 (no lock prefix) keep the concurrent read
// well-defined at no cost. Slots outlive recompiles, so a rule's counter
// survives a policy change.
struct alignas(64) Hits {
    std::array<std::atomic<uint64_t>, kMaxRules> n{};

    void add(uint16_t slot) noexcept {
        n[slot].store(n[slot].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    uint64_t get(size_t slot) const noexcept { return n[slot].load(std::memory_order_relaxed); }
};

class Database;

// What one scan found.
struct Result {
    // Index into Database::rules() of the drop rule that stopped the scan,
    // else -1. Hyperscan reports matches in the order their ends occur in the
    // payload, so with several drop rules this is the one whose match ended
    // first, not the lowest index.
    int drop = -1;
    // Rules that matched and apply to the packet (count and drop rules), each
    // at most once per packet. Rules that would have matched after the
    // stopping drop rule are neither counted here nor in Hits.
    uint32_t matched = 0;
    // hs_scan() failed (only a wiring bug can cause it, e.g. one worker index
    // used by two threads at once, or a worker index >= the database's); the
    // payload was not (fully) scanned and the packet should pass.
    bool error = false;
};

namespace detail {

// What the match callback needs of a rule, 8 bytes so the array stays small.
struct RuleMeta {
    uint16_t port_lo;
    uint16_t port_hi;
    uint16_t slot;
    uint8_t proto;
    uint8_t drop;  // Action::drop
};

// The Hyperscan half of scan(), out of line (signature.cpp).
Result scan_hs(const Database& db, unsigned worker, uint8_t proto, uint16_t dport,
               const uint8_t* payload, size_t len, Hits* hits) noexcept;
}  // namespace detail

// The compiled rules and one Hyperscan scratch per worker; immutable after
// compile() and shared with the policy snapshot as shared_ptr<const Database>.
// The scratches are the one mutable part, each touched only by its worker.
class Database {
public:
    // Compiles rules in a single hs_compile_multi() call (HS_MODE_BLOCK,
    // HS_FLAG_SINGLEMATCH plus each pattern's flags; Hyperscan ids are rule
    // indices) and allocates nworkers scratches (hs_alloc_scratch once, then
    // hs_clone_scratch), so that workers never allocate. Control core only:
    // compiling takes milliseconds to seconds. Throws SignatureError naming
    // the rule for a bad pattern, a bad port range, a slot >= kMaxRules, a
    // duplicate id or slot, or more than kMaxRules rules. No rules gives a
    // database that matches nothing and holds no Hyperscan objects.
    static std::shared_ptr<const Database> compile(const std::vector<Rule>& rules,
                                                   unsigned nworkers);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    const std::vector<Rule>& rules() const noexcept { return rules_; }
    size_t size() const noexcept { return rules_.size(); }
    // Scratches allocated: nworkers, or 0 for no rules (nothing is scanned).
    unsigned workers() const noexcept { return static_cast<unsigned>(scratch_.size()); }
    // Hyperscan's memory: hs_database_size() + hs_scratch_size() x workers
    // (0 for no rules).
    size_t memory_bytes() const noexcept { return memory_bytes_; }

    // Whether any rule can apply to a packet of (proto, dport); false means
    // scan() returns without calling Hyperscan. One bit test.
    bool may_apply(uint8_t proto, uint16_t dport) const noexcept {
        if (proto == kProtoTcp) return test(tcp_ports_, dport);
        if (proto == kProtoUdp) return test(udp_ports_, dport);
        return test(other_protos_, proto);
    }

private:
    Database() = default;
    template <size_t N>
    static bool test(const std::array<uint64_t, N>& bits, unsigned i) noexcept {
        return (bits[i >> 6] >> (i & 63)) & 1;
    }
    friend Result detail::scan_hs(const Database&, unsigned, uint8_t, uint16_t, const uint8_t*,
                                  size_t, Hits*) noexcept;

    std::vector<Rule> rules_;
    std::vector<detail::RuleMeta> meta_;  // by rule index
    hs_database* db_ = nullptr;           // null when there are no rules
    std::vector<hs_scratch*> scratch_;    // by worker; empty when db_ is null
    size_t memory_bytes_ = 0;
    // Prefilter, built at compile time: bit p set when some rule applies to
    // TCP (UDP) packets to destination port p; other_protos_ bit q set when
    // some rule applies to IP protocol q packets (other than TCP and UDP).
    std::array<uint64_t, 65536 / 64> tcp_ports_{};
    std::array<uint64_t, 65536 / 64> udp_ports_{};
    std::array<uint64_t, 256 / 64> other_protos_{};
};

// The hot path, once per packet with a payload: scans payload against db with
// worker's scratch (0 <= worker < the compile's nworkers; a worker index must
// never be used by two threads at once). Rules whose protocol or port range
// do not apply to (proto, dport) are ignored, but Hyperscan still evaluates
// their regexes as part of the one combined scan; only when no rule at all
// applies (Database::may_apply(), one bit test) is the scan skipped, which
// is why this part is inline. Stops at the first applicable drop rule.
// Counts hits->add(slot) for every applicable rule that matched (hits may
// be null). No allocation, exceptions or logging; an empty payload or an
// empty database returns at once. Payloads over 4 GiB are scanned in their
// first 4 GiB only (Hyperscan takes an unsigned length; no packet comes near).
[[gnu::always_inline]] inline Result scan(const Database& db, unsigned worker, uint8_t proto,
                                          uint16_t dport, const uint8_t* payload, size_t len,
                                          Hits* hits = nullptr) noexcept {
    if (len == 0 || !db.may_apply(proto, dport)) return {};
    return detail::scan_hs(db, worker, proto, dport, payload, len, hits);
}

}  // namespace triage::signature
