// Policy changes under full-rate traffic lose and misroute no packet.
//
// The real scrub worker (scrub::worker_main) runs on lcore 1 between two
// ethdevs built over rte_rings this program owns: it receives only what the
// main lcore enqueues on the outside RX ring, and everything it transmits is
// seen here. Meanwhile the main lcore compiles and publishes a new snapshot
// every thousand or so frames through the real policy::Publisher, cycling
// through configurations that differ in shape (unrelated prefixes and list
// entries come and go, protected ranges are split and merged) but agree on
// what each traffic class may do:
//
//   A  to a destination protected in every configuration: forwarded, counted protected
//   T  to a destination never protected: in "forward" phases the transit rule
//      is forward in every configuration (forwarded, counted transit); in
//      "drop" phases it changes (forwarded as transit, or dropped transit_drop)
//   D  from a source the churn puts on and takes off the deny list, to a
//      protected destination: forwarded as protected, or dropped deny_list
//   W  from a source inside an always-denied prefix whose allow-list hole the
//      churn opens and closes: forwarded as allowed, or dropped deny_list
//   X  to a destination whose protection the churn toggles (drop phases only;
//      a configuration leaving X unprotected has transit drop): forwarded as
//      protected, or dropped transit_drop
//
// each over IPv4 and IPv6, UDP and TCP. A phase change waits until the worker
// has decided every frame of the old phase and has seen the new snapshot, so
// no frame meets a configuration of the other phase. Because every class has
// one counter class when forwarded and one drop reason when dropped, the
// worker's counters must equal this program's tallies exactly.
//
// Every frame carries a trailer (magic, sequence number, class, phase,
// variant) from which its exact bytes can be rebuilt; each frame leaving the
// inside port is checked against them and against duplicates.
//
//   build/tests/policy/policy_under_traffic [--packets N] [--seconds S]
//       [--per-publication N] [--phases N] [--seed N]
//
// Prints PASS and exits 0, or prints FAIL lines and exits 1.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
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
using policy::TransitRule;
using telemetry::Class;
using telemetry::Drop;
using test::Addr4;
using test::Addr6;
using test::Bytes;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ checks

unsigned g_failures = 0;

[[gnu::format(printf, 1, 2)]] void fail(const char* fmt, ...) {
    // A broken worker fails millions of frames the same way: the first few
    // lines say what, the count says how many.
    if (++g_failures > 25) return;
    std::va_list ap;
    va_start(ap, fmt);
    std::fputs("FAIL: ", stdout);
    std::vprintf(fmt, ap);
    std::fputc('\n', stdout);
    va_end(ap);
}

void expect_eq(const char* what, uint64_t got, uint64_t want) {
    if (got != want) fail("%s: %" PRIu64 ", expected %" PRIu64, what, got, want);
}

// ----------------------------------------------------------------- classes

enum Kind : uint8_t { kA, kT, kD, kW, kX };
constexpr unsigned kKinds = 5;
constexpr const char* kKindNames[kKinds] = {"A", "T", "D", "W", "X"};
constexpr unsigned kClasses = kKinds * 2;  // class = kind * 2 + (IPv6 ? 1 : 0)
constexpr unsigned kVariants = 16;         // addresses, protocol, length within a class

constexpr Kind kind_of(unsigned cls) { return static_cast<Kind>(cls / 2); }
constexpr bool v6_of(unsigned cls) { return cls % 2 != 0; }

// What a forwarded frame of each kind is counted as, and the one reason a
// dropped one may have (none: may not be dropped at all in that phase).
constexpr Class forwarded_as(Kind k) {
    return k == kT ? Class::transit : k == kW ? Class::allowed : Class::protected_;
}
constexpr Drop drop_reason(Kind k, bool drop_phase) {
    switch (k) {
    case kA: return Drop::none;
    case kT: return drop_phase ? Drop::transit_drop : Drop::none;
    case kD:
    case kW: return Drop::deny_list;
    case kX: return Drop::transit_drop;
    }
    return Drop::none;
}

// ---------------------------------------------------------------- schedule

uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Frame seq's class, phase and variant follow from seq alone, so the
// receiving side rebuilds what it must have been.
struct Plan {
    uint64_t packets;
    unsigned phases;
    uint64_t seed;

    uint64_t phase_len() const { return packets / phases; }
    unsigned phase_of(uint64_t seq) const {
        return static_cast<unsigned>(std::min<uint64_t>(seq / phase_len(), phases - 1));
    }
    uint64_t phase_end(unsigned p) const { return p + 1 == phases ? packets : (p + 1) * phase_len(); }
    static bool drop_phase(unsigned p) { return p % 2 == 1; }

