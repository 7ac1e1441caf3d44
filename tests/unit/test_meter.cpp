// lib/meter: token-bucket arithmetic on simulated TSC time, the bounded
// tables' claim / reuse / eviction rules, keyed placement, and the key
// helpers. Random inputs come from fixed seeds, so a failure repeats.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "meter.h"

namespace {

using triage::meter::Bucket;
using triage::meter::conform;
using triage::meter::Expiring;
using triage::meter::ExpiryTable;
using triage::meter::FlowKey;
using triage::meter::FlowTable;
using triage::meter::Key;
using triage::meter::make_profile;
using triage::meter::Meter;
using triage::meter::Profile;
using triage::meter::Rate;
using triage::meter::source_key;
using triage::meter::Table;
using triage::meter::tokens;
using triage::net::SipKey;
namespace detail = triage::meter::detail;

constexpr uint64_t kHz = 2'500'000'000;  // a round TSC frequency
constexpr uint64_t kOddHz = 2'994'357'123;  // one no rate divides
constexpr SipKey kSip{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
// An arbitrary TSC origin: nothing may depend on time starting at zero.
constexpr uint64_t kT0 = 0x1234'5678'9abcull;
constexpr uint64_t kUnit = uint64_t{1} << detail::kTimeShift;         // coarse time unit, cycles
constexpr uint64_t kWrap = uint64_t{1} << (detail::kTimeShift + detail::kTimeBits);  // full_at wraps

using Addr = std::array<uint8_t, 16>;

Addr A(const char* s) {
    Addr a{};
    if (std::strchr(s, ':')) {
        EXPECT_EQ(inet_pton(AF_INET6, s, a.data()), 1) << s;
    } else {
        EXPECT_EQ(inet_pton(AF_INET, s, a.data()), 1) << s;
    }
    return a;
}

Key host4(const char* s, uint8_t cls = 0) { return source_key(A(s).data(), 4, 32, cls); }

// A /128 key in 2001:db8::/32 with the given low 64 bits (flood sources).
Key host6(uint64_t low, uint8_t cls = 0) {
    Addr a = A("2001:db8::");
    std::memcpy(a.data() + 8, &low, 8);
    a[4] = static_cast<uint8_t>(low >> 56);  // spread over the /32 too
    return source_key(a.data(), 6, 128, cls);
}

// Sends one packet of `bytes` every `step` cycles in [start, end); returns
// how many conformed.
uint64_t offer(Bucket& b, const Profile& p, uint64_t start, uint64_t end, uint64_t step, uint32_t bytes) {
    uint64_t n = 0;
    for (uint64_t t = start; t < end; t += step) n += conform(b, p, t, bytes);
    return n;
}

// Admits back-to-back at one instant until refused (giving up after 10^7);
// returns how many passed.
uint64_t drain(Bucket& b, const Profile& p, uint64_t now, uint32_t bytes = 100) {
    uint64_t n = 0;
    while (n < 10'000'000 && conform(b, p, now, bytes)) ++n;
    return n;
}

Bucket fresh_bucket() { return Bucket{}; }

// ---- profiles ---------------------------------------------------------------

TEST(MeterProfile, DefaultsAndCaps) {
    const Profile p = make_profile({.pps = 500, .bps = 8000}, kHz);
    EXPECT_FALSE(p.off());
    EXPECT_EQ(p.pkt_burst, 500u);   // one second of packets
    EXPECT_EQ(p.byte_burst, 1000u);  // one second of bytes (bps / 8)
    EXPECT_EQ(make_profile({.bps = 9}, kHz).byte_burst, 2u);  // rounded up

    EXPECT_TRUE(make_profile({}, kHz).off());
    EXPECT_TRUE(make_profile({.pps = 100}, 0).off());
    // Faster than one packet per cycle: unlimited.
    EXPECT_EQ(make_profile({.pps = 3 * kHz}, kHz).pkt_rate, 0u);
    EXPECT_NE(make_profile({.pps = kHz / 2}, kHz).pkt_rate, 0u);

    EXPECT_EQ(make_profile({.pps = 1'000'000'000, .burst_packets = uint64_t{1} << 40}, kHz).pkt_burst,
              triage::meter::kMaxBurstPackets);
    EXPECT_EQ(make_profile({.bps = uint64_t{8} << 36, .burst_bytes = uint64_t{1} << 40}, kHz).byte_burst,
              triage::meter::kMaxBurstBytes);
    // At 1 pps a burst longer than kMaxBurstCycles is cut to about that.
    const Profile slow = make_profile({.pps = 1, .burst_packets = 1'000'000}, kHz);
    EXPECT_LE(slow.pkt_burst * kHz, triage::meter::kMaxBurstCycles);
    EXPECT_GE((slow.pkt_burst + 1) * kHz, triage::meter::kMaxBurstCycles);
    EXPECT_EQ(make_profile({.pps = 10, .burst_packets = 0}, kHz).pkt_burst, 10u);
}

TEST(MeterProfile, OffProfileAdmitsWithoutState) {
    Bucket b = fresh_bucket();
    const Profile off = make_profile({}, kHz);
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(conform(b, off, kT0, 1500));
    EXPECT_TRUE(b.vacant());

    Meter m(64, kSip);
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(m.admit(host4("192.0.2.1"), off, kT0 + i, 1500));
    EXPECT_EQ(m.stats().lookups, 0u);  // unlimited classes take no table space
}

// ---- bucket arithmetic ------------------------------------------------------

TEST(MeterBucket, BurstThenRate) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 100}, kHz);
    Bucket b = fresh_bucket();
    EXPECT_EQ(drain(b, p, kT0), 100u);
    EXPECT_FALSE(conform(b, p, kT0 + 1, 100));
    // 1000 pps: one token per 2.5e6 cycles, wherever the clock's phase is.
    const uint64_t per = kHz / 1000;
    EXPECT_EQ(offer(b, p, kT0 + 1, kT0 + 1 + 50 * per, per / 4, 100), 50u) << "±1 at the edges";
    Bucket c = fresh_bucket();
    drain(c, p, kT0);
    const uint64_t n = offer(c, p, kT0 + 1, kT0 + 1 + 50 * per, per / 7, 100);
    EXPECT_GE(n, 49u);
    EXPECT_LE(n, 51u);
}

TEST(MeterBucket, RefillStopsAtBurst) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 100}, kHz);
    Bucket b = fresh_bucket();
    EXPECT_EQ(drain(b, p, kT0), 100u);
    // Half the refill time: half the burst (±1 for the token clock's phase).
    const uint64_t half = kT0 + kHz / 20;
    const uint64_t got = drain(b, p, half);
    EXPECT_GE(got, 49u);
    EXPECT_LE(got, 51u);
    // An hour idle: exactly the burst, not an hour's worth.
    EXPECT_EQ(drain(b, p, half + 3600 * kHz), 100u);
}

