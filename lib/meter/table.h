// Bounded, set-associative hash tables for per-worker state that attackers
// can create at will: token buckets per source prefix and per destination,
// authenticated sources, solicited flows.
//
// The design follows from three facts about a flood:
//   - Keys are chosen by the sender. The set index is a keyed hash (AES
//     rounds or SipHash-1-3 under a per-boot random key: keyed_hash.h), so a
//     sender cannot aim keys at one set; and even
//     if a set fills with colliding keys, a lookup reads that one set and
//     nothing else (no chains, no probing into neighbours).
//   - A spoofed flood brings a new key with almost every packet. So a miss
//     always gets a slot: an empty one, else one whose entry is worth nothing
//     any more (a bucket that has refilled, an expired entry), else the
//     entry its type ranks least valuable is evicted. A legitimate new
//     source is never locked out, and the entries evicted first are those
//     closest to what a fresh entry would be. Evictions of entries still
//     worth something are counted: that is the operator's "table too small".
//   - Nobody has time to sweep. Staleness is judged lazily, per set, when a
//     miss needs a slot; there is no background pass and no per-entry list.
//
// Memory is one anonymous mapping made at construction (huge pages where
// the kernel gives them, every page touched up front so the hot path never
// faults) and freed by the destructor. Lookups do not allocate, lock, call
// the kernel or throw. A table belongs to one worker: no atomics.
//
// Geometry: entries are 32 bytes, so a 4-way set is 128 bytes, two adjacent
// cache lines (the L2 spatial prefetcher tends to fetch them as a pair). A
// lookup is one hash and one set. Keys land in sets at random, so some sets
// fill before others: with every source live at once at half load (a table
// of 2N slots for N sources, 64 bytes per source), perf/bench_meter.cpp's
// geometry runs found 10.4 % of the sources evicted with 2 ways, 3.7 % with
// 4, 0.8 % with 8 and 0.08 % with 16, while a prefetched admit over a million
// sources (or one that evicts, in a flood) cost about 55-65 ns with 2 or 4
// ways, 75-110 with 8 and 105-135 with 16 (a busy 2-core 2 GHz VM, with
// SipHash-1-3 as the hash: 20-25 ns of it; the AES-round hash that replaced
// it on AES-NI machines costs a few). 4 ways cost next to nothing over 2 and evict a third
// as often; more ways buy utilisation with lookups that read and compare
// more lines on every miss, which is what a flood consists of.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "keyed_hash.h"
#include "siphash.h"

namespace triage::meter {

// ------------------------------------------------------------------ keys

// The key of a bucket or of an authenticated source: an address (IPv4 in
// addr[0..3], the rest zero; host bits beyond a prefix zero) and a tag that
// tells apart keys with the same address bytes (family, prefix length,
// traffic class, or ports). 20 bytes, no padding, compared bytewise.
struct Key {
    uint8_t addr[16];
    uint32_t tag;
    bool operator==(const Key&) const = default;
};
static_assert(sizeof(Key) == 20 && std::has_unique_object_representations_v<Key>);

// The key of a solicited flow: a remote address with both ports and a
// 32-bit tag (family, protocol, a fold of the local address, ...). Key's tag
// holds the two ports and nothing more; FlowKey has room for both, and at 24
// bytes still makes a 32-byte entry with a 64-bit expiry.
struct FlowKey {
    uint8_t addr[16];
    uint16_t remote_port;
    uint16_t local_port;
    uint32_t tag;
    bool operator==(const FlowKey&) const = default;
};
static_assert(sizeof(FlowKey) == 24 && std::has_unique_object_representations_v<FlowKey>);

// ------------------------------------------------------------------ stats

// Written by the owning worker with plain stores; the worker copies them into
// its telemetry counters.
struct TableStats {
    uint64_t lookups = 0;           // find() and find_or_claim() calls
    uint64_t hits = 0;              // the key had an entry
    uint64_t claimed_empty = 0;     // a miss took a slot that never held state
    uint64_t claimed_reusable = 0;  // ... or one whose entry was worth nothing (refilled, expired)
    uint64_t evictions = 0;         // ... or evicted an entry still worth something
};

namespace detail {

// One mapping of `bytes` zeroed bytes, every page touched; throws
// std::bad_alloc when the kernel refuses. Not on the hot path.
void* map_zeroed(size_t bytes);
void unmap(void* p, size_t bytes) noexcept;

template <class K>
[[gnu::always_inline]] inline bool same_key(const K& a, const K& b) noexcept {
    return std::memcmp(&a, &b, sizeof(K)) == 0;
}

}  // namespace detail

// ------------------------------------------------------------------ table

// What Table needs of an Entry:
//   using key_type = Key or FlowKey (or any padding-free key);
//   key_type key;                        compared bytewise
//   all-zero bytes (Entry{}) = no state: a vacant slot, or a fresh entry
//   int64_t worth(uint64_t now) const    > 0 while the entry holds state worth
//                                        keeping, larger = keep longer;
//                                        <= 0 when it may be reused
//   bool vacant() const                  never held state (statistics only)
// A claimed slot is reset to Entry{} with the new key: an entry that was
// worth nothing and a fresh one must therefore mean the same thing.
template <class Entry, unsigned Ways>
class Table {
    static_assert(Ways >= 1 && std::has_single_bit(Ways), "ways: a power of two");
    static_assert(std::is_trivially_copyable_v<Entry> && std::is_standard_layout_v<Entry>);
    static_assert(std::has_unique_object_representations_v<typename Entry::key_type>,
                  "keys are hashed and compared bytewise: no padding");

public:
    using key_type = typename Entry::key_type;
    static constexpr unsigned kWays = Ways;
    static constexpr size_t kSetBytes = size_t{Ways} * sizeof(Entry);

