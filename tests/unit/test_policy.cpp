// lib/policy: the configuration model the console edits (each mutator checks
// its change and leaves the object as it was on error), expiry, and the
// snapshot compiler checked through decide() on hand-built packet views.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>

#include "policy.h"
#include "verdict.h"

namespace {

using triage::classify::kNoMatch;
using triage::classify::parse_prefix;
using triage::classify::Prefix;
using triage::net::PacketView;
using namespace triage::policy;

Prefix P(std::string_view s) {
    Prefix p;
    std::string err;
    EXPECT_TRUE(parse_prefix(s, p, err)) << s << ": " << err;
    return p;
}

Time T(std::string_view utc) {
    Time t;
    std::string err;
    EXPECT_TRUE(parse_expiry(utc, Time{}, t, err)) << utc << ": " << err;
    return t;
}

// Runs a mutator that must refuse: the message contains want and the
// configuration is exactly as before.
template <class F>
void refuses(Config& c, F&& f, const std::string& want) {
    const Config before = c;
    try {
        f(c);
        ADD_FAILURE() << "no error; wanted: " << want;
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << "got: " << e.what();
    }
    EXPECT_EQ(c, before) << "a refused change modified the configuration";
}

std::string script(const Config& c) {
    std::ostringstream os;
    c.write_script(os);
    return os.str();
}

// ---- Config mutators -------------------------------------------------------

TEST(PolicyConfig, StartsWithTheDefaultPolicyOnly) {
    const Config c;
    ASSERT_EQ(c.policies().size(), 1u);
    EXPECT_EQ(c.policies().begin()->first, kDefaultPolicy);
    EXPECT_TRUE(c.protect().empty());
    EXPECT_TRUE(c.list(ListKind::allow).empty());
    EXPECT_TRUE(c.list(ListKind::deny).empty());
    EXPECT_EQ(c.transit(), TransitRule::forward);
    EXPECT_EQ(script(c), "set transit forward\n");
}

TEST(PolicyConfig, Names) {
    EXPECT_EQ(check_name("policy", "a"), "");
    EXPECT_EQ(check_name("policy", "ehr-portal_2.v6"), "");
    EXPECT_EQ(check_name("policy", std::string(kMaxNameLength, 'x')), "");
    EXPECT_EQ(check_name("policy", ""), "policy name is empty");
    EXPECT_NE(check_name("policy", std::string(kMaxNameLength + 1, 'x')).find("longer than 32"), std::string::npos);
    EXPECT_NE(check_name("policy", "2fast").find("must start with a letter"), std::string::npos);
    EXPECT_NE(check_name("policy", "_x").find("must start with a letter"), std::string::npos);
    for (const char* bad : {"a b", "a/b", "a:b", "a#b", "caf\xc3\xa9"})
        EXPECT_NE(check_name("policy", bad).find("may hold only"), std::string::npos) << bad;
}

TEST(PolicyConfig, Policies) {
    Config c;
    c.add_policy("strict");
    EXPECT_EQ(c.policies().size(), 2u);
    refuses(c, [](Config& x) { x.add_policy("strict"); }, "policy 'strict' already exists");
    refuses(c, [](Config& x) { x.add_policy("default"); }, "already exists");
    refuses(c, [](Config& x) { x.add_policy("9x"); }, "must start with a letter");
    refuses(c, [](Config& x) { x.add_policy(""); }, "empty");
    refuses(c, [](Config& x) { x.del_policy("default"); }, "the built-in policy 'default' cannot be deleted");
    refuses(c, [](Config& x) { x.del_policy("nosuch"); }, "no policy 'nosuch'");
    c.add_protect(P("198.51.100.0/24"), "portal", "strict");
    refuses(c, [](Config& x) { x.del_policy("strict"); },
            "policy 'strict' is used by protected prefix 'portal' (198.51.100.0/24)");
    c.del_protect("portal");
    c.del_policy("strict");
    EXPECT_EQ(c, Config());
}

TEST(PolicyConfig, PolicyLimit) {
    Config c;
    for (size_t i = 1; i < kMaxPolicies; ++i) c.add_policy("p" + std::to_string(i));
    EXPECT_EQ(c.policies().size(), kMaxPolicies);
    refuses(c, [](Config& x) { x.add_policy("onemore"); }, "too many policies (at most 256)");
}

TEST(PolicyConfig, Protected) {
    Config c;
    c.add_protect(P("198.51.100.0/24"), "portal", kDefaultPolicy);
    c.add_protect(P("198.51.100.128/25"), "inner", kDefaultPolicy);  // nested: longest wins at lookup
    c.add_protect(P("2001:db8:10::/48"), "v6", kDefaultPolicy);
    EXPECT_EQ(c.protect().size(), 3u);
    refuses(c, [](Config& x) { x.add_protect(P("198.51.100.0/24"), "again", kDefaultPolicy); },
            "198.51.100.0/24 is already protected as 'portal'");
    refuses(c, [](Config& x) { x.add_protect(P("203.0.113.0/24"), "portal", kDefaultPolicy); },
            "protected prefix name 'portal' is already used by 198.51.100.0/24");
    refuses(c, [](Config& x) { x.add_protect(P("203.0.113.0/24"), "x", "nosuch"); },
            "no policy 'nosuch' (add it with 'add policy nosuch')");
    refuses(c, [](Config& x) { x.add_protect(P("203.0.113.0/24"), "1x", kDefaultPolicy); },
            "protected prefix name '1x' must start with a letter");
    refuses(c, [](Config& x) { x.del_protect(std::string("ghost")); }, "no protected prefix named 'ghost'");
    refuses(c, [](Config& x) { x.del_protect(P("203.0.113.0/24")); }, "203.0.113.0/24 is not protected");
    c.del_protect(P("198.51.100.128/25"));
    c.del_protect(std::string("v6"));
    ASSERT_EQ(c.protect().size(), 1u);
    EXPECT_EQ(c.protect().begin()->second.name, "portal");
}

TEST(PolicyConfig, ProtectedLimit) {
    Config c;
    for (uint32_t i = 0; i < kMaxProtected; ++i) {
        Prefix p;
        p.family = 4;
        p.len = 32;
        p.addr[0] = 198;
        p.addr[1] = 18;
        p.addr[2] = static_cast<uint8_t>(i >> 8);
        p.addr[3] = static_cast<uint8_t>(i);
        c.add_protect(p, "h" + std::to_string(i), kDefaultPolicy);
    }
    refuses(c, [](Config& x) { x.add_protect(P("203.0.113.0/24"), "last", kDefaultPolicy); },
            "too many protected prefixes (at most 4096)");
    // A full table still compiles.
    const auto s = compile(c, 1);
    EXPECT_EQ(s->protect.size(), kMaxProtected);
}

TEST(PolicyConfig, Lists) {
    Config c;
    c.add_list(ListKind::deny, P("192.0.2.0/24"), std::nullopt);
    c.add_list(ListKind::allow, P("192.0.2.64/26"), std::nullopt);  // a hole in the block: allowed
    c.add_list(ListKind::deny, P("2001:db8:bad::/48"), T("2026-11-22T06:14:00Z"));
    refuses(c, [](Config& x) { x.add_list(ListKind::allow, P("192.0.2.0/24"), std::nullopt); },
            "192.0.2.0/24 is on the deny list; delete it there first");
    refuses(c, [](Config& x) { x.add_list(ListKind::deny, P("192.0.2.64/26"), std::nullopt); },
            "192.0.2.64/26 is on the allow list; delete it there first");
    refuses(c, [](Config& x) { x.del_list(ListKind::allow, P("192.0.2.0/24")); },
            "192.0.2.0/24 is not on the allow list");
    refuses(c, [](Config& x) { x.del_list(ListKind::deny, P("203.0.113.0/24")); },
            "203.0.113.0/24 is not on the deny list");
    // Adding again sets the expiry (both ways), not a second entry.
    c.add_list(ListKind::deny, P("192.0.2.0/24"), T("2026-01-01T00:00:00Z"));
    EXPECT_EQ(c.list(ListKind::deny).size(), 2u);
    EXPECT_EQ(c.list(ListKind::deny).at(P("192.0.2.0/24")).expires, T("2026-01-01T00:00:00Z"));
    c.add_list(ListKind::deny, P("2001:db8:bad::/48"), std::nullopt);
    EXPECT_FALSE(c.list(ListKind::deny).at(P("2001:db8:bad::/48")).expires);
    c.del_list(ListKind::deny, P("192.0.2.0/24"));
    c.del_list(ListKind::allow, P("192.0.2.64/26"));
    EXPECT_TRUE(c.list(ListKind::allow).empty());
    EXPECT_EQ(c.list(ListKind::deny).size(), 1u);
}

TEST(PolicyConfig, ListLimit) {
    // Each list is bounded on its own; a full deny list still takes allows.
    Config c;
    Prefix p;
    p.family = 6;
    p.len = 128;
    p.addr = P("2001:db8::").addr;
    for (size_t i = 0; i < kMaxListEntries; ++i) {
        p.addr[13] = static_cast<uint8_t>(i >> 16);
        p.addr[14] = static_cast<uint8_t>(i >> 8);
        p.addr[15] = static_cast<uint8_t>(i);
        c.add_list(ListKind::deny, p, std::nullopt);
    }
    try {
        c.add_list(ListKind::deny, P("192.0.2.0/24"), std::nullopt);
        ADD_FAILURE() << "a full list took one more";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "the deny list is full (1000000 entries)");
    }
    EXPECT_EQ(c.list(ListKind::deny).size(), kMaxListEntries);
    // Re-adding an entry of a full list only changes its expiry.
    c.add_list(ListKind::deny, p, T("2026-11-22T06:14:00Z"));
    c.add_list(ListKind::allow, P("192.0.2.0/24"), std::nullopt);
    EXPECT_EQ(c.list(ListKind::allow).size(), 1u);
}

