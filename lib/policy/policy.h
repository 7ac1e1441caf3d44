// lib/policy: the operator's configuration (what the console edits) and the
// immutable snapshot compiled from it (what workers read). The control core
// edits a Config, compiles and validates it whole, then publishes the
// Snapshot (publisher.h); a bad change never reaches a worker half-applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "classify.h"
#include "meter.h"
#include "signature.h"
#include "syncookie.h"

namespace triage::policy {

using classify::Prefix;
// List expiry is wall-clock time, so a saved configuration carries absolute
// times and reloading it later does not extend an entry's life.
using Time = std::chrono::sys_seconds;

// A change the configuration refuses; the message is one line for the operator.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class ListKind : uint8_t { allow = 0, deny = 1 };
enum class TransitRule : uint8_t { forward = 0, drop = 1 };

const char* list_name(ListKind k) noexcept;
const char* transit_name(TransitRule t) noexcept;

inline constexpr const char* kDefaultPolicy = "default";
inline constexpr size_t kMaxNameLength = 32;
inline constexpr size_t kMaxPolicies = 256;
inline constexpr size_t kMaxProtected = 4096;
inline constexpr size_t kMaxListEntries = 1000000;  // per list
inline constexpr uint32_t kDefaultHoldDown = 60;     // seconds

// Names of policies and protected prefixes: a letter, then letters, digits,
// '_', '-' or '.', at most kMaxNameLength. Returns an empty string when
// valid, else the reason.
std::string check_name(std::string_view what, std::string_view name);

// --- scrubbing settings ----------------------------------------------------

// SYN authentication: off; on; or auto, which follows the mitigation switch
// of each protected prefix (set by `set protect NAME mitigation on|off`, and
// later by detection).
enum class SynAuth : uint8_t { off = 0, on = 1, auto_ = 2 };
enum class FragmentRule : uint8_t { allow = 0, drop = 1 };
const char* syn_auth_name(SynAuth a) noexcept;
// What detection may do for the prefixes of a policy (docs/detection.md):
// monitor: open and close incidents, change nothing; auto: an incident
// switches the prefix's mitigation on and withdraws it after the hold-down;
// enforce: mitigation always on (incidents are still recorded).
enum class MitigationMode : uint8_t { monitor = 0, auto_ = 1, enforce = 2 };
const char* mitigation_mode_name(MitigationMode m) noexcept;

// Traffic classes the meters key on. The first five are fixed; every UDP
// reflection vector in the reflector table is a class of its own after them.
inline constexpr uint8_t kClassSyn = 0, kClassTcp = 1, kClassUdp = 2, kClassIcmp = 3, kClassFragment = 4;
inline constexpr uint8_t kFirstReflectorClass = 5;
inline constexpr size_t kMaxReflectors = 16;
inline constexpr size_t kMaxClasses = kFirstReflectorClass + kMaxReflectors;
// "reflection" in a limit means: every reflection vector without its own.
inline constexpr const char* kAllReflectors = "reflection";
const char* base_class_name(uint8_t cls) noexcept;  // syn, tcp, udp, icmp, fragment; nullptr otherwise

// A token-bucket rate as the operator writes it. pps or bps 0: that
// dimension is unlimited. burst 0: one second's worth.
struct RateSpec {
    uint64_t pps = 0;
    uint64_t bps = 0;
    uint64_t burst = 0;  // packets; the byte burst covers the same time
    bool operator==(const RateSpec&) const = default;
};
std::string format_rate(const RateSpec& r);
// The smallest byte burst a bit-rate limit gets: the largest frame a worker
// parses whole (a jumbo frame with two VLAN tags fits).
inline constexpr uint64_t kMinByteBurst = 16384;  // "1000 bits 20m burst 200", as the command takes it

struct Limit {
    std::optional<RateSpec> source;       // per source prefix (at the policy's aggregation)
    std::optional<RateSpec> destination;  // all such traffic to one protected host together
    bool operator==(const Limit&) const = default;
};

// An open service under the policy's ACL. TCP/UDP carry a port range;
// other protocols (ICMP = ICMP and ICMPv6) have none.
struct Service {
    uint8_t proto = 0;
    uint16_t lo = 0, hi = 0;
    auto operator<=>(const Service&) const = default;
};
std::string format_service(const Service& s);  // "tcp 80", "udp 5060-5061", "icmp"

// A named set of scrubbing settings; protected prefixes refer to it by name.
// A new policy scrubs nothing until told to: no SYN authentication, no
// limits, fragments allowed, no ACL, no signatures.
struct Policy {
    std::string name;
    SynAuth syn_auth = SynAuth::off;
    uint32_t auth_ttl = 300;     // seconds an authenticated source stays authenticated
    uint8_t aggregate4 = 32;     // source prefix length the meters count per (IPv4)
    uint8_t aggregate6 = 64;     // (IPv6)
    std::map<std::string, Limit> limits;  // by class name (syn, tcp, ..., reflection, or a reflector)
    // Applied on top of `limits` while a protected prefix is under
    // mitigation (configured, detected in auto mode, or enforced): the
    // stricter buckets an attack calls for.
    std::map<std::string, Limit> mitigation_limits;
    FragmentRule fragments = FragmentRule::allow;
    bool acl = false;            // on: only `services` are open, the rest is dropped
    std::set<Service> services;
    bool signatures = false;     // scan payloads against the signature rules
    MitigationMode mitigation = MitigationMode::monitor;
    // Detection floors by class name (syn, tcp, udp, icmp, fragment, a
    // reflector, or "reflection" for every reflector without its own):
    // packets/s a protected host may reach before its learned baseline is
    // even considered. Unset classes use the built-in floors.
    std::map<std::string, uint64_t> detect_floor;
    bool operator==(const Policy&) const = default;
};

struct Protected {
    Prefix prefix;
    std::string name;    // e.g. "ehr-portal"
    std::string policy;  // a Policy name
    bool mitigation = false;  // drives syn-auth auto
    bool operator==(const Protected&) const = default;
};

// An operator payload rule (lib/signature compiles them).
struct SignatureRule {
    uint32_t id = 0;
    uint8_t proto = 0;  // 6 tcp, 17 udp, 0 any
    uint16_t lo = 0, hi = 65535;
    std::string pattern;  // /regex/flags
    bool drop = true;     // else count only
    uint16_t slot = 0;    // stable counter slot while the rule exists
    // The slot is bookkeeping, not configuration: a saved and reloaded rule
    // set is equal even when its slots come out in another order.
    bool operator==(const SignatureRule& o) const {
        return id == o.id && proto == o.proto && lo == o.lo && hi == o.hi && pattern == o.pattern && drop == o.drop;
    }
};
inline constexpr size_t kMaxSignatures = 1024;
inline constexpr uint32_t kDefaultSolicitWindow = 30;  // seconds
// The built-in reflector table: classic UDP amplification sources.
struct ReflectorDefault {
    const char* name;
    uint16_t port;
};
inline constexpr ReflectorDefault kDefaultReflectors[] = {
    {"chargen", 19}, {"dns", 53},   {"ntp", 123}, {"snmp", 161},
    {"cldap", 389},  {"ssdp", 1900}, {"wsd", 3702}, {"memcached", 11211},
};

struct ListEntry {
    Prefix prefix;
    std::optional<Time> expires;
    bool operator==(const ListEntry&) const = default;
};

// The running configuration, edited by console commands. Every mutator
// checks its own change and throws ConfigError, leaving the object as it was.
class Config {
public:
    Config();  // with the built-in "default" policy

