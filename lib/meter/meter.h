// lib/meter: the per-worker token buckets of the scrubbing pipeline, one per
// (source prefix, traffic class) and one per (destination host, class), in
// bounded tables (table.h) that a flood of new sources cannot exhaust.
//
// Called per packet by a run-to-completion worker: everything here is
// inline, allocation-free, lock-free and noexcept. Time is the worker's TSC
// (rte_rdtsc()), passed in, so tests run on simulated time.
//
// Arithmetic. A bucket has 12 bytes beside its key, too few for a token
// count with a timestamp fine enough not to round away part of a token at
// every refill (and drift). Instead each limited dimension (packets, bytes) has a virtual clock: the tokens
// the profile's rate has issued since TSC 0,
//     V(now) = floor(now * rate_per_cycle)     (rate in 2^-56 fixed point)
// and the bucket stores the position X on that clock up to which its tokens
// are spent. The bucket holds burst - max(0, X - V(now)) tokens; a packet
// costing c conforms when max(X, V) + c <= V + burst and then moves X there.
// V is computed from the absolute TSC each time, so no remainder is ever
// lost: over any interval the bucket earns exactly the tokens issued in it
// (tokens arrive one whole token at a time, at exact instants), and the only
// error is the rate's rounding: down, so a bucket never exceeds its
// configured rate, by under 2^-16 relative (4e-8 at 1 pps on a 3 GHz TSC,
// less at higher rates).
//
// Reuse without knowing the profile. A table slot must be judged reusable
// (refilled) or ranked for eviction without the profile of the key in it
// (classes differ in rate), so each bucket also stores when it will be full
// again, in coarse time: full_at, in units of 2^22 cycles (1.4 ms at 3 GHz),
// rounded up. A bucket is worth keeping until full_at; the one closest to it
// is the first evicted, a bucket past it is a fresh bucket.
//
// Layout (32 bytes with the key; see Bucket):
//   pkts  32 bits   X for packets, mod 2^32
//   word  [0,36)    X for bytes, mod 2^36
//         [36,40)   the profile's 4-bit fingerprint (Profile::gen)
//         [40,64)   full_at mod 2^24 (0: a fresh bucket)
// Positions are read relative to V and full_at relative to now, modulo their
// widths; the caps in make_profile keep every legitimate difference inside
// half the range.
//
// Wraparound. Positions wrap too (2^32 packets go by in 50 days at 1000 pps),
// so they are read only while full_at is ahead of now (or just past it): an
// idle bucket is judged by full_at alone. full_at wraps every 2^46 cycles
// (6.5 h at 3 GHz, 19.5 h at 1 GHz); a lead longer than any burst allows is
// recognised as stale. A bucket idle for almost exactly a multiple of 2^46
// cycles (within its last lead, at most kMaxBurstCycles) still reads as
// draining: its positions are then compared with clocks that moved on,
// which almost always reads as full (an impossible debt); at worst the source
// finds its bucket partly drained (never below empty), refilled within one
// burst time, and the table keeps the entry a little longer than it
// deserves. Both are harmless; nothing depends on the TSC's magnitude (it
// may start anywhere).
//
// Profile changes. A bucket's positions only mean something on its profile's
// clocks. When a class's rate or burst changes, its buckets see a different
// fingerprint and restart full (as rte_meter's reconfiguration does); an
// active source gets at most one fresh burst, what any new source gets. With
// probability 1/16 the fingerprints agree; the positions are then read on the
// new clocks, which almost always reads as full too. A key must therefore
// always be metered with the same profile (the class belongs in its tag).
#pragma once

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>

#include "siphash.h"
#include "table.h"

