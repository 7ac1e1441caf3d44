// lib/syncookie (cookies, windows, secrets) and lib/net/build.h (the reply
// frames carrying them). Keys come from a fixed shared secret unless a test
// is about random keys, so a failure repeats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "build.h"
#include "net.h"
#include "packet_builder.h"
#include "syncookie.h"

namespace triage::syncookie {
void PrintTo(Why w, std::ostream* os) {
    *os << to_string(w);
}
}  // namespace triage::syncookie

namespace {

using namespace triage;
using namespace triage::syncookie;
using namespace triage::test;
using net::PacketView;

const SharedSecret kSecret{{0x0123456789abcdefull, 0x0f1e2d3c4b5a6978ull}};
const SharedSecret kOtherSecret{{0x0123456789abcdefull, 0x0f1e2d3c4b5a6979ull}};
constexpr uint32_t kW = 27'000'000;  // a window in 2024

Tuple tuple4() {
    Tuple t;
    t.family = 4;
    std::copy(kHostA4.begin(), kHostA4.end(), t.src);
    std::copy(kHostB4.begin(), kHostB4.end(), t.dst);
    t.sport = 40000;
    t.dport = 443;
    return t;
}

Tuple tuple6() {
    Tuple t;
    t.family = 6;
    std::copy(kHostA6.begin(), kHostA6.end(), t.src);
    std::copy(kHostC6.begin(), kHostC6.end(), t.dst);
    t.sport = 51515;
    t.dport = 80;
    return t;
}

Secrets at(uint32_t window, const SharedSecret& s = kSecret) {
    return initial_secrets(window, &s);
}

PacketView parsed(const Bytes& f) {
    PacketView v;
    const net::Malformed m = net::parse(f.data(), static_cast<uint32_t>(f.size()), v);
    EXPECT_EQ(m, net::Malformed::none) << net::malformed_name(m);
    return v;
}

// ------------------------------------------------------------------ windows

TEST(SynCookieWindow, WindowOf) {
    EXPECT_EQ(window_of(0), 0u);
    EXPECT_EQ(window_of(63), 0u);
    EXPECT_EQ(window_of(64), 1u);
    EXPECT_EQ(window_of(64 * 1000 + 5), 1000u);
    EXPECT_EQ(window_of(-5), 0u);
    EXPECT_EQ(window_of(int64_t{kW} * kWindowSeconds), kW);
}

// ------------------------------------------------------------------- cookie

TEST(SynCookie, RoundTripV4) {
    const Secrets s = at(kW);
    const Tuple t = tuple4();
    for (uint8_t idx = 0; idx < 4; ++idx) {
        const uint32_t c = make(s, t, idx);
        const Check r = check(s, t, c);
        EXPECT_TRUE(r.ok) << int(idx);
        EXPECT_EQ(r.why, Why::ok);
        EXPECT_EQ(r.mss_idx, idx);
        // The classic handshake: the ACK acknowledges cookie + 1.
        EXPECT_TRUE(check_ack(s, t, c + 1).ok);
        EXPECT_FALSE(check_ack(s, t, c).ok);
    }
}

TEST(SynCookie, RoundTripV6) {
    const Secrets s = at(kW);
    const Tuple t = tuple6();
    for (uint8_t idx = 0; idx < 4; ++idx) {
        const uint32_t c = make(s, t, idx);
        const Check r = check(s, t, c);
        EXPECT_TRUE(r.ok) << int(idx);
        EXPECT_EQ(r.why, Why::ok);
        EXPECT_EQ(r.mss_idx, idx);
        EXPECT_TRUE(check_ack(s, t, c + 1).ok);
    }
}

TEST(SynCookie, Layout) {
    for (uint32_t w = kW; w < kW + 4; ++w) {
        const Secrets s = at(w);
        for (uint8_t idx = 0; idx < 4; ++idx) {
            const uint32_t c = make(s, tuple4(), idx);
            EXPECT_EQ(c & kMssMask, idx);
            EXPECT_EQ((c & kWindowMask) >> kWindowShift, w & 3);
        }
    }
    EXPECT_EQ(kHashMask | kWindowMask | kMssMask, 0xffffffffu);
    EXPECT_EQ(kHashMask & (kWindowMask | kMssMask), 0u);
}

TEST(SynCookie, EveryCookieBitFlipRejected) {
    const Secrets s = at(kW);
    for (const Tuple& t : {tuple4(), tuple6()}) {
        for (uint8_t idx = 0; idx < 4; ++idx) {
            const uint32_t c = make(s, t, idx);
            ASSERT_TRUE(check(s, t, c).ok);
            for (unsigned bit = 0; bit < 32; ++bit) {
                const Check r = check(s, t, c ^ (1u << bit));
                EXPECT_FALSE(r.ok) << "family " << int(t.family) << " bit " << bit;
                EXPECT_NE(r.why, Why::ok);
            }
        }
    }
}

// Flips every bit of every field the cookie covers; IPv4 addresses are the
// first 4 bytes (tuple_of() zeroes the rest).
TEST(SynCookie, EveryTupleBitFlipRejected) {
    const Secrets s = at(kW);
    for (const Tuple& t : {tuple4(), tuple6()}) {
        const uint32_t c = make(s, t, 2);
        ASSERT_TRUE(check(s, t, c).ok);
        const unsigned alen = t.family == 4 ? 4 : 16;
        auto expect_rejected = [&](const Tuple& bad, const char* field, unsigned bit) {
            const Check r = check(s, bad, c);
            EXPECT_FALSE(r.ok) << "family " << int(t.family) << " " << field << " bit " << bit;
            EXPECT_EQ(r.why, Why::bad_hash) << field << " bit " << bit;
        };
        for (unsigned bit = 0; bit < alen * 8; ++bit) {
            Tuple a = t;
            a.src[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            expect_rejected(a, "src", bit);
            Tuple b = t;
            b.dst[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            expect_rejected(b, "dst", bit);
        }
        for (unsigned bit = 0; bit < 16; ++bit) {
            Tuple a = t;
            a.sport ^= static_cast<uint16_t>(1u << bit);
            expect_rejected(a, "sport", bit);
            Tuple b = t;
            b.dport ^= static_cast<uint16_t>(1u << bit);
            expect_rejected(b, "dport", bit);
        }
        for (unsigned bit = 0; bit < 8; ++bit) {
            Tuple a = t;
            a.family ^= static_cast<uint8_t>(1u << bit);
            expect_rejected(a, "family", bit);
        }
        // The reverse direction (server -> client) is another tuple.
        Tuple r = t;
        std::swap(r.src, r.dst);
        std::swap(r.sport, r.dport);
        expect_rejected(r, "reversed", 0);
    }
}

TEST(SynCookie, DependsOnKey) {
    const Tuple t = tuple4();
    const uint32_t c = make(at(kW, kSecret), t, 1);
    EXPECT_TRUE(check(at(kW, kSecret), t, c).ok);
    const Check r = check(at(kW, kOtherSecret), t, c);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.why, Why::bad_hash);
}

TEST(SynCookie, AcceptedInItsWindowAndTheNext) {
    for (const Tuple& t : {tuple4(), tuple6()}) {
        // Starting at each residue mod 4 exercises every window-bit pairing.
        for (uint32_t w = kW; w < kW + 4; ++w) {
            const Secrets made = at(w);
            const uint32_t c = make(made, t, 3);
            EXPECT_TRUE(check(made, t, c).ok);
            // Rotated the way the control core does it...
            const Secrets next = rotate(made, w + 1, &kSecret);
            EXPECT_TRUE(check(next, t, c).ok) << w;
            EXPECT_EQ(check(next, t, c).mss_idx, 3);
            // ...and from scratch (a peer box with the same secret).
            EXPECT_TRUE(check(at(w + 1), t, c).ok);

            const Check expired = check(rotate(next, w + 2, &kSecret), t, c);
            EXPECT_FALSE(expired.ok);
            EXPECT_EQ(expired.why, Why::wrong_window);
            const Check early = check(at(w - 1), t, c);  // a box whose clock lags
            EXPECT_FALSE(early.ok);
            EXPECT_EQ(early.why, Why::wrong_window);
            // w + 4 shares the window bits but not the key.
            const Check aliased = check(at(w + 4), t, c);
            EXPECT_FALSE(aliased.ok);
            EXPECT_EQ(aliased.why, Why::bad_hash);
        }
    }
}

// Keys differ per window anyway; the window number in the hash also keeps a
// cookie from validating four windows on should a key ever be reused.
TEST(SynCookie, WindowIsHashedEvenUnderOneKey) {
    const net::SipKey k{0x1111, 0x2222};
    const Tuple t = tuple4();
    const Secrets a{kW, k, k};
    const Secrets b{kW + 4, k, k};
    const uint32_t c = make(a, t, 0);
    EXPECT_TRUE(check(a, t, c).ok);
    const Check r = check(b, t, c);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.why, Why::bad_hash);
}

TEST(SynCookie, RandomKeysAcrossOneRotation) {
    const Tuple t = tuple6();
    const Secrets s0 = initial_secrets(kW, nullptr);
    const uint32_t c = make(s0, t, 0);
    EXPECT_TRUE(check(s0, t, c).ok);
    const Secrets s1 = rotate(s0, kW + 1, nullptr);
    EXPECT_TRUE(check(s1, t, c).ok);
    EXPECT_FALSE(check(rotate(s1, kW + 2, nullptr), t, c).ok);
    // A skipped window drops the key the cookie was made with.
    EXPECT_FALSE(check(rotate(s0, kW + 2, nullptr), t, c).ok);
}

TEST(SynCookie, CookiesSpread) {
    // Cookies of different tuples should look independent: among 20,000
    // source ports, collisions of the 28 hash bits are rare (expect ~0.7).
    const Secrets s = at(kW);
    Tuple t = tuple4();
    std::set<uint32_t> seen;
    for (uint32_t p = 1; p <= 20000; ++p) {
        t.sport = static_cast<uint16_t>(p);
        seen.insert(make(s, t, 0));
    }
    EXPECT_GE(seen.size(), 20000u - 5);
}

TEST(SynCookie, TupleOf) {
    const PacketView v4 = parsed(frame4({}, tcp({.sport = 40000, .dport = 443})));
    const Tuple a = tuple_of(v4);
    EXPECT_EQ(a.family, 4);
    EXPECT_EQ(0, std::memcmp(a.src, kHostA4.data(), 4));
    EXPECT_EQ(0, std::memcmp(a.dst, kHostB4.data(), 4));
    EXPECT_EQ(a.src[4] | a.src[15] | a.dst[4] | a.dst[15], 0);
    EXPECT_EQ(a.sport, 40000);
    EXPECT_EQ(a.dport, 443);
    EXPECT_TRUE(check(at(kW), a, make(at(kW), tuple4(), 1)).ok);

    const PacketView v6 = parsed(frame6({.dst = kHostC6}, tcp({.sport = 51515, .dport = 80})));
    const Tuple b = tuple_of(v6);
    EXPECT_EQ(b.family, 6);
    EXPECT_EQ(0, std::memcmp(b.src, kHostA6.data(), 16));
    EXPECT_EQ(0, std::memcmp(b.dst, kHostC6.data(), 16));
    EXPECT_TRUE(check(at(kW), b, make(at(kW), tuple6(), 1)).ok);
}

TEST(SynCookie, WhyNames) {
    EXPECT_STREQ(to_string(Why::ok), "ok");
    EXPECT_STREQ(to_string(Why::bad_hash), "bad_hash");
    EXPECT_STREQ(to_string(Why::wrong_window), "wrong_window");
}

// ---------------------------------------------------------------------- MSS

TEST(SynCookieMss, RoundsDownV4) {
    EXPECT_EQ(mss_index(0, false), 0);  // no MSS option
    EXPECT_EQ(mss_index(100, false), 0);
    EXPECT_EQ(mss_index(535, false), 0);
    EXPECT_EQ(mss_index(536, false), 0);
    EXPECT_EQ(mss_index(1299, false), 0);
    EXPECT_EQ(mss_index(1300, false), 1);
    EXPECT_EQ(mss_index(1400, false), 1);
    EXPECT_EQ(mss_index(1440, false), 2);
    EXPECT_EQ(mss_index(1459, false), 2);
    EXPECT_EQ(mss_index(1460, false), 3);
    EXPECT_EQ(mss_index(8960, false), 3);
    EXPECT_EQ(mss_index(65535, false), 3);
    const uint16_t want[4] = {536, 1300, 1440, 1460};
    for (uint8_t i = 0; i < 4; ++i) {
        EXPECT_EQ(mss_value(i, false), want[i]);
        EXPECT_EQ(mss_index(want[i], false), i);
    }
}

TEST(SynCookieMss, RoundsDownV6) {
    EXPECT_EQ(mss_index(0, true), 0);
    EXPECT_EQ(mss_index(536, true), 0);
    EXPECT_EQ(mss_index(1220, true), 0);
    EXPECT_EQ(mss_index(1419, true), 0);
    EXPECT_EQ(mss_index(1420, true), 1);
    EXPECT_EQ(mss_index(1439, true), 1);
    EXPECT_EQ(mss_index(1440, true), 2);
    EXPECT_EQ(mss_index(1460, true), 2);  // 1460 is no IPv6 entry
    EXPECT_EQ(mss_index(8939, true), 2);
    EXPECT_EQ(mss_index(8940, true), 3);
    EXPECT_EQ(mss_index(65535, true), 3);
    const uint16_t want[4] = {1220, 1420, 1440, 8940};
    for (uint8_t i = 0; i < 4; ++i) {
        EXPECT_EQ(mss_value(i, true), want[i]);
        EXPECT_EQ(mss_index(want[i], true), i);
    }
}

// ------------------------------------------------------------------ secrets

TEST(SynCookieSecrets, RotateKeepsPreviousKey) {
    const Secrets s0 = initial_secrets(kW, nullptr);
    EXPECT_EQ(s0.window, kW);
    EXPECT_NE(s0.current, s0.previous);
    const Secrets s1 = rotate(s0, kW + 1, nullptr);
    EXPECT_EQ(s1.window, kW + 1);
    EXPECT_EQ(s1.previous, s0.current);
    EXPECT_NE(s1.current, s0.current);
    EXPECT_NE(s1.current, s0.previous);
}

TEST(SynCookieSecrets, RotateSameWindowKeepsBoth) {
    const Secrets s0 = initial_secrets(kW, nullptr);
    const Secrets s1 = rotate(s0, kW, nullptr);
    EXPECT_EQ(s1.window, kW);
    EXPECT_EQ(s1.current, s0.current);
    EXPECT_EQ(s1.previous, s0.previous);
}

TEST(SynCookieSecrets, SkippedWindowDropsBoth) {
    const Secrets s0 = initial_secrets(kW, nullptr);
    for (uint32_t w : {kW + 2, kW + 100, kW - 1}) {  // skipped, far, clock stepped back
        const Secrets s1 = rotate(s0, w, nullptr);
        EXPECT_EQ(s1.window, w);
        for (const net::SipKey& k : {s1.current, s1.previous}) {
            EXPECT_NE(k, s0.current) << w;
            EXPECT_NE(k, s0.previous) << w;
        }
    }
}

TEST(SynCookieSecrets, SharedSecretDerivesBothKeys) {
    const Secrets s0 = initial_secrets(kW, &kSecret);
    EXPECT_EQ(s0.current, derive_key(kSecret, kW));
    EXPECT_EQ(s0.previous, derive_key(kSecret, kW - 1));
    const Secrets s1 = rotate(s0, kW + 1, &kSecret);
    EXPECT_EQ(s1.current, derive_key(kSecret, kW + 1));
    EXPECT_EQ(s1.previous, derive_key(kSecret, kW));
    const Secrets s5 = rotate(s1, kW + 5, &kSecret);
    EXPECT_EQ(s5.current, derive_key(kSecret, kW + 5));
    EXPECT_EQ(s5.previous, derive_key(kSecret, kW + 4));
}

TEST(SynCookieSecrets, DeriveKey) {
    EXPECT_EQ(derive_key(kSecret, kW), derive_key(kSecret, kW));
    EXPECT_NE(derive_key(kSecret, kW), derive_key(kSecret, kW + 1));
    EXPECT_NE(derive_key(kSecret, kW), derive_key(kOtherSecret, kW));
    // The key is not the secret, and its halves are not equal.
    const net::SipKey k = derive_key(kSecret, kW);
    EXPECT_NE(k, kSecret.key);
    EXPECT_NE(k.k0, k.k1);
    // Many windows, no repeats.
    std::set<uint64_t> halves;
    for (uint32_t w = 0; w < 1000; ++w) {
        const net::SipKey x = derive_key(kSecret, w);
        halves.insert(x.k0);
        halves.insert(x.k1);
    }
    EXPECT_EQ(halves.size(), 2000u);
}

TEST(SynCookieSecrets, ParseAndFormat) {
    SharedSecret s;
    std::string err;
    ASSERT_TRUE(parse_secret("0123456789abcdef0f1e2d3c4b5a6978", s, err)) << err;
    EXPECT_EQ(s, kSecret);
    EXPECT_EQ(format_secret(s), "0123456789abcdef0f1e2d3c4b5a6978");
    SharedSecret u;
    ASSERT_TRUE(parse_secret("0123456789ABCDEF0F1E2D3C4B5A6978", u, err)) << err;
    EXPECT_EQ(u, kSecret);
    const SharedSecret r{random_key()};
    SharedSecret back;
    ASSERT_TRUE(parse_secret(format_secret(r), back, err)) << err;
    EXPECT_EQ(back, r);
}

TEST(SynCookieSecrets, ParseErrors) {
    const SharedSecret before = kOtherSecret;
    for (std::string_view bad : {
             std::string_view{""},
             std::string_view{"0123456789abcdef0f1e2d3c4b5a697"},    // 31 digits
             std::string_view{"0123456789abcdef0f1e2d3c4b5a69780"},  // 33 digits
             std::string_view{"0123456789abcdef"},                   // 64 bits
             std::string_view{"0x0123456789abcdef0f1e2d3c4b5a6978"},
             std::string_view{"g123456789abcdef0f1e2d3c4b5a6978"},
             std::string_view{"0123456789abcdef0f1e2d3c4b5a697z"},
             std::string_view{"0123456789abcdef 0f1e2d3c4b5a697"},
             std::string_view{"0123456789abcdef0f1e2d3c4b5a697\n"},
             std::string_view{"00000000000000000000000000000000"},
         }) {
        SharedSecret s = before;
        std::string err;
        EXPECT_FALSE(parse_secret(bad, s, err)) << '"' << bad << '"';
        EXPECT_FALSE(err.empty()) << '"' << bad << '"';
        EXPECT_EQ(s, before) << "output changed on error";
    }
    std::string err;
    SharedSecret s;
    EXPECT_FALSE(parse_secret("0123", s, err));
    EXPECT_NE(err.find("32 hex digits"), std::string::npos) << err;
    EXPECT_FALSE(parse_secret("0123456789abcdef0f1e2d3c4b5a697z", s, err));
    EXPECT_NE(err.find("'z'"), std::string::npos) << err;
    EXPECT_NE(err.find("32"), std::string::npos) << err;  // position
}

TEST(SynCookieSecrets, RandomKeysDiffer) {
    std::set<uint64_t> halves;
    for (int i = 0; i < 16; ++i) {
        const net::SipKey k = random_key();
        EXPECT_NE(k, net::SipKey{});
        halves.insert(k.k0);
        halves.insert(k.k1);
    }
    EXPECT_EQ(halves.size(), 32u);
}

// ------------------------------------------------------------- reply frames

constexpr uint8_t kSyn = net::tcp_flag::syn;
constexpr uint8_t kAck = net::tcp_flag::ack;
constexpr uint8_t kRst = net::tcp_flag::rst;

// A reply built out of place into an exact-size buffer (so ASan catches a
// write past the returned length) plus the same reply built in place.
Bytes build_reply(const Bytes& syn, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t mss,
                  uint16_t window) {
    const PacketView v = parsed(syn);
    Bytes out(net::kMaxTcpReplyLen, 0xee);
    const size_t n =
        net::build_tcp_reply(syn.data(), v, seq, ack, flags, mss, window, out.data(), out.size());
    EXPECT_NE(n, 0u);
    out.resize(n);

    Bytes exact(n);
    EXPECT_EQ(net::build_tcp_reply(syn.data(), v, seq, ack, flags, mss, window, exact.data(), n), n);
    EXPECT_EQ(exact, out) << "exact-size buffer";

    Bytes inplace = syn;
    inplace.resize(std::max(syn.size(), net::kMaxTcpReplyLen));
    EXPECT_EQ(net::build_tcp_reply(inplace.data(), v, seq, ack, flags, mss, window, inplace.data(),
                                   inplace.size()),
              n);
    inplace.resize(n);
    EXPECT_EQ(inplace, out) << "in place differs from out of place";
    return out;
}

// The TCP checksum, recomputed from a pseudo-header built byte by byte.
bool tcp_checksum_ok(const Bytes& f, const PacketView& v) {
    Bytes pseudo;
    const unsigned alen = v.ip_version == 4 ? 4 : 16;
    pseudo.insert(pseudo.end(), v.src, v.src + alen);
    pseudo.insert(pseudo.end(), v.dst, v.dst + alen);
    if (v.ip_version == 4) {
        pseudo.push_back(0);
        pseudo.push_back(net::ip_proto::tcp);
        push16(pseudo, v.l4_len);
    } else {
        push32(pseudo, v.l4_len);
        pseudo.insert(pseudo.end(), {0, 0, 0, net::ip_proto::tcp});
    }
    pseudo.insert(pseudo.end(), f.begin() + v.l4_off, f.begin() + v.l4_off + v.l4_len);
    return net::ones_complement_sum(pseudo.data(), pseudo.size()) == 0xffff;
}

// Checks every field of `reply` against the segment `syn` it answers.
void expect_reply(const Bytes& syn, const Bytes& reply, uint32_t seq, uint32_t ack, uint8_t flags,
                  uint16_t mss, uint16_t window) {
    const PacketView in = parsed(syn);
    const PacketView r = parsed(reply);
    const unsigned l2 = 14 + 4u * in.vlan_count;
    const unsigned l3 = in.ip_version == 4 ? 20 : 40;
    const unsigned l4 = mss ? 24 : 20;
    ASSERT_EQ(reply.size(), l2 + l3 + l4);
    // Ethernet: MACs swapped, tags kept byte for byte.
    EXPECT_TRUE(std::equal(reply.begin(), reply.begin() + 6, syn.begin() + 6));
    EXPECT_TRUE(std::equal(reply.begin() + 6, reply.begin() + 12, syn.begin()));
    EXPECT_EQ(r.vlan_count, in.vlan_count);
    EXPECT_TRUE(std::equal(reply.begin() + 12, reply.begin() + l2, syn.begin() + 12));
    EXPECT_EQ(r.ether_type, in.ether_type);
    EXPECT_EQ(r.l3_off, l2);
    // IP.
    EXPECT_EQ(r.ip_version, in.ip_version);
    EXPECT_EQ(r.ttl, 64);
    EXPECT_EQ(r.l4_proto, net::ip_proto::tcp);
    EXPECT_EQ(0, std::memcmp(r.src, in.dst, 16));
    EXPECT_EQ(0, std::memcmp(r.dst, in.src, 16));
    EXPECT_EQ(r.l4_off, l2 + l3);
    EXPECT_EQ(r.l4_len, l4);
    EXPECT_EQ(r.flags & net::view_flag::fragment, 0);
    if (in.ip_version == 4) {
        EXPECT_EQ(reply[l2], 0x45);
        EXPECT_EQ(reply[l2 + 1], 0);  // TOS
        EXPECT_EQ(get16(reply, l2 + 2), l3 + l4);
        EXPECT_EQ(get16(reply, l2 + 4), 0);       // ID
        EXPECT_EQ(get16(reply, l2 + 6), 0x4000);  // DF, offset 0
        EXPECT_TRUE(net::ipv4_header_checksum_ok(reply.data() + l2, 20));
        EXPECT_EQ(net::ones_complement_sum(reply.data() + l2, 20), 0xffff);
    } else {
        EXPECT_EQ(get32(reply, l2), 0x60000000u);  // traffic class, flow label 0
        EXPECT_EQ(get16(reply, l2 + 4), l4);
        EXPECT_EQ(reply[l2 + 6], net::ip_proto::tcp);
        EXPECT_EQ(r.ext_count, 0);
    }
    // TCP.
    const unsigned t = l2 + l3;
    EXPECT_EQ(r.sport, in.dport);
    EXPECT_EQ(r.dport, in.sport);
    EXPECT_EQ(get32(reply, t + 4), seq);
    EXPECT_EQ(get32(reply, t + 8), ack);
    EXPECT_EQ(net::tcp_seq(reply.data(), r), seq);
    EXPECT_EQ(net::tcp_ack(reply.data(), r), ack);
    EXPECT_EQ(reply[t + 12], (l4 / 4) << 4);
    EXPECT_EQ(r.tcp_flags, flags);
    EXPECT_EQ(get16(reply, t + 14), window);
    EXPECT_EQ(get16(reply, t + 18), 0);  // urgent pointer
    EXPECT_EQ(r.payload_off, reply.size());
    EXPECT_EQ(r.has(net::view_flag::tcp_mss), mss != 0);
    if (mss) {
        EXPECT_EQ(r.tcp_mss, mss);
    }
    EXPECT_FALSE(r.has(net::view_flag::tcp_wscale) || r.has(net::view_flag::tcp_sack_ok) ||
                 r.has(net::view_flag::tcp_timestamps));
    EXPECT_TRUE(tcp_checksum_ok(reply, r));
}

Bytes syn_options() {
    return cat(opt::mss(1460), opt::sack_ok(), opt::timestamps(1, 0), opt::nop(), opt::wscale(7));
}

struct ReplyCase {
    const char* name;
    Bytes syn;
};

std::vector<ReplyCase> reply_cases() {
    const Vlan outer{net::ether_type::qinq, 0x0123};
    const Vlan inner{net::ether_type::vlan, 0xe456};
    const Bytes opts = syn_options();
    return {
        {"v4", frame4({}, tcp({.options = opts}))},
        {"v4 no options", frame4({}, tcp({}))},
        {"v4 vlan", frame4({}, tcp({.options = opts}), {inner})},
        {"v4 qinq", frame4({}, tcp({}), {outer, inner})},
        {"v4 ip options", frame4({.ttl = 3, .options = {1, 1, 1, 0}}, tcp({.options = opts}))},
        {"v6", frame6({}, tcp({.sport = 51515, .dport = 443, .options = opts}))},
        {"v6 qinq", frame6({}, tcp({}), {outer, inner})},
        {"v6 ext headers",
         frame6({.next = net::ip_proto::hop_by_hop},
                cat(ipv6_ext(net::ip_proto::ipv6_dest_opts, {1, 0}),
                    ipv6_ext(net::ip_proto::tcp, {1, 0}), tcp({.options = opts}, filler(7))),
                {inner})},
    };
}

TEST(BuildTcpReply, EveryFieldSynAck) {
    for (const ReplyCase& c : reply_cases()) {
        SCOPED_TRACE(c.name);
        for (uint16_t mss : {uint16_t{0}, uint16_t{1460}, uint16_t{8940}}) {
            const Bytes r = build_reply(c.syn, 0xdeadbeef, 0x80000001u, kSyn | kAck, mss, 65535);
            expect_reply(c.syn, r, 0xdeadbeef, 0x80000001u, kSyn | kAck, mss, 65535);
        }
        const Bytes rst = build_reply(c.syn, 7, 0, kRst, 0, 0);
        expect_reply(c.syn, rst, 7, 0, kRst, 0, 0);
    }
}

TEST(BuildTcpReply, ChecksumsOverManyValues) {
    // The checksum folds carries; vary every summed field so a folding error
    // shows up in some case.
    const Bytes syn = frame4({.src = {255, 254, 253, 252}, .dst = {1, 2, 3, 4}},
                             tcp({.sport = 65535, .dport = 65534}));
    const Bytes syn6 = frame6({.src = kHostC6}, tcp({.sport = 65535, .dport = 1}));
    uint32_t x = 0x12345678;
    for (int i = 0; i < 200; ++i) {
        x = x * 1664525u + 1013904223u;
        const uint32_t seq = x;
        x = x * 1664525u + 1013904223u;
        const uint32_t ack = x;
        const auto mss = static_cast<uint16_t>((x >> 8) | 1);
        const auto win = static_cast<uint16_t>(x >> 16);
        for (const Bytes* s : {&syn, &syn6}) {
            const Bytes r = build_reply(*s, seq, ack, kSyn | kAck, mss, win);
            ASSERT_TRUE(tcp_checksum_ok(r, parsed(r))) << i;
        }
    }
}

TEST(BuildTcpReply, CapTooSmall) {
    for (const ReplyCase& c : reply_cases()) {
        SCOPED_TRACE(c.name);
        const PacketView v = parsed(c.syn);
        const size_t need = 14 + 4u * v.vlan_count + (v.ip_version == 4 ? 20 : 40) + 24;
        Bytes out(need, 0xee);
        EXPECT_EQ(net::build_tcp_reply(c.syn.data(), v, 1, 2, kSyn | kAck, 1460, 100, out.data(),
                                       need - 1),
                  0u);
        EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0xee; }))
            << "wrote into a buffer it refused";
        EXPECT_EQ(net::build_tcp_reply(c.syn.data(), v, 1, 2, kSyn | kAck, 0, 100, out.data(),
                                       need - 4),
                  need - 4);  // without the option it fits
        EXPECT_EQ(net::build_tcp_reply(c.syn.data(), v, 1, 2, kSyn | kAck, 1460, 100, out.data(),
                                       need),
                  need);
        EXPECT_EQ(net::build_tcp_reply(c.syn.data(), v, 1, 2, kSyn | kAck, 1460, 100, out.data(), 0),
                  0u);
    }
}

