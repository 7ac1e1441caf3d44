// lib/signature: operator pattern syntax, compile errors naming the rule, and
// the per-packet scan (actions, flags, protocol/port filtering, counting,
// per-worker scratch).
#include <gtest/gtest.h>

#include <hs.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "signature.h"

namespace {

using triage::signature::Action;
using triage::signature::Database;
using triage::signature::Hits;
using triage::signature::kMaxRules;
using triage::signature::parse_pattern;
using triage::signature::Result;
using triage::signature::Rule;
using triage::signature::SignatureError;

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kAny = 0;

Rule rule(uint32_t id, std::string pattern, Action action, uint16_t slot, uint8_t proto = kAny,
          uint16_t lo = 0, uint16_t hi = 65535) {
    Rule r;
    r.id = id;
    r.proto = proto;
    r.port_lo = lo;
    r.port_hi = hi;
    r.pattern = std::move(pattern);
    r.action = action;
    r.slot = slot;
    return r;
}

Result scan(const Database& db, std::string_view payload, uint8_t proto = kTcp, uint16_t dport = 80,
            Hits* hits = nullptr, unsigned worker = 0) {
    return triage::signature::scan(db, worker, proto, dport,
                                   reinterpret_cast<const uint8_t*>(payload.data()), payload.size(),
                                   hits);
}

// The message compile() throws for rules, or "" when it succeeds.
std::string compile_error(const std::vector<Rule>& rules) {
    try {
        Database::compile(rules, 1);
    } catch (const SignatureError& e) {
        return e.what();
    }
    return "";
}

// --- pattern syntax ---

TEST(SignatureParse, Good) {
    std::string expr, err;
    unsigned flags = 99;
    ASSERT_TRUE(parse_pattern("/abc/", expr, flags, err)) << err;
    EXPECT_EQ(expr, "abc");
    EXPECT_EQ(flags, 0u);

    ASSERT_TRUE(parse_pattern("/GET\\x20\\/admin/i", expr, flags, err)) << err;
    EXPECT_EQ(expr, "GET\\x20\\/admin");
    EXPECT_EQ(flags, unsigned{HS_FLAG_CASELESS});

    ASSERT_TRUE(parse_pattern("/^a.b$/sm", expr, flags, err)) << err;
    EXPECT_EQ(expr, "^a.b$");
    EXPECT_EQ(flags, unsigned{HS_FLAG_DOTALL | HS_FLAG_MULTILINE});

    ASSERT_TRUE(parse_pattern("/x/ism", expr, flags, err)) << err;
    EXPECT_EQ(flags, unsigned{HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE});

    // The regex runs to the last slash, so an unescaped '/' is part of it.
    ASSERT_TRUE(parse_pattern("/a/b/i", expr, flags, err)) << err;
    EXPECT_EQ(expr, "a/b");
    EXPECT_EQ(flags, unsigned{HS_FLAG_CASELESS});
}

TEST(SignatureParse, Bad) {
    const struct {
        const char* text;
        const char* err;
    } cases[] = {
        {"", "pattern must look like /regex/flags"},
        {"abc", "pattern must look like /regex/flags"},
        {"abc/i", "pattern must look like /regex/flags"},
        {"/abc", "pattern must look like /regex/flags"},
        {"/", "pattern must look like /regex/flags"},
        {"//", "empty regex"},
        {"//i", "empty regex"},
        {"/abc/x", "unknown flag 'x'"},
        {"/abc/iX", "unknown flag 'X'"},
        {"/abc/ii", "repeated flag 'i'"},
        {"/GET /x/", "contains a space: write \\x20 or \\s"},
        {"/a\tb/", "contains a space: write \\x20 or \\s"},
    };
    for (const auto& c : cases) {
        std::string expr = "untouched", err;
        unsigned flags = 42;
        EXPECT_FALSE(parse_pattern(c.text, expr, flags, err)) << c.text;
        EXPECT_EQ(err, c.err) << c.text;
        EXPECT_EQ(expr, "untouched") << c.text;
        EXPECT_EQ(flags, 42u) << c.text;
    }
    std::string expr, err;
    unsigned flags = 0;
    EXPECT_FALSE(parse_pattern(std::string_view("/a\0b/", 5), expr, flags, err));
    EXPECT_EQ(err, "contains a NUL byte: write \\x00");
}

// --- compile ---

TEST(SignatureCompile, HyperscanErrorNamesTheRule) {
    // The bad pattern is the third of five: the message must name its id
    // (not its index) and carry Hyperscan's own words.
    const std::vector<Rule> rules = {
        rule(3, "/alpha/", Action::count, 0),  rule(5, "/beta/", Action::drop, 1),
        rule(7, "/ab(c/", Action::drop, 2),    rule(11, "/gamma/", Action::count, 3),
        rule(13, "/delta/i", Action::drop, 4),
    };
    EXPECT_EQ(compile_error(rules),
              "signature 7: Hyperscan: Missing close parenthesis for group started at index 2.");

    // A pattern that matches every packet is Hyperscan's refusal too.
    std::vector<Rule> empty_match = rules;
    empty_match[2].pattern = "/x*/";
    const std::string e = compile_error(empty_match);
    EXPECT_EQ(e.rfind("signature 7: Hyperscan: ", 0), 0u) << e;
    EXPECT_NE(e.find("empty buffer"), std::string::npos) << e;

    std::vector<Rule> last = rules;
    last[2].pattern = "/abc/";
    last[4].pattern = "/a{5,2}/";
    EXPECT_EQ(compile_error(last).rfind("signature 13: Hyperscan: ", 0), 0u) << compile_error(last);
}

TEST(SignatureCompile, SyntaxAndRuleErrorsNameTheRule) {
    std::vector<Rule> rules = {rule(1, "/ok/", Action::count, 0),
                               rule(9, "/bad/x", Action::drop, 1)};
    EXPECT_EQ(compile_error(rules), "signature 9: unknown flag 'x'");

    rules[1] = rule(9, "/ok2/", Action::drop, kMaxRules);
    EXPECT_EQ(compile_error(rules), "signature 9: counter slot 1024 out of range (< 1024)");

    rules[1] = rule(9, "/ok2/", Action::drop, 0);
    EXPECT_EQ(compile_error(rules), "signature 9: counter slot 0 already used");

    rules[1] = rule(1, "/ok2/", Action::drop, 1);
    EXPECT_EQ(compile_error(rules), "signature 1: duplicate signature id");

    rules[1] = rule(9, "/ok2/", Action::drop, 1, kTcp, 90, 80);
    EXPECT_EQ(compile_error(rules), "signature 9: port range 90-80 is empty");

    rules[1] = rule(9, "/ok2/", Action::drop, 1, kIcmp, 0, 10);
    EXPECT_EQ(compile_error(rules), "signature 9: a port range needs protocol tcp or udp");

    rules[1] = rule(9, "/ok2/", Action::drop, 1, kIcmp);
    EXPECT_EQ(compile_error(rules), "");
}

TEST(SignatureCompile, EmptyDatabaseMatchesNothing) {
    const auto db = Database::compile({}, 2);
    ASSERT_TRUE(db);
    EXPECT_EQ(db->size(), 0u);
    EXPECT_EQ(db->memory_bytes(), 0u);
    EXPECT_FALSE(db->may_apply(kTcp, 80));
    EXPECT_FALSE(db->may_apply(kIcmp, 0));
    const Result r = scan(*db, "anything at all");
    EXPECT_EQ(r.drop, -1);
    EXPECT_EQ(r.matched, 0u);
    EXPECT_FALSE(r.error);
}

TEST(SignatureCompile, MaxRulesCompileAndMatch) {
    std::vector<Rule> rules;
    char buf[48];
    for (unsigned i = 0; i < kMaxRules; ++i) {
        std::snprintf(buf, sizeof buf, "/sig%04u[a-z]{2}end/", i);
        rules.push_back(rule(10000 + i, buf, i % 2 ? Action::drop : Action::count,
                             static_cast<uint16_t>(kMaxRules - 1 - i)));
    }
    const auto db = Database::compile(rules, 2);
    ASSERT_EQ(db->size(), kMaxRules);
    Hits hits;
    Result r = scan(*db, "....sig0777xyend....", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, 777);
    EXPECT_EQ(r.matched, 1u);
    EXPECT_EQ(hits.get(kMaxRules - 1 - 777), 1u);
    r = scan(*db, "sig0042abend sig0043ab", kUdp, 53, &hits, 1);
    EXPECT_EQ(r.drop, -1);
    EXPECT_EQ(r.matched, 1u);
    EXPECT_EQ(hits.get(kMaxRules - 1 - 42), 1u);

    rules.push_back(rule(1, "/one-too-many/", Action::count, 0));
    EXPECT_EQ(compile_error(rules), "signatures: 1025 rules, at most 1024");
}

TEST(SignatureCompile, MemoryBytes) {
    const std::vector<Rule> rules = {rule(1, "/evil[0-9]+payload/i", Action::drop, 0),
                                     rule(2, "/x{3}y/", Action::count, 1)};
    const auto one = Database::compile(rules, 1);
    const auto four = Database::compile(rules, 4);
    EXPECT_GT(one->memory_bytes(), 0u);
    // Three more scratches.
    EXPECT_GT(four->memory_bytes(), one->memory_bytes());
    EXPECT_EQ(four->workers(), 4u);
    EXPECT_EQ(four->rules(), rules);
}

// --- scan ---

TEST(SignatureScan, DropAndCountActions) {
    const auto db = Database::compile(
        {rule(1, "/attack/", Action::drop, 5), rule(2, "/suspicious/", Action::count, 6)}, 1);
    Hits hits;
    Result r = scan(*db, "an attack payload", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, 0);
    EXPECT_EQ(r.matched, 1u);
    r = scan(*db, "merely suspicious", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, -1);
    EXPECT_EQ(r.matched, 1u);
    r = scan(*db, "nothing to see", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, -1);
    EXPECT_EQ(r.matched, 0u);
    EXPECT_EQ(hits.get(5), 1u);
    EXPECT_EQ(hits.get(6), 1u);
    EXPECT_FALSE(r.error);

    // Empty payload: no scan at all.
    r = triage::signature::scan(*db, 0, kTcp, 80, nullptr, 0, &hits);
    EXPECT_EQ(r.matched, 0u);
}

TEST(SignatureScan, CaselessFlag) {
    const auto db = Database::compile(
        {rule(1, "/select\\s+\\*/i", Action::drop, 0), rule(2, "/Exact/", Action::count, 1)}, 1);
    EXPECT_EQ(scan(*db, "SeLeCt   * from t").drop, 0);
    EXPECT_EQ(scan(*db, "select\t*").drop, 0);
    EXPECT_EQ(scan(*db, "exact").matched, 0u);
    EXPECT_EQ(scan(*db, "Exact").matched, 1u);
}

TEST(SignatureScan, DotallAndMultilineFlags) {
    const auto db = Database::compile(
        {rule(1, "/a.b/s", Action::count, 0), rule(2, "/^host:/m", Action::count, 1),
         rule(3, "/c.d/", Action::count, 2)},
        1);
    EXPECT_EQ(scan(*db, "a\nb").matched, 1u);
    EXPECT_EQ(scan(*db, "c\nd").matched, 0u);
    EXPECT_EQ(scan(*db, "GET / HTTP/1.1\nhost: x").matched, 1u);
}

TEST(SignatureScan, ProtocolAndPortFiltering) {
    const auto db = Database::compile(
        {
            rule(1, "/tcpweb/", Action::drop, 0, kTcp, 80, 80),
            rule(2, "/udpdns/", Action::drop, 1, kUdp, 53, 53),
            rule(3, "/anyrange/", Action::drop, 2, kAny, 1000, 1999),
            rule(4, "/icmpping/", Action::drop, 3, kIcmp),
        },
        1);
    EXPECT_EQ(scan(*db, "tcpweb", kTcp, 80).drop, 0);
    EXPECT_EQ(scan(*db, "tcpweb", kTcp, 81).drop, -1);
    EXPECT_EQ(scan(*db, "tcpweb", kUdp, 80).drop, -1);
    EXPECT_EQ(scan(*db, "udpdns", kUdp, 53).drop, 1);
    EXPECT_EQ(scan(*db, "udpdns", kTcp, 53).drop, -1);
    // Range edges are inclusive; both TCP and UDP for proto any.
    EXPECT_EQ(scan(*db, "anyrange", kTcp, 1000).drop, 2);
    EXPECT_EQ(scan(*db, "anyrange", kUdp, 1999).drop, 2);
    EXPECT_EQ(scan(*db, "anyrange", kTcp, 999).drop, -1);
    EXPECT_EQ(scan(*db, "anyrange", kUdp, 2000).drop, -1);
    // A packet without ports is in no range, whatever the caller passes as dport.
    EXPECT_EQ(scan(*db, "anyrange", kIcmp, 1500).drop, -1);
    EXPECT_EQ(scan(*db, "icmpping", kIcmp, 0).drop, 3);
    EXPECT_EQ(scan(*db, "icmpping", kTcp, 80).drop, -1);
    // A non-applicable drop rule does not stop the scan: a later rule counts.
    const auto db2 = Database::compile(
        {rule(1, "/first/", Action::drop, 0, kUdp), rule(2, "/second/", Action::count, 1)}, 1);
    const Result r = scan(*db2, "first second", kTcp, 80);
    EXPECT_EQ(r.drop, -1);
    EXPECT_EQ(r.matched, 1u);
}

TEST(SignatureScan, PrefilterBitmap) {
    const auto db = Database::compile(
        {
            rule(1, "/a1/", Action::count, 0, kTcp, 60, 130),  // crosses 64-bit words
            rule(2, "/a2/", Action::count, 1, kUdp, 65000, 65535),
            rule(3, "/a3/", Action::count, 2, kTcp, 4096, 4096),
        },
        1);
    for (unsigned p = 0; p < 65536; ++p) {
        const bool tcp = (p >= 60 && p <= 130) || p == 4096;
        const bool udp = p >= 65000;
        ASSERT_EQ(db->may_apply(kTcp, static_cast<uint16_t>(p)), tcp) << p;
        ASSERT_EQ(db->may_apply(kUdp, static_cast<uint16_t>(p)), udp) << p;
    }
    EXPECT_FALSE(db->may_apply(kIcmp, 0));

    const auto any = Database::compile({rule(1, "/a/", Action::count, 0)}, 1);
    EXPECT_TRUE(any->may_apply(kTcp, 0));
    EXPECT_TRUE(any->may_apply(kUdp, 65535));
    EXPECT_TRUE(any->may_apply(kIcmp, 0));
    EXPECT_TRUE(any->may_apply(47, 0));
}

TEST(SignatureScan, SingleMatchCountsOncePerPacket) {
    const auto db = Database::compile({rule(1, "/xyz/", Action::count, 9)}, 1);
    Hits hits;
    const Result r = scan(*db, "xyz xyz xyz xyz", kTcp, 80, &hits);
    EXPECT_EQ(r.matched, 1u);
    EXPECT_EQ(hits.get(9), 1u);
    scan(*db, "xyzxyz", kTcp, 80, &hits);
    EXPECT_EQ(hits.get(9), 2u);
}

TEST(SignatureScan, FirstDropStops) {
    const auto db = Database::compile(
        {
            rule(1, "/aaa/", Action::count, 10),
            rule(2, "/bbb/", Action::drop, 11),
            rule(3, "/ccc/", Action::drop, 12),
            rule(4, "/ddd/", Action::count, 13),
        },
        1);
    Hits hits;
    Result r = scan(*db, "aaa-bbb-ccc-ddd", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, 1);
    EXPECT_EQ(r.matched, 2u);  // aaa and bbb; the scan stopped there
    EXPECT_EQ(hits.get(10), 1u);
    EXPECT_EQ(hits.get(11), 1u);
    EXPECT_EQ(hits.get(12), 0u);
    EXPECT_EQ(hits.get(13), 0u);
    // The drop rule reported is the one whose match ends first.
    r = scan(*db, "ccc-bbb", kTcp, 80, &hits);
    EXPECT_EQ(r.drop, 2);
    EXPECT_EQ(r.matched, 1u);
}

TEST(SignatureScan, HitsPerSlot) {
    const auto db =
        Database::compile({rule(1, "/one/", Action::count, 700), rule(2, "/two/", Action::count, 3),
                           rule(3, "/three/", Action::drop, 1023)},
                          1);
    Hits hits;
    scan(*db, "one", kTcp, 80, &hits);
    scan(*db, "one two", kTcp, 80, &hits);
    scan(*db, "one two three", kTcp, 80, &hits);
    scan(*db, "three", kUdp, 53, &hits);
    EXPECT_EQ(hits.get(700), 3u);
    EXPECT_EQ(hits.get(3), 2u);
    EXPECT_EQ(hits.get(1023), 2u);
    uint64_t total = 0;
    for (size_t s = 0; s < kMaxRules; ++s) total += hits.get(s);
    EXPECT_EQ(total, 7u);
}

TEST(SignatureScan, BadWorkerIndexIsAnErrorNotACrash) {
    const auto db = Database::compile({rule(1, "/a/", Action::drop, 0)}, 2);
    EXPECT_FALSE(scan(*db, "a", kTcp, 80, nullptr, 1).error);
    const Result r = scan(*db, "a", kTcp, 80, nullptr, 2);
    EXPECT_TRUE(r.error);
    EXPECT_EQ(r.drop, -1);
}

// Two workers scan the same database at once, each with its own worker index
// and Hits. Hyperscan refuses a scratch already in use (HS_SCRATCH_IN_USE),
// so a shared scratch shows up as Result::error (and wrong counts). Each
// thread keeps going until both have done their quota, so the runs overlap
// for as long as possible even when one thread starts late.
TEST(SignatureScan, PerWorkerScratchesAreIndependent) {
    const auto db = Database::compile(
        {rule(1, "/evil[0-9]{3}/", Action::drop, 0), rule(2, "/watch(me|it)/i", Action::count, 1),
         rule(3, "/udponly/", Action::drop, 2, kUdp, 53, 53)},
        2);
    constexpr int kIters = 30000;
    Hits hits[2];
    int wrong[2] = {0, 0};
    uint64_t expected[2] = {0, 0};  // matching packets per worker
    std::atomic<int> finished{0};
    std::atomic<int> ready{0};
    auto worker = [&](unsigned w) {
        ++ready;
        while (ready.load() < 2) std::this_thread::yield();
        const std::string filler(300, '.');
        bool counted_done = false;
        for (int i = 0; !counted_done || finished.load(std::memory_order_relaxed) < 2; ++i) {
            if (i == kIters) {
                ++finished;
                counted_done = true;
            }
            const int kind = (i + static_cast<int>(w)) % 3;
            // Vary where the match sits so the scans differ in length.
            const size_t at = static_cast<size_t>(i % 280);
            std::string p = filler;
            if (kind == 0) p.replace(at, 7, "evil" + std::to_string(100 + i % 900));
            if (kind == 1) p.replace(at, 7, "WATCHme");
            if (kind != 2) ++expected[w];
            const Result r = scan(*db, p, kTcp, 80, &hits[w], w);
            const bool ok = !r.error && (kind == 0   ? r.drop == 0 && r.matched == 1
                                         : kind == 1 ? r.drop == -1 && r.matched == 1
                                                     : r.drop == -1 && r.matched == 0);
            if (!ok) ++wrong[w];
        }
    };
    std::thread a(worker, 0u), b(worker, 1u);
    a.join();
    b.join();
    for (unsigned w = 0; w < 2; ++w) {
        EXPECT_EQ(wrong[w], 0) << "worker " << w;
        EXPECT_GT(expected[w], 0u);
        EXPECT_EQ(hits[w].get(0) + hits[w].get(1), expected[w]) << "worker " << w;
        EXPECT_EQ(hits[w].get(2), 0u);
    }
}

}  // namespace