    // At least `capacity` entries (rounded up to a power-of-two number of
    // sets, at least one). Throws std::bad_alloc if the memory is not there
    // and std::length_error for an absurd capacity.
    Table(size_t capacity, const net::SipKey& key, KeyedHash::Impl impl = KeyedHash::Impl::best)
        : hash_(key, impl) {
        constexpr size_t kMaxSets = (size_t{1} << 40) / kSetBytes;  // 1 TiB
        if (capacity / Ways >= kMaxSets) throw std::length_error("meter::Table: capacity too large");
        const size_t want = std::max<size_t>(1, (capacity + Ways - 1) / Ways);
        const size_t sets = std::bit_ceil(want);
        bytes_ = sets * kSetBytes;
        slots_ = static_cast<Entry*>(detail::map_zeroed(bytes_));
        mask_ = sets - 1;
    }
    ~Table() { detail::unmap(slots_, bytes_); }
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;
    // A moved-from table may only be destroyed or assigned to.
    Table(Table&& o) noexcept { swap(o); }
    Table& operator=(Table&& o) noexcept {
        swap(o);
        return *this;
    }

    // --- hot path ---
    uint64_t hash(const key_type& k) const noexcept { return hash_(k); }
    const KeyedHash& hasher() const noexcept { return hash_; }
    // For a burst: hash and prefetch every packet's set first, then look up,
    // so the memory accesses overlap instead of queueing behind each other.
    void prefetch(uint64_t h) const noexcept {
        const char* p = reinterpret_cast<const char*>(set_of(h));
        for (size_t off = 0; off < kSetBytes; off += 64) __builtin_prefetch(p + off, 1, 3);
    }

    // The entry for k, or nullptr. Never claims.
    [[gnu::always_inline]] Entry* find(const key_type& k, uint64_t h) noexcept {
        Entry* set = set_of(h);
        ++stats_.lookups;
        for (unsigned i = 0; i < Ways; ++i) {
            if (detail::same_key(set[i].key, k)) {
                ++stats_.hits;
                return &set[i];
            }
        }
        return nullptr;
    }
    Entry* find(const key_type& k) noexcept { return find(k, hash(k)); }

    // The entry for k; on a miss a slot of k's set is claimed and reset to a
    // fresh entry (Entry{} with key k). Always succeeds.
    [[gnu::always_inline]] Entry& find_or_claim(const key_type& k, uint64_t h, uint64_t now) noexcept {
        Entry* set = set_of(h);
        ++stats_.lookups;
        for (unsigned i = 0; i < Ways; ++i) {
            if (detail::same_key(set[i].key, k)) {
                ++stats_.hits;
                return set[i];
            }
        }
        return claim(set, k, now);
    }
    Entry& find_or_claim(const key_type& k, uint64_t now) noexcept { return find_or_claim(k, hash(k), now); }

    // Forgets k (the slot becomes vacant). Returns whether it was there.
    bool erase(const key_type& k) noexcept {
        Entry* e = find(k);
        if (e) *e = Entry{};
        return e != nullptr;
    }

    // --- control side ---
    void clear() noexcept { std::memset(static_cast<void*>(slots_), 0, bytes_); }
    size_t capacity() const noexcept { return (mask_ + 1) * Ways; }
    size_t sets() const noexcept { return mask_ + 1; }
    size_t memory_bytes() const noexcept { return bytes_; }
    // Memory per slot; per tracked source it is this divided by the load
    // (the operator sizes the table, see Meter).
    static constexpr size_t bytes_per_entry() noexcept { return sizeof(Entry); }
    const TableStats& stats() const noexcept { return stats_; }
    // The set a hash selects (tests, diagnostics).
    size_t set_index(uint64_t h) const noexcept { return static_cast<size_t>(h) & mask_; }

