// lib/detect/sketch.h: which source prefixes send the most toward each
// protected prefix during an incident. Each worker feeds a Space-Saving
// summary (Metwally et al. 2005) from sampled packets; the control core merges
// the workers' snapshots (Agarwal et al., "Mergeable summaries", 2012) and
// renders the top entries with their error bound (docs/detection.md).
//
// SpaceSaving<K> keeps K counters. A key already counted adds its weight; a
// new key takes over the smallest counter m, starting at m + w with error m.
// So every count overestimates (true <= count), by at most its error
// (true >= count - error), every key with more than total/K is present, and
// no absent key has more than absent_bound() (the smallest count when full).
// add() is inline, noexcept and allocation-free: an open-addressing index
// (linear probing, 16-bit tags, backward-shift deletion) finds the counter,
// and a min-heap over the counters with back-pointers finds the one to evict,
// O(log K). merge() and top() are control-side code (merge() keeps K + K2
// entries on the stack; top() returns a vector).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "detect.h"

namespace triage::detect {

inline constexpr unsigned kSourceV4Len = 24;  // default prefix lengths of a source key
inline constexpr unsigned kSourceV6Len = 48;

// A source prefix toward one protected prefix. Plain bytes without padding,
// compared and hashed as such: build it with the helpers below (or zero it
// first), never field by field on top of garbage.
struct SourceKey {
    uint16_t entry;     // protected prefix (snapshot index) the packets went to
    uint8_t family;     // 4 or 6
    uint8_t len;        // prefix length
    uint8_t addr[16];   // network byte order, masked to len, zero padded (IPv4: bytes 0..3)

