// Micro-benchmarks of lib/meter: the per-packet cost of Meter::admit()
// (keyed hash, one set of the bucket table, token arithmetic) as the number
// of tracked sources grows from cache-resident to far beyond the last-level
// cache, and under a spoofed flood where every packet brings a new source.
//
// Sources are IPv6 /64 keys in 2001:db8::/32 (one bucket each, class 0) in
// a table sized for twice their number, the sizing meter.h recommends.
// Before timing, every source has been admitted once. Packets pick sources
// at random from a pre-generated sequence; simulated time advances 250
// cycles (100 ns at 2.5 GHz) per packet, a 10 Mpps worker. Each iteration
// handles a burst of 32 packets, either one by one (admit/...) or as a
// worker's burst loop would: hash and prefetch all 32 sets, then admit
// (admit_prefetch/...). flood/... does the same with a never-seen source per
// packet against the populated table, so every admit claims a slot: under
// the sources' profile (pps:1000) mostly a refilled one, under a 1 pps
// profile (pps:1) mostly by eviction. Floods run after admit on the same
// world and leave it churned. geometry/... repeats the prefetched and the
// evicting flood runs over tables of 2 to 16 ways with a million sources
// (the choice of Meter::kWays).
//
// Counters: per_admit is the time per admit (CPU time); B_per_source the
// table's memory per tracked source; evicted the fraction of admits that
// evicted a live bucket (geometry: also fill_evicted, the fraction of the
// sources evicted while populating at half load). hash/aes (the AES-round
// set-index hash), hash/siphash13 (its fallback) and conform/... time the
// parts alone.
//
//   build/perf/bench_meter                            everything
//   build/perf/bench_meter --benchmark_filter=flood   one family
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "meter.h"

namespace {

using triage::meter::Bucket;
using triage::meter::conform;
using triage::meter::Key;
using triage::meter::make_profile;
using triage::meter::Meter;
using triage::meter::Profile;
using triage::meter::Rate;
using triage::meter::source_key;
using triage::meter::Table;
using triage::net::SipKey;

constexpr uint64_t kHz = 2'500'000'000;  // simulated TSC
constexpr uint64_t kStep = 250;          // cycles per packet: 10 Mpps
constexpr size_t kBurst = 32;
constexpr size_t kOrder = size_t{1} << 20;  // random picks per pass
constexpr SipKey kSip{0x5eed5eed5eed5eedull, 0x0123456789abcdefull};

Profile profile() {
    Rate r;
    r.pps = 1000;
    r.bps = 10'000'000;
    return make_profile(r, kHz);
}

// Source i (i < 2^32): 2001:db8:xxxx:xxxx::/64, the 32 bits an odd multiple
// of i (a bijection), so neighbours are not neighbours in the address.
Key source(uint64_t i) {
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    const uint32_t x = static_cast<uint32_t>(i) * 0x9e3779b1u;
    a[4] = static_cast<uint8_t>(x >> 24);
    a[5] = static_cast<uint8_t>(x >> 16);
    a[6] = static_cast<uint8_t>(x >> 8);
    a[7] = static_cast<uint8_t>(x);
    return source_key(a, 6, 64, 0);
}

// Meter's admit over a table of any geometry, for geometry/...
template <unsigned W>
struct WaysMeter {
    Table<Bucket, W> t;
    WaysMeter(size_t capacity, const SipKey& k) : t(capacity, k) {}
    uint64_t hash(const Key& k) const noexcept { return t.hash(k); }
    void prefetch(uint64_t h) const noexcept { t.prefetch(h); }
    bool admit(const Key& k, uint64_t h, const Profile& p, uint64_t now, uint32_t bytes) noexcept {
        return conform(t.find_or_claim(k, h, now), p, now, bytes);
    }
    const triage::meter::TableStats& stats() const noexcept { return t.stats(); }
    const Table<Bucket, W>& table() const noexcept { return t; }
};

// A populated table with its sources and a random pick order. Built once
// per (type, size) and shared by the benchmarks that use it.
template <class M>
struct World {
    Profile p = profile();
    M m;
    size_t sources;
    std::vector<uint32_t> order;
    uint64_t now = uint64_t{1} << 40;
    uint64_t next_new = uint64_t{1} << 31;  // flood sources: never a tracked one
    double fill_evicted = 0;

