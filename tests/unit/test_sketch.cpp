// lib/detect/sketch.h: source keys from parsed packets, the Space-Saving
// summary's guarantees against exact counts, merging per-worker summaries,
// the snapshot hand-off, and the incident's "top sources" rendering.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "detect.h"
#include "packet_builder.h"
#include "parse.h"
#include "sketch.h"

using namespace triage::detect;
namespace gen = triage::gen;
namespace net = triage::net;

namespace {

// Distinct keys for i < 2^17: a /32 in 198.18.0.0/15 or (one in five) a
// /64 in 2001:db8::/32.
SourceKey key_of(uint32_t i, uint16_t entry = 0) {
    const auto b = [i](unsigned shift) { return static_cast<uint8_t>(i >> shift); };
    if (i % 5 == 4) {
        const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, b(16), b(8), b(0), 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return source_key_v6(entry, a, 64);
    }
    const uint8_t a[4] = {198, static_cast<uint8_t>(18 + (b(16) & 1)), b(8), b(0)};
    return source_key_v4(entry, a, 32);
}
constexpr uint32_t kHeavyBase = 120'000;  // heavy keys are kHeavyBase + h

struct KeyLess {
    bool operator()(const SourceKey& a, const SourceKey& b) const { return std::memcmp(&a, &b, sizeof a) < 0; }
};
using Truth = std::map<SourceKey, uint64_t, KeyLess>;

// Every entry's count overestimates by at most its error, no absent key
// exceeds absent_bound(), and the internal structures agree.
template <unsigned K>
void expect_bounds(const SpaceSaving<K>& s, const Truth& truth) {
    ASSERT_TRUE(s.check());
    for (const SketchEntry& e : s) {
        auto it = truth.find(e.key);
        const uint64_t t = it == truth.end() ? 0 : it->second;
        EXPECT_LE(t, e.count) << to_string(e.key);
        EXPECT_GE(t, e.count - e.error) << to_string(e.key);
    }
    for (const auto& [k, t] : truth) {
        if (!s.find(k)) {
            EXPECT_LE(t, s.absent_bound()) << to_string(k) << " is missing";
        }
    }
}

// A skewed stream: `heavy` keys share half the weight, the rest is spread
// over `keys` others with a Zipf-like (1/rank) law.
struct Stream {
    std::vector<uint32_t> ids;
    Stream(size_t n, uint32_t keys, unsigned heavy, uint64_t seed) {
        std::mt19937_64 rng(seed);
        std::vector<double> w(keys);
        for (uint32_t r = 0; r < keys; ++r) w[r] = 1.0 / (r + 1);
        std::discrete_distribution<uint32_t> tail(w.begin(), w.end());
        std::uniform_int_distribution<unsigned> h(0, heavy - 1);
        ids.reserve(n);
        for (size_t i = 0; i < n; ++i) ids.push_back(i % 2 ? kHeavyBase + h(rng) : tail(rng));
        std::shuffle(ids.begin(), ids.end(), rng);
    }
};

}  // namespace