TEST(PolicyConfig, ExpireAndNextExpiry) {
    Config c;
    EXPECT_FALSE(c.next_expiry());
    EXPECT_TRUE(c.expire(T("2030-01-01T00:00:00Z")).empty());
    c.add_list(ListKind::deny, P("192.0.2.0/24"), T("2026-03-01T12:00:00Z"));
    c.add_list(ListKind::allow, P("198.51.100.0/24"), T("2026-03-01T11:00:00Z"));
    c.add_list(ListKind::deny, P("2001:db8::/32"), T("2026-03-02T00:00:00Z"));
    c.add_list(ListKind::deny, P("203.0.113.0/24"), std::nullopt);
    EXPECT_EQ(c.next_expiry(), T("2026-03-01T11:00:00Z"));

    // Before the first expiry nothing goes; at it (inclusive) the entry goes.
    EXPECT_TRUE(c.expire(T("2026-03-01T10:59:59Z")).empty());
    auto gone = c.expire(T("2026-03-01T11:00:00Z"));
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], "allow 198.51.100.0/24 expired at 2026-03-01T11:00:00Z");
    EXPECT_EQ(c.next_expiry(), T("2026-03-01T12:00:00Z"));

    gone = c.expire(T("2026-03-05T00:00:00Z"));
    EXPECT_EQ(gone.size(), 2u);
    EXPECT_FALSE(c.next_expiry()) << "a permanent entry never expires";
    ASSERT_EQ(c.list(ListKind::deny).size(), 1u);
    EXPECT_EQ(c.list(ListKind::deny).begin()->first, P("203.0.113.0/24"));
}

