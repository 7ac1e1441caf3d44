// triage-gen replay: paced transmission of a capture or a scenario out of one
// DPDK port, counting what arrives on the ports by class, with a line per
// second (the figures Pktgen shows) and a summary.
#include <rte_eal.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "dpdk_io.h"
#include "pcapfile.h"
#include "scenario.h"
#include "traffic.h"

namespace triage::gen {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true);
}

void replay_usage(FILE* to) {
    std::fprintf(to,
                 "usage: triage-gen replay [EAL options] -- SOURCE [options]\n"
                 "SOURCE (one):\n"
                 "  --pcap FILE           an Ethernet capture (pcap or pcapng)\n"
                 "  --scenario FILE       a scenario (docs/scenarios.md): its frames for one side, as built\n"
                 "  --side outside|inside with --scenario: which side's frames (default outside)\n"
                 "Pace (one; default --speed 1, the source's own timing):\n"
                 "  --pps RATE            frames per second (500, 20k, 1.5m)\n"
                 "  --mbps RATE           megabits per second of frame bytes (as captured: no FCS, preamble or gap)\n"
                 "  --speed X             the source's timing divided by X (2 = twice as fast)\n"
                 "  --top                 as fast as the port takes them\n"
                 "Options:\n"
                 "  --tx-port N           send out of port N (default 0; 1 with --side inside)\n"
                 "  --rx-port N|none      also count what arrives on port N (default the other of 0 and 1);\n"
                 "                        the TX port's own arrivals are always counted\n"
                 "  --loop N              send the source N times (default 1; 0 = until --duration or Ctrl-C)\n"
                 "  --duration SECONDS    stop sending after this long\n"
                 "  --drain MS            keep receiving this long after the last frame (default 500)\n"
                 "  --burst N             frames per TX burst, 1..512 (default 32)\n"
                 "  --json FILE           write the summary as JSON\n"
                 "  --quiet               no per-second lines\n"
                 "Example (no NIC: a memif pair to a triage started with role=server):\n"
                 "  triage-gen replay -l 0 --no-pci --no-huge -m 512 --file-prefix gen \\\n"
                 "      --vdev net_memif0,role=client,socket=/run/t.sock,id=0 \\\n"
                 "      --vdev net_memif1,role=client,socket=/run/t.sock,id=1 -- --scenario config/scenarios/clinic.scn --pps 50k\n");
}

struct Count {
    uint64_t packets = 0, bytes = 0;
};

struct PortRx {
    uint16_t port;
    Count total, second;
    std::vector<Count> by_class;  // streams first (with a scenario), then coarse classes
};

std::string fmt_num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

std::string fmt_rate(double v, const char* unit) {
    char b[48];
    if (v >= 1e9)
        std::snprintf(b, sizeof b, "%.2f G%s", v / 1e9, unit);
    else if (v >= 1e6)
        std::snprintf(b, sizeof b, "%.2f M%s", v / 1e6, unit);
    else if (v >= 1e3)
        std::snprintf(b, sizeof b, "%.2f k%s", v / 1e3, unit);
    else
        std::snprintf(b, sizeof b, "%.0f %s", v, unit);
    return b;
}

}  // namespace

