// triage: EAL and port bring-up, worker launch, and the control loop on the
// main lcore (stats, --exit-on-eof, signals, exit report).
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_cycles.h>

#include <spdlog/spdlog.h>

#include <algorithm>
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

#include "capture.h"
#include "cli.h"
#include "control.h"
#include "options.h"
#include "pcap_inputs.h"
#include "ports.h"
#include "scrub.h"
#include "telemetry.h"
#include "dpdk_telemetry.h"
#include "latest.h"
#include "log.h"
#include "metrics_server.h"

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

// The console socket: --socket, else one per EAL --file-prefix so several
// instances (tests, a lab box running two) never collide.
std::string socket_path(const app::Options& o, int dashes, char** argv) {
    if (o.socket == "none") return {};
    if (!o.socket.empty()) return o.socket;
    std::string prefix = "triage";
    for (int i = 1; i < dashes; ++i) {
        const std::string_view a = argv[i];
        if (a == "--file-prefix" && i + 1 < dashes) prefix = argv[i + 1];
        else if (a.substr(0, 14) == "--file-prefix=") prefix = std::string(a.substr(14));
    }
    return "/run/triage/" + prefix + ".sock";
}

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
    if (opt.cli_reference) {
        cli::Engine::write_reference(std::cout);
        return 0;
    }
    app::PcapInputs pcaps;
    std::string err;
    if (!app::collect_pcap_inputs(dashes, argv, opt.exit_on_eof, pcaps, err)) {
        std::fprintf(stderr, "triage: %s\n", err.c_str());
        return 2;
    }
    {
        // Before the EAL, so an unusable log file is refused before any device
        // is probed. Throws; main() prints the message and exits 2.
        telemetry::LogOptions lo;
        lo.level = opt.log_level;
        lo.file = opt.log_file;
        lo.file_max_bytes = size_t{opt.log_file_mb} << 20;
        lo.file_count = opt.log_file_count;
        lo.syslog = opt.log_syslog;
        telemetry::configure_logging(lo);
    }
    // Installed before bring-up, so a stop during a slow start is not lost.
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    if (rte_eal_init(dashes, argv) < 0) {
        std::fprintf(stderr, "triage: EAL initialisation failed: %s (see the EAL messages above)\n",
                     rte_strerror(rte_errno));
        return 2;
    }

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
    // Exporters read only `latest`, a copy the control core stores every
    // 250 ms (ethdev calls stay on this core). Declared after the counters
    // that its reports point at, so the exporters stop before those go.
    telemetry::Latest latest;
    std::unique_ptr<telemetry::MetricsServer> metrics;
    std::unique_ptr<telemetry::DpdkTelemetry> dpdk_telemetry;
    try {
        if (!opt.metrics.empty()) {
            metrics = std::make_unique<telemetry::MetricsServer>(opt.metrics, latest);
            spdlog::info("metrics at http://{}/metrics", metrics->address().str());
        }
        dpdk_telemetry = std::make_unique<telemetry::DpdkTelemetry>(latest);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        metrics.reset();
        app::stop_ports(opt, ports);
        rte_eal_cleanup();
        return 2;
    }
    std::chrono::steady_clock::time_point last_publish{};
    const auto publish = [&](double seconds) {
        telemetry::Report r = report;
        r.forwarding_seconds = seconds;
        r.ports = {app::read_port(opt.outside_port, "outside"), app::read_port(opt.inside_port, "inside")};
        r.sum();
        latest.store(std::move(r));
    };
    // Policy and console exist before any worker runs: workers read a
    // snapshot from their first packet, and -f decides what that is.
    policy::Publisher pub(nworkers);
    unsigned w = 0, lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        report.workers.push_back({lcore, static_cast<uint16_t>(w), &counters[w]});
        ++w;
    }
    // Detection's per-prefix counters, one array per worker.
    std::vector<std::unique_ptr<detect::EntryCounters[]>> entry_counters;
    std::vector<const detect::EntryCounters*> entry_views;
    for (unsigned k = 0; k < nworkers; ++k) {
        entry_counters.emplace_back(new detect::EntryCounters[policy::kMaxProtected]);
        entry_views.push_back(entry_counters.back().get());
    }
    // Packet capture: a tap per worker (its sample ring, mempool and manual
    // ring on the worker's socket), drained by the control core.
    std::vector<std::unique_ptr<capture::Tap>> taps;
    std::unique_ptr<capture::Recorder> recorder;
    if (opt.capture_ring > 0) {
        capture::Settings cs;
        cs.sample_every = opt.capture_sample;
        cs.payload = opt.capture_payload;
        cs.ring = opt.capture_ring;
        std::vector<capture::Tap*> views;
        try {
            RTE_LCORE_FOREACH_WORKER(lcore) {
                taps.push_back(std::make_unique<capture::Tap>(static_cast<unsigned>(taps.size()),
                                                              static_cast<int>(rte_lcore_to_socket_id(lcore)), cs));
                views.push_back(taps.back().get());
            }
        } catch (const std::exception& e) {
            spdlog::error("{} (give the EAL more memory with -m, or --capture-ring 0 to run without capture)", e.what());
            taps.clear();
            metrics.reset();
            dpdk_telemetry.reset();
            app::stop_ports(opt, ports);
            rte_eal_cleanup();
            return 2;
        }
        recorder = std::make_unique<capture::Recorder>(std::move(views), cs);
    }
    app::Control control(opt, report, pub, TRIAGE_VERSION);
    control.set_entry_counters(entry_views);
    control.set_recorder(recorder.get());
    std::vector<std::unique_ptr<scrub::SketchSlot>> sketch_slots;
    std::vector<scrub::SketchSlot*> sketch_views;
    for (unsigned k = 0; k < nworkers; ++k) {
        sketch_slots.push_back(std::make_unique<scrub::SketchSlot>());
        sketch_views.push_back(sketch_slots.back().get());
    }
    control.set_sketches(sketch_views);
    cli::Engine engine(cli::commands(), control);
    cli::Console console(engine);
    try {
        if (!opt.script.empty()) {
            cli::Session boot(engine, [](std::string_view out) { std::fwrite(out.data(), 1, out.size(), stdout); },
                              opt.script);
            if (!boot.run_file(opt.script)) throw std::runtime_error("refusing to start: " + opt.script + " did not apply");
        }
        const std::string sock = socket_path(opt, dashes, argv);
        if (!sock.empty()) {
            try {
                console.listen(sock);
                spdlog::info("console socket {} (triage-cli -s {})", sock, sock);
            } catch (const std::exception& e) {
                // An explicit --socket must work; the default may be out of
                // reach (no /run/triage for this user) without stopping the box.
                if (!opt.socket.empty()) throw;
                spdlog::warn("{}; running without a console socket", e.what());
            }
        }
        if (opt.interactive) console.open_terminal();
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        console.close_all();
        metrics.reset();
        dpdk_telemetry.reset();
        control.set_recorder(nullptr);
        recorder.reset();
        taps.clear();
        app::stop_ports(opt, ports);
        rte_eal_cleanup();
        return 2;
    }
    // One key for every worker's tables, from getrandom: an attacker who
    // cannot predict it cannot aim sources at one table set.
    const net::SipKey table_key = syncookie::random_key();
    w = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        scrub::WorkerConfig& c = cfgs[w];
        c.tables.sources = opt.sources;
        c.tables.authenticated = std::max<size_t>(16384, opt.sources / 4);
        c.tables.solicited = std::max<size_t>(16384, opt.sources / 4);
        c.table_key = table_key;
        c.outside_port = opt.outside_port;
        c.inside_port = opt.inside_port;
        c.queue = static_cast<uint16_t>(w);
        c.burst = opt.burst;
        c.index = w;
        c.nworkers = nworkers;
        c.rings = ports.steering ? ports.rings.data() : nullptr;
        c.shared = &shared;
        c.counters = &counters[w];
        c.entries = entry_counters[w].get();
        c.tap = taps.empty() ? nullptr : taps[w].get();
        c.sample_every = opt.capture_sample;
        c.capture_rate = opt.capture_rate;
        c.sketch = sketch_slots[w].get();
        c.lossless = opt.exit_on_eof;
        c.policy = &pub;
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
        console.poll();
        control.tick();
        if (console.terminal_closed() && shared.state.load() == scrub::RunState::running) {
            spdlog::info("console closed, stopping");
            shared.state.store(scrub::RunState::stop, std::memory_order_release);
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
        if (now - last_publish >= std::chrono::milliseconds(250)) {
            control.fill(report.policy);
            publish(std::chrono::duration<double>(now - started).count());
            last_publish = now;
        }
    }
    console.close_all();
    rte_eal_mp_wait_lcore();
    control.finish();
    for (const auto& c : cfgs) scrub::release_in_flight(c);
    control.fill(report.policy);
    const double seconds = std::chrono::duration<double>(clock::now() - started).count();

    report.forwarding_seconds = seconds;
    report.ports.push_back(app::read_port(opt.outside_port, "outside"));
    report.ports.push_back(app::read_port(opt.inside_port, "inside"));
    report.sum();
    latest.store(report);  // the final figures, for a scrape during shutdown
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
    if (metrics) metrics->stop();
    dpdk_telemetry.reset();
    control.set_recorder(nullptr);
    recorder.reset();  // its rings and mempools go before the EAL does
    taps.clear();
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