TEST(PolicyConfig, TransitAndScript) {
    Config c;
    c.add_policy("strict");
    c.add_protect(P("2001:db8:10::/48"), "v6", "strict");
    c.add_protect(P("198.51.100.0/24"), "portal", kDefaultPolicy);
    c.add_list(ListKind::deny, P("192.0.2.0/24"), T("2026-11-22T06:14:00Z"));
    c.add_list(ListKind::allow, P("203.0.113.0/24"), std::nullopt);
    c.set_transit(TransitRule::drop);
    EXPECT_EQ(script(c),
              "add policy strict\n"
              "add protect 198.51.100.0/24 name portal policy default\n"
              "add protect 2001:db8:10::/48 name v6 policy strict\n"
              "add allow 203.0.113.0/24\n"
              "add deny 192.0.2.0/24 expires 2026-11-22T06:14:00Z\n"
              "set transit drop\n");
}

// ---- expiry parsing ----------------------------------------------------------

TEST(PolicyExpiry, Durations) {
    const Time now = T("2026-03-01T12:00:00Z");
    const std::pair<const char*, long long> ok[] = {
        {"1s", 1}, {"90s", 90}, {"15m", 900}, {"2h", 7200}, {"7d", 604800}, {"3650d", 3650LL * 86400},
        {"315360000s", 315360000}};
    for (const auto& [s, secs] : ok) {
        Time t;
        std::string err;
        ASSERT_TRUE(parse_expiry(s, now, t, err)) << s << ": " << err;
        EXPECT_EQ((t - now).count(), secs) << s;
    }
}

