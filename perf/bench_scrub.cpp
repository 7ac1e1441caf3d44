// How the scrubbing worker's throughput falls as the number of sources its
// per-source limit tracks grows: the real worker (scrub::worker_main) on
// lcore 1, fed over ring-backed ports (tests/policy/ring_ports.h) by a
// generator on the main lcore that rewrites the source address of every frame
// before handing it over, cycling through N distinct sources in a random
// order. The policy limits UDP per source at a rate no source reaches
// (`limit udp source 1m`), so every frame costs one per-source table lookup
// (find-or-claim, then the token bucket) and is forwarded; the table holds
// --table-factor x N entries (the worker's --sources), at least 1024.
//
//   build/perf/bench_scrub                        1K, 64K, 1M, 4M sources, IPv6, 5 s each
//   build/perf/bench_scrub --rounds 3             the sweep three times over, to show the noise
//   build/perf/bench_scrub --sources 1k,64k,128k --family 4
//   build/perf/bench_scrub --limit off            the same traffic without the per-source limit
//
// The traffic: F frames (--inflight, default 1024) circle generator -> outside
// port RX ring -> worker -> inside port TX ring -> generator. Each comes from
// one of 16 pre-built UDP frames (tests/unit/packet_builder.h) toward 16
// protected hosts (203.0.113.1-16 or 2001:db8:100::1-16), source port 40000+
// (not a reflector port). The generator writes the next source of a shuffled
// list of N into each frame as it comes back: IPv6 2001:db8:J::1 (J the
// source's index in bits 32..63, so every source is its own /64, the default
// IPv6 aggregation), IPv4 198.18.0.0 + J (N up to 131,072, the size of
// 198.18.0.0/15), fixing the IPv4 header checksum, which the worker verifies in
// software as it does for net_pcap. Warm-up: at least --warmup seconds and one
// full pass over the N sources (every bucket exists), then --seconds one-second
// samples of the worker's inbound RX rate; the figure is their median, as in
// perf/e2e.sh.
//
// Prints one row per (round, N) and a summary: median Mpps over the rounds
// and the ratio to the smallest N. Exit status 1 when the worker dropped a
// frame or did not look up every frame's source, i.e. when the figure would
// not be what it claims; 2 on usage errors. EAL: -l 0,1 --no-pci --no-huge
// -m 512 and its own --file-prefix (removed at exit). See docs/PERFORMANCE.md.
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
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

struct Args {
    std::vector<uint64_t> sources{1024, 65536, 1048576, 4194304};
    double seconds = 5;
    double warmup = 1;
    unsigned rounds = 1;
    int family = 6;
    double table_factor = 2;
    uint64_t table = 0;  // fixed table entries; 0: table_factor x N
    unsigned inflight = 1024;
    std::string limit = "1m";  // pps per source, or "off"
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "bench_scrub: %s\n"
                 "usage: bench_scrub [--sources LIST] [--seconds S] [--warmup S] [--rounds R]\n"
                 "                   [--family 4|6] [--table-factor F | --table ENTRIES] [--inflight F]\n"
                 "                   [--limit PPS|off]\n"
                 "  --sources LIST     distinct sources per run, e.g. 1k,64k,1m,4m (k/m = 2^10/2^20;\n"
                 "                     default 1k,64k,1m,4m)\n"
                 "  --seconds S        one-second samples per run after warm-up (default 5)\n"
                 "  --warmup S         at least this long, and one pass over the sources (default 1)\n"
                 "  --rounds R         repeat the sweep R times (default 1)\n"
                 "  --family 4|6       IPv4 sources (N <= 131072) or IPv6 (default 6)\n"
                 "  --table-factor F   per-source table entries (--sources of the app) = F x N, at least\n"
                 "                     1024 (default 2: meter.h's sizing, 64 bytes per tracked source)\n"
                 "  --table ENTRIES    a fixed table size for every N instead\n"
                 "  --inflight F       frames circling (default 1024)\n"
                 "  --limit PPS|off    the per-source UDP limit (default 1m = 10^6 packets/s; off: none)\n",
                 why);
    std::exit(2);
}

uint64_t parse_count(const std::string& s, bool binary) {
    if (s.empty()) usage("empty number");
    size_t end = 0;
    double v = 0;
    try {
        v = std::stod(s, &end);
    } catch (const std::exception&) {
        usage(("bad number '" + s + "'").c_str());
    }
    const std::string suf = s.substr(end);
    const double k = binary ? 1024.0 : 1000.0;
    if (suf == "k" || suf == "K") v *= k;
    else if (suf == "m" || suf == "M") v *= k * k;
    else if (suf == "g" || suf == "G") v *= k * k * k;
    else if (!suf.empty()) usage(("bad suffix in '" + s + "'").c_str());
    if (v < 1) usage(("'" + s + "' is below 1").c_str());
    return static_cast<uint64_t>(v);
}

