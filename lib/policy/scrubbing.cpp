// The scrubbing half of the configuration: per-policy SYN authentication,
// limits, fragments, service ACL and signatures; the reflector table; the
// SYN-cookie secret. Same rules as policy.cpp: every mutator checks its own
// change and throws ConfigError, leaving the Config as it was.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "policy.h"

namespace triage::policy {

namespace {

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

constexpr const char* kBaseClasses[] = {"syn", "tcp", "udp", "icmp", "fragment"};

bool is_base_class(std::string_view n) {
    return std::find(std::begin(kBaseClasses), std::end(kBaseClasses), n) != std::end(kBaseClasses);
}

std::string proto_name(uint8_t p) {
    switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 0: return "any";
    default: return std::to_string(p);
    }
}

}  // namespace

const char* syn_auth_name(SynAuth a) noexcept {
    switch (a) {
    case SynAuth::off: return "off";
    case SynAuth::on: return "on";
    case SynAuth::auto_: return "auto";
    }
    return "?";
}

const char* base_class_name(uint8_t cls) noexcept {
    return cls < kFirstReflectorClass ? kBaseClasses[cls] : nullptr;
}

std::string format_rate(const RateSpec& r) {
    auto si = [](uint64_t v) {
        if (v && v % 1000000000 == 0) return std::to_string(v / 1000000000) + "g";
        if (v && v % 1000000 == 0) return std::to_string(v / 1000000) + "m";
        if (v && v % 1000 == 0) return std::to_string(v / 1000) + "k";
        return std::to_string(v);
    };
    std::string s = si(r.pps);
    if (r.bps) s += " bits " + si(r.bps);
    if (r.burst) s += " burst " + std::to_string(r.burst);
    return s;
}

std::string format_service(const Service& s) {
    std::string out = proto_name(s.proto);
    if (s.proto == 6 || s.proto == 17) {
        out += " " + std::to_string(s.lo);
        if (s.hi != s.lo) out += "-" + std::to_string(s.hi);
    }
    return out;
}

bool parse_duration(std::string_view s, uint64_t& seconds, std::string& err) {
    uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    const std::string_view unit(ptr, static_cast<size_t>(s.data() + s.size() - ptr));
    uint64_t mult = 0;
    if (unit == "s") mult = 1;
    else if (unit == "m") mult = 60;
    else if (unit == "h") mult = 3600;
    else if (unit == "d") mult = 86400;
    constexpr uint64_t kMaxSeconds = 3650ull * 86400;  // ten years is "forever" enough
    if (ec != std::errc() || ptr == s.data() || mult == 0 || n == 0 || n > kMaxSeconds / mult) {
        err = quote(s) + " is not a duration (e.g. 90s, 15m, 2h, 7d, at most 3650d)";
        return false;
    }
    seconds = n * mult;
    return true;
}

bool parse_si(std::string_view s, uint64_t& v, std::string& err) {
    uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    const std::string_view unit(ptr, static_cast<size_t>(s.data() + s.size() - ptr));
    uint64_t mult = 0;
    if (unit.empty()) mult = 1;
    else if (unit == "k") mult = 1000;
    else if (unit == "m") mult = 1000000;
    else if (unit == "g") mult = 1000000000;
    if (ec != std::errc() || ptr == s.data() || mult == 0 || n > (uint64_t{1} << 50) / mult) {
        err = quote(s) + " is not a number (e.g. 500, 10k, 2m, 1g)";
        return false;
    }
    v = n * mult;
    return true;
}

bool parse_port_range(std::string_view s, uint16_t& lo, uint16_t& hi, bool allow_any, std::string& err) {
    if (allow_any && s == "any") {
        lo = 0;
        hi = 65535;
        return true;
    }
    auto num = [](std::string_view w, uint16_t& out) {
        unsigned v = 0;
        const auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
        if (ec != std::errc() || ptr != w.data() + w.size() || v == 0 || v > 65535) return false;
        out = static_cast<uint16_t>(v);
        return true;
    };
    const auto dash = s.find('-');
    const bool ok = dash == std::string_view::npos ? num(s, lo) && (hi = lo, true)
                                                   : num(s.substr(0, dash), lo) && num(s.substr(dash + 1), hi);
    if (!ok || lo > hi) {
        err = quote(s) + " is not a port or port range (e.g. 443 or 8000-8080" + (allow_any ? ", or any)" : ")");
        return false;
    }
    return true;
}