TEST(PolicyExpiry, AbsoluteTimes) {
    Time t;
    std::string err;
    ASSERT_TRUE(parse_expiry("2026-11-22T06:14:00Z", Time{}, t, err)) << err;
    EXPECT_EQ(t.time_since_epoch().count(), 1795328040);
    EXPECT_EQ(format_time(t), "2026-11-22T06:14:00Z");
    // Absolute times do not depend on now.
    Time t2;
    ASSERT_TRUE(parse_expiry("2026-11-22T06:14:00Z", T("2030-01-01T00:00:00Z"), t2, err));
    EXPECT_EQ(t, t2);
    EXPECT_EQ(format_time(Time{}), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_time(T("2000-02-29T23:59:59Z")), "2000-02-29T23:59:59Z");
    // A time already past is still a time: a saved configuration loaded later
    // keeps its entries until the next expiry sweep drops them.
    EXPECT_TRUE(parse_expiry("2020-01-01T00:00:00Z", T("2026-03-01T12:00:00Z"), t, err)) << err;
}

TEST(PolicyExpiry, BadInputs) {
    for (const char* bad : {"", "0s", "5", "m", "5y", "-5m", "+5m", "1.5h", "5 m", "5mm", "3651d", "315360001s",
                            "99999999999999999999999d", "2026-11-22T06:14:00", "2026-11-22T06:14:00Zx",
                            "2026-11-22 06:14:00Z", "2026-13-01T00:00:00Z", "T", "2026-11-22T25:00:00Z",
                            "yesterdayT", "2026-02-30T00:00:00Z", "2026-11-22T06:14:60Z", "2026-1-2T3:4:5Z",
                            "0000-01-01T00:00:00Z", " 2026-11-22T06:14:00Z"}) {
        Time t;
        std::string err;
        EXPECT_FALSE(parse_expiry(bad, T("2026-03-01T12:00:00Z"), t, err)) << "'" << bad << "' was accepted";
        EXPECT_FALSE(err.empty()) << bad;
        EXPECT_EQ(err.find('\n'), std::string::npos);
    }
}

// ---- compile() and decide() ----------------------------------------------------

PacketView view(std::string_view src, std::string_view dst) {
    PacketView v;
    std::memset(&v, 0, sizeof v);
    const Prefix s = P(src), d = P(dst);
    EXPECT_EQ(s.family, d.family);
    v.ip_version = s.family;
    std::memcpy(v.src, s.addr.data(), 16);
    std::memcpy(v.dst, d.addr.data(), 16);
    return v;
}

struct Case {
    const char* src;
    const char* dst;
    Verdict verdict;
    const char* protect;  // the protected prefix's name, or nullptr
};

void check(const Snapshot& s, const Case& c) {
    const Decision d = decide(s, view(c.src, c.dst));
    EXPECT_EQ(static_cast<int>(d.verdict), static_cast<int>(c.verdict)) << c.src << " -> " << c.dst;
    if (c.protect) {
        ASSERT_LT(d.protect, s.protect.size()) << c.src << " -> " << c.dst;
        EXPECT_EQ(s.protect[d.protect].name, c.protect) << c.src << " -> " << c.dst;
    } else {
        EXPECT_EQ(d.protect, kNoMatch) << c.src << " -> " << c.dst;
    }
}