// Over many small, irregular intervals nothing is rounded away: the count
// equals burst + rate * duration within one packet.
TEST(MeterBucket, NoDriftOverManySmallIntervals) {
    struct Case {
        uint64_t hz, pps, seconds;
    };
    for (const Case c : {Case{kHz, 1000, 10}, Case{kOddHz, 1000, 10}, Case{kOddHz, 7, 200},
                         Case{kHz, 123'457, 3}}) {
        const Profile p = make_profile({.pps = c.pps}, c.hz);
        std::mt19937_64 rng(c.pps);
        // Offered load ~10x the rate, at random gaps.
        std::uniform_int_distribution<uint64_t> gap(1, 2 * c.hz / (10 * c.pps));
        Bucket b = fresh_bucket();
        const uint64_t end = kT0 + c.seconds * c.hz;
        uint64_t n = 0;
        for (uint64_t t = kT0; t < end; t += gap(rng)) n += conform(b, p, t, 64);
        const uint64_t want = c.pps + c.pps * c.seconds;  // burst + earned
        EXPECT_GE(n + 1, want) << c.hz << " Hz, " << c.pps << " pps";
        EXPECT_LE(n, want + 1) << c.hz << " Hz, " << c.pps << " pps";
    }
}

TEST(MeterBucket, ByteRate) {
    // 8 Mbit/s = 1e6 bytes/s, depth 0.1 s; packets unlimited.
    const Profile p = make_profile({.bps = 8'000'000, .burst_bytes = 100'000}, kHz);
    EXPECT_EQ(p.pkt_rate, 0u);
    Bucket b = fresh_bucket();
    EXPECT_EQ(tokens(b, p, kT0).packets, UINT64_MAX);
    EXPECT_EQ(tokens(b, p, kT0).bytes, 100'000u);
    // 1000-byte packets every 100 us (10x the rate) for 10 s.
    const uint64_t n = offer(b, p, kT0, kT0 + 10 * kHz, kHz / 10'000, 1000);
    const uint64_t want_bytes = 100'000 + 10 * 1'000'000;
    EXPECT_GE(n * 1000 + 1000, want_bytes);
    EXPECT_LE(n * 1000, want_bytes);
}

TEST(MeterBucket, RefusalConsumesNothing) {
    const Profile p = make_profile({.pps = 1, .bps = 8, .burst_packets = 3, .burst_bytes = 1500}, kHz);
    Bucket b = fresh_bucket();
    EXPECT_TRUE(conform(b, p, kT0, 1000));   // 2 packets, 500 bytes left
    EXPECT_FALSE(conform(b, p, kT0, 1000));  // too big: nothing taken
    EXPECT_EQ(tokens(b, p, kT0).packets, 2u);
    EXPECT_EQ(tokens(b, p, kT0).bytes, 500u);
    EXPECT_TRUE(conform(b, p, kT0, 500));  // exactly what is left
    EXPECT_FALSE(conform(b, p, kT0, 1));
    EXPECT_TRUE(conform(b, p, kT0, 0));   // a packet token, no bytes
    EXPECT_FALSE(conform(b, p, kT0, 0));  // packets exhausted too
    EXPECT_EQ(tokens(b, p, kT0).packets, 0u);
    EXPECT_EQ(tokens(b, p, kT0).bytes, 0u);
}

TEST(MeterBucket, BothDimensions) {
    // 100 pps and 10 kB/s: 64-byte packets meet the packet limit first,
    // 1000-byte packets the byte limit.
    const Profile p = make_profile({.pps = 100, .bps = 80'000}, kHz);
    Bucket small = fresh_bucket(), big = fresh_bucket();
    const uint64_t n_small = offer(small, p, kT0, kT0 + 10 * kHz, kHz / 1000, 64);
    const uint64_t n_big = offer(big, p, kT0, kT0 + 10 * kHz, kHz / 1000, 1000);
    EXPECT_NEAR(static_cast<double>(n_small), 100 + 100 * 10, 1);
    EXPECT_NEAR(static_cast<double>(n_big), (10'000 + 10'000 * 10) / 1000.0, 1);
}

TEST(MeterBucket, IdleBucketEqualsFreshOne) {
    const Profile p = make_profile({.pps = 1000, .bps = 8'000'000, .burst_packets = 50}, kHz);
    Bucket used = fresh_bucket();
    drain(used, p, kT0, 700);
    EXPECT_GT(used.worth(kT0), 0);
    // Refill time (0.05 s) plus full_at's rounding (< 4 units).
    const uint64_t later = kT0 + kHz / 20 + 4 * kUnit;
    EXPECT_LE(used.worth(later), 0);
    EXPECT_FALSE(used.vacant());
    Bucket fresh = fresh_bucket();
    EXPECT_EQ(tokens(used, p, later).packets, tokens(fresh, p, later).packets);
    EXPECT_EQ(tokens(used, p, later).bytes, tokens(fresh, p, later).bytes);
    std::mt19937_64 rng(1);
    uint64_t t = later;
    for (int i = 0; i < 20'000; ++i) {
        t += rng() % (kHz / 2000);
        const uint32_t bytes = 64 + static_cast<uint32_t>(rng() % 1400);
        ASSERT_EQ(conform(used, p, t, bytes), conform(fresh, p, t, bytes)) << i;
    }
}

// full_at is never early (a bucket judged reusable is full) and at most a
// few units late.
TEST(MeterBucket, WorthTracksRefill) {
    const Profile p = make_profile({.pps = 1000, .bps = 800'000, .burst_packets = 200}, kHz);
    Bucket b = fresh_bucket();
    EXPECT_EQ(b.worth(kT0), 0);
    drain(b, p, kT0, 300);  // bytes run out first: 100'000 / 300 = 333 > 200 packets
    uint64_t first_free = 0;
    for (uint64_t t = kT0; t < kT0 + kHz; t += kUnit / 3) {
        const auto tk = tokens(b, p, t);
        if (b.worth(t) <= 0) {
            EXPECT_EQ(tk.packets, p.pkt_burst);
            EXPECT_EQ(tk.bytes, p.byte_burst);
            if (!first_free) first_free = t;
        }
    }
    // Bytes: 60'000 spent at 100'000 B/s refill in 0.6 s; packets in 0.2 s.
    ASSERT_NE(first_free, 0u);
    EXPECT_GE(first_free, kT0 + kHz * 6 / 10);
    EXPECT_LE(first_free, kT0 + kHz * 6 / 10 + 4 * kUnit);
}

TEST(MeterBucket, ProfileChangeRestartsFull) {
    const Profile p1 = make_profile({.pps = 1000}, kHz);
    const Profile p2 = make_profile({.pps = 400}, kHz);
    ASSERT_NE(p1.gen, p2.gen) << "pick rates whose fingerprints differ";
    Bucket b = fresh_bucket();
    EXPECT_EQ(drain(b, p1, kT0), 1000u);
    EXPECT_EQ(tokens(b, p1, kT0 + 1).packets, 0u);
    EXPECT_EQ(tokens(b, p2, kT0 + 1).packets, 400u);
    EXPECT_EQ(drain(b, p2, kT0 + 1), 400u);
    EXPECT_EQ(tokens(b, p2, kT0 + 2).packets, 0u);
    // Near the TSC origin two close rates' clocks nearly agree, so only the
    // fingerprint tells the positions apart.
    const Profile q1 = make_profile({.pps = 1000}, kHz);
    const Profile q2 = make_profile({.pps = 1001}, kHz);
    ASSERT_NE(q1.gen, q2.gen) << "pick rates whose fingerprints differ";
    Bucket c = fresh_bucket();
    EXPECT_EQ(drain(c, q1, kHz), 1000u);
    EXPECT_EQ(tokens(c, q2, kHz + 1).packets, 1001u);
}

// Idle for about 2^32 packet times: the packet position wrapped around the
// clock and, alone, would read as a partly drained bucket; full_at says the
// bucket is long full.
TEST(MeterBucket, LongIdlePositionsWrap) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 100}, kHz);
    Bucket b = fresh_bucket();
    EXPECT_EQ(drain(b, p, kT0), 100u);
    const uint64_t later = kT0 + ((uint64_t{1} << 32) + 30) * (kHz / 1000);
    const int32_t lead = detail::lead(b.full_at(), detail::coarse(later));
    ASSERT_TRUE(lead < -detail::kReadSlack) << "fixture: full_at must read as past, not " << lead;
    EXPECT_LE(b.worth(later), 0);
    EXPECT_EQ(tokens(b, p, later).packets, 100u);
    EXPECT_EQ(drain(b, p, later), 100u);
}

// full_at is 24 bits of 2^22-cycle units: metering straight across its wrap
// is exact, and a bucket idle for exactly one wrap reads as full.
TEST(MeterBucket, CoarseTimeWraparound) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 100}, kHz);
    for (const uint64_t boundary : {kWrap, 5 * kWrap, uint64_t{1} << 62}) {
        Bucket b = fresh_bucket();
        const uint64_t start = boundary - 5 * kHz;
        const uint64_t n = offer(b, p, start, start + 10 * kHz, kHz / 10'000, 64);
        EXPECT_GE(n + 1, 100u + 10'000u) << boundary;
        EXPECT_LE(n, 100u + 10'000u + 1) << boundary;
        EXPECT_GT(b.worth(start + 10 * kHz), 0);
    }
    // Drained, then idle exactly one wrap period: the lead reads as before,
    // but the packet clock moved on by 2^46 / 2.5e6 tokens: full.
    Bucket b = fresh_bucket();
    EXPECT_EQ(drain(b, p, kT0), 100u);
    EXPECT_GT(b.worth(kT0 + kWrap), 0) << "documented: the table may keep it a little longer";
    EXPECT_EQ(drain(b, p, kT0 + kWrap), 100u);
    // The same at 100,000 pps, where the clock moved on by 2^46 / 25,000
    // mod 2^32 tokens: a position 1.5e9 tokens ahead, more than any burst.
    const Profile fast = make_profile({.pps = 100'000, .burst_packets = 100}, kHz);
    Bucket f = fresh_bucket();
    EXPECT_EQ(drain(f, fast, kT0), 100u);
    EXPECT_EQ(tokens(f, fast, kT0 + kWrap).packets, 100u);
    // A full_at 1.5 * 2^44 cycles short of a wrap ago reads as a lead longer
    // than any bucket can have: stale, so worth nothing.
    const uint64_t stale = kT0 + kWrap - 3 * (uint64_t{1} << 43);
    EXPECT_GT(static_cast<int32_t>((f.full_at() - detail::coarse(stale)) & detail::kTimeMask), detail::kMaxLead);
    EXPECT_LE(f.worth(stale), 0);
    EXPECT_EQ(tokens(f, fast, stale).packets, 100u);
    // A full_at that lands on 0 is stored as 1 (0 means fresh).
    for (uint64_t t = kWrap - 64 * kUnit; t < kWrap; t += kUnit / 2) {
        Bucket c = fresh_bucket();
        ASSERT_TRUE(conform(c, p, t, 64));
        EXPECT_NE(c.full_at(), 0u);
        EXPECT_GT(c.worth(t), 0);
        EXPECT_EQ(tokens(c, p, t).packets, 99u);
    }
}

// ---- keys --------------------------------------------------------------------

TEST(MeterKey, MasksIPv4Prefixes) {
    const Addr a = A("198.51.100.77");
    Key k = source_key(a.data(), 4, 24, 3);
    EXPECT_EQ(Addr(std::to_array(k.addr)), A("198.51.100.0"));
    EXPECT_EQ(k.tag, 4u | 24u << 8 | 3u << 16);
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 4, 8, 3).addr)), A("198.0.0.0"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 4, 20, 3).addr)), A("198.51.96.0"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 4, 32, 3).addr)), a);
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 4, 0, 3).addr)), Addr{});
    // Over-long lengths are capped; bytes past an IPv4 address are ignored.
    Addr junk = a;
    std::fill(junk.begin() + 4, junk.end(), 0xee);
    k = source_key(junk.data(), 4, 200, 3);
    EXPECT_EQ(Addr(std::to_array(k.addr)), a);
    EXPECT_EQ(k.tag >> 8 & 0xff, 32u);
    // Hosts of one /24 share a key; classes, scopes, lengths do not.
    EXPECT_EQ(source_key(A("198.51.100.1").data(), 4, 24, 3), source_key(A("198.51.100.254").data(), 4, 24, 3));
    EXPECT_NE(source_key(a.data(), 4, 24, 3), source_key(a.data(), 4, 24, 4));
    EXPECT_NE(source_key(a.data(), 4, 24, 3), source_key(a.data(), 4, 24, 3, 1));
    EXPECT_EQ(source_key(a.data(), 4, 24, 3, 0xab).tag >> 24, 0xabu);
    EXPECT_NE(source_key(A("198.51.0.0").data(), 4, 16, 3), source_key(A("198.51.0.0").data(), 4, 24, 3));
}

