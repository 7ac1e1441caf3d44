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
#include <initializer_list>
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

// Options that only print something are answered before the EAL starts, so
// they work on any machine, without privileges or devices.
bool wants(int argc, char** argv, std::initializer_list<std::string_view> names) {
    bool after_dashes = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") after_dashes = true;
        else if (after_dashes)
            for (auto n : names)
                if (a == n) return true;
    }
    return false;
}

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
            if (s.ipackets + s.ierrors < n) return false;
        }
        return true;
    }

private:
    std::vector<std::pair<uint16_t, uint64_t>> want_;
};

telemetry::Totals sum(const std::vector<telemetry::WorkerCounters>& c) {
    telemetry::Totals t;
    for (const auto& w : c) t.add(w);
    return t;
}

int run(int argc, char** argv) {
    if (wants(argc, argv, {"--help", "-h"})) {
        app::print_usage(argv[0]);
        return 0;
    }
    if (wants(argc, argv, {"--list-drop-reasons"})) {
        list_drop_reasons();
        return 0;
    }
    app::PcapInputs pcaps;
    std::string err;
    if (!app::collect_pcap_inputs(argc, argv, pcaps, err)) {
        std::fprintf(stderr, "triage: %s\n", err.c_str());
        return 2;
    }
    const int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        std::fprintf(stderr, "triage: EAL initialisation failed: %s (see the EAL messages above)\n",
                     rte_strerror(rte_errno));
        return 2;
    }
    argc -= eal_args;
    argv += eal_args;
    argv[0] = const_cast<char*>("triage");

    app::Options opt;
    if (const int rc = app::parse_options(argc, argv, opt); rc != 0) {
        rte_eal_cleanup();
        return rc > 0 ? 0 : 2;
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

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    scrub::Shared shared;
    std::vector<telemetry::WorkerCounters> counters(nworkers);
    std::vector<scrub::WorkerConfig> cfgs(nworkers);
    std::vector<telemetry::WorkerReport> worker_reports;
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
        worker_reports.push_back({lcore, c.queue, &counters[w]});
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
            const telemetry::Totals t = sum(counters);
            spdlog::info("{}", telemetry::stats_line(t, prev, std::chrono::duration<double>(now - last_stats).count()));
            prev = t;
            last_stats = now;
        }
    }
    rte_eal_mp_wait_lcore();
    const double seconds = std::chrono::duration<double>(clock::now() - started).count();

    telemetry::Report report;
    report.version = TRIAGE_VERSION;
    report.forwarding_seconds = seconds;
    report.ports.push_back(app::read_port(opt.outside_port, "outside"));
    report.ports.push_back(app::read_port(opt.inside_port, "inside"));
    report.workers = worker_reports;
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
