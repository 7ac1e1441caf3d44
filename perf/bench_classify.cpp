// Micro-benchmarks of lib/classify's longest-prefix-match tables against DPDK's
// rte_lpm (IPv4) and rte_lpm6 (IPv6) on the same rules and addresses.
//
// Rules are random prefixes with a routing-table-like length mix (see
// random_rules4/6), at 16, 1,000 and 100,000 rules. Lookups walk a
// pre-generated array of 65,536 addresses, half inside a random rule (hits,
// often of nested rules) and half uniformly random (mostly misses); lookups
// are independent, so items/s is throughput on one core with the CPU free to
// overlap cache misses, as in a burst loop. Before timing, every DPDK result
// is checked against ours; a disagreement fails the benchmark.
//
// Names: lookup4/<impl>/<rules>, lookup6/..., build4/..., build6/...;
// impl is "triage" (lib/classify) or "rte_lpm" / "rte_lpm6". Counters:
// per_lookup is the time per lookup (CPU time), mem_B the table's memory
// (ours: memory_bytes(); DPDK: what its create and adds took from the EAL
// heap), intervals our table's interval count.
//
//   build/perf/bench_classify                              everything
//   build/perf/bench_classify --benchmark_filter=lookup4   one family
// The EAL runs with --no-pci --no-huge (never touches a NIC); with 4 KiB
// pages rte_lpm's 64 MiB tbl24 also pays TLB misses it would not pay on
// hugepages. See docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "classify.h"

namespace {

using triage::classify::kNoMatch;
using triage::classify::Table4;
using triage::classify::Table6;
using Addr6 = std::array<uint8_t, 16>;

constexpr size_t kAddrs = size_t{1} << 16;  // lookup addresses per set
constexpr size_t kBatch = 256;              // lookups per benchmark iteration
static_assert(kAddrs % kBatch == 0);
// rte_lpm6 next hops are 21 bits (rte_lpm: 24); values stay below both.
constexpr uint32_t kValueLimit = uint32_t{1} << 20;

uint32_t mask4(unsigned len) {
    return len == 0 ? 0 : ~uint32_t{0} << (32 - len);
}

void mask6(Addr6& a, unsigned len) {
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned kept = len >= 8 * (i + 1) ? 8 : (len > 8 * i ? len - 8 * i : 0);
        a[i] &= static_cast<uint8_t>(0xff00u >> kept);
    }
}

// IPv4: 5 % /8-/15, 25 % /16-/23, 55 % /24, 15 % /25-/32 (a full BGP table is
// ~60 % /24; the longer ones stand for protected hosts), uniformly spread.
std::vector<Table4::Rule> random_rules4(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Table4::Rule> rules;
    std::set<std::pair<uint32_t, unsigned>> seen;
    while (rules.size() < n) {
        const unsigned pick = rng() % 100;
        const unsigned len = pick < 5    ? 8 + rng() % 8
                             : pick < 30 ? 16 + rng() % 8
                             : pick < 85 ? 24
                                         : 25 + rng() % 8;
        const uint32_t addr = static_cast<uint32_t>(rng()) & mask4(len);
        if (seen.insert({addr, len}).second)
            rules.push_back(
                {addr, static_cast<uint8_t>(len), static_cast<uint32_t>(rng() % kValueLimit)});
    }
    return rules;
}

// IPv6: rules sit in 64 random /32 allocations within 2000::/3, as customer
// prefixes do: 20 % /33-/47, 55 % /48, 20 % /49-/64, 5 % /65-/128.
std::vector<Table6::Rule> random_rules6(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Addr6> allocations(64);
    for (Addr6& a : allocations) {
        for (size_t i = 0; i < 4; ++i) a[i] = static_cast<uint8_t>(rng());
        a[0] = static_cast<uint8_t>(0x20 | (a[0] & 0x1f));
    }
    std::vector<Table6::Rule> rules;
    std::set<std::pair<Addr6, unsigned>> seen;
    while (rules.size() < n) {
        const unsigned pick = rng() % 100;
        const unsigned len = pick < 20   ? 33 + rng() % 15
                             : pick < 75 ? 48
                             : pick < 95 ? 49 + rng() % 16
                                         : 65 + rng() % 64;
        Table6::Rule r;
        r.addr = allocations[rng() % allocations.size()];
        for (size_t i = 4; i < 16; ++i) r.addr[i] = static_cast<uint8_t>(rng());
        mask6(r.addr, len);
        r.len = static_cast<uint8_t>(len);
        r.value = static_cast<uint32_t>(rng() % kValueLimit);
        if (seen.insert({r.addr, len}).second) rules.push_back(r);
    }
    return rules;
}