std::string format_duration(uint64_t s) {
    if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

const Policy& Config::policy(const std::string& name) const {
    auto it = policies_.find(name);
    if (it == policies_.end()) throw ConfigError("no policy " + quote(name));
    return it->second;
}

Policy& Config::policy_mut(const std::string& name) { return const_cast<Policy&>(policy(name)); }

void Config::set_syn_auth(const std::string& p, SynAuth a) { policy_mut(p).syn_auth = a; }

void Config::set_auth_ttl(const std::string& p, uint32_t seconds) {
    if (seconds < 10 || seconds > 86400)
        throw ConfigError("auth-ttl " + format_duration(seconds) + " is out of range (10s to 1d)");
    policy_mut(p).auth_ttl = seconds;
}

void Config::set_aggregate(const std::string& p, int family, unsigned len) {
    Policy& pol = policy_mut(p);
    if (family == 4) {
        if (len < 8 || len > 32) throw ConfigError("IPv4 aggregation /" + std::to_string(len) + " is out of range (/8 to /32)");
        pol.aggregate4 = static_cast<uint8_t>(len);
    } else {
        if (len < 32 || len > 128)
            throw ConfigError("IPv6 aggregation /" + std::to_string(len) + " is out of range (/32 to /128)");
        pol.aggregate6 = static_cast<uint8_t>(len);
    }
}

void Config::check_class(const std::string& cls) const {
    if (!is_base_class(cls) && cls != kAllReflectors && !reflectors_.count(cls)) {
        std::string known = "syn, tcp, udp, icmp, fragment, reflection";
        for (const auto& [n, port] : reflectors_) known += ", " + n;
        throw ConfigError("no traffic class " + quote(cls) + " (classes: " + known + ")");
    }
}

void Config::set_limit(const std::string& p, const std::string& cls, bool destination, std::optional<RateSpec> r,
                       bool mitigating) {
    Policy& pol = policy_mut(p);
    check_class(cls);
    if (r) {
        if (r->pps == 0 && r->bps == 0) throw ConfigError("a limit needs a packet rate or a bit rate above 0");
        if (r->pps > 1000000000ull) throw ConfigError("packet rate above 1g per second");
        if (r->bps > 1000000000000ull) throw ConfigError("bit rate above 1000g per second");
        if (r->burst > 100000000ull) throw ConfigError("burst above 100m packets");
    }
    auto& limits = mitigating ? pol.mitigation_limits : pol.limits;
    Limit l = limits.count(cls) ? limits.at(cls) : Limit{};
    (destination ? l.destination : l.source) = r;
    if (!l.source && !l.destination) limits.erase(cls);
    else limits[cls] = l;
}

void Config::set_fragments(const std::string& p, FragmentRule f) { policy_mut(p).fragments = f; }
void Config::set_acl(const std::string& p, bool on) { policy_mut(p).acl = on; }

void Config::add_service(const std::string& p, const Service& s) {
    Policy& pol = policy_mut(p);
    const bool ports = s.proto == 6 || s.proto == 17;
    if (ports && (s.lo == 0 || s.lo > s.hi))
        throw ConfigError("bad port range " + std::to_string(s.lo) + "-" + std::to_string(s.hi));
    if (pol.services.count(s)) throw ConfigError(format_service(s) + " is already open in policy " + quote(p));
    if (pol.services.size() >= 1024) throw ConfigError("too many services in policy " + quote(p) + " (at most 1024)");
    pol.services.insert(s);
}

void Config::del_service(const std::string& p, const Service& s) {
    if (!policy_mut(p).services.erase(s)) throw ConfigError(format_service(s) + " is not open in policy " + quote(p));
}

void Config::set_signatures(const std::string& p, bool on) { policy_mut(p).signatures = on; }

const char* mitigation_mode_name(MitigationMode m) noexcept {
    switch (m) {
    case MitigationMode::monitor: return "monitor";
    case MitigationMode::auto_: return "auto";
    case MitigationMode::enforce: return "enforce";
    }
    return "?";
}

void Config::set_mitigation_mode(const std::string& p, MitigationMode m) { policy_mut(p).mitigation = m; }

void Config::set_detect_floor(const std::string& p, const std::string& cls, uint64_t pps) {
    Policy& pol = policy_mut(p);
    check_class(cls);
    if (pps > 1'000'000'000) throw ConfigError("a detection floor is at most 1g packets/s");
    if (pps == 0) pol.detect_floor.erase(cls);
    else pol.detect_floor[cls] = pps;
}

void Config::set_hold_down(uint32_t seconds) {
    if (seconds < 1 || seconds > 86400) throw ConfigError("the hold-down is 1s..1d");
    hold_down_ = seconds;
}

void Config::set_mitigation(const std::string& name, bool on) {
    for (auto& [pfx, e] : protect_)
        if (e.name == name) {
            e.mitigation = on;
            return;
        }
    throw ConfigError("no protected prefix named " + quote(name));
}

void Config::add_reflector(const std::string& name, uint16_t port) {
    if (auto e = check_name("reflector", name); !e.empty()) throw ConfigError(e);
    if (is_base_class(name) || name == kAllReflectors)
        throw ConfigError(quote(name) + " is a traffic class name; choose another reflector name");
    if (port == 0) throw ConfigError("reflector port 0 is not a port");
    if (reflectors_.count(name)) throw ConfigError("reflector " + quote(name) + " already exists");
    for (const auto& [n, pt] : reflectors_)
        if (pt == port) throw ConfigError("UDP port " + std::to_string(port) + " is already reflector " + quote(n));
    if (reflectors_.size() >= kMaxReflectors)
        throw ConfigError("too many reflectors (at most " + std::to_string(kMaxReflectors) + ")");
    reflectors_.emplace(name, port);
}

void Config::del_reflector(const std::string& name) {
    if (!reflectors_.count(name)) throw ConfigError("no reflector " + quote(name));
    for (const auto& [pn, pol] : policies_)
        if (pol.limits.count(name) || pol.mitigation_limits.count(name))
            throw ConfigError("reflector " + quote(name) + " has a limit in policy " + quote(pn) +
                              " (set policy " + pn + " limit " + name + " ... off first)");
    reflectors_.erase(name);
}

void Config::set_solicit_window(uint32_t seconds) {
    if (seconds < 1 || seconds > 3600)
        throw ConfigError("reflection window " + format_duration(seconds) + " is out of range (1s to 1h)");
    solicit_window_ = seconds;
}

void Config::set_cookie_secret(std::optional<std::string> hex) {
    if (hex) {
        syncookie::SharedSecret sec;
        std::string err;
        if (!syncookie::parse_secret(*hex, sec, err))
            throw ConfigError(err + " (make one with: od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')");
        hex = syncookie::format_secret(sec);
    }
    cookie_secret_ = std::move(hex);
}

void Config::add_signature(SignatureRule r) {
    if (r.id == 0) throw ConfigError("signature ids start at 1");
    if (signatures_.count(r.id)) throw ConfigError("signature " + std::to_string(r.id) + " already exists");
    if (r.lo > r.hi) throw ConfigError("bad port range " + std::to_string(r.lo) + "-" + std::to_string(r.hi));
    if (signatures_.size() >= kMaxSignatures)
        throw ConfigError("too many signatures (at most " + std::to_string(kMaxSignatures) + ")");
    // The lowest free slot: counters stay with a rule for its whole life.
    std::vector<bool> used(kMaxSignatures);
    for (const auto& [id, s] : signatures_) used[s.slot] = true;
    r.slot = static_cast<uint16_t>(std::find(used.begin(), used.end(), false) - used.begin());
    signatures_.emplace(r.id, std::move(r));
}

void Config::del_signature(uint32_t id) {
    if (!signatures_.erase(id)) throw ConfigError("no signature " + std::to_string(id));
}

}  // namespace triage::policy

namespace triage::policy {

namespace {

meter::Profile profile_of(const RateSpec& r, uint64_t hz) {
    meter::Rate m;
    m.pps = r.pps;
    m.bps = r.bps;
    // The burst is given in packets; the byte burst covers the same time.
    const uint64_t pkts = r.burst ? r.burst : r.pps;
    m.burst_packets = r.pps ? pkts : 0;
    // A frame longer than the byte burst could never conform: the floor is
    // the largest frame a worker handles (jumbo, tagged), so a low bit rate
    // means rare big frames, never none.
    const uint64_t span = r.pps ? r.bps / 8 * pkts / r.pps : r.bps / 8;
    m.burst_bytes = r.bps == 0 ? 0 : std::max<uint64_t>(kMinByteBurst, span);
    return meter::make_profile(m, hz);
}

std::vector<signature::Rule> signature_rules(const Config& c) {
    std::vector<signature::Rule> out;
    for (const auto& [id, r] : c.signatures()) {
        signature::Rule x;
        x.id = id;
        x.proto = r.proto;
        x.port_lo = r.lo;
        x.port_hi = r.hi;
        x.pattern = r.pattern;
        x.action = r.drop ? signature::Action::drop : signature::Action::count;
        x.slot = r.slot;
        out.push_back(std::move(x));
    }
    return out;
}

}  // namespace

void compile_scrubbing(const Config& c, const CompileOptions& o, Snapshot& s) {
    s.hz = o.hz;
    s.solicit_cycles = uint64_t{c.solicit_window()} * o.hz;
    // Classes: the fixed five, then the reflectors in name order.
    s.class_names.assign(kMaxClasses, std::string());
    for (uint8_t i = 0; i < kFirstReflectorClass; ++i) s.class_names[i] = base_class_name(i);
    auto refl = std::make_shared<std::array<uint8_t, 65536>>();
    refl->fill(0);
    std::map<std::string, uint8_t> refl_class;
    uint8_t next = kFirstReflectorClass;
    for (const auto& [name, port] : c.reflectors()) {
        refl_class.emplace(name, next);
        s.class_names[next] = name;
        (*refl)[port] = next++;
    }
    s.reflector_class = std::move(refl);

    std::vector<PolicyRt> variants;
    s.mitigating_policy.clear();
    const uint32_t reflector_bits = ~((1u << kFirstReflectorClass) - 1);
    for (const auto& [name, p] : c.policies()) {
        PolicyRt rt;
        rt.syn_auth = p.syn_auth;
        rt.frag_drop = p.fragments == FragmentRule::drop;
        rt.signatures = p.signatures;
        rt.aggregate4 = p.aggregate4;
        rt.aggregate6 = p.aggregate6;
        rt.auth_ttl_cycles = uint64_t{p.auth_ttl} * o.hz;
        s.max_auth_ttl_cycles = std::max(s.max_auth_ttl_cycles, rt.auth_ttl_cycles);
        const std::string& pname = name;  // a lambda cannot capture a structured binding (clang 14)
        const auto apply = [&](PolicyRt& to, const std::map<std::string, Limit>& limits) {
            auto set = [&](uint8_t cls, const Limit& l) {
                if (l.source) {
                    to.src[cls] = profile_of(*l.source, o.hz);
                    to.src_on |= 1u << cls;
                }
                if (l.destination) {
                    to.dst[cls] = profile_of(*l.destination, o.hz);
                    to.dst_on |= 1u << cls;
                }
            };
            // "reflection" first, so a vector's own limit overrides it.
            if (auto it = limits.find(kAllReflectors); it != limits.end())
                for (const auto& [rn, cls] : refl_class) set(cls, it->second);
            for (const auto& [cls_name, l] : limits) {
                if (cls_name == kAllReflectors) continue;
                uint8_t cls = 0xff;
                for (uint8_t i = 0; i < kFirstReflectorClass; ++i)
                    if (cls_name == base_class_name(i)) cls = i;
                if (cls == 0xff) {
                    auto it = refl_class.find(cls_name);
                    if (it == refl_class.end())
                        throw ConfigError("policy '" + pname + "' limits unknown traffic class '" + cls_name + "'");
                    cls = it->second;
                }
                set(cls, l);
            }
        };
        apply(rt, p.limits);
        if (p.acl) {
            rt.acl = true;
            auto acl = std::make_shared<Acl>();
            for (const Service& sv : p.services) {
                if (sv.proto == 6 || sv.proto == 17) {
                    uint64_t* b = sv.proto == 6 ? acl->tcp : acl->udp;
                    for (unsigned port = sv.lo; port <= sv.hi; ++port) b[port >> 6] |= uint64_t{1} << (port & 63);
                } else {
                    acl->proto[sv.proto >> 6] |= uint64_t{1} << (sv.proto & 63);
                }
            }
            rt.open = std::move(acl);
        }
        const auto learns = [&](const PolicyRt& r) {
            const bool reflect_limited = ((r.src_on | r.dst_on) >> kFirstReflectorClass) != 0;
            return r.syn_auth != SynAuth::off || r.acl || reflect_limited;
        };
        if (learns(rt)) s.learn_outbound = true;
        if (!p.mitigation_limits.empty()) {
            // The mitigating variant: the same policy with the mitigation
            // limits on top (a limit set there replaces the base one in its
            // scope). Its buckets are its own.
            PolicyRt v = rt;
            apply(v, p.mitigation_limits);
            if (learns(v)) s.learn_outbound = true;
            // Both tell solicited responses apart for every class either
            // limits, so detection counts the same traffic before and during
            // mitigation.
            rt.solicit_on = v.solicit_on = (rt.src_on | rt.dst_on | v.src_on | v.dst_on) & reflector_bits;
            s.mitigating_policy.push_back(static_cast<uint32_t>(c.policies().size() + variants.size()));
            variants.push_back(std::move(v));
        } else {
            rt.solicit_on = (rt.src_on | rt.dst_on) & reflector_bits;
            s.mitigating_policy.push_back(static_cast<uint32_t>(s.policies.size()));
        }
        s.policies.push_back(std::move(rt));
    }
    for (PolicyRt& v : variants) s.policies.push_back(std::move(v));

    if (!c.signatures().empty()) {
        try {
            s.signatures = signature::Database::compile(signature_rules(c), std::max(1u, o.workers));
        } catch (const signature::SignatureError& e) {
            throw ConfigError(e.what());
        }
    }
}

std::string check_signature(const SignatureRule& r) {
    std::string expr, err;
    unsigned flags = 0;
    if (!signature::parse_pattern(r.pattern, expr, flags, err)) return "signature " + std::to_string(r.id) + ": " + err;
    Config one;
    SignatureRule copy = r;
    copy.slot = 0;
    try {
        one.add_signature(copy);
        signature::Database::compile(signature_rules(one), 1);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

}  // namespace triage::policy