    struct Pick {
        uint8_t cls, phase, variant;
    };
    Pick pick(uint64_t seq) const {
        const unsigned p = phase_of(seq);
        const uint64_t h = mix64(seq ^ seed);
        // X frames only in drop phases: a forward-phase configuration may
        // leave X unprotected with transit forward, where it would be
        // forwarded as transit, not protected.
        const unsigned kinds = drop_phase(p) ? kKinds : kKinds - 1;
        const unsigned kind = static_cast<unsigned>(h % kinds);
        const unsigned fam = static_cast<unsigned>(h >> 20) & 1u;
        return {static_cast<uint8_t>(kind * 2 + fam), static_cast<uint8_t>(p),
                static_cast<uint8_t>((h >> 32) % kVariants)};
    }
};

// Trailer at the end of every frame's payload.
constexpr uint8_t kMagic[4] = {'T', 'R', 'G', 'P'};
constexpr size_t kTrailer = 16;

void write_trailer(uint8_t* at, uint64_t seq, const Plan::Pick& p) {
    std::memcpy(at, kMagic, 4);
    std::memcpy(at + 4, &seq, 8);
    at[12] = p.cls;
    at[13] = p.phase;
    at[14] = p.variant;
    at[15] = 0x5a;
}

// ------------------------------------------------------------ address plan
//
// Only documentation/benchmarking ranges. Traffic sources for A/T/X sit in
// 198.18.0.0/16 and 2001:db8:1::/48, never listed; unrelated churn lives in
// 198.19.0.0/16 and 2001:db8:f000::/36, which no frame touches.

Addr4 a4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

Addr6 a6(uint16_t w2, uint16_t w3, uint8_t b14, uint8_t b15) {
    Addr6 x{0x20, 0x01, 0x0d, 0xb8};
    x[4] = static_cast<uint8_t>(w2 >> 8);
    x[5] = static_cast<uint8_t>(w2);
    x[6] = static_cast<uint8_t>(w3 >> 8);
    x[7] = static_cast<uint8_t>(w3);
    x[14] = b14;
    x[15] = b15;
    return x;
}

struct Ends4 {
    Addr4 src, dst;
};
struct Ends6 {
    Addr6 src, dst;
};

Ends4 ends4(Kind k, unsigned v) {
    const auto u = static_cast<uint8_t>(v);
    const Addr4 any = a4(198, 18, u, static_cast<uint8_t>(1 + 13 * v));
    const Addr4 prot = a4(203, 0, 113, static_cast<uint8_t>(1 + 7 * v));  // in 203.0.113.0/25
    switch (k) {
    case kA: return {any, prot};
    case kT: return {any, a4(198, 51, 100, static_cast<uint8_t>(1 + 6 * v))};    // .1 - .91
    case kX: return {any, a4(198, 51, 100, static_cast<uint8_t>(200 + 3 * v))};  // .200 - .245
    case kD: return {a4(192, 0, 2, static_cast<uint8_t>(1 + 3 * v)), prot};      // .1 - .46
    case kW: return {a4(192, 0, 2, static_cast<uint8_t>(200 + v % 4)), prot};    // .200 - .203
    }
    return {};
}

Ends6 ends6(Kind k, unsigned v) {
    const auto u = static_cast<uint8_t>(v);
    const Addr6 any = a6(1, 0, u, static_cast<uint8_t>(1 + 13 * v));
    // Both halves of 2001:db8:a::/48, so a split into two /49s matters.
    const Addr6 prot = a6(0xa, v % 2 ? 0x8000 : 0, 0, static_cast<uint8_t>(1 + v));
    switch (k) {
    case kA: return {any, prot};
    case kT: return {any, a6(7, 0, 0, static_cast<uint8_t>(1 + v))};
    case kX: return {any, a6(0xb, 0, 0, static_cast<uint8_t>(1 + v))};
    case kD: return {a6(0xd, 0, 0, static_cast<uint8_t>(1 + v)), prot};
    case kW: return {a6(0xe, 0, 0, static_cast<uint8_t>(0xc8 + v % 4)), prot};
    }
    return {};
}