std::vector<uint32_t> lookup_addrs4(const std::vector<Table4::Rule>& rules, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint32_t> out(kAddrs);
    for (size_t i = 0; i < kAddrs; ++i) {
        uint32_t a = static_cast<uint32_t>(rng());
        if (i % 2) {
            const auto& r = rules[rng() % rules.size()];
            a = r.addr | (a & ~mask4(r.len));
        }
        out[i] = a;
    }
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

std::vector<Addr6> lookup_addrs6(const std::vector<Table6::Rule>& rules, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Addr6> out(kAddrs);
    for (size_t i = 0; i < kAddrs; ++i) {
        Addr6 a;
        for (auto& b : a) b = static_cast<uint8_t>(rng());
        if (i % 2) {
            const auto& r = rules[rng() % rules.size()];
            Addr6 net = a;
            mask6(net, r.len);
            for (size_t j = 0; j < 16; ++j)
                a[j] = static_cast<uint8_t>((a[j] ^ net[j]) | r.addr[j]);
        } else {
            a[0] = static_cast<uint8_t>(0x20 | (a[0] & 0x1f));
        }
        out[i] = a;
    }
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

struct Set4 {
    std::vector<Table4::Rule> rules;
    std::vector<uint32_t> addrs;
};
struct Set6 {
    std::vector<Table6::Rule> rules;
    std::vector<Addr6> addrs;
};

// Generated once per size: the same rules and addresses for every contender.
const Set4& set4(size_t n) {
    static std::vector<std::pair<size_t, std::unique_ptr<Set4>>> cache;
    for (const auto& [size, s] : cache)
        if (size == n) return *s;
    auto s = std::make_unique<Set4>();
    s->rules = random_rules4(n, 0x5eed4 + n);
    s->addrs = lookup_addrs4(s->rules, 0xadd4 + n);
    cache.emplace_back(n, std::move(s));
    return *cache.back().second;
}

const Set6& set6(size_t n) {
    static std::vector<std::pair<size_t, std::unique_ptr<Set6>>> cache;
    for (const auto& [size, s] : cache)
        if (size == n) return *s;
    auto s = std::make_unique<Set6>();
    s->rules = random_rules6(n, 0x5eed6 + n);
    s->addrs = lookup_addrs6(s->rules, 0xadd6 + n);
    cache.emplace_back(n, std::move(s));
    return *cache.back().second;
}

// ---- DPDK tables ----------------------------------------------------------

size_t eal_heap_allocated() {
    size_t total = 0;
    for (unsigned i = 0; i < rte_socket_count(); ++i) {
        rte_malloc_socket_stats st{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
            total += st.heap_allocsz_bytes;
    }
    return total;
}

// rte_lpm needs a tbl8 group (256 entries) per /24 holding a longer rule.
uint32_t tbl8_groups4(const std::vector<Table4::Rule>& rules) {
    std::set<uint32_t> groups;
    for (const auto& r : rules)
        if (r.len > 24) groups.insert(r.addr >> 8);
    return static_cast<uint32_t>(groups.size()) + 16;
}

// rte_lpm6 needs one tbl8 group per distinct prefix (per byte past the
// first three) that a longer rule passes through.
uint32_t tbl8_groups6(const std::vector<Table6::Rule>& rules) {
    std::set<std::pair<Addr6, unsigned>> groups;
    for (const auto& r : rules)
        for (unsigned bytes = 3; bytes * 8 < r.len; ++bytes) {
            Addr6 a = r.addr;
            mask6(a, bytes * 8);
            groups.insert({a, bytes});
        }
    return static_cast<uint32_t>(groups.size()) + 16;
}

int table_seq = 0;

struct Lpm4 {
    rte_lpm* lpm = nullptr;
    size_t bytes = 0;
    std::string error;
    explicit Lpm4(const std::vector<Table4::Rule>& rules) {
        const std::string name = "bc4_" + std::to_string(table_seq++);
        rte_lpm_config cfg{};
        cfg.max_rules = static_cast<uint32_t>(rules.size());
        cfg.number_tbl8s = tbl8_groups4(rules);
        const size_t before = eal_heap_allocated();
        lpm = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &cfg);
        if (lpm == nullptr) {
            error = std::string("rte_lpm_create: ") + rte_strerror(rte_errno);
            return;
        }
        for (const auto& r : rules)
            if (int rc = rte_lpm_add(lpm, r.addr, r.len, r.value); rc < 0) {
                error = "rte_lpm_add: " + std::string(rte_strerror(-rc));
                return;
            }
        bytes = eal_heap_allocated() - before;
    }
    ~Lpm4() { rte_lpm_free(lpm); }
    Lpm4(const Lpm4&) = delete;
    Lpm4& operator=(const Lpm4&) = delete;
    uint32_t lookup(uint32_t a) const {
        uint32_t hop;
        return rte_lpm_lookup(lpm, a, &hop) == 0 ? hop : kNoMatch;
    }
};

struct Lpm6 {
    rte_lpm6* lpm = nullptr;
    size_t bytes = 0;
    std::string error;
    explicit Lpm6(const std::vector<Table6::Rule>& rules) {
        const std::string name = "bc6_" + std::to_string(table_seq++);
        rte_lpm6_config cfg{};
        cfg.max_rules = static_cast<uint32_t>(rules.size());
        cfg.number_tbl8s = tbl8_groups6(rules);
        const size_t before = eal_heap_allocated();
        lpm = rte_lpm6_create(name.c_str(), SOCKET_ID_ANY, &cfg);
        if (lpm == nullptr) {
            error = std::string("rte_lpm6_create: ") + rte_strerror(rte_errno);
            return;
        }
        for (const auto& r : rules)
            if (int rc = rte_lpm6_add(lpm, r.addr.data(), r.len, r.value); rc < 0) {
                error = "rte_lpm6_add: " + std::string(rte_strerror(-rc));
                return;
            }
        bytes = eal_heap_allocated() - before;
    }
    ~Lpm6() { rte_lpm6_free(lpm); }
    Lpm6(const Lpm6&) = delete;
    Lpm6& operator=(const Lpm6&) = delete;
    uint32_t lookup(const Addr6& a) const {
        uint32_t hop;
        return rte_lpm6_lookup(lpm, a.data(), &hop) == 0 ? hop : kNoMatch;
    }
};

// ---- Benchmarks -----------------------------------------------------------

template <class Addrs, class Lookup>
void run_lookups(benchmark::State& state, const Addrs& addrs, Lookup lookup) {
    size_t i = 0;
    uint32_t sum = 0;
    for (auto _ : state) {
        for (size_t j = 0; j < kBatch; ++j) sum += lookup(addrs[i + j]);
        i = (i + kBatch) % kAddrs;
    }
    benchmark::DoNotOptimize(sum);
    const auto lookups = static_cast<double>(state.iterations() * kBatch);
    state.SetItemsProcessed(static_cast<int64_t>(lookups));
    // Seconds per lookup (printed with an SI prefix: 4.2n is 4.2 ns).
    state.counters["per_lookup"] =
        benchmark::Counter(lookups, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class Addrs, class A, class B>
bool agree(benchmark::State& state, const Addrs& addrs, A a, B b) {
    for (const auto& x : addrs)
        if (a(x) != b(x)) {
            state.SkipWithError("DPDK and lib/classify disagree on a lookup");
            return false;
        }
    return true;
}

void BM_lookup4_triage(benchmark::State& state) {
    const Set4& s = set4(static_cast<size_t>(state.range(0)));
    const Table4 t(s.rules);
    run_lookups(state, s.addrs, [&t](uint32_t a) { return t.lookup(a); });
    state.counters["mem_B"] = static_cast<double>(t.memory_bytes());
    state.counters["intervals"] = static_cast<double>(t.intervals());
}

void BM_lookup4_rte_lpm(benchmark::State& state) {
    const Set4& s = set4(static_cast<size_t>(state.range(0)));
    const Lpm4 lpm(s.rules);
    if (!lpm.error.empty()) {
        state.SkipWithError(lpm.error.c_str());
        return;
    }
    const Table4 t(s.rules);
    if (!agree(
            state, s.addrs, [&lpm](uint32_t a) { return lpm.lookup(a); },
            [&t](uint32_t a) { return t.lookup(a); }))
        return;
    run_lookups(state, s.addrs, [&lpm](uint32_t a) { return lpm.lookup(a); });
    state.counters["mem_B"] = static_cast<double>(lpm.bytes);
}

void BM_lookup6_triage(benchmark::State& state) {
    const Set6& s = set6(static_cast<size_t>(state.range(0)));
    const Table6 t(s.rules);
    run_lookups(state, s.addrs, [&t](const Addr6& a) { return t.lookup(a.data()); });
    state.counters["mem_B"] = static_cast<double>(t.memory_bytes());
    state.counters["intervals"] = static_cast<double>(t.intervals());
}

void BM_lookup6_rte_lpm6(benchmark::State& state) {
    const Set6& s = set6(static_cast<size_t>(state.range(0)));
    const Lpm6 lpm(s.rules);
    if (!lpm.error.empty()) {
        state.SkipWithError(lpm.error.c_str());
        return;
    }
    const Table6 t(s.rules);
    if (!agree(
            state, s.addrs, [&lpm](const Addr6& a) { return lpm.lookup(a); },
            [&t](const Addr6& a) { return t.lookup(a.data()); }))
        return;
    run_lookups(state, s.addrs, [&lpm](const Addr6& a) { return lpm.lookup(a); });
    state.counters["mem_B"] = static_cast<double>(lpm.bytes);
}

// Build times include copying the rule vector (the constructor takes it by
// value), which is small next to the sort.
void BM_build4_triage(benchmark::State& state) {
    const Set4& s = set4(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        Table4 t(s.rules);
        benchmark::DoNotOptimize(t.lookup(0));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * s.rules.size()));
}

void BM_build4_rte_lpm(benchmark::State& state) {
    const Set4& s = set4(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        Lpm4 lpm(s.rules);
        if (!lpm.error.empty()) {
            state.SkipWithError(lpm.error.c_str());
            break;
        }
        benchmark::DoNotOptimize(lpm.lookup(0));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * s.rules.size()));
}

void BM_build6_triage(benchmark::State& state) {
    const Set6& s = set6(static_cast<size_t>(state.range(0)));
    const Addr6 zero{};
    for (auto _ : state) {
        Table6 t(s.rules);
        benchmark::DoNotOptimize(t.lookup(zero.data()));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * s.rules.size()));
}

void BM_build6_rte_lpm6(benchmark::State& state) {
    const Set6& s = set6(static_cast<size_t>(state.range(0)));
    for (auto _ : state) {
        Lpm6 lpm(s.rules);
        if (!lpm.error.empty()) {
            state.SkipWithError(lpm.error.c_str());
            break;
        }
        benchmark::DoNotOptimize(lpm.lookup(Addr6{}));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * s.rules.size()));
}