TEST(MeterKey, MasksIPv6Prefixes) {
    const Addr a = A("2001:db8:1234:5678:9abc:def0:1234:5678");
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 64, 1).addr)), A("2001:db8:1234:5678::"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 32, 1).addr)), A("2001:db8::"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 56, 1).addr)), A("2001:db8:1234:5600::"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 65, 1).addr)), A("2001:db8:1234:5678:8000::"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 127, 1).addr)), A("2001:db8:1234:5678:9abc:def0:1234:5678"));
    EXPECT_EQ(Addr(std::to_array(source_key(A("2001:db8::1").data(), 6, 127, 1).addr)), A("2001:db8::"));
    EXPECT_EQ(Addr(std::to_array(source_key(a.data(), 6, 128, 1).addr)), a);
    EXPECT_EQ(source_key(a.data(), 6, 255, 1).tag, 6u | 128u << 8 | 1u << 16);
    EXPECT_EQ(source_key(a.data(), 6, 64, 1).tag, 6u | 64u << 8 | 1u << 16);
    // Same bytes, other family: other key.
    const Addr v4 = A("192.0.2.0");
    EXPECT_NE(source_key(v4.data(), 4, 24, 1), source_key(v4.data(), 6, 24, 1));
}

// ---- tables ------------------------------------------------------------------