// The whole frame, trailer zeroed.
Bytes make_template(unsigned cls, unsigned v) {
    const Kind k = kind_of(cls);
    Bytes payload = test::filler(8 * (v % 4), static_cast<uint8_t>(cls * 16 + v));
    payload.resize(payload.size() + kTrailer, 0);
    const bool tcp = v % 2 != 0;
    const auto sport = static_cast<uint16_t>(1024 + 97 * v + cls);
    const uint16_t dport = v % 3 == 0 ? 53 : v % 3 == 1 ? 80 : 443;
    const Bytes l4 = tcp ? test::tcp({.sport = sport, .dport = dport,
                                      .flags = net::tcp_flag::ack | net::tcp_flag::psh},
                                     payload)
                         : test::udp({.sport = sport, .dport = dport}, payload);
    const uint8_t proto = tcp ? net::ip_proto::tcp : net::ip_proto::udp;
    if (v6_of(cls)) {
        const Ends6 e = ends6(k, v);
        return test::frame6({.src = e.src, .dst = e.dst, .next = proto}, l4);
    }
    const Ends4 e = ends4(k, v);
    return test::frame4({.src = e.src, .dst = e.dst, .proto = proto}, l4);
}

// ----------------------------------------------------------- configurations

Prefix P(std::string_view s) {
    Prefix p;
    std::string err;
    if (!classify::parse_prefix(s, p, err)) throw std::logic_error(std::string(s) + ": " + err);
    return p;
}

Prefix masked(uint8_t family, std::array<uint8_t, 16> a, unsigned len) {
    Prefix p;
    p.family = family;
    p.len = static_cast<uint8_t>(len);
    const unsigned bytes = family == 4 ? 4 : 16;
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned keep = i >= bytes ? 0 : len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        a[i] &= static_cast<uint8_t>(0xff00u >> keep);
    }
    p.addr = a;
    return p;
}

// A random prefix for unrelated churn, in 198.19.0.0/16 or 2001:db8:f000::/36;
// IPv4 unless rng() % v4_odds is 0.
Prefix churn_prefix(std::mt19937_64& rng, unsigned v4_odds) {
    std::array<uint8_t, 16> a{};
    for (auto& b : a) b = static_cast<uint8_t>(rng());
    if (rng() % v4_odds) {
        a[0] = 198, a[1] = 19;
        return masked(4, a, 16 + static_cast<unsigned>(rng() % 17));
    }
    a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
    a[4] = static_cast<uint8_t>(0xf0 | (a[4] & 0x0f));
    return masked(6, a, 36 + static_cast<unsigned>(rng() % 93));
}

template <class T>
const T& one_of(std::mt19937_64& rng, const std::vector<T>& v) {
    return v[rng() % v.size()];
}