Config sample_config() {
    Config c;
    c.add_policy("strict");
    c.add_protect(P("198.51.100.0/24"), "portal", kDefaultPolicy);
    c.add_protect(P("198.51.100.128/25"), "portal-b", "strict");
    c.add_protect(P("2001:db8:10::/48"), "v6", kDefaultPolicy);
    c.add_protect(P("2001:db8:10:1::/64"), "v6-inner", "strict");
    c.add_list(ListKind::deny, P("192.0.2.0/24"), std::nullopt);
    c.add_list(ListKind::allow, P("192.0.2.64/26"), std::nullopt);  // hole in the deny
    c.add_list(ListKind::allow, P("203.0.113.0/24"), std::nullopt);
    c.add_list(ListKind::deny, P("203.0.113.8/29"), std::nullopt);  // block inside an allow
    c.add_list(ListKind::deny, P("2001:db8:bad::/48"), std::nullopt);
    c.add_list(ListKind::allow, P("2001:db8:bad:1::/64"), std::nullopt);
    c.add_list(ListKind::allow, P("2001:db8:600d::/48"), std::nullopt);
    return c;
}

TEST(PolicyDecide, EmptyConfigIsAllTransit) {
    const auto s = compile(Config(), 7);
    EXPECT_EQ(s->version, 7u);
    check(*s, {"192.0.2.1", "198.51.100.1", Verdict::transit, nullptr});
    check(*s, {"2001:db8::1", "2001:db8:10::1", Verdict::transit, nullptr});
    Config drop;
    drop.set_transit(TransitRule::drop);
    const auto sd = compile(drop, 8);
    check(*sd, {"192.0.2.1", "198.51.100.1", Verdict::transit_drop, nullptr});
    check(*sd, {"2001:db8::1", "2001:db8:10::1", Verdict::transit_drop, nullptr});
}

TEST(PolicyDecide, PrecedenceIPv4) {
    Config c = sample_config();
    const auto s = compile(c, 1);
    EXPECT_EQ(s->allow_entries, 4u);
    EXPECT_EQ(s->deny_entries, 3u);
    EXPECT_EQ(s->protect.size(), 4u);
    EXPECT_EQ(s->policy_names.size(), 2u);
    const Case cases[] = {
        // 1. deny first, even towards a protected prefix
        {"192.0.2.1", "198.51.100.1", Verdict::deny, nullptr},
        {"192.0.2.255", "198.51.100.200", Verdict::deny, nullptr},
        // longest list prefix wins: an allow hole inside a deny ...
        {"192.0.2.65", "198.51.100.1", Verdict::allowed, "portal"},
        {"192.0.2.127", "198.51.100.1", Verdict::allowed, "portal"},
        {"192.0.2.128", "198.51.100.1", Verdict::deny, nullptr},
        // ... and a deny inside an allow
        {"203.0.113.9", "198.51.100.1", Verdict::deny, nullptr},
        {"203.0.113.7", "198.51.100.1", Verdict::allowed, "portal"},
        {"203.0.113.16", "198.51.100.1", Verdict::allowed, "portal"},
        // 2. unprotected destination: the transit rule, allowed or not
        {"198.18.0.1", "203.0.113.1", Verdict::transit, nullptr},
        {"203.0.113.7", "198.51.99.255", Verdict::transit, nullptr},
        {"192.0.2.65", "198.51.101.0", Verdict::transit, nullptr},
        // 4. protected: longest protected prefix decides which
        {"198.18.0.1", "198.51.100.0", Verdict::protected_, "portal"},
        {"198.18.0.1", "198.51.100.127", Verdict::protected_, "portal"},
        {"198.18.0.1", "198.51.100.128", Verdict::protected_, "portal-b"},
        {"198.18.0.1", "198.51.100.255", Verdict::protected_, "portal-b"},
        {"203.0.113.200", "198.51.100.130", Verdict::allowed, "portal-b"},
    };
    for (const Case& k : cases) check(*s, k);
    // The protected entry carries its policy.
    for (const auto& p : s->protect)
        EXPECT_EQ(s->policy_names.at(p.policy), c.protect().at(p.prefix).policy) << p.name;

    c.set_transit(TransitRule::drop);
    const auto sd = compile(c, 2);
    check(*sd, {"198.18.0.1", "203.0.113.1", Verdict::transit_drop, nullptr});
    check(*sd, {"203.0.113.7", "198.51.99.255", Verdict::transit_drop, nullptr});  // transit rule > allow
    check(*sd, {"192.0.2.1", "203.0.113.1", Verdict::deny, nullptr});              // deny > transit rule
    check(*sd, {"198.18.0.1", "198.51.100.1", Verdict::protected_, "portal"});
}