Args parse_args(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string o = argv[i];
        if (o == "-h" || o == "--help") usage("help");
        if (i + 1 >= argc) usage((o + " needs a value").c_str());
        const std::string v = argv[++i];
        if (o == "--sources") {
            a.sources.clear();
            size_t p = 0;
            while (p <= v.size()) {
                const size_t q = std::min(v.find(',', p), v.size());
                a.sources.push_back(parse_count(v.substr(p, q - p), true));
                p = q + 1;
            }
        } else if (o == "--seconds") {
            a.seconds = std::stod(v);
        } else if (o == "--warmup") {
            a.warmup = std::stod(v);
        } else if (o == "--rounds") {
            a.rounds = static_cast<unsigned>(parse_count(v, false));
        } else if (o == "--family") {
            a.family = std::stoi(v);
        } else if (o == "--table-factor") {
            a.table_factor = std::stod(v);
        } else if (o == "--table") {
            a.table = parse_count(v, true);
        } else if (o == "--inflight") {
            a.inflight = static_cast<unsigned>(parse_count(v, false));
        } else if (o == "--limit") {
            a.limit = v;
        } else {
            usage(("unknown option " + o).c_str());
        }
    }
    if (a.family != 4 && a.family != 6) usage("--family is 4 or 6");
    if (a.seconds < 1 || a.seconds > 3600) usage("--seconds is 1..3600");
    if (a.warmup < 0 || a.warmup > 600) usage("--warmup is 0..600");
    if (a.rounds > 20) usage("--rounds is 1..20");
    if (a.inflight < 32 || a.inflight > 3072) usage("--inflight is 32..3072");
    if (a.table_factor < 0.25 || a.table_factor > 16) usage("--table-factor is 0.25..16");
    for (uint64_t n : a.sources) {
        if (n > (uint64_t{1} << 26)) usage("a source count is above 64M");
        if (a.family == 4 && n > 131072) usage("IPv4 sources come from 198.18.0.0/15: at most 131072 (use --family 6)");
    }
    if (a.limit != "off") parse_count(a.limit, false);
    return a;
}

policy::Prefix P(const std::string& s) {
    policy::Prefix p;
    std::string err;
    if (!classify::parse_prefix(s, p, err)) throw std::logic_error(s + ": " + err);
    return p;
}

std::unique_ptr<const policy::Snapshot> make_snapshot(const Args& a) {
    policy::Config c;
    c.add_policy("bench");
    if (a.limit != "off")
        c.set_limit("bench", "udp", false, policy::RateSpec{.pps = parse_count(a.limit, false)});
    c.add_protect(P("203.0.113.0/24"), "bench4", "bench");
    c.add_protect(P("2001:db8:100::/48"), "bench6", "bench");
    policy::CompileOptions o;
    o.hz = rte_get_tsc_hz();
    return policy::compile(c, 1, o);
}

// Where the generator writes a source, per family.
constexpr uint32_t kSrc4 = 14 + 12;     // IPv4 source address
constexpr uint32_t kCsum4 = 14 + 10;    // IPv4 header checksum
constexpr uint32_t kSrc6Net = 14 + 8 + 4;  // bytes 4..7 of the IPv6 source: 2001:db8:J::1

std::vector<test::Bytes> make_templates(int family) {
    std::vector<test::Bytes> out;
    for (unsigned i = 0; i < 16; ++i) {
        const test::Bytes l4 = test::udp({.sport = static_cast<uint16_t>(40000 + i), .dport = 5001}, test::filler(18));
        if (family == 4) {
            out.push_back(test::frame4({.src = {198, 18, 0, 0}, .dst = {203, 0, 113, static_cast<uint8_t>(1 + i)},
                                        .proto = net::ip_proto::udp},
                                       l4));
        } else {
            test::Addr6 src{0x20, 0x01, 0x0d, 0xb8};
            test::Addr6 dst{0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00};
            src[15] = 1;
            dst[15] = static_cast<uint8_t>(1 + i);
            out.push_back(test::frame6({.src = src, .dst = dst, .next = net::ip_proto::udp}, l4));
        }
    }
    return out;
}