// One configuration of the churn. Everything that decides a traffic class
// follows the rules in the header comment; the rest (shapes, policies,
// hundreds of unrelated prefixes and list entries) varies so every compile
// really builds differently shaped tables.
Config make_config(std::mt19937_64& rng, bool drop_phase) {
    Config c;
    c.add_policy("gold");
    if (rng() % 2) c.add_policy("silver");
    const std::string alt = c.policies().count("silver") ? "silver" : "gold";

    // A (and the destinations of D and W): always covered, in varying shapes.
    const std::vector<std::vector<std::string>> a4_shapes = {
        {"203.0.113.0/24"},
        {"203.0.113.0/25", "203.0.113.128/25"},
        {"203.0.113.0/26", "203.0.113.64/26", "203.0.113.128/25"},
        {"203.0.113.0/24", "203.0.113.16/28"},
    };
    const std::vector<std::vector<std::string>> a6_shapes = {
        {"2001:db8:a::/48"},
        {"2001:db8:a::/49", "2001:db8:a:8000::/49"},
        {"2001:db8:a::/48", "2001:db8:a::/64"},
    };
    unsigned n = 0;
    for (const auto& s : one_of(rng, a4_shapes)) {
        c.add_protect(P(s), "a4-" + std::to_string(n), n % 2 ? "gold" : alt);
        ++n;
    }
    for (const auto& s : one_of(rng, a6_shapes)) {
        c.add_protect(P(s), "a6-" + std::to_string(n), n % 2 ? alt : "default");
        ++n;
    }

    // D: on or off the deny list, whole or in part.
    const std::vector<std::vector<std::string>> d4_shapes = {
        {}, {}, {"192.0.2.0/26"}, {"192.0.2.0/25"}, {"192.0.2.0/27", "192.0.2.32/27"}, {"192.0.2.16/28"}};
    const std::vector<std::vector<std::string>> d6_shapes = {
        {}, {}, {"2001:db8:d::/48"}, {"2001:db8:d::/64"}, {"2001:db8:d::/124"}};
    for (const auto& s : one_of(rng, d4_shapes)) c.add_list(ListKind::deny, P(s), std::nullopt);
    for (const auto& s : one_of(rng, d6_shapes)) c.add_list(ListKind::deny, P(s), std::nullopt);

    // W: always inside a denied prefix; the allow-list hole comes and goes.
    c.add_list(ListKind::deny, P("192.0.2.192/26"), std::nullopt);
    c.add_list(ListKind::deny, P("2001:db8:e::/48"), std::nullopt);
    const std::vector<std::vector<std::string>> w4_shapes = {
        {}, {}, {"192.0.2.200/30"}, {"192.0.2.200/29"},
        {"192.0.2.200/32", "192.0.2.201/32", "192.0.2.202/32", "192.0.2.203/32"}};
    const std::vector<std::vector<std::string>> w6_shapes = {
        {}, {}, {"2001:db8:e::c8/126"}, {"2001:db8:e::c0/122"}};
    for (const auto& s : one_of(rng, w4_shapes)) c.add_list(ListKind::allow, P(s), std::nullopt);
    for (const auto& s : one_of(rng, w6_shapes)) c.add_list(ListKind::allow, P(s), std::nullopt);

    // X: protected or not; unprotected only together with transit drop in
    // drop phases. Forward phases send no X, but toggle it all the same.
    const bool x4 = rng() % 2, x6 = rng() % 2;
    if (x4) c.add_protect(P(rng() % 2 ? "198.51.100.128/25" : "198.51.100.192/26"), "x4", "gold");
    if (x6) c.add_protect(P(rng() % 2 ? "2001:db8:b::/48" : "2001:db8:b::/64"), "x6", alt);
    if (!drop_phase) c.set_transit(TransitRule::forward);
    else if (!x4 || !x6) c.set_transit(TransitRule::drop);
    else c.set_transit(rng() % 2 ? TransitRule::drop : TransitRule::forward);

    // Unrelated churn: sizes vary per configuration, up to 200 protected
    // prefixes and 1,200 list entries, IPv4 and IPv6, some with expiries.
    const unsigned nprot = static_cast<unsigned>(rng() % 200);
    for (unsigned i = 0; i < nprot; ++i) {
        const Prefix p = churn_prefix(rng, 3);
        try {
            c.add_protect(p, "c" + std::to_string(i), rng() % 2 ? "gold" : alt);
        } catch (const policy::ConfigError&) {
            // The same random prefix twice: fine, it is churn.
        }
    }
    const unsigned nlist = static_cast<unsigned>(rng() % 1200);
    const auto expiry = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                        std::chrono::hours(24);
    for (unsigned i = 0; i < nlist; ++i) {
        const Prefix p = churn_prefix(rng, 2);
        try {
            c.add_list(rng() % 3 ? ListKind::deny : ListKind::allow, p,
                       rng() % 4 ? std::nullopt : std::optional<policy::Time>(expiry));
        } catch (const policy::ConfigError&) {
            // Already on the other list.
        }
    }
    return c;
}

// ------------------------------------------------------------------ options

struct Options {
    uint64_t packets = 4'000'000;
    double seconds = 60;  // wall-clock cap on sending
    // Frames sent between two publications: about what the worker forwards
    // while the main lcore compiles the next snapshot, so it never idles.
    uint64_t per_publication = 1000;
    unsigned phases = 8;  // alternating forward / drop phases
    uint64_t seed = 0x7472696167650001ull;
};

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[i]);
            return false;
        }
        const char* v = argv[++i];
        if (a == "--packets") o.packets = std::strtoull(v, nullptr, 0);
        else if (a == "--seconds") o.seconds = std::strtod(v, nullptr);
        else if (a == "--per-publication") o.per_publication = std::strtoull(v, nullptr, 0);
        else if (a == "--phases") o.phases = static_cast<unsigned>(std::strtoul(v, nullptr, 0));
        else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 0);
        else {
            std::fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i - 1]);
            return false;
        }
    }
    if (o.phases == 0 || o.packets < o.phases || o.per_publication == 0) {
        std::fprintf(stderr, "%s: need --phases >= 1, --packets >= phases, --per-publication >= 1\n", argv[0]);
        return false;
    }
    return true;
}

// --------------------------------------------------------------------- run

// The test's own account, per class and phase kind (index [cls][drop_phase]).
struct Tally {
    uint64_t sent = 0, seen = 0, sent_bytes = 0, seen_bytes = 0;
};

constexpr unsigned kBurst = 64;
constexpr unsigned kPoolSize = 32767;  // 2^n - 1 suits rte_mempool
constexpr unsigned kRxRing = 16384;    // deep: the worker keeps busy while a snapshot compiles
constexpr unsigned kTxRing = 65536;    // holds the whole pool: tx_full cannot happen
static_assert(kTxRing > kPoolSize);