TEST(PolicyDecide, PrecedenceIPv6) {
    Config c = sample_config();
    c.set_transit(TransitRule::drop);
    const auto s = compile(c, 1);
    const Case cases[] = {
        {"2001:db8:bad::1", "2001:db8:10::1", Verdict::deny, nullptr},
        {"2001:db8:bad:2::1", "2001:db8:10:1::1", Verdict::deny, nullptr},
        {"2001:db8:bad:1::1", "2001:db8:10::1", Verdict::allowed, "v6"},
        {"2001:db8:600d:ffff::1", "2001:db8:10:1:ffff::1", Verdict::allowed, "v6-inner"},
        {"2001:db8:600d::1", "2001:db8:11::1", Verdict::transit_drop, nullptr},
        {"2001:db8:bad::1", "2001:db8:11::1", Verdict::deny, nullptr},
        {"2001:db8:1::1", "2001:db8:10::", Verdict::protected_, "v6"},
        {"2001:db8:1::1", "2001:db8:10:0:ffff:ffff:ffff:ffff", Verdict::protected_, "v6"},
        {"2001:db8:1::1", "2001:db8:10:1::", Verdict::protected_, "v6-inner"},
        {"2001:db8:1::1", "2001:db8:10:1:ffff:ffff:ffff:ffff", Verdict::protected_, "v6-inner"},
        {"2001:db8:1::1", "2001:db8:10:2::", Verdict::protected_, "v6"},
        {"2001:db8:1::1", "2001:db8:f::1", Verdict::transit_drop, nullptr},
    };
    for (const Case& k : cases) check(*s, k);
}

TEST(PolicyDecide, FamiliesDoNotMix) {
    // Everything IPv4 denied and protected says nothing about IPv6, and the
    // other way round.
    Config c;
    c.add_list(ListKind::deny, P("0.0.0.0/0"), std::nullopt);
    c.add_protect(P("::/0"), "all6", kDefaultPolicy);
    const auto s = compile(c, 1);
    check(*s, {"198.18.0.1", "198.51.100.1", Verdict::deny, nullptr});
    check(*s, {"2001:db8::1", "2001:db8:10::1", Verdict::protected_, "all6"});
    // ::ffff:192.0.2.1 is an IPv6 address here, not the IPv4 one.
    check(*s, {"::ffff:192.0.2.1", "2001:db8:10::1", Verdict::protected_, "all6"});
}

TEST(PolicyDecide, SnapshotIsIndependentOfLaterEdits) {
    Config c;
    c.add_protect(P("198.51.100.0/24"), "portal", kDefaultPolicy);
    const auto s = compile(c, 1);
    c.del_protect(std::string("portal"));
    c.add_list(ListKind::deny, P("192.0.2.0/24"), std::nullopt);
    check(*s, {"192.0.2.1", "198.51.100.1", Verdict::protected_, "portal"});
}

}  // namespace

// ---- the scrubbing part of the snapshot ----

namespace {

RateSpec R(uint64_t pps, uint64_t bps = 0, uint64_t burst = 0) {
    RateSpec r;
    r.pps = pps;
    r.bps = bps;
    r.burst = burst;
    return r;
}

uint8_t class_of(const Snapshot& s, const std::string& name) {
    for (size_t i = 0; i < s.class_names.size(); ++i)
        if (s.class_names[i] == name) return static_cast<uint8_t>(i);
    ADD_FAILURE() << "no class " << name;
    return 0;
}

}  // namespace

TEST(PolicyScrub, ClassesAndReflectorPorts) {
    Config c;
    c.add_reflector("quic-amp", 443);
    c.del_reflector("chargen");
    const auto s = compile(c, 1);
    for (uint8_t i = 0; i < kFirstReflectorClass; ++i) EXPECT_EQ(s->class_names[i], base_class_name(i));
    EXPECT_EQ((*s->reflector_class)[53], class_of(*s, "dns"));
    EXPECT_EQ((*s->reflector_class)[443], class_of(*s, "quic-amp"));
    EXPECT_EQ((*s->reflector_class)[19], 0);  // deleted
    EXPECT_EQ((*s->reflector_class)[80], 0);
    EXPECT_GE(class_of(*s, "dns"), kFirstReflectorClass);
    EXPECT_FALSE(s->learn_outbound) << "a box with no scrubbing settings learns nothing";
}