    void add_policy(const std::string& name);
    void del_policy(const std::string& name);
    void add_protect(const Prefix& p, const std::string& name, const std::string& policy);
    // By name or by prefix.
    void del_protect(const std::string& name);
    void del_protect(const Prefix& p);
    void add_list(ListKind k, const Prefix& p, std::optional<Time> expires);
    void del_list(ListKind k, const Prefix& p);
    void set_transit(TransitRule t) noexcept { transit_ = t; }

    // Scrubbing settings of a policy (each throws for a missing policy).
    void set_syn_auth(const std::string& policy, SynAuth a);
    void set_auth_ttl(const std::string& policy, uint32_t seconds);
    void set_aggregate(const std::string& policy, int family, unsigned len);
    // nullopt switches that limit off. mitigating: the limit that applies
    // while the prefix is under mitigation (Policy::mitigation_limits).
    void set_limit(const std::string& policy, const std::string& cls, bool destination,
                   std::optional<RateSpec> r, bool mitigating = false);
    void set_fragments(const std::string& policy, FragmentRule f);
    void set_acl(const std::string& policy, bool on);
    void add_service(const std::string& policy, const Service& s);
    void del_service(const std::string& policy, const Service& s);
    void set_signatures(const std::string& policy, bool on);
    void set_mitigation(const std::string& protected_name, bool on);
    void set_mitigation_mode(const std::string& policy, MitigationMode m);
    // pps 0 removes the floor (back to the built-in one).
    void set_detect_floor(const std::string& policy, const std::string& cls, uint64_t pps);
    // Seconds an incident must stay quiet before it closes (and auto
    // mitigation is withdrawn).
    void set_hold_down(uint32_t seconds);
    uint32_t hold_down() const noexcept { return hold_down_; }
    void add_reflector(const std::string& name, uint16_t port);
    void del_reflector(const std::string& name);
    void set_solicit_window(uint32_t seconds);
    // 32 hex digits shared by every box behind one ECMP group, or nullopt
    // for a random per-boot secret.
    void set_cookie_secret(std::optional<std::string> hex);
    void add_signature(SignatureRule r);  // slot is assigned here
    void del_signature(uint32_t id);