void sizes(benchmark::internal::Benchmark* b) {
    for (int64_t n : {16, 1000, 100000}) b->Arg(n);
}

BENCHMARK(BM_lookup4_triage)->Name("lookup4/triage")->Apply(sizes);
BENCHMARK(BM_lookup4_rte_lpm)->Name("lookup4/rte_lpm")->Apply(sizes);
BENCHMARK(BM_lookup6_triage)->Name("lookup6/triage")->Apply(sizes);
BENCHMARK(BM_lookup6_rte_lpm6)->Name("lookup6/rte_lpm6")->Apply(sizes);
BENCHMARK(BM_build4_triage)->Name("build4/triage")->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_build4_rte_lpm)->Name("build4/rte_lpm")->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_build6_triage)->Name("build6/triage")->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_build6_rte_lpm6)->Name("build6/rte_lpm6")->Apply(sizes)->Unit(benchmark::kMicrosecond);

}  // namespace

// rte_lpm allocates from the EAL heap, so the EAL comes up first: one core,
// no hugepages and, above all, no PCI scan (the host's own NIC is on the bus).
int main(int argc, char** argv) {
    const std::string file_prefix = "bench_classify_" + std::to_string(getpid());
    std::vector<std::string> eal_args = {"bench_classify",
                                         "--no-pci",
                                         "--no-huge",
                                         "-m",
                                         "512",
                                         "--file-prefix",
                                         file_prefix,
                                         "--log-level=lib.eal:error",
                                         "-l",
                                         "0"};
    std::vector<char*> eal_argv;
    for (std::string& a : eal_args) eal_argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
        std::fprintf(stderr, "bench_classify: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    const std::filesystem::path runtime_dir = rte_eal_get_runtime_dir();

    int rc = 0;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        rc = 1;
    } else {
        benchmark::RunSpecifiedBenchmarks();
    }
    benchmark::Shutdown();
    rte_eal_cleanup();
    // Only ever the directory this process's own prefix made.
    if (runtime_dir.filename() == file_prefix) {
        std::error_code ec;
        std::filesystem::remove_all(runtime_dir, ec);
    }
    return rc;
}