    friend bool operator==(const SourceKey& a, const SourceKey& b) noexcept {
        return std::memcmp(&a, &b, sizeof a) == 0;
    }
};
static_assert(sizeof(SourceKey) == 20 && std::is_trivially_copyable_v<SourceKey>,
              "SourceKey is compared and hashed as 20 plain bytes");

namespace sketch_detail {
inline void mask_copy(uint8_t* out, const uint8_t* in, unsigned nbytes, unsigned len) noexcept {
    for (unsigned b = 0; b < nbytes; ++b) {
        const unsigned bit = b * 8;
        out[b] = bit + 8 <= len ? in[b]
                 : bit >= len   ? uint8_t{0}
                                : static_cast<uint8_t>(in[b] & (0xff00u >> (len - bit)));
    }
}
}  // namespace sketch_detail

// addr: the 4 bytes of the source in network order, as PacketView::src holds them.
inline SourceKey source_key_v4(uint16_t entry, const uint8_t* addr, unsigned len = kSourceV4Len) noexcept {
    SourceKey k{};
    k.entry = entry;
    k.family = 4;
    k.len = static_cast<uint8_t>(std::min(len, 32u));
    sketch_detail::mask_copy(k.addr, addr, 4, k.len);
    return k;
}

// addr: the 16 bytes of the source in network order.
inline SourceKey source_key_v6(uint16_t entry, const uint8_t* addr, unsigned len = kSourceV6Len) noexcept {
    SourceKey k{};
    k.entry = entry;
    k.family = 6;
    k.len = static_cast<uint8_t>(std::min(len, 128u));
    sketch_detail::mask_copy(k.addr, addr, 16, k.len);
    return k;
}

// From a parsed packet: source_key(e, view.ip_version, view.src). An
// ip_version other than 6 is read as IPv4 (the caller counts IP packets only).
inline SourceKey source_key(uint16_t entry, uint8_t ip_version, const uint8_t* src, unsigned v4_len = kSourceV4Len,
                            unsigned v6_len = kSourceV6Len) noexcept {
    return ip_version == 6 ? source_key_v6(entry, src, v6_len) : source_key_v4(entry, src, v4_len);
}

// "203.0.113.0/24", "2001:db8:1::/48" (the entry is not part of the text).
std::string to_string(const SourceKey& k);

// Seeded, so a spoofer cannot aim sources at one probe chain (which the
// table bounds at K probes anyway).
inline uint64_t hash_key(const SourceKey& k, uint64_t seed = 0) noexcept {
    uint64_t a, b;
    uint32_t c;
    std::memcpy(&a, &k, 8);
    std::memcpy(&b, reinterpret_cast<const uint8_t*>(&k) + 8, 8);
    std::memcpy(&c, reinterpret_cast<const uint8_t*>(&k) + 16, 4);
    uint64_t h = (a ^ seed) * 0x9e3779b97f4a7c15ull;
    h ^= (b + (seed >> 17)) * 0xc2b2ae3d27d4eb4full;
    h ^= (static_cast<uint64_t>(c) + 0x165667b19e3779f9ull) * 0xd6e8feb86659fd93ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

struct SketchEntry {
    SourceKey key;
    uint64_t count;   // estimated weight (packets): true <= count
    uint64_t error;   // overestimation bound: true >= count - error
    uint64_t bytes;   // bytes added while the key held its counter: a lower bound
};
static_assert(sizeof(SketchEntry) == 48 && std::is_trivially_copyable_v<SketchEntry>);

// One worker's table as plain bytes, for handing to another core (copy it
// under the caller's own protocol, e.g. a sequence lock or double buffer).
// Produced by SpaceSaving<K>::save(); no key appears twice.
template <unsigned K>
struct SketchSnapshot {
    uint32_t n = 0;       // entries used
    uint32_t pad_ = 0;
    uint64_t total = 0;   // weight added
    uint64_t floor = 0;   // bound on an absent key's weight while not full (see absent_bound())
    SketchEntry e[K];
};
static_assert(std::is_trivially_copyable_v<SketchSnapshot<64>>);

template <unsigned K>
class SpaceSaving {
    static_assert(K >= 1 && K <= 16384, "counter indices are 16 bits");

public:
    static constexpr unsigned kCapacity = K;

    explicit SpaceSaving(uint64_t seed = 0) noexcept : seed_(seed) { clear(); }

    void clear() noexcept {
        n_ = 0;
        total_ = 0;
        floor_ = 0;
        std::memset(index_, 0, sizeof index_);
    }

    // One sampled packet (weight = the sampling ratio) or a batch of them.
    void add(const SourceKey& k, uint64_t weight, uint64_t bytes) noexcept {
        total_ += weight;
        const uint64_t h = hash_key(k, seed_);
        const uint32_t tag = static_cast<uint32_t>(h >> 48) << 16;
        for (unsigned p = static_cast<unsigned>(h) & kMask;; p = (p + 1) & kMask) {
            const uint32_t s = index_[p];
            if (s == 0) break;
            if ((s & 0xffff0000u) == tag && entries_[(s & 0xffffu) - 1].key == k) {
                const unsigned i = (s & 0xffffu) - 1;
                entries_[i].count += weight;
                entries_[i].bytes += bytes;
                sift_down(pos_[i]);
                return;
            }
        }
        unsigned i;
        uint64_t base;
        if (n_ < K) {
            i = n_++;
            base = floor_;
            heap_[i] = static_cast<uint16_t>(i);
            pos_[i] = static_cast<uint16_t>(i);
        } else {
            i = heap_[0];
            base = entries_[i].count;
            erase_index(i);
        }
        entries_[i] = SketchEntry{k, base + weight, base, bytes};
        hash_[i] = static_cast<uint32_t>(h);
        insert_index(i, h);
        sift_up(pos_[i]);  // a new counter at the end of the heap
        sift_down(pos_[i]);  // an evicted minimum, now larger, at its root
    }

    size_t size() const noexcept { return n_; }
    bool full() const noexcept { return n_ == K; }
    uint64_t total() const noexcept { return total_; }
    // No key outside the table has been added with more weight than this.
    uint64_t absent_bound() const noexcept { return n_ == K ? entries_[heap_[0]].count : floor_; }

    const SketchEntry* begin() const noexcept { return entries_; }
    const SketchEntry* end() const noexcept { return entries_ + n_; }

    const SketchEntry* find(const SourceKey& k) const noexcept {
        const int i = lookup(k);
        return i < 0 ? nullptr : &entries_[i];
    }

    // The n largest counts, descending (ties by key bytes).
    std::vector<SketchEntry> top(size_t n) const {
        std::vector<SketchEntry> v(begin(), end());
        n = std::min(n, v.size());
        std::partial_sort(v.begin(), v.begin() + static_cast<ptrdiff_t>(n), v.end(), ranks_before);
        v.resize(n);
        return v;
    }

    // Folds another summary in (its stream is disjoint from ours). A key in
    // both gets the sums; a key in one only gets, in count and error alike,
    // the other's absent_bound() (what it may have had there). The largest K
    // stay; every guarantee above then holds for the union of the streams.
    template <unsigned K2>
    void merge(const SpaceSaving<K2>& o) noexcept {
        merge_entries<K2>(o.entries_, o.n_, o.absent_bound(), o.total_);
    }
    // A snapshot is taken as save() wrote it; one that is not (a torn copy)
    // still leaves a consistent table, with meaningless counts.
    template <unsigned K2>
    void merge(const SketchSnapshot<K2>& s) noexcept {
        const uint32_t n = std::min<uint32_t>(s.n, K2);
        uint64_t least = UINT64_MAX;
        for (uint32_t j = 0; j < n; ++j) least = std::min(least, s.e[j].count);
        const uint64_t bound = n == K2 ? least : std::min(s.floor, least);
        merge_entries<K2>(s.e, n, bound, s.total);
    }

    void save(SketchSnapshot<K>& s) const noexcept {
        s.n = n_;
        s.pad_ = 0;
        s.total = total_;
        s.floor = floor_;
        std::memcpy(s.e, entries_, sizeof(SketchEntry) * n_);
    }
    void load(const SketchSnapshot<K>& s) noexcept {
        clear();
        merge(s);
    }

    // Index, heap and counters agree (tests).
    bool check() const noexcept {
        unsigned used = 0;
        for (unsigned p = 0; p < kSlots; ++p) {
            const uint32_t s = index_[p];
            if (s == 0) continue;
            ++used;
            const unsigned i = (s & 0xffffu) - 1;
            if (i >= n_) return false;
            if (lookup(entries_[i].key) != static_cast<int>(i)) return false;
        }
        if (used != n_) return false;
        for (unsigned j = 0; j < n_; ++j) {
            if (heap_[j] >= n_ || pos_[heap_[j]] != j) return false;
            if (j > 0 && entries_[heap_[(j - 1) / 2]].count > entries_[heap_[j]].count) return false;
            const SketchEntry& e = entries_[j];
            if (e.error > e.count || e.count < floor_) return false;
            if (static_cast<uint32_t>(hash_key(e.key, seed_)) != hash_[j]) return false;
        }
        return true;
    }

    static bool ranks_before(const SketchEntry& a, const SketchEntry& b) noexcept {
        if (a.count != b.count) return a.count > b.count;
        return std::memcmp(&a.key, &b.key, sizeof a.key) < 0;
    }

private:
    template <unsigned>
    friend class SpaceSaving;

    // Four index slots per counter: probes stay short without rehashing.
    static constexpr unsigned kSlots = std::bit_ceil(4u * K) < 64u ? 64u : std::bit_ceil(4u * K);
    static constexpr unsigned kMask = kSlots - 1;

    int lookup(const SourceKey& k) const noexcept {
        const uint64_t h = hash_key(k, seed_);
        const uint32_t tag = static_cast<uint32_t>(h >> 48) << 16;
        for (unsigned p = static_cast<unsigned>(h) & kMask;; p = (p + 1) & kMask) {
            const uint32_t s = index_[p];
            if (s == 0) return -1;
            if ((s & 0xffff0000u) == tag && entries_[(s & 0xffffu) - 1].key == k) return static_cast<int>(s & 0xffffu) - 1;
        }
    }

    void insert_index(unsigned i, uint64_t h) noexcept {
        unsigned p = static_cast<unsigned>(h) & kMask;
        while (index_[p] != 0) p = (p + 1) & kMask;
        index_[p] = (static_cast<uint32_t>(h >> 48) << 16) | (i + 1);
    }

    // Removes counter i from the index, shifting later members of the probe
    // run back so lookups need no tombstones.
    void erase_index(unsigned i) noexcept {
        unsigned p = hash_[i] & kMask;
        while ((index_[p] & 0xffffu) != i + 1) p = (p + 1) & kMask;
        for (unsigned q = (p + 1) & kMask;; q = (q + 1) & kMask) {
            const uint32_t s = index_[q];
            if (s == 0) break;
            const unsigned home = hash_[(s & 0xffffu) - 1] & kMask;
            // Move s back unless its home lies cyclically in (p, q].
            if (((q - home) & kMask) >= ((q - p) & kMask)) {
                index_[p] = s;
                p = q;
            }
        }
        index_[p] = 0;
    }

    uint64_t key_at(unsigned j) const noexcept { return entries_[heap_[j]].count; }
    void place(unsigned j, uint16_t c) noexcept {
        heap_[j] = c;
        pos_[c] = static_cast<uint16_t>(j);
    }
    void sift_down(unsigned j) noexcept {
        const uint16_t c = heap_[j];
        const uint64_t v = entries_[c].count;
        for (;;) {
            unsigned m = 2 * j + 1;
            if (m >= n_) break;
            if (m + 1 < n_ && key_at(m + 1) < key_at(m)) ++m;
            if (key_at(m) >= v) break;
            place(j, heap_[m]);
            j = m;
        }
        place(j, c);
    }
    void sift_up(unsigned j) noexcept {
        const uint16_t c = heap_[j];
        const uint64_t v = entries_[c].count;
        while (j > 0) {
            const unsigned parent = (j - 1) / 2;
            if (key_at(parent) <= v) break;
            place(j, heap_[parent]);
            j = parent;
        }
        place(j, c);
    }

    template <unsigned K2>
    void merge_entries(const SketchEntry* b, unsigned nb, uint64_t bound_b, uint64_t total_b) noexcept {
        const uint64_t bound_a = absent_bound();
        SketchEntry u[K + K2];
        unsigned n = n_;
        for (unsigned i = 0; i < n_; ++i) {
            u[i] = entries_[i];
            u[i].count += bound_b;
            u[i].error += bound_b;
        }
        for (unsigned j = 0; j < nb; ++j) {
            const int i = lookup(b[j].key);
            if (i >= 0) {
                u[i].count = entries_[i].count + b[j].count;
                u[i].error = entries_[i].error + b[j].error;
                u[i].bytes += b[j].bytes;
            } else {
                u[n] = b[j];
                u[n].count += bound_a;
                u[n].error += bound_a;
                ++n;
            }
        }
        // Keys of b that are new here are unique unless b was corrupt;
        // a repeated key would break the index, so fold repeats together.
        if (n > n_ + 1) {
            std::sort(u + n_, u + n, [](const SketchEntry& x, const SketchEntry& y) {
                return std::memcmp(&x.key, &y.key, sizeof x.key) < 0;
            });
            unsigned w = n_;
            for (unsigned r = n_; r < n; ++r) {
                if (w > n_ && u[w - 1].key == u[r].key) {
                    u[w - 1].count += u[r].count - bound_a;
                    u[w - 1].error += u[r].error - bound_a;
                    u[w - 1].bytes += u[r].bytes;
                } else {
                    u[w++] = u[r];
                }
            }
            n = w;
        }
        for (unsigned i = 0; i < n; ++i) u[i].error = std::min(u[i].error, u[i].count);
        if (n > K) {
            std::nth_element(u, u + K - 1, u + n, ranks_before);
            n = K;
        }
        // Every kept count is at least bound_a + bound_b, and so is every
        // dropped one that an absent key could hide behind.
        const uint64_t total = total_ + total_b;
        clear();
        total_ = total;
        floor_ = bound_a + bound_b;
        for (unsigned i = 0; i < n; ++i) {
            entries_[i] = u[i];
            const uint64_t h = hash_key(u[i].key, seed_);
            hash_[i] = static_cast<uint32_t>(h);
            insert_index(i, h);
            heap_[i] = static_cast<uint16_t>(i);
            pos_[i] = static_cast<uint16_t>(i);
        }
        n_ = n;
        for (unsigned j = n / 2; j-- > 0;) sift_down(j);
    }

    alignas(64) SketchEntry entries_[K];
    uint32_t index_[kSlots];   // (tag << 16) | (counter + 1); 0 = empty
    uint32_t hash_[K];         // low hash bits of each counter's key (its home slot)
    uint16_t heap_[K];         // min-heap of counters by count
    uint16_t pos_[K];          // counter -> heap position
    unsigned n_ = 0;
    uint64_t total_ = 0;
    uint64_t floor_ = 0;       // bound on an absent key's weight while not full
    uint64_t seed_;
};

// The n heaviest source prefixes toward protected prefix `entry`, for an
// incident (Incident::top_sources). share = count / target_packets, where
// target_packets is the weight toward the target over the same window and
// in the same unit (estimated packets), capped at 1; 0 when that is 0.
std::vector<TopSource> top_sources(const SketchEntry* begin, const SketchEntry* end, uint16_t entry, size_t n,
                                   uint64_t target_packets);
template <unsigned K>
std::vector<TopSource> top_sources(const SpaceSaving<K>& s, uint16_t entry, size_t n, uint64_t target_packets) {
    return top_sources(s.begin(), s.end(), entry, n, target_packets);
}

}  // namespace triage::detect