TEST(Sketch, SourceKeysFromParsedPackets) {
    // The worker builds keys from PacketView::src: IPv4 in its first 4 bytes.
    const gen::Bytes f4 = gen::frame4(gen::Ipv4{.src = {203, 0, 113, 77}, .proto = net::ip_proto::udp}, gen::udp({}));
    net::PacketView v{};
    ASSERT_EQ(net::parse(f4.data(), static_cast<uint32_t>(f4.size()), v), net::Malformed::none);
    const SourceKey k4 = source_key(7, v.ip_version, v.src);
    EXPECT_EQ(k4.entry, 7);
    EXPECT_EQ(k4.family, 4);
    EXPECT_EQ(k4.len, 24);
    EXPECT_EQ(to_string(k4), "203.0.113.0/24");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 20)), "203.0.112.0/20");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 32)), "203.0.113.77/32");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 40)), "203.0.113.77/32") << "clamped";
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 0)), "0.0.0.0/0");

    gen::Ipv6 h6;
    h6.src = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x02, 0xab, 0, 0, 0, 0, 0, 0, 0, 0x42};
    h6.next = net::ip_proto::udp;
    const gen::Bytes f6 = gen::frame6(h6, gen::udp({}));
    ASSERT_EQ(net::parse(f6.data(), static_cast<uint32_t>(f6.size()), v), net::Malformed::none);
    const SourceKey k6 = source_key(7, v.ip_version, v.src);
    EXPECT_EQ(k6.family, 6);
    EXPECT_EQ(k6.len, 48);
    EXPECT_EQ(to_string(k6), "2001:db8:1::/48");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 24, 56)), "2001:db8:1:200::/56");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 24, 128)), "2001:db8:1:2ab::42/128");
    EXPECT_EQ(to_string(source_key(7, v.ip_version, v.src, 24, 29)), "2001:db8::/29");

    // Addresses in one prefix are one key; the entry is part of the key.
    const uint8_t a[4] = {203, 0, 113, 1}, b[4] = {203, 0, 113, 254}, c[4] = {203, 0, 114, 1};
    EXPECT_EQ(source_key_v4(7, a), source_key_v4(7, b));
    EXPECT_EQ(hash_key(source_key_v4(7, a), 99), hash_key(source_key_v4(7, b), 99));
    EXPECT_FALSE(source_key_v4(7, a) == source_key_v4(7, c));
    EXPECT_FALSE(source_key_v4(7, a) == source_key_v4(8, a));
    EXPECT_FALSE(source_key_v4(7, a, 24) == source_key_v4(7, a, 25));
}

TEST(Sketch, ExactWhileDistinctKeysFit) {
    SpaceSaving<64> s(12345);
    std::mt19937_64 rng(1);
    Truth truth;
    std::map<SourceKey, uint64_t, KeyLess> bytes;
    std::vector<uint32_t> ids;
    for (uint32_t k = 0; k < 64; ++k) ids.insert(ids.end(), 1 + k % 7, k);
    std::shuffle(ids.begin(), ids.end(), rng);
    uint64_t total = 0;
    for (uint32_t id : ids) {
        const uint64_t w = 1 + rng() % 32, by = 60 + rng() % 1400;
        s.add(key_of(id, 3), w, by);
        truth[key_of(id, 3)] += w;
        bytes[key_of(id, 3)] += by;
        total += w;
    }
    ASSERT_TRUE(s.check());
    EXPECT_EQ(s.size(), 64u);
    EXPECT_TRUE(s.full());
    EXPECT_EQ(s.total(), total);
    for (const SketchEntry& e : s) {
        EXPECT_EQ(e.count, truth[e.key]);
        EXPECT_EQ(e.error, 0u);
        EXPECT_EQ(e.bytes, bytes[e.key]);
    }
    const auto t = s.top(64);
    ASSERT_EQ(t.size(), 64u);
    for (size_t i = 1; i < t.size(); ++i) EXPECT_GE(t[i - 1].count, t[i].count);
    EXPECT_EQ(s.top(3).size(), 3u);

    s.clear();
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(s.total(), 0u);
    EXPECT_EQ(s.find(key_of(0, 3)), nullptr);
    EXPECT_TRUE(s.check());
}