    // Drops list entries whose expiry is at or before now; returns one line
    // per entry removed (for the log).
    std::vector<std::string> expire(Time now);
    std::optional<Time> next_expiry() const;

    const std::map<std::string, Policy>& policies() const noexcept { return policies_; }
    const std::map<Prefix, Protected>& protect() const noexcept { return protect_; }
    const std::map<Prefix, ListEntry>& list(ListKind k) const noexcept {
        return k == ListKind::allow ? allow_ : deny_;
    }
    TransitRule transit() const noexcept { return transit_; }
    const std::map<std::string, uint16_t>& reflectors() const noexcept { return reflectors_; }
    uint32_t solicit_window() const noexcept { return solicit_window_; }
    const std::optional<std::string>& cookie_secret() const noexcept { return cookie_secret_; }
    const std::map<uint32_t, SignatureRule>& signatures() const noexcept { return signatures_; }
    const Policy& policy(const std::string& name) const;  // throws ConfigError

    // The configuration as console commands, in an order `-f` can replay:
    // `save config` writes it and `show config` prints it.
    void write_script(std::ostream& os) const;

    bool operator==(const Config&) const = default;

private:
    std::map<std::string, Policy> policies_;
    std::map<Prefix, Protected> protect_;
    std::map<Prefix, ListEntry> allow_, deny_;
    TransitRule transit_ = TransitRule::forward;
    std::map<std::string, uint16_t> reflectors_;
    uint32_t solicit_window_ = kDefaultSolicitWindow;
    std::optional<std::string> cookie_secret_;
    uint32_t hold_down_ = kDefaultHoldDown;
    std::map<uint32_t, SignatureRule> signatures_;

    Policy& policy_mut(const std::string& name);
    // Throws unless cls names a traffic class: a base class, "reflection" or a reflector.
    void check_class(const std::string& cls) const;
};

// "90s", "15m", "2h", "7d" -> seconds (at most 3650 days). False with a reason.
bool parse_duration(std::string_view s, uint64_t& seconds, std::string& err);
std::string format_duration(uint64_t seconds);  // the largest unit that divides it
// A count with an optional SI suffix: "1500", "10k", "2m", "1g" (x1000 steps).
bool parse_si(std::string_view s, uint64_t& v, std::string& err);
// "80" or "8000-8080" (1..65535, lo <= hi); with allow_any also "any" (0-65535).
bool parse_port_range(std::string_view s, uint16_t& lo, uint16_t& hi, bool allow_any, std::string& err);

// "2026-11-22T06:14:00Z" (UTC, seconds).
std::string format_time(Time t);
// Accepts a duration from now ("90s", "15m", "2h", "7d") or an absolute UTC
// time ("2026-11-22T06:14:00Z"). Returns false with a reason on error.
bool parse_expiry(std::string_view s, Time now, Time& out, std::string& err);

// What the lookups return for the source lists: (index << 1) | kind.
inline constexpr uint32_t list_value(ListKind k, uint32_t index) noexcept {
    return index << 1 | static_cast<uint32_t>(k);
}

// Service ACL of one policy, as bitmaps the worker tests in one load.
struct Acl {
    uint64_t tcp[65536 / 64]{};    // open TCP destination ports
    uint64_t udp[65536 / 64]{};    // open UDP destination ports
    uint64_t proto[256 / 64]{};    // open IP protocols other than TCP/UDP (1 also opens ICMPv6)