namespace triage::meter {

// What an operator configures. 0 pps / 0 bps: that dimension is unlimited;
// a zero burst defaults to one second's worth (pps packets, bps / 8 bytes).
struct Rate {
    uint64_t pps = 0;            // packets per second
    uint64_t bps = 0;            // bits per second (bytes are the L2 length the caller passes)
    uint64_t burst_packets = 0;  // bucket depth, packets
    uint64_t burst_bytes = 0;    // bucket depth, bytes
};

// Bursts are capped so that positions stay unambiguous modulo their widths:
inline constexpr uint64_t kMaxBurstPackets = uint64_t{1} << 30;
inline constexpr uint64_t kMaxBurstBytes = uint64_t{1} << 34;  // 137 Gbit
// ... and so that a drained bucket refills within half of full_at's range.
inline constexpr uint64_t kMaxBurstCycles = uint64_t{1} << 43;  // 49 min at 3 GHz
// A rate above one packet or 256 bytes per TSC cycle cannot be reached by one
// worker; make_profile treats it as unlimited.

// A Rate compiled for one TSC frequency: fixed-point rates and caps. Plain
// data, built by the control core (make_profile) and read by workers.
struct Profile {
    uint64_t pkt_rate = 0;    // packets per cycle, 2^-56 units; 0: unlimited
    uint64_t byte_rate = 0;   // bytes per cycle, 2^-56 units; 0: unlimited
    uint64_t pkt_burst = 0;   // packets, 1..kMaxBurstPackets when limited
    uint64_t byte_burst = 0;  // bytes, 1..kMaxBurstBytes when limited
    uint64_t pkt_wait = 0;    // coarse time units per packet, 2^-32 units, rounded up
    uint64_t byte_wait = 0;   // ... per byte
    uint32_t gen = 0;         // 4-bit fingerprint of the above (see "Profile changes")

    // Both dimensions unlimited: admit everything and keep no state.
    bool off() const noexcept { return (pkt_rate | byte_rate) == 0; }
    bool operator==(const Profile&) const = default;
};

// hz: TSC cycles per second (rte_get_tsc_hz()), 1..2^40; hz == 0 gives an off
// profile. Bursts are raised to at least 1 and lowered to the caps above. A
// packet longer than burst_bytes never conforms: the policy layer should keep
// byte bursts above the largest frame.
Profile make_profile(const Rate& r, uint64_t hz) noexcept;

namespace detail {

__extension__ using u128 = unsigned __int128;

inline constexpr unsigned kRateShift = 56;
inline constexpr unsigned kTimeShift = 22;  // one coarse unit: 2^22 cycles
inline constexpr unsigned kTimeBits = 24;
inline constexpr uint32_t kTimeMask = (uint32_t{1} << kTimeBits) - 1;
// A lead (full_at - now) longer than any burst can produce is a wrapped,
// stale full_at: kMaxBurstCycles is 2^21 units, plus rounding.
inline constexpr int32_t kMaxLead = int32_t{1} << 22;
inline constexpr unsigned kByteBits = 36;
inline constexpr uint64_t kByteMask = (uint64_t{1} << kByteBits) - 1;
inline constexpr unsigned kGenShift = 36;
inline constexpr uint32_t kGenMask = 0xf;
inline constexpr unsigned kAtShift = 40;

inline uint32_t coarse(uint64_t now) noexcept { return static_cast<uint32_t>(now >> kTimeShift) & kTimeMask; }

// full_at - now in coarse units, sign-extended from 24 bits; INT32_MIN for a
// lead no legitimate bucket can have (a full_at from a wrap ago).
inline int32_t lead(uint32_t at, uint32_t now_c) noexcept {
    const int32_t d = static_cast<int32_t>((at - now_c) << (32 - kTimeBits)) >> (32 - kTimeBits);
    return d <= kMaxLead ? d : INT32_MIN;
}
// Positions are still read this long after full_at (where they read as full
// anyway), so full_at's rounding never decides whether a packet conforms;
// later they may have wrapped and are ignored.
inline constexpr int32_t kReadSlack = 16;

// V(now) for a rate in 2^-56 tokens per cycle (mod 2^64; callers keep the
// low bits they store).
inline uint64_t vclock(uint64_t now, uint64_t rate) noexcept {
    return static_cast<uint64_t>((u128{now} * rate) >> kRateShift);
}

inline int64_t sext_bytes(uint64_t x) noexcept {
    return static_cast<int64_t>(x << (64 - kByteBits)) >> (64 - kByteBits);
}

}  // namespace detail

// A token bucket with its key: one table entry. See the layout above.
struct Bucket {
    using key_type = Key;
    Key key;
    uint32_t pkts;
    uint64_t word;

