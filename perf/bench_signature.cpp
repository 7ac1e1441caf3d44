// Micro-benchmarks of triage::signature::scan(): cost per packet of payload
// signatures for 64, 512 and 1460-byte payloads against 10 and 200 rules.
//
// Cases (signature/<rules>rules/<bytes>B/<case>):
//   nomatch      TCP to a covered port, no rule matches: the whole payload
//                goes through Hyperscan (the common case for a policy with
//                signatures: most packets are clean)
//   match        as nomatch, but a drop rule's token ends the payload: the
//                whole payload is scanned, then the callback stops the scan
//   prefiltered  TCP to a port no rule covers: Database::may_apply()'s bit
//                test skips Hyperscan (a policy's rules for port 80 cost
//                port-53 traffic almost nothing)
// Rules are a mix of literals, caseless header regexes and binary NOP-sled
// patterns, all TCP 80-443. Payloads are printable pseudo-random text that
// cycles through 64 buffers (L1/L2-resident): this is Hyperscan's own cost
// plus the call, not the memory system's. One iteration scans one payload,
// so the Time column is ns/packet and items/s is packets/s on one core.
//
//   build/perf/bench_signature
//   build/perf/bench_signature --benchmark_filter=200rules
// See docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "signature.h"

namespace {

namespace sig = triage::signature;

constexpr unsigned kPayloads = 64;
constexpr uint8_t kTcp = 6;
constexpr uint16_t kCoveredPort = 80;
constexpr uint16_t kUncoveredPort = 9999;
// Rule 0 (a drop rule) matches this; no other rule can match the filler.
constexpr const char* kToken = "evil000payload";

std::vector<sig::Rule> make_rules(unsigned n) {
    std::vector<sig::Rule> rules;
    char buf[96];
    for (unsigned i = 0; i < n; ++i) {
        switch (i % 4) {
            case 0:
                std::snprintf(buf, sizeof buf, "/evil%03upayload/", i);
                break;
            case 1:
                std::snprintf(buf, sizeof buf, "/User-Agent:\\s*bot%03u/i", i);
                break;
            case 2:
                std::snprintf(buf, sizeof buf, "/\\x90{8}sc%03u/", i);
                break;
            default:
                std::snprintf(buf, sizeof buf, "/GET\\x20\\/adm%03u[a-z]+\\.php/i", i);
                break;
        }
        sig::Rule r;
        r.id = 100 + i;
        r.proto = kTcp;
        r.port_lo = 80;
        r.port_hi = 443;
        r.pattern = buf;
        r.action = i % 2 == 0 ? sig::Action::drop : sig::Action::count;
        r.slot = static_cast<uint16_t>(i);
        rules.push_back(r);
    }
    return rules;
}

// Compiled once per rule count (Hyperscan compiles take milliseconds).
std::shared_ptr<const sig::Database> database(unsigned nrules) {
    static std::map<unsigned, std::shared_ptr<const sig::Database>> cache;
    auto& db = cache[nrules];
    if (!db) db = sig::Database::compile(make_rules(nrules), 1);
    return db;
}

std::vector<std::vector<uint8_t>> make_payloads(size_t len, bool match) {
    std::vector<std::vector<uint8_t>> out;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned p = 0; p < kPayloads; ++p) {
        std::vector<uint8_t> b(len);
        for (auto& c : b) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<uint8_t>(0x20 + (x >> 32) % 95);  // printable ASCII
        }
        if (match) std::memcpy(b.data() + len - std::strlen(kToken), kToken, std::strlen(kToken));
        out.push_back(std::move(b));
    }
    return out;
}

enum class Case { nomatch, match, prefiltered };

void BM_scan(benchmark::State& state, unsigned nrules, size_t len, Case c) {
    std::shared_ptr<const sig::Database> db;
    try {
        db = database(nrules);
    } catch (const sig::SignatureError& e) {
        state.SkipWithError(e.what());
        return;
    }
    const auto payloads = make_payloads(len, c == Case::match);
    const uint16_t dport = c == Case::prefiltered ? kUncoveredPort : kCoveredPort;
    const int want_drop = c == Case::match ? 0 : -1;
    // The worker's counters, as in the pipeline.
    auto hits = std::make_unique<sig::Hits>();
    unsigned i = 0;
    unsigned wrong = 0;
    for (auto _ : state) {
        const auto& p = payloads[i];
        i = (i + 1) % kPayloads;
        const sig::Result r = sig::scan(*db, 0, kTcp, dport, p.data(), p.size(), hits.get());
        wrong += r.drop != want_drop || r.error;
        benchmark::DoNotOptimize(r);
    }
    if (wrong) state.SkipWithError("a scan gave the wrong verdict during the run");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
    state.counters["hs_KiB"] = static_cast<double>(db->memory_bytes()) / 1024.0;
}

const int registered = [] {
    for (unsigned nrules : {10u, 200u})
        for (size_t len : {size_t{64}, size_t{512}, size_t{1460}})
            for (auto [c, name] :
                 {std::pair{Case::nomatch, "nomatch"}, std::pair{Case::match, "match"},
                  std::pair{Case::prefiltered, "prefiltered"}})
                benchmark::RegisterBenchmark(("signature/" + std::to_string(nrules) + "rules/" +
                                              std::to_string(len) + "B/" + name)
                                                 .c_str(),
                                             BM_scan, nrules, len, c);
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
