// What a policy change costs, with the real worker (scrub::worker_main)
// running on lcore 1 under traffic:
//
//   compile/list/N      policy::compile() of a configuration with N allow/deny
//                       list entries (and 10 protected prefixes)
//   compile/protect/N   ... with N protected prefixes (4,096 is kMaxProtected)
//   publish/<load>/N    Publisher::publish() until seen_by_all(token): every
//                       worker has passed a quiescent state after the swap, so
//                       none can still read the old snapshot. load is traffic
//                       (the worker forwards frames) or idle (it polls empty
//                       rings); N list entries in the published snapshots.
//   change/N            the whole operator change on a configuration of N list
//                       entries: Config edit (add or delete one deny entry),
//                       compile, publish, visible to all
//
// publish/ and change/ report mean_us, p50_us, p99_us and max_us over their
// iterations, and worker_Mpps, the worker's forwarding rate meanwhile;
// publish/ also call_us, the mean time inside publish() itself.
//
// Traffic: two ethdevs over rte_rings (tests/policy/ring_ports.h). The
// inside port transmits into the ring the outside port receives from, so
// 1,024 frames (IPv4/IPv6 UDP/TCP to a protected and to a transit
// destination) circle through the worker forever at whatever rate it
// reaches, with no other core feeding it.
//
//   build/perf/bench_publish
//   build/perf/bench_publish --benchmark_filter=publish
// The EAL runs -l 0,1 --no-pci --no-huge (never touches a NIC). See
// docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "policy.h"
#include "publisher.h"
#include "ring_ports.h"
#include "scrub.h"