    uint32_t full_at() const noexcept { return static_cast<uint32_t>(word >> detail::kAtShift); }
    // Coarse units until the bucket is full again (the table's eviction rank).
    int64_t worth(uint64_t now) const noexcept {
        const uint32_t at = full_at();
        return at ? detail::lead(at, detail::coarse(now)) : 0;
    }
    bool vacant() const noexcept { return full_at() == 0; }
};
static_assert(sizeof(Bucket) == 32);

namespace detail {

// Debts (tokens spent and not yet earned back) at now, and the clocks they
// were measured on. A fresh bucket, one long past full_at, one with a stale
// full_at or another profile's fingerprint, and an impossible position (a
// debt above the burst) count as full.
struct Debts {
    uint64_t pkts = 0, bytes = 0;
    uint32_t vp = 0;
    uint64_t vb = 0;
};

[[gnu::always_inline]] inline Debts debts(const Bucket& b, const Profile& p, uint64_t now) noexcept {
    Debts d;
    const uint32_t at = b.full_at();
    const bool draining =
        at != 0 && ((b.word >> kGenShift) & kGenMask) == p.gen && lead(at, coarse(now)) > -kReadSlack;
    if (p.pkt_rate) {
        d.vp = static_cast<uint32_t>(vclock(now, p.pkt_rate));
        const int32_t x = static_cast<int32_t>(b.pkts - d.vp);
        if (draining && x > 0 && static_cast<uint64_t>(x) <= p.pkt_burst) d.pkts = static_cast<uint64_t>(x);
    }
    if (p.byte_rate) {
        d.vb = vclock(now, p.byte_rate) & kByteMask;
        const int64_t x = sext_bytes(b.word - d.vb);
        if (draining && x > 0 && static_cast<uint64_t>(x) <= p.byte_burst) d.bytes = static_cast<uint64_t>(x);
    }
    return d;
}

}  // namespace detail

// Consumes one packet token and `bytes` byte tokens when the bucket holds
// both (for each limited dimension); otherwise changes nothing and returns
// false. An off profile admits without touching the bucket. `now` must not go
// backwards for a bucket (one worker, one TSC); if it does, the bucket is
// merely stricter for the difference.
[[gnu::always_inline]] inline bool conform(Bucket& b, const Profile& p, uint64_t now, uint32_t bytes) noexcept {
    using namespace detail;
    if (p.off()) return true;
    const Debts d = debts(b, p, now);
    const uint64_t np = p.pkt_rate ? d.pkts + 1 : 0;
    const uint64_t nb = p.byte_rate ? d.bytes + bytes : 0;
    if (np > p.pkt_burst || nb > p.byte_burst) return false;
    // Full again once both clocks pass the new positions: now + debt / rate,
    // rounded up (+1 for now's own truncation, +1 for the products', +1 for
    // the cycle-exact instant); never 0, which means fresh.
    const uint64_t wait = std::max(static_cast<uint64_t>((u128{np} * p.pkt_wait) >> 32),
                                   static_cast<uint64_t>((u128{nb} * p.byte_wait) >> 32));
    uint32_t at = static_cast<uint32_t>(coarse(now) + 3 + wait) & kTimeMask;
    at += at == 0;
    b.pkts = d.vp + static_cast<uint32_t>(np);
    b.word = uint64_t{at} << kAtShift | uint64_t{p.gen & kGenMask} << kGenShift | ((d.vb + nb) & kByteMask);
    return true;
}

// What the bucket holds at now (for tests and diagnostics); an unlimited
// dimension reads as UINT64_MAX.
struct Tokens {
    uint64_t packets, bytes;
};
inline Tokens tokens(const Bucket& b, const Profile& p, uint64_t now) noexcept {
    const detail::Debts d = detail::debts(b, p, now);
    return {p.pkt_rate ? p.pkt_burst - d.pkts : UINT64_MAX, p.byte_rate ? p.byte_burst - d.bytes : UINT64_MAX};
}

// ------------------------------------------------------------------ keys

// The key of a source prefix (or destination host) bucket: addr masked to
// prefix_len (IPv4: addr[0..3], the rest zeroed whatever the caller passed;
// prefix_len capped at 32 / 128), tag = family | prefix_len << 8 | cls << 16
// | scope << 24. family is 4 or 6; scope tells apart buckets of the same
// prefix and class that must not share tokens (e.g. the policy index).
[[gnu::always_inline]] inline Key source_key(const uint8_t addr[16], uint8_t family, uint8_t prefix_len,
                                             uint8_t cls, uint8_t scope = 0) noexcept {
    const unsigned len = std::min<unsigned>(prefix_len, family == 4 ? 32 : 128);
    // Masks over the address as two 64-bit words in memory order: the first
    // `bits` bits of the word are kept.
    const auto keep = [](unsigned bits) noexcept -> uint64_t {
        const uint64_t m = bits >= 64 ? ~uint64_t{0} : bits == 0 ? 0 : ~uint64_t{0} << (64 - bits);
        if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(m);
        return m;
    };
    uint64_t w[2];
    std::memcpy(w, addr, 16);
    w[0] &= keep(std::min(len, 64u));
    w[1] &= keep(len > 64 ? len - 64 : 0);
    Key k;
    std::memcpy(k.addr, w, 16);
    k.tag = uint32_t{family} | uint32_t{len} << 8 | uint32_t{cls} << 16 | uint32_t{scope} << 24;
    return k;
}

// ------------------------------------------------------------------ meter

// One worker's buckets of one kind (the worker keeps one Meter for source
// prefixes and one for destination hosts).
//
// Sizing: a slot is 32 bytes. Keys land in sets at random, so a table runs
// out of room in some sets before others: sized for twice the sources it
// should track (64 bytes per tracked source), about 4 % of them would be
// evicted if all were draining at once (table.h); the ones evicted are those
// closest to full, and stats().evictions says when the table is too small.
class Meter {
public:
    static constexpr unsigned kWays = 4;
    using Buckets = Table<Bucket, kWays>;

    Meter(size_t capacity, const net::SipKey& key) : t_(capacity, key) {}

    // Find-or-claim the key's bucket, then conform(). An off profile admits
    // without a lookup, so unlimited classes cost no table space.
    [[gnu::always_inline]] bool admit(const Key& k, uint64_t h, const Profile& p, uint64_t now,
                                      uint32_t bytes) noexcept {
        if (p.off()) return true;
        return conform(t_.find_or_claim(k, h, now), p, now, bytes);
    }
    bool admit(const Key& k, const Profile& p, uint64_t now, uint32_t bytes) noexcept {
        return admit(k, hash(k), p, now, bytes);
    }

    // For a burst: hash and prefetch all keys, then admit(k, hash, ...).
    uint64_t hash(const Key& k) const noexcept { return t_.hash(k); }
    void prefetch(uint64_t h) const noexcept { t_.prefetch(h); }

    const TableStats& stats() const noexcept { return t_.stats(); }
    uint64_t evictions() const noexcept { return t_.stats().evictions; }
    Buckets& table() noexcept { return t_; }
    const Buckets& table() const noexcept { return t_; }

private:
    Buckets t_;
};

}  // namespace triage::meter