    static bool bit(const uint64_t* b, unsigned i) noexcept { return (b[i >> 6] >> (i & 63)) & 1; }
};

// What a worker reads of one policy per packet.
struct PolicyRt {
    SynAuth syn_auth = SynAuth::off;
    bool frag_drop = false;
    bool acl = false;
    bool signatures = false;
    uint8_t aggregate4 = 32, aggregate6 = 64;
    uint64_t auth_ttl_cycles = 0;
    uint32_t src_on = 0;  // bit per class: a per-source limit is set
    uint32_t dst_on = 0;  // bit per class: a per-destination limit is set
    // bit per reflection class: solicited responses are told apart (and
    // count as udp), because this policy or its mitigating variant limits it
    uint32_t solicit_on = 0;
    meter::Profile src[kMaxClasses]{};
    meter::Profile dst[kMaxClasses]{};
    std::shared_ptr<const Acl> open;  // set when acl
};

// What the snapshot compiler needs of the box.
struct CompileOptions {
    uint64_t hz = 1000000000;  // worker clock (TSC) frequency: rates and TTLs are compiled for it
    unsigned workers = 1;      // signature scratch spaces to allocate
    // Protected prefixes (by name) that detection has put under mitigation:
    // a runtime overlay on the configuration, never saved with it.
    const std::set<std::string>* mitigated = nullptr;
};

// Immutable: compiled from a Config, read by every worker at once.
struct Snapshot {
    struct ProtectedRt {
        Prefix prefix;
        std::string name;
        uint32_t policy = 0;  // index into policies: the policy's mitigating variant while mitigated
        bool mitigation = false;  // effective: configured, detected (auto) or enforced
        bool syn_auth = false;  // effective: policy on, or auto with mitigation on
        uint32_t config_policy = 0;  // index into policy_names (the configured policy)
    };


    uint64_t version = 0;
    classify::Table4 dst4;  // protected prefixes -> index into protect
    classify::Table6 dst6;
    classify::Table4 src4;  // allow/deny lists -> list_value()
    classify::Table6 src6;
    std::vector<ProtectedRt> protect;
    std::vector<std::string> policy_names;
    TransitRule transit = TransitRule::forward;
    size_t allow_entries = 0, deny_entries = 0;

    // Scrubbing.
    std::vector<PolicyRt> policies;        // by policy index, then the mitigating variants
    // Per configured policy: the index of its mitigating variant in
    // `policies` (the policy itself when it has no mitigation limits).
    std::vector<uint32_t> mitigating_policy;
    std::vector<std::string> class_names;  // by class; empty = unused
    // UDP source port -> reflection class (0: not a reflector port).
    std::shared_ptr<const std::array<uint8_t, 65536>> reflector_class;
    uint64_t hz = 0;
    uint64_t solicit_cycles = 0;  // how long an outbound request makes responses solicited
    uint64_t max_auth_ttl_cycles = 0;  // for sources learned from outbound traffic
    // Some policy authenticates sources, limits reflection or runs an ACL:
    // outbound traffic from protected hosts teaches the worker's tables.
    bool learn_outbound = false;
    // Set by the control core after compile() and on every key rotation.
    syncookie::Secrets cookies{};
    bool cookie_shared = false;
    std::shared_ptr<const signature::Database> signatures;  // null: no rules
};

// Builds and validates the whole snapshot; throws ConfigError.
std::unique_ptr<Snapshot> compile(const Config& c, uint64_t version, const CompileOptions& o = {});

// The scrubbing part of compile(): policies, classes, reflectors, signatures.
void compile_scrubbing(const Config& c, const CompileOptions& o, Snapshot& s);

// Validates one signature rule on its own (pattern syntax and Hyperscan
// compile); returns an empty string when good, else the error line.
std::string check_signature(const SignatureRule& r);

}  // namespace triage::policy