// Writes source `j` into the frame; IPv4 patches its header checksum
// (RFC 1624: HC' = ~(~HC + ~m + m') over the two 16-bit words that change).
template <int Family>
[[gnu::always_inline]] inline void set_source(uint8_t* f, uint32_t j) {
    if constexpr (Family == 4) {
        const uint32_t a = (uint32_t{198} << 24 | uint32_t{18} << 16) + j;
        const uint32_t old_hi = uint32_t{f[kSrc4]} << 8 | f[kSrc4 + 1], old_lo = uint32_t{f[kSrc4 + 2]} << 8 | f[kSrc4 + 3];
        uint32_t sum = (~(uint32_t{f[kCsum4]} << 8 | f[kCsum4 + 1]) & 0xffff) + (~old_hi & 0xffff) +
                       (~old_lo & 0xffff) + (a >> 16) + (a & 0xffff);
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        const uint16_t hc = static_cast<uint16_t>(~sum);
        f[kSrc4] = static_cast<uint8_t>(a >> 24);
        f[kSrc4 + 1] = static_cast<uint8_t>(a >> 16);
        f[kSrc4 + 2] = static_cast<uint8_t>(a >> 8);
        f[kSrc4 + 3] = static_cast<uint8_t>(a);
        f[kCsum4] = static_cast<uint8_t>(hc >> 8);
        f[kCsum4 + 1] = static_cast<uint8_t>(hc);
    } else {
        const uint32_t be = __builtin_bswap32(j);
        std::memcpy(f + kSrc6Net, &be, 4);
    }
}

// CPU time (ns) the EAL worker thread has had, from its schedstat; 0 if unknown.
uint64_t worker_cpu_ns() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& t : fs::directory_iterator("/proc/self/task", ec)) {
        std::ifstream comm(t.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name.find("worker") == std::string::npos) continue;
        std::ifstream st(t.path() / "schedstat");
        uint64_t ns = 0;
        st >> ns;
        return ns;
    }
    return 0;
}

struct Result {
    uint64_t n = 0, table = 0;
    double median = 0, min = 0, max = 0;
    unsigned samples = 0;
    double cpu = 0;        // share of its core the worker thread got while sampled
    double gen_idle = 0;   // generator polls that found nothing to recycle
    double warmup_s = 0;
    uint64_t rx = 0, fwd = 0, dropped = 0, looked_up = 0, evictions = 0;
    bool ok = false;
};

class Rig {
public:
    explicit Rig(const Args& a) : a_(a) {
        pool_ = rte_pktmbuf_pool_create("bs_pool", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
        if (!pool_) throw std::runtime_error("mbuf pool");
        to_worker_ = test::make_ring("bs_to_w", 4096);
        from_worker_ = test::make_ring("bs_from_w", 4096);
        in_rx_ = test::make_ring("bs_in_rx", 1024);
        out_tx_ = test::make_ring("bs_out_tx", 1024);
        outside_ = test::ring_port("bs_outside", to_worker_, out_tx_, pool_);
        inside_ = test::ring_port("bs_inside", in_rx_, from_worker_, pool_);
        templates_ = make_templates(a.family);
        wl_ = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        if (wl_ >= RTE_MAX_LCORE) throw std::runtime_error("no worker lcore");
    }
    ~Rig() {
        test::close_port(outside_);
        test::close_port(inside_);
        for (rte_ring* r : {to_worker_, from_worker_, in_rx_, out_tx_}) rte_ring_free(r);
        rte_mempool_free(pool_);
    }

    Result run(uint64_t n) { return a_.family == 4 ? run_family<4>(n) : run_family<6>(n); }

private:
    template <int Family>
    Result run_family(uint64_t n) {
        Result r;
        r.n = n;
        // The order the sources come in: a fixed shuffle, the same every round.
        std::vector<uint32_t> order(n);
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), std::mt19937_64(n));

        scrub::Shared shared;
        auto k = std::make_unique<telemetry::WorkerCounters>();
        policy::Publisher pub(1);
        pub.publish(make_snapshot(a_));
        scrub::WorkerConfig cfg;
        cfg.outside_port = outside_;
        cfg.inside_port = inside_;
        cfg.burst = 32;
        cfg.shared = &shared;
        cfg.counters = k.get();
        cfg.policy = &pub;
        // As app/triage/main.cpp sizes them from --sources.
        r.table = a_.table ? a_.table : std::max<uint64_t>(1024, static_cast<uint64_t>(a_.table_factor * double(n)));
        cfg.tables.sources = r.table;
        cfg.tables.authenticated = std::max<size_t>(16384, r.table / 4);
        cfg.tables.solicited = std::max<size_t>(16384, r.table / 4);
        cfg.table_key = {0x0123456789abcdefull, 0xfedcba9876543210ull};

