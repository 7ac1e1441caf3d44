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
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "classify.h"

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

// Names of policies and protected prefixes: a letter, then letters, digits,
// '_', '-' or '.', at most kMaxNameLength. Returns an empty string when
// valid, else the reason.
std::string check_name(std::string_view what, std::string_view name);

// A named set of scrubbing settings; protected prefixes refer to it by name.
// (The settings themselves arrive with the scrubbing features.)
struct Policy {
    std::string name;
    bool operator==(const Policy&) const = default;
};

struct Protected {
    Prefix prefix;
    std::string name;    // e.g. "ehr-portal"
    std::string policy;  // a Policy name
    bool operator==(const Protected&) const = default;
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

    // The configuration as console commands, in an order `-f` can replay:
    // `save config` writes it and `show config` prints it.
    void write_script(std::ostream& os) const;

    bool operator==(const Config&) const = default;

private:
    std::map<std::string, Policy> policies_;
    std::map<Prefix, Protected> protect_;
    std::map<Prefix, ListEntry> allow_, deny_;
    TransitRule transit_ = TransitRule::forward;
};

// "2026-11-22T06:14:00Z" (UTC, seconds).
std::string format_time(Time t);
// Accepts a duration from now ("90s", "15m", "2h", "7d") or an absolute UTC
// time ("2026-11-22T06:14:00Z"). Returns false with a reason on error.
bool parse_expiry(std::string_view s, Time now, Time& out, std::string& err);

// What the lookups return for the source lists: (index << 1) | kind.
inline constexpr uint32_t list_value(ListKind k, uint32_t index) noexcept {
    return index << 1 | static_cast<uint32_t>(k);
}

// Immutable: compiled from a Config, read by every worker at once.
struct Snapshot {
    struct ProtectedRt {
        Prefix prefix;
        std::string name;
        uint32_t policy = 0;  // index into policy_names
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
};

// Builds and validates the whole snapshot; throws ConfigError.
std::unique_ptr<const Snapshot> compile(const Config& c, uint64_t version);

}  // namespace triage::policy