// Keys of 198.18.0.0/15 that fall into `set` of t, in address order.
template <class T>
std::vector<Key> colliding(const T& t, size_t set, size_t n, uint8_t cls = 0) {
    std::vector<Key> out;
    for (uint32_t i = 0; i < (1u << 17) && out.size() < n; ++i) {
        Addr a{198, static_cast<uint8_t>(18 + (i >> 16)), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        const Key k = source_key(a.data(), 4, 32, cls);
        if (t.set_index(t.hash(k)) == set) out.push_back(k);
    }
    EXPECT_EQ(out.size(), n);
    return out;
}

TEST(TableGeometry, SizesAndRounding) {
    using T = Table<Bucket, 4>;
    T t(1000, kSip);
    EXPECT_EQ(t.capacity(), 1024u);
    EXPECT_EQ(t.sets(), 256u);
    EXPECT_EQ(t.memory_bytes(), 1024u * 32);
    EXPECT_EQ(T::bytes_per_entry(), 32u);
    EXPECT_EQ(T::kSetBytes, 128u);
    EXPECT_EQ(T(0, kSip).capacity(), 4u);
    EXPECT_EQ(T(4097, kSip).capacity(), 8192u);
    EXPECT_EQ(sizeof(Expiring<Key>), 32u);
    EXPECT_EQ(sizeof(Expiring<FlowKey>), 32u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(&t.find_or_claim(host4("192.0.2.1"), 1)) % 32, 0u);
}

TEST(TableBasics, FindClaimErase) {
    Table<Expiring<Key>, 4> t(256, kSip);
    const Key a = host4("192.0.2.1"), b = host4("192.0.2.2");
    EXPECT_EQ(t.find(a), nullptr);
    Expiring<Key>& e = t.find_or_claim(a, 10);
    EXPECT_EQ(e.key, a);
    EXPECT_TRUE(e.vacant());
    e.expires = 1000;
    EXPECT_EQ(&t.find_or_claim(a, 20), &e);
    EXPECT_EQ(t.find(a), &e);
    EXPECT_EQ(t.find(b), nullptr);
    EXPECT_TRUE(t.erase(a));
    EXPECT_FALSE(t.erase(a));
    EXPECT_EQ(t.find(a), nullptr);
    const auto& s = t.stats();
    EXPECT_EQ(s.lookups, 8u);
    EXPECT_EQ(s.hits, 3u);
    EXPECT_EQ(s.claimed_empty, 1u);
    EXPECT_EQ(s.evictions, 0u);
    t.find_or_claim(b, 30).expires = 100;
    t.clear();
    EXPECT_EQ(t.find(b), nullptr);
}

TEST(TableClaim, ReusesRefilledBucketsBeforeEvicting) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 1000}, kHz);
    Meter m(64, kSip);
    auto& t = m.table();
    const std::vector<Key> keys = colliding(t, 5, 5);
    // Four buckets, drained by 10, 400, 20, 800 packets: full again after
    // 10, 400, 20, 800 ms.
    const unsigned spent[4] = {10, 400, 20, 800};
    for (int i = 0; i < 4; ++i)
        for (unsigned j = 0; j < spent[i]; ++j) ASSERT_TRUE(m.admit(keys[i], p, kT0, 64));
    // 100 ms later the 10- and 20-packet buckets are worth nothing: the new
    // key takes one of them, no eviction.
    const uint64_t t1 = kT0 + kHz / 10;
    EXPECT_TRUE(m.admit(keys[4], p, t1, 64));
    EXPECT_EQ(m.stats().claimed_reusable, 1u);
    EXPECT_EQ(m.stats().evictions, 0u);
    EXPECT_TRUE(t.find(keys[4]));
    EXPECT_TRUE(t.find(keys[1]) && t.find(keys[3]));
    EXPECT_TRUE(!t.find(keys[0]) != !t.find(keys[2])) << "exactly one refilled bucket was reused";
    // The draining ones kept their debt.
    ASSERT_NE(t.find(keys[3]), nullptr);
    EXPECT_EQ(tokens(*t.find(keys[3]), p, t1).packets, 1000u - 800 + 100);
}