        // The frames, sources 0..inflight-1 of the order first.
        uint64_t pos = 0;
        for (unsigned i = 0; i < a_.inflight; ++i) {
            rte_mbuf* m = rte_pktmbuf_alloc(pool_);
            if (!m) throw std::runtime_error("mbuf alloc");
            const test::Bytes& t = templates_[i % templates_.size()];
            auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(t.size())));
            std::memcpy(d, t.data(), t.size());
            set_source<Family>(d, order[pos]);
            if (++pos == n) pos = 0;
            if (rte_ring_enqueue(to_worker_, m) != 0) throw std::runtime_error("ring full");
        }
        if (rte_eal_remote_launch(scrub::worker_main, &cfg, wl_) != 0)
            throw std::runtime_error("cannot launch the worker");
        // The worker maps and touches its tables before it polls.
        while (shared.started.load(std::memory_order_acquire) == 0) rte_pause();

        const uint64_t hz = rte_get_tsc_hz();
        const uint64_t t_start = rte_rdtsc();
        const uint64_t warm_min = t_start + static_cast<uint64_t>(a_.warmup * double(hz));
        const uint64_t warm_max = t_start + 120 * hz;
        bool passed = n <= a_.inflight;  // one full pass over the sources seen
        bool measuring = false;
        uint64_t next = 0, rx0 = 0, cpu0 = 0, t0 = 0, polls = 0, idle = 0;
        std::vector<double> samples;
        rte_mbuf* burst[32];
        for (;;) {
            const unsigned got = rte_ring_sc_dequeue_burst(from_worker_, reinterpret_cast<void**>(burst), 32, nullptr);
            ++polls;
            if (got == 0) {
                ++idle;
            } else {
                for (unsigned i = 0; i < got; ++i) {
                    set_source<Family>(rte_pktmbuf_mtod(burst[i], uint8_t*), order[pos]);
                    if (++pos == n) {
                        pos = 0;
                        passed = true;
                    }
                }
                // Room for every frame in flight: never fails.
                rte_ring_sp_enqueue_burst(to_worker_, reinterpret_cast<void**>(burst), got, nullptr);
            }
            const uint64_t now = rte_rdtsc();
            if (!measuring) {
                if ((passed && now >= warm_min) || now >= warm_max) {
                    measuring = true;
                    r.warmup_s = double(now - t_start) / double(hz);
                    t0 = now;
                    next = now + hz;
                    rx0 = k->rx_packets[0].get();
                    cpu0 = worker_cpu_ns();
                    polls = idle = 0;
                }
                continue;
            }
            if (now < next) continue;
            const uint64_t rx = k->rx_packets[0].get();
            samples.push_back(double(rx - rx0) / (double(now - (next - hz)) / double(hz)) / 1e6);
            rx0 = rx;
            if (samples.size() >= static_cast<size_t>(a_.seconds)) {
                const uint64_t cpu1 = worker_cpu_ns();
                const double wall_ns = double(now - t0) / double(hz) * 1e9;
                r.cpu = cpu0 && cpu1 > cpu0 ? double(cpu1 - cpu0) / wall_ns : 0;
                break;
            }
            next = now + hz;
        }
        r.gen_idle = polls ? double(idle) / double(polls) : 0;

        // Stop (a circling loop never runs dry, so no draining), then take
        // every frame back: they are all in the two rings, or freed as drops.
        shared.state.store(scrub::RunState::stop, std::memory_order_release);
        rte_eal_wait_lcore(wl_);
        for (rte_ring* ring : {to_worker_, from_worker_, out_tx_}) {
            void* m = nullptr;
            while (rte_ring_dequeue(ring, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        }
        pub.synchronize();

        std::sort(samples.begin(), samples.end());
        r.samples = static_cast<unsigned>(samples.size());
        if (!samples.empty()) {
            const size_t s = samples.size();
            r.median = s % 2 ? samples[s / 2] : (samples[s / 2 - 1] + samples[s / 2]) / 2;
            r.min = samples.front();
            r.max = samples.back();
        }
        r.rx = k->rx_packets[0].get();
        r.fwd = k->fwd_packets[0].get();
        r.dropped = k->drops_by_dir[0].get();
        r.looked_up = k->class_packets[policy::kClassUdp].get();
        r.evictions = k->scrub[static_cast<unsigned>(telemetry::Scrub::meter_evictions)].get();
        // Every frame forwarded and scrubbed as UDP (with the limit on, that
        // is one per-source lookup each).
        r.ok = r.rx > 0 && r.dropped == 0 && r.looked_up == r.rx && r.fwd == r.rx;
        return r;
    }

    const Args& a_;
    rte_mempool* pool_ = nullptr;
    rte_ring *to_worker_ = nullptr, *from_worker_ = nullptr, *in_rx_ = nullptr, *out_tx_ = nullptr;
    uint16_t outside_ = 0, inside_ = 0;
    unsigned wl_ = RTE_MAX_LCORE;
    std::vector<test::Bytes> templates_;
};

