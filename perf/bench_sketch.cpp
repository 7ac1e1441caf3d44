// Micro-benchmarks of lib/detect/sketch.h: what a worker pays per sampled
// packet for the top-source-prefixes sketch (source_key() from the parsed
// source address, then SpaceSaving::add()), and what the control core pays
// to fold the workers' snapshots together.
//
// Streams are pre-generated (64Ki packets, replayed in a loop):
//   uniform  a spoofed flood: every source a random /48 in 2001:db8::/32 and
//            /24 in 198.18.0.0/15, so nearly every add evicts a counter;
//   skewed   half the packets from 8 heavy /24s, the rest Zipf (1/rank)
//            over 64Ki prefixes: mostly hits on counters already held.
// per_add is the time per source_key() + add() (CPU time). merge/... times
// save() of 4 full K=64 worker tables and their merge into a K=256 one.
//
//   build/perf/bench_sketch
//   build/perf/bench_sketch --benchmark_filter=uniform
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "sketch.h"

namespace {

using triage::detect::SketchSnapshot;
using triage::detect::source_key;
using triage::detect::SpaceSaving;

struct Src {
    uint8_t version;
    uint8_t addr[16];
};

constexpr size_t kStream = 1u << 16;

std::vector<Src> make_stream(bool skewed) {
    std::mt19937_64 rng(skewed ? 2 : 1);
    std::vector<Src> v(kStream);
    std::vector<double> w(1u << 16);
    for (size_t r = 0; r < w.size(); ++r) w[r] = 1.0 / static_cast<double>(r + 1);
    std::discrete_distribution<uint32_t> zipf(w.begin(), w.end());
    for (Src& s : v) {
        s = Src{};
        uint32_t id = static_cast<uint32_t>(rng());
        if (skewed) id = rng() % 2 ? static_cast<uint32_t>(rng() % 8) << 8 : zipf(rng);
        if (id % 4 == 3 && !(skewed && id < 8 << 8)) {
            const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id),
                                   0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(rng())};
            s.version = 6;
            std::memcpy(s.addr, a, 16);
        } else {
            s.version = 4;
            s.addr[0] = 198;
            s.addr[1] = static_cast<uint8_t>(18 + ((id >> 16) & 1));
            s.addr[2] = static_cast<uint8_t>(id >> 8);
            s.addr[3] = static_cast<uint8_t>(rng());
        }
    }
    return v;
}

template <unsigned K>
void add(benchmark::State& state, bool skewed) {
    const std::vector<Src> stream = make_stream(skewed);
    auto s = std::make_unique<SpaceSaving<K>>(0x5eed);
    for (const Src& p : stream) s->add(source_key(1, p.version, p.addr), 16, 600);  // warm, full
    size_t i = 0;
    for (auto _ : state) {
        for (unsigned b = 0; b < 32; ++b) {
            const Src& p = stream[i++ & (kStream - 1)];
            s->add(source_key(1, p.version, p.addr), 16, 600);
        }
        benchmark::ClobberMemory();
    }
    state.counters["per_add"] = benchmark::Counter(static_cast<double>(state.iterations()) * 32,
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_add_uniform_k64(benchmark::State& st) { add<64>(st, false); }
void BM_add_skewed_k64(benchmark::State& st) { add<64>(st, true); }
void BM_add_uniform_k256(benchmark::State& st) { add<256>(st, false); }
void BM_add_skewed_k256(benchmark::State& st) { add<256>(st, true); }
BENCHMARK(BM_add_uniform_k64)->Name("add/uniform/K:64");
BENCHMARK(BM_add_skewed_k64)->Name("add/skewed/K:64");
BENCHMARK(BM_add_uniform_k256)->Name("add/uniform/K:256");
BENCHMARK(BM_add_skewed_k256)->Name("add/skewed/K:256");

void BM_merge(benchmark::State& state) {
    const std::vector<Src> stream = make_stream(true);
    std::array<std::unique_ptr<SpaceSaving<64>>, 4> w;
    for (size_t k = 0; k < w.size(); ++k) {
        w[k] = std::make_unique<SpaceSaving<64>>(k);
        for (size_t i = k; i < stream.size(); i += w.size())
            w[k]->add(source_key(1, stream[i].version, stream[i].addr), 16, 600);
    }
    auto snap = std::make_unique<SketchSnapshot<64>>();
    auto merged = std::make_unique<SpaceSaving<256>>();
    for (auto _ : state) {
        merged->clear();
        for (auto& s : w) {
            s->save(*snap);
            merged->merge(*snap);
        }
        benchmark::DoNotOptimize(merged->absent_bound());
    }
}
BENCHMARK(BM_merge)->Name("merge/4x64_into_256");

}  // namespace

BENCHMARK_MAIN();