class Harness {
public:
    explicit Harness(const Options& o) : o_(o), plan_{o.packets, o.phases, o.seed}, rng_(o.seed) {
        for (unsigned c = 0; c < kClasses; ++c)
            for (unsigned v = 0; v < kVariants; ++v) templates_[c][v] = make_template(c, v);
        for (unsigned d = 0; d < 2; ++d)
            for (unsigned i = 0; i < 40; ++i) configs_[d].push_back(make_config(rng_, d != 0));
        seen_.assign(o.packets, 0);
    }

    int run() {
        pool_ = rte_pktmbuf_pool_create("pt_pool", kPoolSize, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
        if (!pool_) throw std::runtime_error(std::string("mbuf pool: ") + rte_strerror(rte_errno));
        out_rx_ = test::make_ring("pt_out_rx", kRxRing);
        out_tx_ = test::make_ring("pt_out_tx", kTxRing);
        in_rx_ = test::make_ring("pt_in_rx", 1024);
        in_tx_ = test::make_ring("pt_in_tx", kTxRing);
        const uint16_t outside = test::ring_port("pt_outside", out_rx_, out_tx_, pool_);
        const uint16_t inside = test::ring_port("pt_inside", in_rx_, in_tx_, pool_);

        unsigned wl = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        if (wl >= RTE_MAX_LCORE) throw std::runtime_error("no worker lcore (-l 0,1)");

        // As main.cpp: the first snapshot is in place before any worker runs.
        publish(false);
        scrub::WorkerConfig cfg;
        cfg.outside_port = outside;
        cfg.inside_port = inside;
        cfg.queue = 0;
        cfg.burst = 32;
        cfg.index = 0;
        cfg.nworkers = 1;
        cfg.rings = nullptr;
        cfg.shared = &shared_;
        cfg.counters = &k_;
        cfg.policy = &pub_;
        if (rte_eal_remote_launch(scrub::worker_main, &cfg, wl) != 0)
            throw std::runtime_error("cannot launch the worker");

        const auto t0 = Clock::now();
        const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.seconds));
        bool capped = false;
        try {
            for (unsigned p = 0; p < plan_.phases && !capped; ++p) {
                const bool drop = Plan::drop_phase(p);
                if (p > 0) change_phase(drop);
                const uint64_t end = plan_.phase_end(p);
                uint64_t since = 0;
                for (unsigned iter = 0; next_ < end; ++iter) {
                    if (iter % 64 == 0 && Clock::now() > deadline) {
                        capped = true;
                        break;
                    }
                    drain();
                    since += fill(end);
                    if (since >= o_.per_publication) {
                        publish(drop);
                        since = 0;
                    } else {
                        max_pending_ = std::max(max_pending_, pub_.reclaim());
                    }
                }
            }
        } catch (...) {
            // The worker reads the publisher and the counters: stop it first.
            shared_.state.store(scrub::RunState::stop, std::memory_order_release);
            rte_eal_wait_lcore(wl);
            throw;
        }
        const double send_s = std::chrono::duration<double>(Clock::now() - t0).count();

        // The stop protocol of main.cpp's --exit-on-eof: draining, the worker
        // leaves once its inputs are dry, then the main lcore waits for it.
        shared_.state.store(scrub::RunState::draining, std::memory_order_release);
        const auto stop_by = Clock::now() + std::chrono::seconds(10);
        while (rte_eal_get_lcore_state(wl) != WAIT) {
            drain();
            if (Clock::now() > stop_by && shared_.state.load() != scrub::RunState::stop) {
                fail("the worker did not leave within 10 s of draining; forcing stop");
                shared_.state.store(scrub::RunState::stop, std::memory_order_release);
            }
        }
        if (const int rc = rte_eal_wait_lcore(wl); rc != 0) fail("worker_main returned %d", rc);
        while (drain() != 0) {
        }
        scrub::release_in_flight(cfg);
        const size_t pending_before = pub_.pending();
        pub_.synchronize();

        report(send_s, capped, pending_before);

        // Whatever a failed run left in the rings goes back before the pool check.
        for (rte_ring* r : {out_rx_, in_rx_}) {
            rte_mbuf* m = nullptr;
            while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
                fail("frame left unread in a port's RX ring");
                rte_pktmbuf_free(m);
            }
        }
        expect_eq("mbufs available in the pool at the end", rte_mempool_avail_count(pool_), pool_->size);
        expect_eq("mbufs in use at the end", rte_mempool_in_use_count(pool_), 0);

        test::close_port(outside);
        test::close_port(inside);
        for (rte_ring* r : {out_rx_, out_tx_, in_rx_, in_tx_}) rte_ring_free(r);
        rte_mempool_free(pool_);
        return g_failures == 0 ? 0 : 1;
    }