TEST(Sketch, FindsTheHeavyHittersOfASkewedStream) {
    // 100k keys; five heavy ones hold half the packets (10 % each). Each add
    // is a sampled packet of weight 16.
    constexpr unsigned kHeavy = 5;
    const Stream st(400'000, 100'000, kHeavy, 7);
    SpaceSaving<64> s(0xfeed);
    Truth truth;
    for (uint32_t id : st.ids) {
        s.add(key_of(id), 16, 1000);
        truth[key_of(id)] += 16;
    }
    EXPECT_GT(truth.size(), 30'000u);
    expect_bounds(s, truth);
    EXPECT_EQ(s.total(), 16u * st.ids.size());
    // Space-Saving hands the evicted count on, so the counts sum to the total.
    uint64_t sum = 0;
    for (const SketchEntry& e : s) sum += e.count;
    EXPECT_EQ(sum, s.total());
    EXPECT_LE(s.absent_bound(), s.total() / 64);

    const auto top = s.top(kHeavy);
    ASSERT_EQ(top.size(), kHeavy);
    for (const SketchEntry& e : top) {
        const uint64_t t = truth[e.key];
        EXPECT_GT(t, s.total() / 12) << to_string(e.key) << " is not one of the heavy keys";
        EXPECT_LE(e.error, s.total() / 64);
    }
    for (unsigned h = 0; h < kHeavy; ++h) EXPECT_NE(s.find(key_of(kHeavyBase + h)), nullptr) << h;
}

TEST(Sketch, RandomOperationsKeepTheInvariants) {
    // A small table over a slightly larger key space churns constantly:
    // every eviction path (probe-run shifts, heap repairs) gets exercised.
    SpaceSaving<8> s(3);
    std::mt19937_64 rng(11);
    Truth truth;
    for (int i = 0; i < 20'000; ++i) {
        const uint32_t id = static_cast<uint32_t>(rng() % 13);
        const uint64_t w = rng() % 4;  // 0 included
        s.add(key_of(id), w, w * 100);
        truth[key_of(id)] += w;
        if (i % 997 == 0) expect_bounds(s, truth);
        if (i == 10'000) {
            s.clear();
            truth.clear();
        }
    }
    expect_bounds(s, truth);
}

namespace {
// Splits a stream over `workers` per-worker summaries, by packet (random
// steering) or by key (a source's packets all on one worker, as RSS does).
// truth[w] is what worker w saw.
template <unsigned K>
std::vector<std::unique_ptr<SpaceSaving<K>>> shards(const Stream& st, unsigned workers, bool by_key,
                                                    std::vector<Truth>& truth) {
    std::vector<std::unique_ptr<SpaceSaving<K>>> w;
    for (unsigned i = 0; i < workers; ++i) w.push_back(std::make_unique<SpaceSaving<K>>(100 + i));
    truth.assign(workers, {});
    std::mt19937_64 rng(5);
    for (uint32_t id : st.ids) {
        const unsigned to = static_cast<unsigned>((by_key ? hash_key(key_of(id), 42) : rng()) % workers);
        w[to]->add(key_of(id), 8, 500);
        truth[to][key_of(id)] += 8;
    }
    return w;
}
}  // namespace

TEST(Sketch, MergedWorkerSummariesBoundTheTruth) {
    constexpr unsigned kHeavy = 6;
    const Stream st(300'000, 100'000, kHeavy, 21);
    for (bool by_key : {false, true}) {
        SCOPED_TRACE(by_key ? "steered by key" : "steered by packet");
        std::vector<Truth> per;
        auto w = shards<64>(st, 4, by_key, per);
        auto merged = std::make_unique<SpaceSaving<256>>(9);
        Truth truth;  // of the workers merged so far
        uint64_t total = 0;
        for (size_t i = 0; i < w.size(); ++i) {
            EXPECT_TRUE(w[i]->full());
            merged->merge(*w[i]);
            total += w[i]->total();
            for (const auto& [k, t] : per[i]) truth[k] += t;
            expect_bounds(*merged, truth);
        }
        EXPECT_EQ(merged->total(), total);
        EXPECT_GE(merged->size(), 64u);
        expect_bounds(*merged, truth);
        for (unsigned h = 0; h < kHeavy; ++h) {
            const SketchEntry* e = merged->find(key_of(kHeavyBase + h));
            ASSERT_NE(e, nullptr) << h;
            EXPECT_LE(e->error, total / 64) << "no worse than one worker's bound, summed";
        }
        const auto top = merged->top(kHeavy);
        for (const SketchEntry& e : top) EXPECT_GT(truth[e.key], total / 20) << to_string(e.key) << " is not heavy";

        // The same through snapshots (the cross-core hand-off) gives the same summary.
        auto via = std::make_unique<SpaceSaving<256>>(77);
        for (auto& s : w) {
            auto snap = std::make_unique<SketchSnapshot<64>>();
            s->save(*snap);
            via->merge(*snap);
        }
        ASSERT_TRUE(via->check());
        EXPECT_EQ(via->total(), merged->total());
        EXPECT_EQ(via->absent_bound(), merged->absent_bound());
        const auto a = merged->top(256), b = via->top(256);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].key, b[i].key);
            EXPECT_EQ(a[i].count, b[i].count);
            EXPECT_EQ(a[i].error, b[i].error);
            EXPECT_EQ(a[i].bytes, b[i].bytes);
        }
    }
}