    // Entries worth something at `now`, extrapolated from up to `sample_sets`
    // sets spread over the table (exact when it samples every set). Reads
    // sample_sets * kSetBytes bytes: cheap enough for a stats poll.
    size_t occupancy_estimate(uint64_t now, size_t sample_sets = 1024) const noexcept {
        const size_t sets_total = mask_ + 1;
        const size_t n = std::clamp<size_t>(sample_sets, 1, sets_total);
        const size_t stride = sets_total / n;
        size_t live = 0;
        for (size_t s = 0; s < n; ++s) {
            const Entry* set = slots_ + s * stride * Ways;
            for (unsigned i = 0; i < Ways; ++i) live += set[i].worth(now) > 0;
        }
        return static_cast<size_t>(static_cast<double>(live) * static_cast<double>(sets_total) /
                                   static_cast<double>(n));
    }

private:
    Entry* set_of(uint64_t h) const noexcept { return slots_ + (static_cast<size_t>(h) & mask_) * Ways; }

    // The miss path: first slot worth nothing, else the least valuable
    // entry. Ties go to the lowest way; the sender cannot know which that is.
    Entry& claim(Entry* set, const key_type& k, uint64_t now) noexcept {
        unsigned victim = 0;
        int64_t least = set[0].worth(now);
        for (unsigned i = 1; i < Ways && least > 0; ++i) {
            const int64_t w = set[i].worth(now);
            if (w < least) {
                least = w;
                victim = i;
            }
        }
        Entry& e = set[victim];
        if (least > 0)
            ++stats_.evictions;
        else if (e.vacant())
            ++stats_.claimed_empty;
        else
            ++stats_.claimed_reusable;
        e = Entry{};
        e.key = k;
        return e;
    }

    void swap(Table& o) noexcept {
        std::swap(slots_, o.slots_);
        std::swap(mask_, o.mask_);
        std::swap(bytes_, o.bytes_);
        std::swap(hash_, o.hash_);
        std::swap(stats_, o.stats_);
    }

    Entry* slots_ = nullptr;
    size_t mask_ = 0;   // sets - 1
    size_t bytes_ = 0;  // of the mapping
    KeyedHash hash_;
    TableStats stats_;
};

// ------------------------------------------------------------------ expiry

// An entry that lives until a TSC time: an authenticated source, a
// solicited flow. 64-bit expiry in cycles, so no wraparound to handle (an
// expiry must lie less than 2^63 cycles ahead); expires == 0 means vacant.
template <class K>
struct Expiring {
    using key_type = K;
    K key;
    uint64_t expires;

    // The time left: the entry expiring soonest is the one to evict.
    int64_t worth(uint64_t now) const noexcept { return static_cast<int64_t>(expires - now); }
    bool vacant() const noexcept { return expires == 0; }
};
static_assert(sizeof(Expiring<Key>) == 32 && sizeof(Expiring<FlowKey>) == 32);

// A set of keys, each remembered until its expiry: the worker's
// authenticated sources (ExpiryTable) and solicited flows (ExpiryTable with
// the ports in the tag, or FlowTable).
template <class K, unsigned Ways = 4>
class BasicExpiryTable {
public:
    using Entries = Table<Expiring<K>, Ways>;

    BasicExpiryTable(size_t capacity, const net::SipKey& key) : t_(capacity, key) {}

    // Cycles until k expires; 0 if it is not remembered or has expired.
    [[gnu::always_inline]] uint64_t remaining(const K& k, uint64_t h, uint64_t now) noexcept {
        const Expiring<K>* e = t_.find(k, h);
        return e && e->expires > now ? e->expires - now : 0;
    }
    uint64_t remaining(const K& k, uint64_t now) noexcept { return remaining(k, t_.hash(k), now); }
    // Whether k is remembered and has not expired at now.
    bool alive(const K& k, uint64_t h, uint64_t now) noexcept { return remaining(k, h, now) != 0; }
    bool alive(const K& k, uint64_t now) noexcept { return remaining(k, t_.hash(k), now) != 0; }

    // Remembers k until `until` (TSC cycles, > now), replacing any expiry k
    // had. Always succeeds: with k's set full of live entries, the one
    // expiring soonest goes (counted as an eviction).
    [[gnu::always_inline]] void put(const K& k, uint64_t h, uint64_t until, uint64_t now) noexcept {
        t_.find_or_claim(k, h, now).expires = until;
    }
    void put(const K& k, uint64_t until, uint64_t now) noexcept { put(k, t_.hash(k), until, now); }

    bool erase(const K& k) noexcept { return t_.erase(k); }

    uint64_t hash(const K& k) const noexcept { return t_.hash(k); }
    void prefetch(uint64_t h) const noexcept { t_.prefetch(h); }
    const TableStats& stats() const noexcept { return t_.stats(); }
    uint64_t evictions() const noexcept { return t_.stats().evictions; }
    Entries& table() noexcept { return t_; }
    const Entries& table() const noexcept { return t_; }

private:
    Entries t_;
};

using ExpiryTable = BasicExpiryTable<Key>;
using FlowTable = BasicExpiryTable<FlowKey>;

}  // namespace triage::meter