int cmd_replay(int argc, char** argv) {
    // EAL arguments are everything up to "--".
    std::vector<std::string> eal{"triage-gen"};
    int i = 1;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) eal.emplace_back(argv[i]);
    if (i < argc) ++i;
    std::string pcap, scen, side_s = "outside", json;
    enum class Pace { speed, pps, mbps, top } pace = Pace::speed;
    double pace_v = 1;
    int paces = 0;
    long tx_port = -1, rx_port = -2;  // -1 / -2: the defaults below
    uint64_t loops = 1;
    double duration = 0, drain_ms = 500;
    unsigned burst = 32;
    bool quiet = false;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        auto need = [&]() {
            if (!v) std::fprintf(stderr, "triage-gen replay: %s needs a value\n", a.c_str());
            return v != nullptr;
        };
        auto num = [&](double lo, double hi, double& out) {
            char* end;
            out = std::strtod(v, &end);
            if (*end || !*v || !std::isfinite(out) || out < lo || out > hi) {
                std::fprintf(stderr, "triage-gen replay: %s: '%s' is not a number in %g..%g\n", a.c_str(), v, lo, hi);
                return false;
            }
            return true;
        };
        double d;
        std::string err;
        if (a == "-h" || a == "--help") {
            replay_usage(stdout);
            return 0;
        } else if (a == "--quiet") {
            quiet = true;
            continue;
        } else if (a == "--top") {
            pace = Pace::top;
            ++paces;
            continue;
        }
        if (!need()) return 2;
        if (a == "--pcap") {
            pcap = v;
        } else if (a == "--scenario") {
            scen = v;
        } else if (a == "--side") {
            side_s = v;
            if (side_s != "outside" && side_s != "inside") {
                std::fprintf(stderr, "triage-gen replay: --side: '%s' is not outside or inside\n", v);
                return 2;
            }
        } else if (a == "--pps" || a == "--mbps") {
            if (!parse_rate(v, pace_v, err)) {
                std::fprintf(stderr, "triage-gen replay: %s: %s\n", a.c_str(), err.c_str());
                return 2;
            }
            pace = a == "--pps" ? Pace::pps : Pace::mbps;
            if (pace == Pace::mbps) pace_v *= 1e6;  // bit/s from here on
            ++paces;
        } else if (a == "--speed") {
            if (!num(0.001, 1e6, pace_v)) return 2;
            pace = Pace::speed;
            ++paces;
        } else if (a == "--tx-port") {
            if (!num(0, RTE_MAX_ETHPORTS - 1, d)) return 2;
            tx_port = static_cast<long>(d);
        } else if (a == "--rx-port") {
            if (std::strcmp(v, "none") == 0) {
                rx_port = -1;
            } else {
                if (!num(0, RTE_MAX_ETHPORTS - 1, d)) return 2;
                rx_port = static_cast<long>(d);
            }
        } else if (a == "--loop") {
            if (!num(0, 1e12, d)) return 2;
            loops = static_cast<uint64_t>(d);
        } else if (a == "--duration") {
            if (!num(0.001, 86400 * 365, duration)) return 2;
        } else if (a == "--drain") {
            if (!num(0, 60000, drain_ms)) return 2;
        } else if (a == "--burst") {
            if (!num(1, 512, d)) return 2;
            burst = static_cast<unsigned>(d);
        } else if (a == "--json") {
            json = v;
        } else {
            std::fprintf(stderr, "triage-gen replay: unknown option '%s' (--help lists them)\n", a.c_str());
            return 2;
        }
        ++i;
    }
    if (pcap.empty() == scen.empty()) {
        std::fprintf(stderr, "triage-gen replay: give one source: --pcap FILE or --scenario FILE\n");
        return 2;
    }
    if (paces > 1) {
        std::fprintf(stderr, "triage-gen replay: give one pace: --pps, --mbps, --speed or --top\n");
        return 2;
    }
    if (loops == 0 && duration == 0)
        std::fprintf(stderr, "triage-gen replay: --loop 0 without --duration: sending until Ctrl-C\n");

    // The source, in memory: frames and their offsets from the first.
    std::vector<PcapFrame> frames;
    Scenario sc;
    std::string err;
    if (!pcap.empty()) {
        if (!read_pcap(pcap, frames, err)) {
            std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
            return 2;
        }
    } else {
        if (!load_scenario(scen, sc, err)) {
            std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
            return 2;
        }
        const Side want = side_s == "outside" ? Side::outside : Side::inside;
        Builder b(sc);
        Frame f;
        while (b.next(f))
            if (f.side == want) frames.push_back(PcapFrame{f.t_ns, std::move(f.bytes)});
        if (frames.empty()) {
            std::fprintf(stderr, "triage-gen: %s: no frames enter on the %s\n", scen.c_str(), side_s.c_str());
            return 2;
        }
    }

    for (size_t k = 0; k < frames.size(); ++k)
        if (frames[k].bytes.size() > RTE_MBUF_DEFAULT_DATAROOM) {
            std::fprintf(stderr, "triage-gen: %s: frame %zu is %zu bytes; replay sends frames of at most %u bytes\n",
                         pcap.empty() ? scen.c_str() : pcap.c_str(), k + 1, frames[k].bytes.size(),
                         RTE_MBUF_DEFAULT_DATAROOM);
            return 2;
        }
    if (!eal_init(eal, err)) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        return 2;
    }
    // Outside frames go out of port 0 (cabled to triage's outside) and are
    // counted arriving on port 1; inside frames the other way round.
    const bool inside = !scen.empty() && side_s == "inside";
    if (tx_port < 0) tx_port = inside ? 1 : 0;
    if (rx_port == -2) {
        const long other = tx_port == 0 ? 1 : 0;
        rx_port = tx_port <= 1 && rte_eth_dev_is_valid_port(static_cast<uint16_t>(other)) ? other : -1;
    }
    std::vector<uint16_t> ids{static_cast<uint16_t>(tx_port)};
    if (rx_port >= 0 && rx_port != tx_port) ids.push_back(static_cast<uint16_t>(rx_port));
    Ports ports;
    if (!start_ports(ids, 16383, ports, err) || !wait_links(ids, 10, err)) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        stop_ports(ports);
        rte_eal_cleanup();
        return 2;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const Scenario* scp = scen.empty() ? nullptr : &sc;
    const size_t nstreams = scp ? sc.streams.size() : 0;
    std::vector<PortRx> rx;
    for (uint16_t id : ids) rx.push_back(PortRx{id, {}, {}, std::vector<Count>(nstreams + kClasses)});

    // The schedule: frame k of loop L at sched_ns.
    const uint64_t span = frames.back().t_ns + (frames.size() > 1 ? frames.back().t_ns / (frames.size() - 1) : 0);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t tsc0 = rte_rdtsc();
    double sched = 0;  // ns from tsc0 of the next frame
    size_t cur = 0;
    uint64_t loop = 0;
    bool tx_done = false;
    Count sent, sent_sec;
    uint64_t tx_retries = 0, nombuf = 0;
    std::vector<rte_mbuf*> pend(burst);
    unsigned npend = 0, pend_off = 0;
    std::vector<const uint8_t*> ptrs(burst);
    std::vector<uint32_t> lens(burst);
    uint64_t last_tx_ns = 0, next_line = 1'000'000'000, seconds = 0;
    const uint64_t dur_ns = static_cast<uint64_t>(duration * 1e9);
    const uint64_t drain_ns = static_cast<uint64_t>(drain_ms * 1e6);
    rte_mbuf* rxb[64];
    auto advance = [&](size_t len) {
        switch (pace) {
        case Pace::pps: sched += 1e9 / pace_v; break;
        case Pace::mbps: sched += static_cast<double>(len) * 8 * 1e9 / pace_v; break;
        case Pace::top: break;
        case Pace::speed: break;
        }
        if (++cur == frames.size()) {
            cur = 0;
            ++loop;
            if (loops && loop >= loops) tx_done = true;
        }
        if (pace == Pace::speed)
            sched = (static_cast<double>(loop) * static_cast<double>(span) + static_cast<double>(frames[cur].t_ns)) /
                    pace_v;
    };
    if (!quiet)
        std::printf("sending %zu frames from %s out of port %ld%s, %s\n", frames.size(),
                    pcap.empty() ? scen.c_str() : pcap.c_str(), tx_port,
                    rx_port >= 0 && rx_port != tx_port ? (", counting arrivals on port " + std::to_string(rx_port)).c_str() : "",
                    pace == Pace::pps    ? (fmt_rate(pace_v, "pps") + " target").c_str()
                    : pace == Pace::mbps ? (fmt_rate(pace_v, "bit/s") + " target").c_str()
                    : pace == Pace::top  ? "as fast as the port takes them"
                                         : ("the source's timing x" + fmt_num(pace_v)).c_str());
    for (;;) {
        const uint64_t now = tsc_ns(rte_rdtsc(), tsc0, hz);
        if (g_stop.load(std::memory_order_relaxed)) break;
        if (!tx_done && dur_ns && now >= dur_ns) tx_done = true;
        // TX: what is pending first, then what is due.
        if (npend == 0 && !tx_done) {
            unsigned n = 0;
            while (n < burst && !tx_done && sched <= static_cast<double>(now)) {
                ptrs[n] = frames[cur].bytes.data();
                lens[n] = static_cast<uint32_t>(frames[cur].bytes.size());
                ++n;
                advance(frames[cur].bytes.size());
            }
            if (n) {
                npend = fill_mbufs(ports.pool, ptrs.data(), lens.data(), n, pend.data());
                nombuf += n - npend;
                pend_off = 0;
            }
        }
        if (npend) {
            const uint16_t k = rte_eth_tx_burst(static_cast<uint16_t>(tx_port), 0, pend.data() + pend_off,
                                                static_cast<uint16_t>(npend));
            for (uint16_t j = 0; j < k; ++j) {
                sent.packets++;
                sent_sec.packets++;
                sent.bytes += pend[pend_off + j]->pkt_len;
                sent_sec.bytes += pend[pend_off + j]->pkt_len;
            }
            if (k < npend) ++tx_retries;
            pend_off += k;
            npend -= k;
            last_tx_ns = now;
        }
        // RX on every port we run.
        for (PortRx& r : rx) {
            const uint16_t n = rte_eth_rx_burst(r.port, 0, rxb, 64);
            for (uint16_t j = 0; j < n; ++j) {
                const auto* p = rte_pktmbuf_mtod(rxb[j], const uint8_t*);
                const uint32_t len = rte_pktmbuf_data_len(rxb[j]);
                size_t c;
                Seen sn;
                if (scp) identify(scp, p, len, sn);
                c = sn.stream >= 0 ? static_cast<size_t>(sn.stream) : nstreams + traffic_class(p, len);
                r.by_class[c].packets++;
                r.by_class[c].bytes += rxb[j]->pkt_len;
                r.total.packets++;
                r.total.bytes += rxb[j]->pkt_len;
                r.second.packets++;
                r.second.bytes += rxb[j]->pkt_len;
            }
            if (n) rte_pktmbuf_free_bulk(rxb, n);
        }
        if (now >= next_line) {
            ++seconds;
            if (!quiet) {
                std::printf("[%4llus] tx %-12s %-14s", static_cast<unsigned long long>(seconds),
                            fmt_rate(static_cast<double>(sent_sec.packets), "pps").c_str(),
                            fmt_rate(static_cast<double>(sent_sec.bytes) * 8, "bit/s").c_str());
                for (PortRx& r : rx)
                    std::printf(" | rx(%u) %-12s %-14s", r.port,
                                fmt_rate(static_cast<double>(r.second.packets), "pps").c_str(),
                                fmt_rate(static_cast<double>(r.second.bytes) * 8, "bit/s").c_str());
                std::printf("\n");
                std::fflush(stdout);
            }
            sent_sec = {};
            for (PortRx& r : rx) r.second = {};
            next_line += 1'000'000'000;
        }
        if (tx_done && npend == 0 && now >= last_tx_ns + drain_ns) break;
    }
    if (npend) rte_pktmbuf_free_bulk(pend.data() + pend_off, npend);
    const double secs = last_tx_ns > 0 ? static_cast<double>(last_tx_ns) / 1e9 : 0;
    // The achieved rate over the sending time: frames after the first, over
    // the time from the first send to the last (the first starts the clock).
    const double pps = secs > 0 && sent.packets > 1 ? static_cast<double>(sent.packets - 1) / secs : 0;
    const double bps = secs > 0 ? static_cast<double>(sent.bytes) * 8 / secs : 0;
    std::printf("sent %llu frames, %llu bytes in %.3f s: %s, %s", static_cast<unsigned long long>(sent.packets),
                static_cast<unsigned long long>(sent.bytes), secs, fmt_rate(pps, "pps").c_str(),
                fmt_rate(bps, "bit/s").c_str());
    if (pace == Pace::pps) std::printf(" (target %s: %+.2f%%)", fmt_rate(pace_v, "pps").c_str(), (pps / pace_v - 1) * 100);
    if (pace == Pace::mbps)
        std::printf(" (target %s: %+.2f%%)", fmt_rate(pace_v, "bit/s").c_str(), (bps / pace_v - 1) * 100);
    std::printf("; %llu loops; TX queue full on %llu tries (retried, not lost); %llu frames not sent (no mbuf)\n",
                static_cast<unsigned long long>(loop), static_cast<unsigned long long>(tx_retries),
                static_cast<unsigned long long>(nombuf));
    for (PortRx& r : rx) {
        std::printf("received on port %u: %llu frames, %llu bytes\n", r.port,
                    static_cast<unsigned long long>(r.total.packets), static_cast<unsigned long long>(r.total.bytes));
        for (size_t c = 0; c < r.by_class.size(); ++c)
            if (r.by_class[c].packets)
                std::printf("  %-16s %12llu frames %14llu bytes\n",
                            c < nstreams ? sc.streams[c].name.c_str() : class_name(static_cast<unsigned>(c - nstreams)),
                            static_cast<unsigned long long>(r.by_class[c].packets),
                            static_cast<unsigned long long>(r.by_class[c].bytes));
    }
    int rc = 0;
    if (!json.empty()) {
        FILE* f = std::fopen(json.c_str(), "w");
        if (!f) {
            std::fprintf(stderr, "triage-gen: %s: cannot write: %s\n", json.c_str(), std::strerror(errno));
            rc = 2;
        } else {
            std::fprintf(f, "{\"sent_packets\": %llu, \"sent_bytes\": %llu, \"seconds\": %.6f, \"pps\": %.3f, \"bps\": %.3f",
                         static_cast<unsigned long long>(sent.packets), static_cast<unsigned long long>(sent.bytes), secs,
                         pps, bps);
            std::fprintf(f, ", \"pace\": \"%s\", \"target\": %.6g, \"loops\": %llu, \"tx_full\": %llu, \"no_mbuf\": %llu, \"ports\": [",
                         pace == Pace::pps ? "pps" : pace == Pace::mbps ? "bps" : pace == Pace::top ? "top" : "speed",
                         pace_v, static_cast<unsigned long long>(loop),
                         static_cast<unsigned long long>(tx_retries), static_cast<unsigned long long>(nombuf));
            for (size_t k = 0; k < rx.size(); ++k) {
                std::fprintf(f, "%s{\"port\": %u, \"packets\": %llu, \"bytes\": %llu, \"classes\": {", k ? ", " : "",
                             rx[k].port, static_cast<unsigned long long>(rx[k].total.packets),
                             static_cast<unsigned long long>(rx[k].total.bytes));
                bool first = true;
                for (size_t c = 0; c < rx[k].by_class.size(); ++c)
                    if (rx[k].by_class[c].packets) {
                        std::fprintf(f, "%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}", first ? "" : ", ",
                                     c < nstreams ? sc.streams[c].name.c_str()
                                                  : class_name(static_cast<unsigned>(c - nstreams)),
                                     static_cast<unsigned long long>(rx[k].by_class[c].packets),
                                     static_cast<unsigned long long>(rx[k].by_class[c].bytes));
                        first = false;
                    }
                std::fprintf(f, "}}");
            }
            std::fprintf(f, "]}\n");
            std::fclose(f);
        }
    }
    stop_ports(ports);
    rte_eal_cleanup();
    return rc;
}

}  // namespace triage::gen