private:
    void publish(bool drop) {
        const Config& c = configs_[drop][rng_() % configs_[drop].size()];
        const auto t0 = Clock::now();
        const uint64_t t = pub_.publish(policy::compile(c, pub_.publications() + 1));
        publish_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
        max_pending_ = std::max(max_pending_, pub_.pending());
        last_token_ = t;
    }

    // No frame may meet a configuration of the other phase: every frame sent
    // so far is decided before the new kind of snapshot goes out, and the
    // worker has picked that snapshot up before the next frame goes in.
    void change_phase(bool drop) {
        const auto by = Clock::now() + std::chrono::seconds(10);
        // The worker adds a burst to rx_packets after deciding all of it
        // (a relaxed counter, but x86 keeps its earlier loads of the
        // snapshot ahead of that store).
        while (k_.rx_packets[0].get() != next_) {
            drain();
            if (Clock::now() > by) {
                fail("phase change: the worker decided %" PRIu64 " of %" PRIu64 " frames within 10 s",
                     k_.rx_packets[0].get(), next_);
                break;
            }
        }
        publish(drop);
        while (!pub_.seen_by_all(last_token_)) {
            drain();
            if (Clock::now() > by) {
                fail("phase change: the worker did not pass a quiescent state within 10 s");
                break;
            }
        }
        ++phase_changes_;
    }

    // Enqueues up to one burst of frames numbered from next_, below end.
    unsigned fill(uint64_t end) {
        const unsigned room = rte_ring_free_count(out_rx_);
        const auto n = static_cast<unsigned>(std::min<uint64_t>({room, kBurst, end - next_}));
        if (n == 0) return 0;
        rte_mbuf* m[kBurst];
        // Every mbuf is in flight: the worker or drain() returns some soon.
        if (rte_pktmbuf_alloc_bulk(pool_, m, n) != 0) return 0;
        for (unsigned i = 0; i < n; ++i) {
            const uint64_t seq = next_ + i;
            const Plan::Pick pk = plan_.pick(seq);
            const Bytes& t = templates_[pk.cls][pk.variant];
            auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], static_cast<uint16_t>(t.size())));
            std::memcpy(d, t.data(), t.size() - kTrailer);
            write_trailer(d + t.size() - kTrailer, seq, pk);
            Tally& ty = tally_[pk.cls][Plan::drop_phase(pk.phase)];
            ++ty.sent;
            ty.sent_bytes += t.size();
        }
        const unsigned q = rte_ring_sp_enqueue_burst(out_rx_, reinterpret_cast<void**>(m), n, nullptr);
        if (q != n) throw std::logic_error("single-producer ring lost room it had");
        next_ += n;
        return n;
    }

    // Checks and frees what the ports transmitted; returns how many frames.
    unsigned drain() {
        rte_mbuf* m[kBurst];
        const unsigned n = rte_ring_sc_dequeue_burst(in_tx_, reinterpret_cast<void**>(m), kBurst, nullptr);
        for (unsigned i = 0; i < n; ++i) check(m[i]);
        if (n) rte_pktmbuf_free_bulk(m, n);
        // Inbound frames must never come back out of the outside port.
        const unsigned w = rte_ring_sc_dequeue_burst(out_tx_, reinterpret_cast<void**>(m), kBurst, nullptr);
        if (w) {
            wrong_port_ += w;
            fail("%u frame(s) transmitted on the outside port", w);
            rte_pktmbuf_free_bulk(m, w);
        }
        return n + w;
    }

    void check(const rte_mbuf* m) {
        const uint32_t len = rte_pktmbuf_pkt_len(m);
        if (m->nb_segs != 1 || rte_pktmbuf_data_len(m) != len || len < 14 + kTrailer) {
            ++foreign_;
            fail("odd frame on the inside port: %u bytes in %u segment(s)", len, m->nb_segs);
            return;
        }
        const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
        const uint8_t* tr = d + len - kTrailer;
        uint64_t seq;
        std::memcpy(&seq, tr + 4, 8);
        if (std::memcmp(tr, kMagic, 4) != 0 || seq >= next_) {
            ++foreign_;
            fail("frame on the inside port is not one this test sent (%u bytes)", len);
            return;
        }
        if (seen_[seq]) {
            ++duplicates_;
            fail("frame %" PRIu64 " transmitted twice", seq);
            return;
        }
        seen_[seq] = 1;
        const Plan::Pick pk = plan_.pick(seq);
        const Bytes& t = templates_[pk.cls][pk.variant];
        if (tr[12] != pk.cls || tr[13] != pk.phase || tr[14] != pk.variant || len != t.size() ||
            std::memcmp(d, t.data(), len - kTrailer) != 0 || tr[15] != 0x5a) {
            ++altered_;
            fail("frame %" PRIu64 " (class %s%s) changed on its way through", seq, kKindNames[kind_of(pk.cls)],
                 v6_of(pk.cls) ? "6" : "4");
            return;
        }
        Tally& ty = tally_[pk.cls][Plan::drop_phase(pk.phase)];
        ++ty.seen;
        ty.seen_bytes += len;
    }

    void report(double send_s, bool capped, size_t pending_before) {
        const uint64_t pubs = pub_.publications();
        std::printf("policy-under-traffic: %" PRIu64 " frames in %.2f s (%.2f Mpps offered), %" PRIu64
                    " publications (%.0f frames per publication, %u phase changes), seed %#" PRIx64 "\n",
                    next_, send_s, next_ / send_s / 1e6, pubs, pubs ? double(next_) / double(pubs) : 0.0,
                    phase_changes_, o_.seed);
        std::printf("  compile + publish: %.2f s in all, %.0f us per publication\n", publish_s_,
                    pubs ? publish_s_ / double(pubs) * 1e6 : 0.0);
        std::printf("  retired snapshots waiting: at most %zu during the run, %zu at the stop, %zu after synchronize()\n",
                    max_pending_, pending_before, pub_.pending());
        if (capped)
            std::printf("  NOTE: the %.0f s cap stopped sending after %" PRIu64 " of %" PRIu64 " frames\n",
                        o_.seconds, next_, o_.packets);
        std::printf("  %-6s %-8s %10s %10s %10s  %s\n", "class", "phases", "sent", "forwarded", "dropped", "drop reason");

        // What the worker's counters must be, from the test's own tallies.
        uint64_t fwd = 0, fwd_bytes = 0, sent_bytes = 0, deny = 0, tdrop = 0;
        uint64_t by_class[telemetry::kClassCount] = {};
        for (unsigned c = 0; c < kClasses; ++c) {
            for (unsigned dp = 0; dp < 2; ++dp) {
                const Tally& ty = tally_[c][dp];
                if (ty.sent == 0) continue;
                const Kind k = kind_of(c);
                const Drop why = drop_reason(k, dp != 0);
                const uint64_t dropped = ty.sent - ty.seen;
                std::printf("  %s%-5s %-8s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  %s\n", kKindNames[k],
                            v6_of(c) ? "6" : "4", dp ? "drop" : "forward", ty.sent, ty.seen, dropped,
                            why == Drop::none ? "(none allowed)" : telemetry::drop_name(why));
                fwd += ty.seen;
                fwd_bytes += ty.seen_bytes;
                sent_bytes += ty.sent_bytes;
                by_class[static_cast<unsigned>(forwarded_as(k))] += ty.seen;
                if (dropped && why == Drop::none)
                    fail("class %s%s (%s phases): %" PRIu64 " frame(s) lost; it may never be dropped", kKindNames[k],
                         v6_of(c) ? "6" : "4", dp ? "drop" : "forward", dropped);
                if (why == Drop::deny_list) deny += dropped;
                if (why == Drop::transit_drop) tdrop += dropped;
                // Both outcomes must occur for a class the churn really
                // toggles: a worker ignoring the deny list (or the transit
                // rule, or the allow list) balances otherwise.
                if (why != Drop::none && ty.sent >= 1000 && pubs >= 100 && (ty.seen == 0 || dropped == 0))
                    fail("class %s%s (%s phases): %" PRIu64 " sent, all %s: the policy changes had no effect",
                         kKindNames[k], v6_of(c) ? "6" : "4", dp ? "drop" : "forward", ty.sent,
                         ty.seen == 0 ? "dropped" : "forwarded");
            }
        }

        using telemetry::Dir;
        constexpr unsigned in = static_cast<unsigned>(Dir::inbound), out = static_cast<unsigned>(Dir::outbound);
        expect_eq("worker rx_packets[inbound]", k_.rx_packets[in].get(), next_);
        expect_eq("worker rx_bytes[inbound]", k_.rx_bytes[in].get(), sent_bytes);
        expect_eq("worker fwd_packets[inbound]", k_.fwd_packets[in].get(), fwd);
        expect_eq("worker fwd_bytes[inbound]", k_.fwd_bytes[in].get(), fwd_bytes);
        expect_eq("worker drops[deny_list]", k_.drops[static_cast<unsigned>(Drop::deny_list)].get(), deny);
        expect_eq("worker drops[transit_drop]", k_.drops[static_cast<unsigned>(Drop::transit_drop)].get(), tdrop);
        for (unsigned r = 1; r < telemetry::kDropCount; ++r) {
            const auto why = static_cast<Drop>(r);
            if (why == Drop::deny_list || why == Drop::transit_drop) continue;
            if (const uint64_t x = k_.drops[r].get(); x != 0)
                fail("worker drops[%s] = %" PRIu64 ", expected 0", telemetry::drop_name(why), x);
        }
        expect_eq("worker drops_by_dir[inbound]", k_.drops_by_dir[in].get(), deny + tdrop);
        for (unsigned c = 0; c < telemetry::kClassCount; ++c) {
            const std::string what =
                std::string("worker inbound_class[") + telemetry::class_name(static_cast<Class>(c)) + "]";
            expect_eq(what.c_str(), k_.inbound_class[c].get(), by_class[c]);
        }
        // Nothing came in on the inside port, so nothing may have gone out.
        expect_eq("worker rx_packets[outbound]", k_.rx_packets[out].get(), 0);
        expect_eq("worker fwd_packets[outbound]", k_.fwd_packets[out].get(), 0);
        expect_eq("worker drops_by_dir[outbound]", k_.drops_by_dir[out].get(), 0);
        expect_eq("worker steered_in + steered_out", k_.steered_in.get() + k_.steered_out.get(), 0);
        // sent == forwarded + dropped, with nothing in between.
        expect_eq("frames sent - (forwarded + dropped)", next_ - (fwd + deny + tdrop), 0);
        expect_eq("frames out of the outside port", wrong_port_, 0);
        expect_eq("foreign frames", foreign_, 0);
        expect_eq("duplicated frames", duplicates_, 0);
        expect_eq("altered frames", altered_, 0);
        expect_eq("retired snapshots not freed after synchronize()", pub_.pending(), 0);
        if (pubs < 100) fail("only %" PRIu64 " publications: too few to call this churn", pubs);
        std::printf("  worker: rx %" PRIu64 ", forwarded %" PRIu64 " (protected %" PRIu64 ", transit %" PRIu64
                    ", allowed %" PRIu64 "), dropped deny_list %" PRIu64 ", transit_drop %" PRIu64 "\n",
                    k_.rx_packets[in].get(), k_.fwd_packets[in].get(),
                    k_.inbound_class[static_cast<unsigned>(Class::protected_)].get(),
                    k_.inbound_class[static_cast<unsigned>(Class::transit)].get(),
                    k_.inbound_class[static_cast<unsigned>(Class::allowed)].get(),
                    k_.drops[static_cast<unsigned>(Drop::deny_list)].get(),
                    k_.drops[static_cast<unsigned>(Drop::transit_drop)].get());
    }

    const Options o_;
    const Plan plan_;
    std::mt19937_64 rng_;
    Bytes templates_[kClasses][kVariants];
    std::vector<Config> configs_[2];  // [drop phase]
    std::vector<uint8_t> seen_;       // by sequence number

    rte_mempool* pool_ = nullptr;
    rte_ring *out_rx_ = nullptr, *out_tx_ = nullptr, *in_rx_ = nullptr, *in_tx_ = nullptr;
    scrub::Shared shared_;
    telemetry::WorkerCounters k_;
    policy::Publisher pub_{1};
    uint64_t last_token_ = 0;

    uint64_t next_ = 0;  // frames sent so far; the next sequence number
    Tally tally_[kClasses][2];
    uint64_t wrong_port_ = 0, foreign_ = 0, duplicates_ = 0, altered_ = 0;
    size_t max_pending_ = 0;
    double publish_s_ = 0;
    unsigned phase_changes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) return 2;
    int rc = 1;
    try {
        test::Eal eal("policy_traffic");
        if (rte_lcore_count() != 2) throw std::runtime_error("needs exactly two lcores");
        {
            auto h = std::make_unique<Harness>(o);
            rc = h->run();
        }
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        return 1;
    }
    if (g_failures > 25) std::printf("FAIL: ... %u failures in all\n", g_failures);
    std::puts(rc == 0 ? "PASS" : "FAIL");
    return rc;
}