TEST(Sketch, MergeChargesAKeyAbsentFromAFullSummaryWithThatSummarysMinimum) {
    const SourceKey x = key_of(1), y = key_of(2), z = key_of(3);
    SpaceSaving<2> a, b;
    Truth truth;
    auto feed = [&](SpaceSaving<2>& s, const SourceKey& k, int n) {
        for (int i = 0; i < n; ++i) s.add(k, 1, 100), truth[k] += 1;
    };
    feed(a, z, 3);
    feed(a, x, 10);
    feed(a, y, 10);  // evicts z (3): y = 13, error 3
    ASSERT_EQ(a.find(z), nullptr);
    ASSERT_EQ(a.absent_bound(), 10u);
    feed(b, z, 4);   // b is not full: its absent keys had nothing
    SpaceSaving<2> m;
    m.merge(a);
    m.merge(b);
    expect_bounds(m, truth);
    // z: 4 in b, and up to a's minimum (10) in a: count 14, error 10; truth 7.
    const SketchEntry* e = m.find(z);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->count, 14u);
    EXPECT_EQ(e->error, 10u);
    EXPECT_EQ(m.total(), 27u);
    // x (10) lost its place to y (13) and z (14); no absent key exceeds the new minimum.
    EXPECT_EQ(m.find(x), nullptr);
    EXPECT_EQ(m.absent_bound(), 13u);

    // Merging into a larger, empty table keeps what a bounds absent keys by.
    SpaceSaving<8> big;
    big.merge(a);
    EXPECT_EQ(big.size(), 2u);
    EXPECT_FALSE(big.full());
    EXPECT_EQ(big.absent_bound(), 10u);
    big.add(z, 1, 0);  // z may have had 10 already
    ASSERT_NE(big.find(z), nullptr);
    EXPECT_EQ(big.find(z)->count, 11u);
    EXPECT_EQ(big.find(z)->error, 10u);
    EXPECT_TRUE(big.check());
}