namespace {

using namespace triage;
using policy::Config;
using policy::ListKind;
using policy::Prefix;
using Clock = std::chrono::steady_clock;

constexpr unsigned kFrames = 1024;  // circling through the worker
constexpr unsigned kLoopRing = 2048;

Prefix P(const std::string& s) {
    Prefix p;
    std::string err;
    if (!classify::parse_prefix(s, p, err)) throw std::logic_error(s + ": " + err);
    return p;
}

// The traffic's destinations are protected; the N entries never match its
// sources (198.18.0.0/16, 2001:db8:1::/48), so every frame is forwarded and
// the frame count in the loop stays constant. Half IPv4 /32s and /24s in
// 198.19.0.0/16, half IPv6 /64s in 2001:db8:f000::/36; a third allow.
Config make_config(size_t list_entries, size_t protect_entries) {
    Config c;
    c.add_protect(P("203.0.113.0/24"), "web", "default");
    c.add_protect(P("2001:db8:a::/48"), "web6", "default");
    for (size_t i = 0; c.protect().size() < protect_entries; ++i) {
        Prefix p;
        if (i % 2 == 0) {
            const auto j = static_cast<uint32_t>(i / 2);  // < kMaxProtected / 2: 198.19.x.y/28
            p = P("198.19." + std::to_string(j >> 4) + "." + std::to_string((j & 15) << 4) + "/28");
        } else {
            char buf[64];
            std::snprintf(buf, sizeof buf, "2001:db8:f%03zx:%zx::/64", (i / 2) & 0xfff, i / 2);
            p = P(buf);
        }
        c.add_protect(p, "p" + std::to_string(i), "default");
    }
    for (size_t i = 0; i < list_entries; ++i) {
        Prefix p;
        const size_t j = i / 2;
        if (i % 2 == 0) {
            // /32 hosts, with a /24 now and then (nested prefixes).
            const std::string net = "198.19." + std::to_string((j >> 8) & 255) + ".";
            p = (j & 255) == 255 ? P(net + "0/24") : P(net + std::to_string(j & 255) + "/32");
        } else {
            char buf[64];
            std::snprintf(buf, sizeof buf, "2001:db8:f%03zx:%zx::/64", j & 0xfff, j >> 12);
            p = P(buf);
        }
        c.add_list(i % 3 == 2 ? ListKind::allow : ListKind::deny, p, std::nullopt);
    }
    return c;
}

std::vector<test::Bytes> make_frames() {
    std::vector<test::Bytes> out;
    for (unsigned i = 0; i < 16; ++i) {
        const auto u = static_cast<uint8_t>(i);
        const test::Bytes payload = test::filler(18);
        const test::Bytes l4 = i % 2 ? test::tcp({.sport = static_cast<uint16_t>(2000 + i), .dport = 443,
                                                  .flags = net::tcp_flag::ack},
                                                 payload)
                                     : test::udp({.sport = static_cast<uint16_t>(2000 + i), .dport = 53}, payload);
        const uint8_t proto = i % 2 ? net::ip_proto::tcp : net::ip_proto::udp;
        if (i % 4 < 2) {
            // protected (203.0.113.0/24) and transit (198.51.100.0/24)
            const test::Addr4 dst = i % 8 < 4 ? test::Addr4{203, 0, 113, static_cast<uint8_t>(1 + i)}
                                              : test::Addr4{198, 51, 100, static_cast<uint8_t>(1 + i)};
            out.push_back(test::frame4({.src = {198, 18, 0, static_cast<uint8_t>(1 + i)}, .dst = dst, .proto = proto}, l4));
        } else {
            test::Addr6 src{0x20, 0x01, 0x0d, 0xb8, 0, 1};
            test::Addr6 dst{0x20, 0x01, 0x0d, 0xb8, 0, static_cast<uint8_t>(i % 8 < 4 ? 0xa : 0x7)};
            src[15] = static_cast<uint8_t>(1 + u);
            dst[15] = static_cast<uint8_t>(1 + u);
            out.push_back(test::frame6({.src = src, .dst = dst, .next = proto}, l4));
        }
    }
    return out;
}

// The worker, its ports and the publisher, up for the whole program.
class Rig {
public:
    Rig() {
        pool_ = rte_pktmbuf_pool_create("bp_pool", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
        if (!pool_) throw std::runtime_error("mbuf pool");
        // Multi-consumer/producer: the main lcore parks and returns frames
        // while the worker runs.
        loop_ = rte_ring_create("bp_loop", kLoopRing, static_cast<int>(rte_socket_id()), 0);
        out_tx_ = test::make_ring("bp_out_tx", 1024);
        in_rx_ = test::make_ring("bp_in_rx", 1024);
        if (!loop_) throw std::runtime_error("loop ring");
        outside_ = test::ring_port("bp_outside", loop_, out_tx_, pool_);
        inside_ = test::ring_port("bp_inside", in_rx_, loop_, pool_);
        frames_ = make_frames();
        publish_and_wait(policy::compile(make_config(10, 0), 0));
        wl_ = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        cfg_.outside_port = outside_;
        cfg_.inside_port = inside_;
        cfg_.burst = 32;
        cfg_.shared = &shared_;
        cfg_.counters = &k_;
        cfg_.policy = &pub_;
        if (wl_ >= RTE_MAX_LCORE || rte_eal_remote_launch(scrub::worker_main, &cfg_, wl_) != 0)
            throw std::runtime_error("cannot launch the worker on lcore 1");
        traffic(true);
    }

    ~Rig() {
        // A circling loop never runs dry, so draining would never end: stop,
        // as main.cpp does on a signal, then take the frames back.
        shared_.state.store(scrub::RunState::stop, std::memory_order_release);
        rte_eal_wait_lcore(wl_);
        traffic(false);
        pub_.synchronize();
        test::close_port(outside_);
        test::close_port(inside_);
        for (rte_ring* r : {loop_, out_tx_, in_rx_}) rte_ring_free(r);
        rte_mempool_free(pool_);
    }

    // Puts the frames in the loop, or takes them all out (the worker then
    // polls empty rings).
    void traffic(bool on) {
        if (on == on_) return;
        if (on) {
            for (unsigned i = 0; i < kFrames; ++i) {
                rte_mbuf* m = rte_pktmbuf_alloc(pool_);
                if (!m) throw std::runtime_error("mbuf alloc");
                const test::Bytes& f = frames_[i % frames_.size()];
                std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
                if (rte_ring_enqueue(loop_, m) != 0) throw std::runtime_error("loop ring full");
            }
        } else {
            // Frames in the worker's hands come back to the ring within a loop.
            for (unsigned got = 0; got < kFrames;) {
                void* m = nullptr;
                if (rte_ring_dequeue(loop_, &m) == 0) {
                    rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
                    ++got;
                } else {
                    rte_pause();
                }
            }
        }
        on_ = on;
    }

    // Publishes s and spins until no worker can read the previous snapshot;
    // returns the seconds that took, and in call_s those publish() took.
    double publish_and_wait(std::unique_ptr<const policy::Snapshot> s, double* call_s = nullptr) {
        const auto t0 = Clock::now();
        const uint64_t token = pub_.publish(std::move(s));
        if (call_s) *call_s = std::chrono::duration<double>(Clock::now() - t0).count();
        while (!pub_.seen_by_all(token)) rte_pause();
        return std::chrono::duration<double>(Clock::now() - t0).count();
    }

    uint64_t forwarded() const { return k_.fwd_packets[0].get(); }
    uint64_t dropped() const { return k_.drops_by_dir[0].get(); }
    uint64_t next_version() { return ++version_; }

private:
    rte_mempool* pool_ = nullptr;
    rte_ring *loop_ = nullptr, *out_tx_ = nullptr, *in_rx_ = nullptr;
    uint16_t outside_ = 0, inside_ = 0;
    unsigned wl_ = RTE_MAX_LCORE;
    std::vector<test::Bytes> frames_;
    scrub::Shared shared_;
    telemetry::WorkerCounters k_;
    policy::Publisher pub_{1};
    scrub::WorkerConfig cfg_;
    bool on_ = false;
    uint64_t version_ = 0;
};

Rig* g_rig = nullptr;

// Configurations are built once per size: the map inserts for 100,000
// entries are not what these benchmarks measure.
const Config& config(size_t list_entries, size_t protect_entries) {
    static std::map<std::pair<size_t, size_t>, Config> cache;
    auto it = cache.find({list_entries, protect_entries});
    if (it == cache.end()) it = cache.emplace(std::pair{list_entries, protect_entries}, make_config(list_entries, protect_entries)).first;
    return it->second;
}

// The mean carries the rare iteration where the worker's thread was
// descheduled (milliseconds on a shared VM); the median and p99 show the
// usual case.
void latency_counters(benchmark::State& state, std::vector<double>& us, uint64_t fwd0,
                      Clock::time_point t0) {
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (double x : us) sum += x;
    state.counters["mean_us"] = sum / static_cast<double>(us.size());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    state.counters["max_us"] = us.back();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    state.counters["worker_Mpps"] = static_cast<double>(g_rig->forwarded() - fwd0) / s / 1e6;
}

void BM_compile_list(benchmark::State& state) {
    const Config& c = config(static_cast<size_t>(state.range(0)), 0);
    g_rig->traffic(true);
    for (auto _ : state) {
        auto s = policy::compile(c, 1);
        benchmark::DoNotOptimize(s.get());
    }
    state.counters["entries"] = static_cast<double>(c.list(ListKind::allow).size() + c.list(ListKind::deny).size());
}

void BM_compile_protect(benchmark::State& state) {
    const Config& c = config(0, static_cast<size_t>(state.range(0)));
    g_rig->traffic(true);
    for (auto _ : state) {
        auto s = policy::compile(c, 1);
        benchmark::DoNotOptimize(s.get());
    }
    state.counters["protected"] = static_cast<double>(c.protect().size());
}

// publish() until seen_by_all(); the compile before each is not timed.
void publish_latency(benchmark::State& state, bool traffic) {
    const Config& c = config(static_cast<size_t>(state.range(0)), 0);
    g_rig->traffic(traffic);
    std::vector<double> us;
    double call_sum = 0;
    const uint64_t fwd0 = g_rig->forwarded();
    const auto t0 = Clock::now();
    for (auto _ : state) {
        auto s = policy::compile(c, g_rig->next_version());
        double call = 0;
        const double sec = g_rig->publish_and_wait(std::move(s), &call);
        state.SetIterationTime(sec);
        us.push_back(sec * 1e6);
        call_sum += call;
    }
    latency_counters(state, us, fwd0, t0);
    // publish() itself frees the snapshot retired one publication earlier.
    if (!us.empty()) state.counters["call_us"] = call_sum * 1e6 / static_cast<double>(us.size());
    if (g_rig->dropped() != 0) state.SkipWithError("the worker dropped frames");
}

void BM_publish_traffic(benchmark::State& state) { publish_latency(state, true); }
void BM_publish_idle(benchmark::State& state) { publish_latency(state, false); }

// An operator's change end to end: edit, compile, publish, visible to all.
void BM_change(benchmark::State& state) {
    Config c = config(static_cast<size_t>(state.range(0)), 0);
    g_rig->traffic(true);
    const Prefix extra = P("198.19.255.254/32");
    bool present = c.list(ListKind::deny).count(extra) != 0;
    std::vector<double> us;
    const uint64_t fwd0 = g_rig->forwarded();
    const auto t0 = Clock::now();
    for (auto _ : state) {
        const auto a = Clock::now();
        if (present) c.del_list(ListKind::deny, extra);
        else c.add_list(ListKind::deny, extra, std::nullopt);
        present = !present;
        g_rig->publish_and_wait(policy::compile(c, g_rig->next_version()));
        const double sec = std::chrono::duration<double>(Clock::now() - a).count();
        state.SetIterationTime(sec);
        us.push_back(sec * 1e6);
    }
    latency_counters(state, us, fwd0, t0);
}

BENCHMARK(BM_compile_list)->Name("compile/list")->Arg(10)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_compile_protect)->Name("compile/protect")->Arg(10)->Arg(1000)->Arg(4096)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_publish_traffic)->Name("publish/traffic")->Arg(10)->Arg(100000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_publish_idle)->Name("publish/idle")->Arg(10)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_change)->Name("change")->Arg(10)->Arg(1000)->Arg(100000)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
    try {
        test::Eal eal("bench_publish");
        int rc = 0;
        {
            Rig rig;
            g_rig = &rig;
            benchmark::Initialize(&argc, argv);
            if (benchmark::ReportUnrecognizedArguments(argc, argv)) rc = 1;
            else benchmark::RunSpecifiedBenchmarks();
            benchmark::Shutdown();
            g_rig = nullptr;
        }
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_publish: %s\n", e.what());
        return 1;
    }
}
