#include "policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <ostream>

namespace triage::policy {

namespace {

using classify::to_string;

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

const char* list_name(ListKind k) noexcept { return k == ListKind::allow ? "allow" : "deny"; }
const char* transit_name(TransitRule t) noexcept { return t == TransitRule::forward ? "forward" : "drop"; }

std::string check_name(std::string_view what, std::string_view name) {
    if (name.empty()) return std::string(what) + " name is empty";
    if (name.size() > kMaxNameLength)
        return std::string(what) + " name " + quote(name) + " is longer than " +
               std::to_string(kMaxNameLength) + " characters";
    if (!std::isalpha(static_cast<unsigned char>(name[0])))
        return std::string(what) + " name " + quote(name) + " must start with a letter";
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if (!std::isalnum(c) && c != '_' && c != '-' && c != '.')
            return std::string(what) + " name " + quote(name) + " may hold only letters, digits, '_', '-' and '.'";
    }
    return {};
}

Config::Config() {
    Policy def;
    def.name = kDefaultPolicy;
    policies_.emplace(kDefaultPolicy, std::move(def));
    for (const auto& r : kDefaultReflectors) reflectors_.emplace(r.name, r.port);
}

void Config::add_policy(const std::string& name) {
    if (auto e = check_name("policy", name); !e.empty()) throw ConfigError(e);
    if (policies_.count(name)) throw ConfigError("policy " + quote(name) + " already exists");
    if (policies_.size() >= kMaxPolicies)
        throw ConfigError("too many policies (at most " + std::to_string(kMaxPolicies) + ")");
    Policy p;
    p.name = name;
    policies_.emplace(name, std::move(p));
}

void Config::del_policy(const std::string& name) {
    if (name == kDefaultPolicy) throw ConfigError("the built-in policy 'default' cannot be deleted");
    if (!policies_.count(name)) throw ConfigError("no policy " + quote(name));
    for (const auto& [p, e] : protect_)
        if (e.policy == name)
            throw ConfigError("policy " + quote(name) + " is used by protected prefix " + quote(e.name) +
                              " (" + to_string(p) + ")");
    policies_.erase(name);
}

void Config::add_protect(const Prefix& p, const std::string& name, const std::string& policy) {
    if (auto e = check_name("protected prefix", name); !e.empty()) throw ConfigError(e);
    if (!policies_.count(policy)) throw ConfigError("no policy " + quote(policy) + " (add it with 'add policy " + policy + "')");
    if (auto it = protect_.find(p); it != protect_.end())
        throw ConfigError(to_string(p) + " is already protected as " + quote(it->second.name));
    for (const auto& [q, e] : protect_)
        if (e.name == name)
            throw ConfigError("protected prefix name " + quote(name) + " is already used by " + to_string(q));
    if (protect_.size() >= kMaxProtected)
        throw ConfigError("too many protected prefixes (at most " + std::to_string(kMaxProtected) + ")");
    protect_.emplace(p, Protected{p, name, policy});
}

void Config::del_protect(const std::string& name) {
    for (auto it = protect_.begin(); it != protect_.end(); ++it)
        if (it->second.name == name) {
            protect_.erase(it);
            return;
        }
    throw ConfigError("no protected prefix named " + quote(name));
}

void Config::del_protect(const Prefix& p) {
    if (!protect_.erase(p)) throw ConfigError(to_string(p) + " is not protected");
}

void Config::add_list(ListKind k, const Prefix& p, std::optional<Time> expires) {
    auto& mine = k == ListKind::allow ? allow_ : deny_;
    const auto& other = k == ListKind::allow ? deny_ : allow_;
    const ListKind ok = k == ListKind::allow ? ListKind::deny : ListKind::allow;
    if (other.count(p))
        throw ConfigError(to_string(p) + " is on the " + list_name(ok) + " list; delete it there first");
    if (auto it = mine.find(p); it != mine.end()) {
        // Re-adding updates the expiry: the natural way to extend a block.
        it->second.expires = expires;
        return;
    }
    if (mine.size() >= kMaxListEntries)
        throw ConfigError(std::string("the ") + list_name(k) + " list is full (" +
                          std::to_string(kMaxListEntries) + " entries)");
    mine.emplace(p, ListEntry{p, expires});
}

void Config::del_list(ListKind k, const Prefix& p) {
    auto& mine = k == ListKind::allow ? allow_ : deny_;
    if (!mine.erase(p)) throw ConfigError(to_string(p) + " is not on the " + list_name(k) + " list");
}

std::vector<std::string> Config::expire(Time now) {
    std::vector<std::string> gone;
    for (ListKind k : {ListKind::allow, ListKind::deny}) {
        auto& mine = k == ListKind::allow ? allow_ : deny_;
        for (auto it = mine.begin(); it != mine.end();) {
            if (it->second.expires && *it->second.expires <= now) {
                gone.push_back(std::string(list_name(k)) + " " + to_string(it->first) + " expired at " +
                               format_time(*it->second.expires));
                it = mine.erase(it);
            } else {
                ++it;
            }
        }
    }
    return gone;
}

std::optional<Time> Config::next_expiry() const {
    std::optional<Time> next;
    for (const auto* l : {&allow_, &deny_})
        for (const auto& [p, e] : *l)
            if (e.expires && (!next || *e.expires < *next)) next = e.expires;
    return next;
}

void Config::write_script(std::ostream& os) const {
    // Reflector table first: policy limits may name its vectors.
    std::map<std::string, uint16_t> defaults;
    for (const auto& r : kDefaultReflectors) defaults.emplace(r.name, r.port);
    for (const auto& [n, port] : defaults)
        if (!reflectors_.count(n) || reflectors_.at(n) != port) os << "del reflector " << n << "\n";
    for (const auto& [n, port] : reflectors_)
        if (!defaults.count(n) || defaults.at(n) != port) os << "add reflector " << n << " " << port << "\n";
    if (solicit_window_ != kDefaultSolicitWindow)
        os << "set reflection window " << format_duration(solicit_window_) << "\n";
    const Policy fresh;
    for (const auto& [name, pol] : policies_) {
        if (name != kDefaultPolicy) os << "add policy " << name << "\n";
        const std::string sp = "set policy " + name + " ";
        if (pol.syn_auth != fresh.syn_auth) os << sp << "syn-auth " << syn_auth_name(pol.syn_auth) << "\n";
        if (pol.auth_ttl != fresh.auth_ttl) os << sp << "auth-ttl " << format_duration(pol.auth_ttl) << "\n";
        if (pol.aggregate4 != fresh.aggregate4) os << sp << "aggregate ipv4 " << unsigned{pol.aggregate4} << "\n";
        if (pol.aggregate6 != fresh.aggregate6) os << sp << "aggregate ipv6 " << unsigned{pol.aggregate6} << "\n";
        for (const auto& [cls, l] : pol.limits) {
            if (l.source) os << sp << "limit " << cls << " source " << format_rate(*l.source) << "\n";
            if (l.destination) os << sp << "limit " << cls << " destination " << format_rate(*l.destination) << "\n";
        }
        for (const auto& [cls, l] : pol.mitigation_limits) {
            if (l.source) os << sp << "limit " << cls << " source " << format_rate(*l.source) << " mitigating\n";
            if (l.destination)
                os << sp << "limit " << cls << " destination " << format_rate(*l.destination) << " mitigating\n";
        }
        if (pol.fragments != fresh.fragments) os << sp << "fragments drop\n";
        for (const Service& sv : pol.services) os << "add service " << name << " " << format_service(sv) << "\n";
        if (pol.acl) os << sp << "acl on\n";
        if (pol.signatures) os << sp << "signatures on\n";
        if (pol.mitigation != fresh.mitigation) os << sp << "mitigation " << mitigation_mode_name(pol.mitigation) << "\n";
        for (const auto& [cls, pps] : pol.detect_floor) os << sp << "detect " << cls << " " << pps << "\n";
    }
    if (hold_down_ != kDefaultHoldDown) os << "set detect hold-down " << format_duration(hold_down_) << "\n";
    for (const auto& [p, e] : protect_) {
        os << "add protect " << to_string(p) << " name " << e.name << " policy " << e.policy << "\n";
        if (e.mitigation) os << "set protect " << e.name << " mitigation on\n";
    }
    for (ListKind k : {ListKind::allow, ListKind::deny})
        for (const auto& [p, e] : list(k)) {
            os << "add " << list_name(k) << " " << to_string(p);
            if (e.expires) os << " expires " << format_time(*e.expires);
            os << "\n";
        }
    for (const auto& [id, r] : signatures_) {
        os << "add signature " << id << " " << (r.proto == 6 ? "tcp" : r.proto == 17 ? "udp" : "any") << " ";
        if (r.lo == 0 && r.hi == 65535) os << "any";
        else if (r.lo == r.hi) os << r.lo;
        else os << r.lo << "-" << r.hi;
        os << " " << (r.drop ? "drop" : "count") << " " << r.pattern << "\n";
    }
    os << "set transit " << transit_name(transit_) << "\n";
    if (cookie_secret_) os << "set syn-auth secret " << *cookie_secret_ << "\n";
}

std::string format_time(Time t) {
    const std::time_t tt = t.time_since_epoch().count();
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool parse_expiry(std::string_view s, Time now, Time& out, std::string& err) {
    if (s.empty()) {
        err = "empty expiry";
        return false;
    }
    if (s.find('T') != std::string_view::npos) {
        std::tm tm{};
        const std::string str(s);
        const char* end = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end) {
            err = quote(s) + " is not a UTC time like 2026-11-22T06:14:00Z";
            return false;
        }
        out = Time{std::chrono::seconds{timegm(&tm)}};
        // strptime takes 2026-02-30 (and :60 seconds) and timegm rolls it
        // over into March: accept only a time that prints back as written.
        if (format_time(out) != s) {
            err = quote(s) + " is not a valid UTC time like 2026-11-22T06:14:00Z";
            return false;
        }
        return true;
    }
    uint64_t secs = 0;
    if (!parse_duration(s, secs, err)) {
        err = quote(s) + " is not a duration (e.g. 90s, 15m, 2h, 7d, at most 3650d) or a UTC time";
        return false;
    }
    out = now + std::chrono::seconds{secs};
    return true;
}

std::unique_ptr<Snapshot> compile(const Config& c, uint64_t version, const CompileOptions& o) {
    auto s = std::make_unique<Snapshot>();
    s->version = version;
    s->transit = c.transit();
    std::map<std::string, uint32_t> policy_index;
    for (const auto& [name, pol] : c.policies()) {
        policy_index.emplace(name, static_cast<uint32_t>(s->policy_names.size()));
        s->policy_names.push_back(name);
    }
    compile_scrubbing(c, o, *s);
    std::vector<classify::Table4::Rule> d4, s4;
    std::vector<classify::Table6::Rule> d6, s6;
    for (const auto& [p, e] : c.protect()) {
        auto pol = policy_index.find(e.policy);
        if (pol == policy_index.end())
            throw ConfigError("protected prefix " + quote(e.name) + " refers to missing policy " + quote(e.policy));
        const auto idx = static_cast<uint32_t>(s->protect.size());
        const Policy& cp = c.policies().at(e.policy);
        const bool mitigated = e.mitigation || cp.mitigation == MitigationMode::enforce ||
                               (cp.mitigation == MitigationMode::auto_ && o.mitigated && o.mitigated->count(e.name));
        const bool auth = s->policies[pol->second].syn_auth == SynAuth::on ||
                          (s->policies[pol->second].syn_auth == SynAuth::auto_ && mitigated);
        const uint32_t rt = mitigated ? s->mitigating_policy[pol->second] : pol->second;
        s->protect.push_back({p, e.name, rt, mitigated, auth, pol->second});
        if (p.family == 4) d4.push_back({p.v4(), p.len, idx});
        else d6.push_back({p.addr, p.len, idx});
    }
    for (ListKind k : {ListKind::allow, ListKind::deny}) {
        uint32_t idx = 0;
        for (const auto& [p, e] : c.list(k)) {
            if (p.family == 4) s4.push_back({p.v4(), p.len, list_value(k, idx)});
            else s6.push_back({p.addr, p.len, list_value(k, idx)});
            ++idx;
        }
    }
    s->allow_entries = c.list(ListKind::allow).size();
    s->deny_entries = c.list(ListKind::deny).size();
    try {
        s->dst4 = classify::Table4(std::move(d4));
        s->dst6 = classify::Table6(std::move(d6));
        s->src4 = classify::Table4(std::move(s4));
        s->src6 = classify::Table6(std::move(s6));
    } catch (const std::invalid_argument& e) {
        throw ConfigError(e.what());
    }
    return s;
}

}  // namespace triage::policy