TEST(Sketch, SnapshotRoundTrip) {
    const Stream st(50'000, 5'000, 3, 99);
    SpaceSaving<64> s(1);
    Truth truth;
    for (uint32_t id : st.ids) s.add(key_of(id, 2), 4, 64), truth[key_of(id, 2)] += 4;

    // Plain bytes: what crosses from a worker to the control core.
    SketchSnapshot<64> snap;
    s.save(snap);
    std::vector<unsigned char> wire(sizeof snap);
    std::memcpy(wire.data(), &snap, sizeof snap);
    SketchSnapshot<64> back;
    std::memcpy(&back, wire.data(), sizeof back);

    SpaceSaving<64> r(2);  // another seed: a different index layout
    r.load(back);
    ASSERT_TRUE(r.check());
    EXPECT_EQ(r.size(), s.size());
    EXPECT_EQ(r.total(), s.total());
    EXPECT_EQ(r.absent_bound(), s.absent_bound());
    const auto a = s.top(64), b = r.top(64);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].key, b[i].key);
        EXPECT_EQ(a[i].count, b[i].count);
        EXPECT_EQ(a[i].error, b[i].error);
        EXPECT_EQ(a[i].bytes, b[i].bytes);
    }
    expect_bounds(r, truth);

    // A partly filled table after a merge keeps its bound for absent keys.
    SpaceSaving<256> m;
    m.merge(s);
    auto ms = std::make_unique<SketchSnapshot<256>>();
    m.save(*ms);
    SpaceSaving<256> m2;
    m2.load(*ms);
    EXPECT_EQ(m2.absent_bound(), s.absent_bound());
    EXPECT_FALSE(m2.full());
    // A corrupt snapshot (entry count, repeated keys, error above count)
    // leaves a consistent table, not a broken index.
    ms->n = 100000;
    ms->e[70] = ms->e[3];
    ms->e[71] = ms->e[3];
    ms->e[5].error = ms->e[5].count + 1;
    m2.load(*ms);
    EXPECT_TRUE(m2.check());
    EXPECT_LE(m2.size(), 256u);
    EXPECT_NE(m2.find(ms->e[3].key), nullptr);
}

TEST(Sketch, IncidentRendersTopSources) {
    SpaceSaving<64> s;
    const uint8_t a[4] = {203, 0, 113, 5}, b[4] = {198, 51, 100, 9};
    const uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    s.add(source_key_v4(0, a), 600, 60000);
    s.add(source_key_v4(0, b), 300, 30000);
    s.add(source_key_v6(0, c), 100, 10000);
    s.add(source_key_v4(1, a), 5000, 1);  // another target's

    Incident in;
    in.id = 4;
    in.target = "portal";
    in.prefix = "198.51.100.10/32";
    in.top_sources = top_sources(s, 0, 2, 2000);
    ASSERT_EQ(in.top_sources.size(), 2u);
    EXPECT_EQ(in.top_sources[0].prefix, "203.0.113.0/24");
    EXPECT_EQ(in.top_sources[0].packets, 600u);
    EXPECT_EQ(in.top_sources[0].bytes, 60000u);
    EXPECT_EQ(in.top_sources[0].error, 0u);
    EXPECT_DOUBLE_EQ(in.top_sources[0].share, 0.3);
    EXPECT_EQ(in.top_sources[1].prefix, "198.51.100.0/24");
    EXPECT_EQ(top_sources(s, 0, 10, 0).size(), 3u);
    EXPECT_EQ(top_sources(s, 0, 10, 0)[2].prefix, "2001:db8:1::/48");
    EXPECT_EQ(top_sources(s, 0, 10, 0)[2].share, 0.0);
    EXPECT_EQ(top_sources(s, 1, 10, 100)[0].share, 1.0) << "capped";

    const std::string j = incident_json(in, {}, "close");
    EXPECT_NE(j.find("\"top_sources\": [{\"prefix\": \"203.0.113.0/24\", \"packets\": 600, \"error\": 0, "
                     "\"bytes\": 60000, \"share\": 0.3000}, {\"prefix\": \"198.51.100.0/24\""),
              std::string::npos)
        << j;
    const std::string md = incident_markdown(in, {});
    EXPECT_NE(md.find("## Top source prefixes"), std::string::npos) << md;
    EXPECT_NE(md.find("| 203.0.113.0/24 | 600 | 0 | 30.0 % | 60000 |"), std::string::npos) << md;
    EXPECT_NE(md.find("spoofed"), std::string::npos);

    in.top_sources.clear();
    EXPECT_NE(incident_json(in, {}, "close").find("\"top_sources\": []"), std::string::npos);
    EXPECT_NE(incident_markdown(in, {}).find("No source prefixes were sampled"), std::string::npos);
}