TEST(TableClaim, EvictsTheBucketClosestToFull) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 1000}, kHz);
    Meter m(64, kSip);
    auto& t = m.table();
    const std::vector<Key> keys = colliding(t, 9, 6);
    const unsigned spent[4] = {300, 100, 500, 900};
    for (int i = 0; i < 4; ++i)
        for (unsigned j = 0; j < spent[i]; ++j) ASSERT_TRUE(m.admit(keys[i], p, kT0, 64));
    EXPECT_TRUE(m.admit(keys[4], p, kT0 + 1, 64));  // set full of draining buckets
    EXPECT_EQ(m.stats().evictions, 1u);
    EXPECT_EQ(t.find(keys[1]), nullptr) << "the 100-packet debt was the least valuable";
    EXPECT_TRUE(t.find(keys[0]) && t.find(keys[2]) && t.find(keys[3]) && t.find(keys[4]));
    // keys[4] spent one packet: now it is the one closest to full.
    EXPECT_TRUE(m.admit(keys[5], p, kT0 + 2, 64));
    EXPECT_EQ(t.find(keys[4]), nullptr);
    EXPECT_EQ(m.stats().evictions, 2u);
    // An evicted source starts over with a full bucket (the price of a
    // table too small, hence the counter).
    EXPECT_TRUE(m.admit(keys[1], p, kT0 + 3, 64));
    ASSERT_NE(t.find(keys[1]), nullptr);
    EXPECT_EQ(tokens(*t.find(keys[1]), p, kT0 + 3).packets, 999u);
}