TEST(PolicyScrub, AVectorsOwnLimitOverridesReflectionInItsScopeOnly) {
    Config c;
    c.add_policy("web");
    c.set_limit("web", "reflection", false, R(100));
    c.set_limit("web", "reflection", true, R(1000));
    c.set_limit("web", "dns", false, R(5));
    const uint64_t hz = 1000000000;
    const auto s = compile(c, 1, {hz, 1});
    const PolicyRt& p = s->policies[1];  // "default" sorts first
    ASSERT_EQ(s->policy_names[1], "web");
    const uint8_t dns = class_of(*s, "dns"), ntp = class_of(*s, "ntp");
    EXPECT_TRUE(p.src_on >> dns & 1);
    EXPECT_TRUE(p.dst_on >> dns & 1);
    EXPECT_EQ(p.src[dns], triage::meter::make_profile({5, 0, 5, 0}, hz));
    EXPECT_EQ(p.src[ntp], triage::meter::make_profile({100, 0, 100, 0}, hz));
    EXPECT_EQ(p.dst[dns], p.dst[ntp]);
    EXPECT_FALSE(p.src_on >> kClassUdp & 1);
    EXPECT_TRUE(s->learn_outbound) << "reflection limits need solicited responses";
    EXPECT_FALSE(s->policies[0].src_on | s->policies[0].dst_on);
}

TEST(PolicyScrub, MitigationLimitsApplyOnlyToMitigatedPrefixes) {
    Config c;
    c.add_policy("web");
    c.set_limit("web", "syn", true, R(5000));                      // everyday
    c.set_limit("web", "syn", true, R(500), /*mitigating=*/true);  // stricter under attack
    c.set_limit("web", "dns", false, R(10), true);                 // only under attack
    c.set_mitigation_mode("web", MitigationMode::auto_);
    c.add_protect(P("198.51.100.10/32"), "portal", "web");
    c.add_protect(P("198.51.100.11/32"), "telehealth", "web");
    c.add_protect(P("198.51.100.0/24"), "lan", "default");
    const uint64_t hz = 1000000000;
    std::set<std::string> mitigated{"portal"};
    CompileOptions o{hz, 1};
    o.mitigated = &mitigated;
    const auto s = compile(c, 1, o);
    ASSERT_EQ(s->policy_names.size(), 2u);
    ASSERT_EQ(s->policies.size(), 3u) << "default, web, web's mitigating variant";
    ASSERT_EQ(s->mitigating_policy, (std::vector<uint32_t>{0, 2}));
    const uint8_t dns = class_of(*s, "dns");
    const PolicyRt& base = s->policies[1];
    const PolicyRt& hard = s->policies[2];
    EXPECT_EQ(base.dst[kClassSyn], triage::meter::make_profile({5000, 0, 5000, 0}, hz));
    EXPECT_FALSE(base.src_on >> dns & 1);
    EXPECT_EQ(hard.dst[kClassSyn], triage::meter::make_profile({500, 0, 500, 0}, hz));
    EXPECT_TRUE(hard.src_on >> dns & 1);
    EXPECT_EQ(hard.src[dns], triage::meter::make_profile({10, 0, 10, 0}, hz));
    for (const auto& pr : s->protect) {
        SCOPED_TRACE(pr.name);
        EXPECT_EQ(pr.config_policy, pr.name == "lan" ? 0u : 1u);
        EXPECT_EQ(pr.mitigation, pr.name == "portal");
        EXPECT_EQ(pr.policy, pr.name == "portal" ? 2u : pr.config_policy);
    }
    EXPECT_TRUE(s->learn_outbound) << "a reflection limit under mitigation needs solicited responses too";
    // Both tell solicited DNS answers apart, so detection counts them as
    // UDP before mitigation as well as during it.
    EXPECT_TRUE(base.solicit_on >> dns & 1);
    EXPECT_EQ(hard.solicit_on, base.solicit_on);
    EXPECT_FALSE(base.solicit_on >> kClassSyn & 1) << "only reflection classes";
    // Withdrawn: back to the everyday policy.
    mitigated.clear();
    const auto calm = compile(c, 2, o);
    for (const auto& pr : calm->protect) EXPECT_EQ(pr.policy, pr.config_policy) << pr.name;
    // A policy without mitigation limits has no variant.
    c.set_limit("web", "syn", true, std::nullopt, true);
    c.set_limit("web", "dns", false, std::nullopt, true);
    EXPECT_EQ(compile(c, 3, o)->policies.size(), 2u);
    // Unknown classes are refused the same way for both.
    EXPECT_THROW(c.set_limit("web", "nosuch", false, R(1), true), ConfigError);
}