    // All sources are admitted at one instant, so all are live at once and
    // the evictions while filling measure the geometry alone.
    explicit World(size_t n) : m(2 * n, kSip), sources(n), order(kOrder) {
        for (size_t i = 0; i < n; ++i) {
            const Key k = source(i);
            m.admit(k, m.hash(k), p, now, 100);
        }
        fill_evicted = static_cast<double>(m.stats().evictions) / static_cast<double>(n);
        now += kHz;  // then a second passes
        std::mt19937_64 rng(n);
        for (auto& o : order) o = static_cast<uint32_t>(rng() % n);
    }

    static World& get(size_t sources) {
        static std::map<size_t, std::unique_ptr<World>> cache;
        auto& w = cache[sources];
        if (!w) w = std::make_unique<World>(sources);
        return *w;
    }
};

template <class M>
void report(benchmark::State& state, const World<M>& w, uint64_t evictions_before) {
    const auto admits = static_cast<double>(state.iterations() * kBurst);
    state.SetItemsProcessed(static_cast<int64_t>(admits));
    // Seconds per admit (printed with an SI prefix: 42n is 42 ns).
    state.counters["per_admit"] = benchmark::Counter(admits, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["B_per_source"] =
        static_cast<double>(w.m.table().memory_bytes()) / static_cast<double>(w.sources);
    state.counters["evicted"] = static_cast<double>(w.m.stats().evictions - evictions_before) / admits;
}

template <class M>
void run_admit(benchmark::State& state, World<M>& w, bool prefetch) {
    const uint64_t ev0 = w.m.stats().evictions;
    size_t i = 0;
    uint64_t ok = 0;
    Key k[kBurst];
    uint64_t h[kBurst];
    for (auto _ : state) {
        // The key is built from the pick, as a worker builds it from the
        // packet's header: no trip to memory for it.
        if (prefetch) {
            for (size_t j = 0; j < kBurst; ++j) {
                k[j] = source(w.order[i + j]);
                h[j] = w.m.hash(k[j]);
                w.m.prefetch(h[j]);
            }
            for (size_t j = 0; j < kBurst; ++j) {
                ok += w.m.admit(k[j], h[j], w.p, w.now, 100);
                w.now += kStep;
            }
        } else {
            for (size_t j = 0; j < kBurst; ++j) {
                const Key key = source(w.order[i + j]);
                ok += w.m.admit(key, w.m.hash(key), w.p, w.now, 100);
                w.now += kStep;
            }
        }
        i = (i + kBurst) % kOrder;
    }
    benchmark::DoNotOptimize(ok);
    report(state, w, ev0);
}

// Spoofed sources under profile fp. At 1000 pps a spoofed bucket is worth
// keeping for ~5 ms (50,000 packets), so claims find refilled slots; at 1 pps
// for a second, more than the table holds, so every claim evicts.
template <class M>
void run_flood(benchmark::State& state, World<M>& w, bool prefetch, const Profile& fp) {
    const uint64_t ev0 = w.m.stats().evictions;
    uint64_t ok = 0;
    Key k[kBurst];
    uint64_t h[kBurst];
    for (auto _ : state) {
        for (size_t j = 0; j < kBurst; ++j) {
            k[j] = source(w.next_new++);
            h[j] = w.m.hash(k[j]);
            if (prefetch) w.m.prefetch(h[j]);
        }
        for (size_t j = 0; j < kBurst; ++j) {
            ok += w.m.admit(k[j], h[j], fp, w.now, 100);
            w.now += kStep;
        }
    }
    benchmark::DoNotOptimize(ok);
    report(state, w, ev0);
}

Profile flood_profile(int64_t pps) {
    Rate r;
    r.pps = static_cast<uint64_t>(pps);
    return make_profile(r, kHz);
}

void BM_admit(benchmark::State& state) {
    run_admit(state, World<Meter>::get(static_cast<size_t>(state.range(0))), false);
}
void BM_admit_prefetch(benchmark::State& state) {
    run_admit(state, World<Meter>::get(static_cast<size_t>(state.range(0))), true);
}
void BM_flood(benchmark::State& state) {
    run_flood(state, World<Meter>::get(static_cast<size_t>(state.range(0))), false, flood_profile(state.range(1)));
}
void BM_flood_prefetch(benchmark::State& state) {
    run_flood(state, World<Meter>::get(static_cast<size_t>(state.range(0))), true, flood_profile(state.range(1)));
}

template <unsigned W>
void BM_geometry(benchmark::State& state) {
    auto& w = World<WaysMeter<W>>::get(size_t{1} << 20);
    if (state.range(0) == 0)
        run_admit(state, w, true);
    else
        run_flood(state, w, true, flood_profile(1));
    state.counters["fill_evicted"] = w.fill_evicted;
}

// The set-index hash alone: arg 0 the AES-round hash (where the CPU has
// AES-NI), 1 SipHash-1-3 (keyed_hash.h).
void BM_hash(benchmark::State& state) {
    const auto impl = state.range(0) == 0 ? triage::meter::KeyedHash::Impl::best
                                          : triage::meter::KeyedHash::Impl::siphash;
    const Meter::Buckets t(64, kSip, impl);
    if (state.range(0) == 0 && !t.hasher().uses_aes()) {
        state.SkipWithError("no AES-NI on this CPU");
        return;
    }
    std::vector<Key> keys(256);
    for (size_t i = 0; i < keys.size(); ++i) keys[i] = source(i);
    uint64_t sum = 0;
    size_t i = 0;
    for (auto _ : state) {
        sum += t.hash(keys[i++ & 255]);
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

// One bucket in L1: the token arithmetic alone (both dimensions limited).
void BM_conform(benchmark::State& state) {
    const Profile p = profile();
    Bucket b{};
    uint64_t now = uint64_t{1} << 40, ok = 0;
    for (auto _ : state) {
        ok += conform(b, p, now, 100);
        now += kStep;
        benchmark::DoNotOptimize(b);
    }
    benchmark::DoNotOptimize(ok);
    state.SetItemsProcessed(state.iterations());
}

void sizes(benchmark::internal::Benchmark* b) {
    for (int64_t n : {int64_t{1} << 10, int64_t{1} << 16, int64_t{1} << 20, int64_t{1} << 22}) b->Arg(n);
}
void floods(benchmark::internal::Benchmark* b) {
    b->ArgNames({"", "pps"});
    for (int64_t n : {int64_t{1} << 20, int64_t{1} << 22})
        for (int64_t pps : {1000, 1}) b->Args({n, pps});
}
void modes(benchmark::internal::Benchmark* b) {
    b->ArgName("flood")->Arg(0)->Arg(1);
}

}  // namespace

BENCHMARK(BM_hash)->Name("hash/aes")->Arg(0);
BENCHMARK(BM_hash)->Name("hash/siphash13")->Arg(1);
BENCHMARK(BM_conform)->Name("conform/l1");
BENCHMARK(BM_admit)->Name("admit")->Apply(sizes);
BENCHMARK(BM_admit_prefetch)->Name("admit_prefetch")->Apply(sizes);
BENCHMARK(BM_flood)->Name("flood")->Apply(floods);
BENCHMARK(BM_flood_prefetch)->Name("flood_prefetch")->Apply(floods);
BENCHMARK(BM_geometry<2>)->Name("geometry/ways:2")->Apply(modes);
BENCHMARK(BM_geometry<4>)->Name("geometry/ways:4")->Apply(modes);
BENCHMARK(BM_geometry<8>)->Name("geometry/ways:8")->Apply(modes);
BENCHMARK(BM_geometry<16>)->Name("geometry/ways:16")->Apply(modes);

BENCHMARK_MAIN();