TEST(TableExpiry, ReusesExpiredThenEvictsSoonestExpiring) {
    ExpiryTable auth(64, kSip);
    const std::vector<Key> keys = colliding(auth.table(), 3, 6);
    const uint64_t now = 1'000'000;
    const uint64_t until[4] = {now + 500, now + 100, now + 900, now + 50};
    for (int i = 0; i < 4; ++i) auth.put(keys[i], until[i], now);
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(auth.alive(keys[i], now));
        EXPECT_EQ(auth.remaining(keys[i], now), until[i] - now);
    }
    EXPECT_FALSE(auth.alive(keys[3], now + 50));
    EXPECT_EQ(auth.remaining(keys[3], now + 60), 0u);
    // At now + 60 keys[3] has expired: reused, not evicted.
    auth.put(keys[4], now + 1000, now + 60);
    EXPECT_EQ(auth.stats().claimed_reusable, 1u);
    EXPECT_EQ(auth.evictions(), 0u);
    EXPECT_EQ(auth.table().find(keys[3]), nullptr);
    // All live: the one expiring soonest (keys[1]) goes.
    auth.put(keys[5], now + 1000, now + 60);
    EXPECT_EQ(auth.evictions(), 1u);
    EXPECT_FALSE(auth.alive(keys[1], now + 60));
    EXPECT_TRUE(auth.alive(keys[0], now + 60) && auth.alive(keys[2], now + 60) && auth.alive(keys[4], now + 60) &&
                auth.alive(keys[5], now + 60));
    // Re-putting refreshes in place.
    auth.put(keys[0], now + 5000, now + 70);
    EXPECT_EQ(auth.remaining(keys[0], now + 70), 4930u);
    EXPECT_EQ(auth.evictions(), 1u);
    EXPECT_TRUE(auth.erase(keys[0]));
    EXPECT_FALSE(auth.alive(keys[0], now + 70));
}

TEST(TableExpiry, FlowKeys) {
    FlowTable flows(1024, kSip);
    FlowKey f{};
    const Addr r = A("2001:db8::53");
    std::memcpy(f.addr, r.data(), 16);
    f.remote_port = 53;
    f.local_port = 40000;
    f.tag = 17;
    flows.put(f, 5000, 1000);
    EXPECT_TRUE(flows.alive(f, 4999));
    EXPECT_FALSE(flows.alive(f, 5000));
    FlowKey g = f;
    g.local_port = 40001;
    EXPECT_FALSE(flows.alive(g, 1001));
    g = f;
    g.tag = 6;
    EXPECT_FALSE(flows.alive(g, 1001));
}

// A set full of colliding keys is still one set: every lookup lands in it,
// every new key gets a slot, other sets are untouched.
TEST(TableCollisions, CollidingKeysStayInTheirSet) {
    const Profile p = make_profile({.pps = 10, .burst_packets = 10}, kHz);
    Meter m(256, kSip);
    auto& t = m.table();
    const size_t set = 17;
    const std::vector<Key> keys = colliding(t, set, 12);
    // A bystander in another set, partly drained.
    const std::vector<Key> other = colliding(t, 18, 1);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(m.admit(other[0], p, kT0, 64));
    ASSERT_NE(t.find(other[0]), nullptr);
    const Bucket before = *t.find(other[0]);

    const auto* base = reinterpret_cast<const char*>(t.find(other[0])) - 18 * Meter::Buckets::kSetBytes;
    const auto* lo = base + set * Meter::Buckets::kSetBytes;
    const auto* hi = lo + Meter::Buckets::kSetBytes;
    for (const Key& k : keys) {
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(m.admit(k, p, kT0 + 1, 64));
        const auto* at = reinterpret_cast<const char*>(t.find(k));
        ASSERT_NE(at, nullptr);
        EXPECT_TRUE(at >= lo && at < hi);
    }
    EXPECT_EQ(m.stats().evictions, keys.size() - Meter::kWays);
    ASSERT_NE(t.find(other[0]), nullptr);
    EXPECT_EQ(std::memcmp(t.find(other[0]), &before, sizeof before), 0);
    // Under another key the same addresses scatter.
    Meter m2(256, SipKey{kSip.k0 + 1, kSip.k1});
    std::set<size_t> sets;
    for (const Key& k : keys) sets.insert(m2.table().set_index(m2.hash(k)));
    EXPECT_GE(sets.size(), 8u);
}