TEST(BuildTcpReply, NotTcpGivesZero) {
    uint8_t out[net::kMaxTcpReplyLen];
    const std::vector<Bytes> frames = {
        frame4({.proto = net::ip_proto::udp}, udp({})),
        frame6({.next = net::ip_proto::icmpv6}, icmp(128, 0)),
        cat(eth(net::ether_type::arp), arp_request()),
        // A later fragment has no TCP header to answer.
        frame4({.frag = 3}, filler(16)),
    };
    for (const Bytes& f : frames) {
        const PacketView v = parsed(f);
        EXPECT_EQ(net::build_tcp_reply(f.data(), v, 1, 2, kSyn | kAck, 1460, 100, out, sizeof out), 0u);
    }
}

// ------------------------------------------------------------- end to end

// The authentication exchange on frames: SYN -> SYN-ACK carrying the cookie
// as its ACK -> the client's RST (what its stack sends for an unacceptable
// ACK in SYN-SENT: SEQ = that ACK) -> cookie check on the RST's SEQ.
TEST(SynCookie, RstExchangeOnFrames) {
    const Secrets s = at(kW);
    for (const Bytes& syn : {frame4({}, tcp({.options = syn_options()})),
                             frame6({}, tcp({.options = syn_options()}), {Vlan{}})}) {
        const PacketView sv = parsed(syn);
        const bool v6 = sv.ip_version == 6;
        const uint8_t idx = mss_index(sv.tcp_mss, v6);
        const uint32_t cookie = make(s, tuple_of(sv), idx);
        ASSERT_NE(cookie, net::tcp_seq(syn.data(), sv) + 1);  // deliberately unacceptable
        const Bytes synack =
            build_reply(syn, 0x5eed, cookie, kSyn | kAck, mss_value(idx, v6), 65535);

        // The client answers the SYN-ACK: a reply to the reply.
        const PacketView av = parsed(synack);
        const Bytes rst = build_reply(synack, net::tcp_ack(synack.data(), av), 0, kRst, 0, 0);
        const PacketView rv = parsed(rst);
        EXPECT_EQ(0, std::memcmp(rv.src, sv.src, 16));
        EXPECT_EQ(rv.sport, sv.sport);

        const Check ok = check(s, tuple_of(rv), net::tcp_seq(rst.data(), rv));
        EXPECT_TRUE(ok.ok);
        EXPECT_EQ(mss_value(ok.mss_idx, v6), v6 ? 1440 : 1460);
        // An RST with any other SEQ, or from the server's side, fails.
        EXPECT_FALSE(check(s, tuple_of(rv), net::tcp_seq(rst.data(), rv) + 1).ok);
        EXPECT_FALSE(check(s, tuple_of(av), cookie).ok);
    }
}

}  // namespace