TEST(PolicyScrub, ByteBurstsNeverFallBelowTheLargestFrame) {
    Config c;
    c.set_limit("default", "udp", false, R(10, 8000, 1));  // 100 bytes of burst by the rates
    c.set_limit("default", "tcp", false, R(0, 8000));      // bytes only
    c.set_limit("default", "icmp", false, R(10, 80000000, 10));  // 10 MB/s for one second
    const uint64_t hz = 2000000000;
    const auto s = compile(c, 1, {hz, 1});
    const PolicyRt& p = s->policies[0];
    EXPECT_EQ(p.src[kClassUdp], triage::meter::make_profile({10, 8000, 1, kMinByteBurst}, hz));
    EXPECT_EQ(p.src[kClassTcp], triage::meter::make_profile({0, 8000, 0, kMinByteBurst}, hz));
    EXPECT_EQ(p.src[kClassIcmp], triage::meter::make_profile({10, 80000000, 10, 10000000}, hz));
}

TEST(PolicyScrub, AclBitmapsAndEffectiveSynAuth) {
    Config c;
    c.add_policy("web");
    c.add_policy("tele");
    c.set_acl("web", true);
    c.add_service("web", {6, 8000, 8080});
    c.add_service("web", {17, 53, 53});
    c.add_service("web", {1, 0, 0});
    c.set_syn_auth("web", SynAuth::on);
    c.set_syn_auth("tele", SynAuth::auto_);
    c.add_protect(P("198.51.100.0/24"), "portal", "web");
    c.add_protect(P("203.0.113.0/25"), "calm", "tele");
    c.add_protect(P("203.0.113.128/25"), "attacked", "tele");
    c.set_mitigation("attacked", true);
    const auto s = compile(c, 1);
    const PolicyRt& web = s->policies[2];
    ASSERT_EQ(s->policy_names[2], "web");
    ASSERT_TRUE(web.acl && web.open);
    for (unsigned port : {7999u, 8081u, 80u}) EXPECT_FALSE(Acl::bit(web.open->tcp, port)) << port;
    for (unsigned port : {8000u, 8040u, 8080u}) EXPECT_TRUE(Acl::bit(web.open->tcp, port)) << port;
    EXPECT_TRUE(Acl::bit(web.open->udp, 53));
    EXPECT_FALSE(Acl::bit(web.open->udp, 8000));
    EXPECT_TRUE(Acl::bit(web.open->proto, 1));
    EXPECT_FALSE(Acl::bit(web.open->proto, 47));
    EXPECT_FALSE(s->policies[1].acl);
    for (const auto& p : s->protect) {
        const bool want = p.name == "portal" || p.name == "attacked";
        EXPECT_EQ(p.syn_auth, want) << p.name;
    }
}

TEST(PolicyScrub, SignaturesCompileWithTheSnapshotAndABadOneNamesItsId) {
    Config c;
    SignatureRule r;
    r.id = 42;
    r.proto = 6;
    r.lo = 80;
    r.hi = 80;
    r.pattern = "/admin/i";
    c.add_signature(r);
    const auto s = compile(c, 1, {1000000000, 3});
    ASSERT_TRUE(s->signatures);
    EXPECT_EQ(s->signatures->size(), 1u);
    EXPECT_EQ(s->signatures->workers(), 3u);
    r.id = 43;
    r.pattern = "/(unclosed/";
    c.add_signature(r);  // the console checks patterns; a Config alone does not
    try {
        compile(c, 2);
        FAIL() << "a bad pattern compiled";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("signature 43: Hyperscan: ", 0), 0u) << e.what();
    }
    EXPECT_NE(check_signature(r), "");
    r.pattern = "/fine/";
    EXPECT_EQ(check_signature(r), "");
}