TEST(TableCollisions, PlacementDependsOnTheKey) {
    Table<Bucket, 4> a(4096, kSip), a2(4096, kSip), b(4096, SipKey{kSip.k0, kSip.k1 ^ 1});
    size_t same_a2 = 0, same_b = 0;
    for (uint32_t i = 0; i < 2000; ++i) {
        const Key k = host6(i);
        same_a2 += a.set_index(a.hash(k)) == a2.set_index(a2.hash(k));
        same_b += a.set_index(a.hash(k)) == b.set_index(b.hash(k));
    }
    EXPECT_EQ(same_a2, 2000u);
    EXPECT_LT(same_b, 20u);  // 1024 sets: ~2 by chance
}

// ---- keyed hash ---------------------------------------------------------------

using triage::meter::KeyedHash;

// Both implementations, so the SipHash fallback stays tested on AES machines.
std::vector<KeyedHash::Impl> impls() {
    if (!KeyedHash::cpu_has_aes()) {
        std::fprintf(stderr, "NOTE: this CPU has no AES-NI: only the SipHash-1-3 path is tested here\n");
        return {KeyedHash::Impl::siphash};
    }
    return {KeyedHash::Impl::best, KeyedHash::Impl::siphash};
}

TEST(KeyedHash, ImplementationChoice) {
    EXPECT_EQ(KeyedHash(kSip).uses_aes(), KeyedHash::cpu_has_aes());
    EXPECT_FALSE(KeyedHash(kSip, KeyedHash::Impl::siphash).uses_aes());
    // The fallback is SipHash-1-3 of the key's bytes, zero-padded to words.
    const Key k = host4("198.51.100.7", 3);
    uint64_t w[3] = {};
    std::memcpy(w, &k, sizeof k);
    EXPECT_EQ(KeyedHash(kSip, KeyedHash::Impl::siphash)(k), triage::net::siphash13_words(kSip, w));
}

TEST(KeyedHash, EveryKeyBitAndTheSecretMatter) {
    for (const KeyedHash::Impl impl : impls()) {
        const KeyedHash h(kSip, impl), other(SipKey{kSip.k0, kSip.k1 ^ 0x100}, impl);
        for (const auto& [key, flow] : {std::pair{host6(0x0123456789abcdefull, 5), false}, std::pair{Key{}, true}}) {
            FlowKey fk{};
            std::memcpy(fk.addr, key.addr, 16);
            fk.remote_port = 53;
            const uint64_t base = flow ? h(fk) : h(key);
            EXPECT_NE(base, flow ? other(fk) : other(key));
            const size_t bytes = flow ? sizeof fk : sizeof key;
            for (size_t bit = 0; bit < 8 * bytes; ++bit) {
                Key k2 = key;
                FlowKey f2 = fk;
                auto* raw = flow ? reinterpret_cast<uint8_t*>(&f2) : reinterpret_cast<uint8_t*>(&k2);
                raw[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
                const uint64_t x = (flow ? h(f2) : h(k2)) ^ base;
                // Avalanche: about half the output bits flip, never few.
                EXPECT_GE(std::popcount(x), 12) << "bit " << bit << " of a " << bytes << "-byte key, aes " << h.uses_aes();
            }
        }
    }
}

// What a flood sends: consecutive addresses, and addresses that differ only
// in the bits a prefix mask keeps. They must spread over the sets like
// random keys: chi-square over 1024 sets within a loose bound.
TEST(KeyedHash, StructuredKeysSpreadOverSets) {
    for (const KeyedHash::Impl impl : impls()) {
        Table<Bucket, 4> t(4096, kSip, impl);
        ASSERT_EQ(t.hasher().uses_aes(), impl == KeyedHash::Impl::best);
        for (int pattern = 0; pattern < 3; ++pattern) {
            std::vector<unsigned> count(1024);
            constexpr unsigned kN = 1024 * 64;
            for (uint32_t i = 0; i < kN; ++i) {
                Key k{};
                if (pattern == 0) {  // 198.18.0.0 + i
                    Addr a{};
                    const uint32_t be = htonl((198u << 24 | 18u << 16) + i);
                    std::memcpy(a.data(), &be, 4);
                    k = source_key(a.data(), 4, 32, 1);
                } else if (pattern == 1) {  // 2001:db8:i::/64
                    Addr a = A("2001:db8::");
                    a[4] = static_cast<uint8_t>(i >> 8);
                    a[5] = static_cast<uint8_t>(i);
                    k = source_key(a.data(), 6, 64, 2);
                } else {  // one address, every class and scope
                    k = source_key(A("203.0.113.9").data(), 4, 32, static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 8));
                }
                ++count[t.set_index(t.hash(k))];
            }
            double chi2 = 0;
            for (unsigned c : count) chi2 += (c - 64.0) * (c - 64.0) / 64.0;
            // 1023 degrees of freedom: mean 1023, sd 45; 1300 is 6 sd.
            EXPECT_LT(chi2, 1300) << "pattern " << pattern << " aes " << t.hasher().uses_aes();
        }
    }
}

