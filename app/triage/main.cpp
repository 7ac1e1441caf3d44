// triage: EAL and port bring-up, worker launch, and the control loop on the
// main lcore (stats, --exit-on-eof, signals, exit report).
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_cycles.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "options.h"
#include "pcap_inputs.h"
#include "ports.h"
#include "scrub.h"
#include "telemetry.h"

#ifndef TRIAGE_VERSION
#define TRIAGE_VERSION "dev"
#endif

namespace {

using namespace triage;

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) { g_signal = sig; }

void list_drop_reasons() {
    for (unsigned i = 1; i < telemetry::kDropCount; ++i) {
        const auto d = static_cast<telemetry::Drop>(i);
        std::printf("%-20s %s\n", telemetry::drop_name(d), telemetry::drop_description(d));
    }
}

// The control core's view of when --exit-on-eof may start draining.
class EofWatch {
public:
    EofWatch(const app::PcapInputs& in, const app::Options& o) {
        for (uint16_t port : {o.outside_port, o.inside_port}) {
            char name[RTE_ETH_NAME_MAX_LEN] = {};
            rte_eth_dev_get_name_by_port(port, name);
            if (auto u = in.unbounded.find(name); u != in.unbounded.end())
                throw std::runtime_error("--exit-on-eof: port " + std::to_string(port) + " (" + name +
                                         ") " + u->second + ", so it never runs out");
            auto it = in.packets.find(name);
            if (it == in.packets.end())
                throw std::runtime_error("--exit-on-eof: port " + std::to_string(port) + " (" + name +
                                         ") is not a net_pcap vdev with rx_pcap= files");
            want_.push_back({port, it->second});
        }
    }
    bool exhausted() const {
        for (const auto& [port, n] : want_) {
            rte_eth_stats s{};
            if (rte_eth_stats_get(port, &s) != 0) return false;
            // net_pcap consumes a record it has no mbuf for (rx_nombuf).
            if (s.ipackets + s.ierrors + s.rx_nombuf < n) return false;
        }
        return true;
    }

private:
    std::vector<std::pair<uint16_t, uint64_t>> want_;
};

int run(int argc, char** argv) {
    // Triage's own options come after `--` and are parsed before the EAL
    // starts: a bad command line is refused before any device is probed
    // (the EAL's probe already opens pcap outputs and resets NICs).
    int dashes = 1;
    while (dashes < argc && std::string_view(argv[dashes]) != "--") ++dashes;
    std::vector<char*> app_argv{argv[0]};
    for (int i = dashes + 1; i < argc; ++i) app_argv.push_back(argv[i]);
    app_argv.push_back(nullptr);
    app::Options opt;
    if (const int rc = app::parse_options(static_cast<int>(app_argv.size()) - 1, app_argv.data(), opt);
        rc != 0)
        return rc > 0 ? 0 : 2;
    if (opt.list_drop_reasons) {
        list_drop_reasons();
        return 0;
    }
    app::PcapInputs pcaps;
    std::string err;
    if (!app::collect_pcap_inputs(dashes, argv, opt.exit_on_eof, pcaps, err)) {
        std::fprintf(stderr, "triage: %s\n", err.c_str());
        return 2;
    }
    // Installed before bring-up, so a stop during a slow start is not lost.
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (rte_eal_init(dashes, argv) < 0) {
        std::fprintf(stderr, "triage: EAL initialisation failed: %s (see the EAL messages above)\n",
                     rte_strerror(rte_errno));
        return 2;
    }
    spdlog::set_level(spdlog::level::from_str(opt.log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ triage: %v");

    const unsigned nworkers = rte_lcore_count() - 1;
    if (nworkers == 0) {
        spdlog::error("no worker lcores: give the EAL at least two lcores (e.g. -l 0,1); "
                      "the main lcore is the control core");
        rte_eal_cleanup();
        return 2;
    }

    std::unique_ptr<EofWatch> eof;
    app::Ports ports;
    try {
        if (opt.exit_on_eof) eof = std::make_unique<EofWatch>(pcaps, opt);
        ports = app::setup_ports(opt, nworkers);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        rte_eal_cleanup();
        return 2;
    }
    spdlog::info("triage {} forwarding: {}", TRIAGE_VERSION, ports.summary);

    scrub::Shared shared;
    std::vector<telemetry::WorkerCounters> counters(nworkers);
    std::vector<scrub::WorkerConfig> cfgs(nworkers);
    telemetry::Report report;  // summed for the stats line, and in full at exit
    report.version = TRIAGE_VERSION;
    unsigned w = 0, lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        scrub::WorkerConfig& c = cfgs[w];
        c.outside_port = opt.outside_port;
        c.inside_port = opt.inside_port;
        c.queue = static_cast<uint16_t>(w);
        c.burst = opt.burst;
        c.index = w;
        c.nworkers = nworkers;
        c.rings = ports.steering ? ports.rings.data() : nullptr;
        c.shared = &shared;
        c.counters = &counters[w];
        c.lossless = opt.exit_on_eof;
        report.workers.push_back({lcore, c.queue, &counters[w]});
        rte_eal_remote_launch(scrub::worker_main, &c, lcore);
        ++w;
    }

    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    auto last_stats = started;
    telemetry::Totals prev;
    while (shared.state.load() == scrub::RunState::running) {
        rte_delay_us_sleep(10 * 1000);
        if (g_signal) {
            spdlog::info("signal {} received, stopping", static_cast<int>(g_signal));
            shared.state.store(scrub::RunState::stop, std::memory_order_release);
        } else if (eof && eof->exhausted()) {
            spdlog::debug("every pcap input read, draining");
            shared.state.store(scrub::RunState::draining, std::memory_order_release);
        }
        const auto now = clock::now();
        if (opt.stats_interval > 0 &&
            std::chrono::duration<double>(now - last_stats).count() >= opt.stats_interval) {
            report.sum();
            const telemetry::Totals t = report.totals;
            spdlog::info("{}", telemetry::stats_line(t, prev, std::chrono::duration<double>(now - last_stats).count()));
            prev = t;
            last_stats = now;
        }
    }
    rte_eal_mp_wait_lcore();
    for (const auto& c : cfgs) scrub::release_in_flight(c);
    const double seconds = std::chrono::duration<double>(clock::now() - started).count();

    report.forwarding_seconds = seconds;
    report.ports.push_back(app::read_port(opt.outside_port, "outside"));
    report.ports.push_back(app::read_port(opt.inside_port, "inside"));
    report.sum();
    app::stop_ports(opt, ports);

    int rc = 0;
    if (!opt.stats_json.empty()) {
        std::ofstream f(opt.stats_json);
        telemetry::write_json(f, report);
        f.close();
        if (!f) {
            spdlog::error("cannot write --stats-json file '{}'", opt.stats_json);
            rc = 1;
        }
    }
    if (!opt.quiet_summary) telemetry::write_summary(std::cout, report);
    rte_eal_cleanup();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "triage: %s\n", e.what());
        return 2;
    }
}