std::string human(uint64_t n) {
    if (n % 1048576 == 0) return std::to_string(n / 1048576) + "M";
    if (n % 1024 == 0) return std::to_string(n / 1024) + "K";
    return std::to_string(n);
}

double median_of(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t s = v.size();
    return s % 2 ? v[s / 2] : (v[s / 2 - 1] + v[s / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse_args(argc, argv);
    try {
        test::Eal eal("bench_scrub");
        Rig rig(a);
        double load[3] = {};
        if (getloadavg(load, 3) < 0) load[0] = -1;
        std::printf("== bench_scrub: scrub::worker_main on lcore 1, ring-backed ports, generator on lcore 0\n");
        std::printf("traffic : IPv%d UDP, %u frames circling, each rewritten with the next of N shuffled sources\n",
                    a.family, a.inflight);
        std::printf("policy  : protected destinations, limit udp source %s (never hit: every frame does one lookup)\n",
                    a.limit.c_str());
        std::printf("tables  : %s per-source entries (32 B each); TSC %.2f GHz; load %.2f before\n",
                    a.table ? human(a.table).c_str() : (std::to_string(a.table_factor) + " x N, >= 1024").c_str(),
                    double(rte_get_tsc_hz()) / 1e9, load[0]);
        std::printf("method  : warm-up >= %.1f s and one pass over the sources; then %.0f one-second samples of the\n"
                    "          worker's inbound RX rate; median\n\n",
                    a.warmup, a.seconds);
        std::printf("%5s %6s %7s %8s %7s %7s %7s %5s %9s %9s %9s %6s\n", "round", "N", "table", "Mpps", "min",
                    "max", "samples", "cpu%", "Mpps/cpu", "evictions", "gen_idle", "warmup");
        std::map<uint64_t, std::vector<double>> by_n, by_n_cpu;
        bool ok = true;
        for (unsigned round = 1; round <= a.rounds; ++round) {
            for (uint64_t n : a.sources) {
                const Result r = rig.run(n);
                const double per_cpu = r.cpu > 0 ? r.median / r.cpu : 0;
                std::printf("%5u %6s %7s %8.2f %7.2f %7.2f %7u %5.0f %9.2f %9llu %8.0f%% %5.1fs%s\n", round,
                            human(n).c_str(), human(r.table).c_str(), r.median, r.min, r.max, r.samples,
                            100 * r.cpu, per_cpu, static_cast<unsigned long long>(r.evictions), 100 * r.gen_idle,
                            r.warmup_s, r.ok ? "" : "  <- NOT every frame looked up and forwarded");
                std::fflush(stdout);
                if (!r.ok)
                    std::fprintf(stderr, "bench_scrub: N=%s: rx %llu forwarded %llu dropped %llu udp-class %llu\n",
                                 human(n).c_str(), static_cast<unsigned long long>(r.rx),
                                 static_cast<unsigned long long>(r.fwd), static_cast<unsigned long long>(r.dropped),
                                 static_cast<unsigned long long>(r.looked_up));
                ok = ok && r.ok;
                by_n[n].push_back(r.median);
                if (per_cpu > 0) by_n_cpu[n].push_back(per_cpu);
            }
        }
        const uint64_t base = a.sources.front();
        const double b = median_of(by_n[base]), bc = median_of(by_n_cpu[base]);
        std::printf("\nsummary (median over %u round%s; ratio to N=%s)\n", a.rounds, a.rounds == 1 ? "" : "s",
                    human(base).c_str());
        std::printf("%6s %8s %6s %9s %6s\n", "N", "Mpps", "ratio", "Mpps/cpu", "ratio");
        for (uint64_t n : a.sources) {
            if (by_n.count(n) == 0) continue;
            const double m = median_of(by_n[n]), c = median_of(by_n_cpu[n]);
            std::printf("%6s %8.2f %6.2f %9.2f %6.2f\n", human(n).c_str(), m, b > 0 ? m / b : 0, c,
                        bc > 0 ? c / bc : 0);
            by_n.erase(n);  // a repeated N prints once
        }
        if (getloadavg(load, 3) < 0) load[0] = -1;
        std::printf("load %.2f after\n", load[0]);
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_scrub: %s\n", e.what());
        return 1;
    }
}