// 1000x capacity of spoofed sources, one packet each, while a real source
// sends at ten times its rate: the real source keeps its bucket (and so
// stays limited), and each new real source still gets a bucket.
TEST(TableFlood, LegitimateSourceKeepsItsBucket) {
    const Profile p = make_profile({.pps = 1000, .burst_packets = 100}, kHz);
    Meter m(1024, kSip);
    const Key legit = host4("203.0.113.7", 1);
    std::mt19937_64 rng(42);
    uint64_t legit_ok = 0, newcomers_ok = 0, newcomers = 0;
    const uint64_t ms = kHz / 1000;
    const unsigned seconds = 2;
    for (uint64_t step = 0; step < seconds * 1000; ++step) {
        const uint64_t now = kT0 + step * ms;
        for (int i = 0; i < 10; ++i) legit_ok += m.admit(legit, p, now + static_cast<uint64_t>(i) * ms / 10, 1000);
        for (int i = 0; i < 500; ++i) m.admit(host6(rng()), p, now + static_cast<uint64_t>(i) * ms / 500, 64);
        if (step % 100 == 50) {
            // A real newcomer, never seen before, gets its burst.
            const Key k = source_key(A("198.51.100.0").data(), 4, 24, static_cast<uint8_t>(2 + step / 100));
            ++newcomers;
            newcomers_ok += m.admit(k, p, now, 1000) && m.admit(k, p, now, 1000);
        }
    }
    EXPECT_EQ(newcomers_ok, newcomers);
    // burst + 1000 pps * 2 s, not more (a lost bucket would give a new
    // burst), not less.
    EXPECT_LE(legit_ok, 100u + 1000 * seconds + 1);
    EXPECT_GE(legit_ok + 1, 100u + 1000 * seconds);
    const auto& s = m.stats();
    // A spoofed bucket stays worth keeping for ~3 coarse units (5 ms): some
    // 2,500 of them compete for 1,024 slots.
    EXPECT_GT(s.evictions, 200'000u) << "the flood must have filled the table";
    EXPECT_EQ(s.lookups, s.hits + s.claimed_empty + s.claimed_reusable + s.evictions);
}

TEST(TableOccupancy, Estimate) {
    const Profile p = make_profile({.pps = 1000}, kHz);
    Meter small(256, kSip);
    for (uint32_t i = 0; i < 100; ++i) small.admit(host6(i), p, kT0, 64);
    EXPECT_EQ(small.table().occupancy_estimate(kT0 + 1), 100u - small.stats().evictions);
    EXPECT_EQ(small.table().occupancy_estimate(kT0 + 10 * kHz), 0u);  // all refilled

    Meter big(65536, kSip);
    for (uint32_t i = 0; i < 32768; ++i) big.admit(host6(i), p, kT0, 64);
    const double est = static_cast<double>(big.table().occupancy_estimate(kT0 + 1, 1024));
    EXPECT_NEAR(est, 32768 - static_cast<double>(big.stats().evictions), 32768 * 0.15);
}

TEST(TableBasics, Move) {
    Table<Expiring<Key>, 4> a(64, kSip);
    a.find_or_claim(host4("192.0.2.9"), 1).expires = 100;
    Table<Expiring<Key>, 4> b(std::move(a));
    ASSERT_NE(b.find(host4("192.0.2.9")), nullptr);
    EXPECT_EQ(b.find(host4("192.0.2.9"))->expires, 100u);
    Table<Expiring<Key>, 4> c(8, kSip);
    c = std::move(b);
    EXPECT_EQ(c.capacity(), 64u);
    EXPECT_NE(c.find(host4("192.0.2.9")), nullptr);
}

// The one test that allocates a production-sized table: 4M slots, 128 MiB.
TEST(TableLarge, FourMillionEntries) {
    constexpr size_t kCap = size_t{4} << 20;
    Meter m(kCap, kSip);
    EXPECT_EQ(m.table().capacity(), kCap);
    EXPECT_EQ(m.table().memory_bytes(), kCap * 32);
    EXPECT_LE(Meter::Buckets::bytes_per_entry(), 64u);
    const Profile p = make_profile({.pps = 100}, kHz);
    // Half load, the recommended sizing: 64 bytes per tracked source.
    constexpr uint32_t kSources = kCap / 2;
    for (uint32_t i = 0; i < kSources; ++i) ASSERT_TRUE(m.admit(host6(i), p, kT0 + i, 64));
    EXPECT_LE(m.table().memory_bytes() / kSources, 64u);
    const double evicted = static_cast<double>(m.stats().evictions) / kSources;
    EXPECT_LT(evicted, 0.05);
    std::printf("4M slots, 2M sources: %.1f %% evicted, %zu bytes per source\n", 100 * evicted,
                m.table().memory_bytes() / kSources);
    size_t found = 0;
    for (uint32_t i = 0; i < kSources; i += 8) found += m.table().find(host6(i)) != nullptr;
    EXPECT_GE(static_cast<double>(found), (1 - evicted - 0.01) * kSources / 8);
}

}  // namespace
