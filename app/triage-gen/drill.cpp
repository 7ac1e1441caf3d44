// triage-gen drill: a scenario through a real triage. triage runs as its own
// DPDK process with two memif ports (role=server); triage-gen connects to
// both as the Internet (port 0) and the clinic (port 1), plays the scenario
// live (lib/gen's Live: clients, servers and attackers answering what the
// box lets through), then reads triage's counters and reports.
#include <rte_eal.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "dpdk_io.h"
#include "scenario.h"
#include "traffic.h"

namespace triage::gen {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
    g_stop.store(true);
}

constexpr uint64_t kDrainNs = 1'500'000'000;  // after the scenario: answers, retransmissions

bool executable_file(const std::string& p) {
    return !p.empty() && access(p.c_str(), X_OK) == 0;
}

std::string find_triage(const std::string& given, const char* self) {
    if (!given.empty()) return given;
    if (const char* e = std::getenv("TRIAGE"); e && *e) return e;
    std::string dir = self;
    const size_t slash = dir.find_last_of('/');
    dir = slash == std::string::npos ? "." : dir.substr(0, slash);
    for (const std::string& c : {dir + "/../triage/triage", dir + "/triage"})
        if (executable_file(c)) return c;
    return "triage";  // PATH
}

// The number after "key": in the object reached by following keys in order.
bool json_number(const std::string& doc, std::initializer_list<std::string_view> path, uint64_t& out) {
    size_t at = 0;
    for (std::string_view k : path) {
        const std::string q = "\"" + std::string(k) + "\":";
        at = doc.find(q, at);
        if (at == std::string::npos) return false;
        at += q.size();
    }
    while (at < doc.size() && doc[at] == ' ') ++at;
    char* end;
    out = std::strtoull(doc.c_str() + at, &end, 10);
    return end != doc.c_str() + at;
}

struct Mechanism {
    const char* what;  // shown
    std::vector<std::string> path;
};

// Where triage counts the drops particular to each kind of attack (the
// reasons any packet can meet - deny list, service ACL, transit - are listed
// once, for the whole drill).
std::vector<Mechanism> mechanisms(const Stream& s) {
    std::vector<Mechanism> m;
    auto cls = [](const std::string& c) { return std::vector<std::string>{"traffic_classes", c, "dropped"}; };
    switch (s.kind) {
    case Kind::syn_flood:
        m.push_back({"syn_cookie: answered with a cookie SYN-ACK, never reached the server", {"drops", "syn_cookie"}});
        m.push_back({"rate limit on the syn class", cls("syn")});
        break;
    case Kind::ack_flood:
    case Kind::rst_flood:
        m.push_back({"tcp_unauthenticated: from a source that never passed SYN authentication",
                     {"drops", "tcp_unauthenticated"}});
        m.push_back({"rate limit on the tcp class", cls("tcp")});
        break;
    case Kind::udp_flood: m.push_back({"rate limit on the udp class", cls("udp")}); break;
    case Kind::reflection:
        m.push_back({nullptr, cls(vector_name(s.vector))});
        break;
    case Kind::icmp_flood: m.push_back({"rate limit on the icmp class", cls("icmp")}); break;
    case Kind::fragment_flood:
        m.push_back({"fragment_policy: the policy drops fragments", {"drops", "fragment_policy"}});
        m.push_back({"rate limit on the fragment class", cls("fragment")});
        break;
    case Kind::http_get_flood:
        m.push_back({"signature: the payload matched a drop signature", {"drops", "signature"}});
        m.push_back({"tcp_unauthenticated", {"drops", "tcp_unauthenticated"}});
        break;
    default: break;
    }
    return m;
}

std::string fmt_count(uint64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

double pct(uint64_t part, uint64_t whole) {
    return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += c;
        }
    }
    return o;
}

struct StreamReport {
    std::string name, kind;
    bool legit;
    uint64_t units = 0, ok = 0;  // exchanges started / completed (legit); packets or requests sent / dropped (attack)
    double delivered_pct = 0, dropped_pct = 0;
    double handshake_pct = -1;   // TCP session kinds only
    double first_drop_ms = -1;   // floods: from the stream's start to its first lost packet; -1 none
    std::string detail;
    std::vector<std::pair<std::string, uint64_t>> mech;
};

}  // namespace

int cmd_drill(int argc, char** argv, const char* self) {
    std::string scen_path, config, triage_bin, json, workdir;
    std::vector<std::string> triage_extra;  // --triage-arg, after triage's own options
    bool quiet = false, no_config = false;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "triage-gen drill: %s needs a value\n", a.c_str());
                return false;
            }
            out = argv[++i];
            return true;
        };
        if (a == "--config") {
            if (!value(config)) return 2;
        } else if (a == "--no-config") {
            no_config = true;
        } else if (a == "--triage") {
            if (!value(triage_bin)) return 2;
        } else if (a == "--json") {
            if (!value(json)) return 2;
        } else if (a == "--workdir") {
            if (!value(workdir)) return 2;
        } else if (a == "--triage-arg") {
            std::string v;
            if (!value(v)) return 2;
            triage_extra.push_back(v);
        } else if (a == "--quiet") {
            quiet = true;
        } else if (a == "-h" || a == "--help") {
            std::printf(
                "usage: triage-gen drill SCENARIO [--config FILE | --no-config] [--triage PATH] [--json FILE]\n"
                "                        [--workdir DIR] [--triage-arg ARG]... [--quiet]\n"
                "Runs SCENARIO through a real triage (started here on two memif ports: no NIC, no hugepages)\n"
                "with the scenario's `config` console script (or --config FILE; --no-config: none), then\n"
                "reports legitimate traffic delivered, each attack's share dropped and by what, the time to\n"
                "the first drop, the incidents triage's detection opened (vectors with confidence, time from\n"
                "each flood's first packet to its detection, mitigation on/off), the scenario's expect checks\n"
                "and a verdict. Exit 0 pass, 1 fail, 2 error.\n"
                "--triage: the binary (default $TRIAGE, else beside triage-gen, else PATH).\n"
                "--workdir: where triage's log and counters go (default a new /tmp/triage-drill.*, kept).\n"
                "--triage-arg: one more triage option after its `--` (repeatable), e.g.\n"
                "  --triage-arg --syslog-cef --triage-arg udp://127.0.0.1:5514\n");
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "triage-gen drill: unknown option '%s'\n", a.c_str());
            return 2;
        } else if (scen_path.empty()) {
            scen_path = a;
        } else {
            std::fprintf(stderr, "triage-gen drill: one scenario only ('%s' is a second)\n", a.c_str());
            return 2;
        }
    }
    if (scen_path.empty()) {
        std::fprintf(stderr, "triage-gen drill: give a scenario file (examples: config/scenarios/)\n");
        return 2;
    }
    Scenario sc;
    std::string err;
    if (!load_scenario(scen_path, sc, err)) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        return 2;
    }
    if (no_config)
        config.clear();
    else if (config.empty())
        config = sc.config;
    if (!config.empty() && access(config.c_str(), R_OK) != 0) {
        std::fprintf(stderr, "triage-gen: %s: cannot read the triage console script: %s\n", config.c_str(),
                     std::strerror(errno));
        return 2;
    }
    for (const Stream& st : sc.streams)
        if (st.size > RTE_MBUF_DEFAULT_DATAROOM) {
            std::fprintf(stderr, "triage-gen: %s:%u: stream %s: size %u does not fit a %u-byte mbuf (drills send at most %u)\n",
                         sc.origin.c_str(), st.line, st.name.c_str(), st.size, RTE_MBUF_DEFAULT_DATAROOM,
                         RTE_MBUF_DEFAULT_DATAROOM);
            return 2;
        }
    triage_bin = find_triage(triage_bin, self);
    if (workdir.empty()) {
        char tmpl[] = "/tmp/triage-drill.XXXXXX";
        if (!mkdtemp(tmpl)) {
            std::fprintf(stderr, "triage-gen: cannot create a work directory in /tmp: %s\n", std::strerror(errno));
            return 2;
        }
        workdir = tmpl;
    } else if (mkdir(workdir.c_str(), 0700) != 0 && errno != EEXIST) {
        std::fprintf(stderr, "triage-gen: %s: cannot create: %s\n", workdir.c_str(), std::strerror(errno));
        return 2;
    }
    const std::string sock = workdir + "/memif.sock", stats = workdir + "/triage-stats.json",
                      log = workdir + "/triage.log", incidents = workdir + "/incidents.jsonl";
    unlink(incidents.c_str());
    unlink(stats.c_str());
    const std::string tr_prefix = "drill_tr_" + std::to_string(getpid());
    const std::string gen_prefix = "drill_gen_" + std::to_string(getpid());

    // triage: the control core on lcore 0, one worker on lcore 1.
    std::vector<std::string> targs{triage_bin, "-l", "0,1", "--no-pci", "--no-huge", "-m", "512",
                                   "--file-prefix", tr_prefix, "--log-level=lib.eal:error",
                                   "--vdev", "net_memif0,role=server,id=0,socket=" + sock,
                                   "--vdev", "net_memif1,role=server,id=1,socket=" + sock,
                                   "--", "--stats-interval", "0", "--stats-json", stats,
                                   "--incident-log", incidents, "--incident-dir", workdir};
    if (!config.empty()) {
        targs.push_back("-f");
        targs.push_back(config);
    }
    targs.insert(targs.end(), triage_extra.begin(), triage_extra.end());
    if (!quiet) {
        std::printf("drill %s: %s\n", sc.name.c_str(), sc.description.c_str());
        std::printf("triage: %s %s (two memif ports, one worker); work dir %s\n", triage_bin.c_str(),
                    config.empty() ? "unconfigured" : ("-f " + config).c_str(), workdir.c_str());
        std::fflush(stdout);
    }
    const pid_t tr = fork();
    if (tr < 0) {
        std::fprintf(stderr, "triage-gen: fork: %s\n", std::strerror(errno));
        return 2;
    }
    if (tr == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        const int nul = ::open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        std::vector<char*> av;
        for (std::string& s : targs) av.push_back(s.data());
        av.push_back(nullptr);
        execvp(av[0], av.data());
        std::fprintf(stderr, "triage-gen: cannot run %s: %s\n", av[0], std::strerror(errno));
        _exit(127);
    }
    auto runtime_dirs = [&] {  // the EAL leaves its runtime directory for secondary processes
        std::error_code ec;
        for (const std::string& p : {tr_prefix, gen_prefix}) std::filesystem::remove_all("/var/run/dpdk/" + p, ec);
    };
    int tr_status = 0;
    bool tr_exited = false;
    auto stop_triage = [&](bool report) {
        if (tr_exited) return;
        kill(tr, SIGINT);
        for (int k = 0; k < 300; ++k) {
            if (waitpid(tr, &tr_status, WNOHANG) == tr) {
                tr_exited = true;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (report) std::fprintf(stderr, "triage-gen: triage did not stop within 15 s of SIGINT; killing it\n");
        kill(tr, SIGKILL);
        waitpid(tr, &tr_status, 0);
        tr_exited = true;
    };
    auto fail = [&](const std::string& why) {
        std::fprintf(stderr, "triage-gen: %s\n", why.c_str());
        stop_triage(false);
        std::ifstream in(log);
        std::string line, tail;
        std::deque<std::string> last;
        while (std::getline(in, line)) {
            last.push_back(line);
            if (last.size() > 12) last.pop_front();
        }
        std::fprintf(stderr, "triage's log (%s), last lines:\n", log.c_str());
        for (const std::string& l : last) std::fprintf(stderr, "  %s\n", l.c_str());
        runtime_dirs();
        return 2;
    };
    // Wait for triage's ports (its memif sockets are abstract: no file to
    // watch, so its start-up log says when), then for its -f script.
    auto log_has = [&](const char* what) {
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str().find(what) != std::string::npos;
    };
    for (int k = 0;; ++k) {
        if (log_has(" forwarding: ") && (log_has("console socket") || log_has("without a console socket"))) break;
        if (waitpid(tr, &tr_status, WNOHANG) == tr) {
            tr_exited = true;
            return fail("triage exited during start-up (status " + std::to_string(WEXITSTATUS(tr_status)) + ")");
        }
        if (k > 600) return fail("triage did not finish starting within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<std::string> eal{"triage-gen", "-l", "0", "--no-pci", "--no-huge", "-m", "512",
                                 "--file-prefix", gen_prefix, "--no-telemetry", "--log-level=lib.eal:error", "--log-level=pmd.net.memif:error",
                                 "--vdev", "net_memif0,role=client,id=0,socket=" + sock,
                                 "--vdev", "net_memif1,role=client,id=1,socket=" + sock};
    if (!eal_init(eal, err)) return fail(err);
    Ports ports;
    if (!start_ports({0, 1}, 32767, ports, err) || !wait_links({0, 1}, 20, err)) {
        stop_ports(ports);
        rte_eal_cleanup();
        return fail(err);
    }
    // triage forwards as soon as its links are up; give its workers a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (waitpid(tr, &tr_status, WNOHANG) == tr) {
        tr_exited = true;
        stop_ports(ports);
        rte_eal_cleanup();
        return fail("triage exited during start-up");
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    Live live(sc);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t tsc0 = rte_rdtsc();
    // The same instant on the wall clock, the clock of triage's incident
    // times: a stream's first packet is at wall0_ms + its send time.
    const double wall0_ms =
        std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::deque<Out> pending[2];
    std::vector<Out> outs;
    rte_mbuf* burst[64];
    const uint8_t* ptrs[32];
    uint32_t lens[32];
    uint64_t tx_full = 0, next_line = 1'000'000'000;
    uint64_t now = 0;
    const uint64_t end = sc.duration_ns + kDrainNs;
    std::vector<uint64_t> last_sent(sc.streams.size()), last_deliv(sc.streams.size());
    while (!g_stop.load(std::memory_order_relaxed)) {
        now = tsc_ns(rte_rdtsc(), tsc0, hz);
        if (now >= end) break;
        outs.clear();
        live.tick(now, outs, 64);
        for (uint16_t side = 0; side < 2; ++side) {
            const uint16_t n = rte_eth_rx_burst(side, 0, burst, 64);
            for (uint16_t j = 0; j < n; ++j)
                live.receive(static_cast<Side>(side), rte_pktmbuf_mtod(burst[j], const uint8_t*),
                             rte_pktmbuf_data_len(burst[j]), now, outs);
            if (n) rte_pktmbuf_free_bulk(burst, n);
        }
        for (Out& o : outs) pending[static_cast<unsigned>(o.side)].push_back(std::move(o));
        for (uint16_t side = 0; side < 2; ++side) {
            auto& q = pending[side];
            while (!q.empty()) {
                unsigned n = 0;
                for (; n < 32 && n < q.size(); ++n) {
                    ptrs[n] = q[n].bytes.data();
                    lens[n] = static_cast<uint32_t>(q[n].bytes.size());
                }
                const unsigned got = fill_mbufs(ports.pool, ptrs, lens, n, burst);
                const uint16_t k = rte_eth_tx_burst(side, 0, burst, static_cast<uint16_t>(got));
                if (k < got) rte_pktmbuf_free_bulk(burst + k, got - k);
                q.erase(q.begin(), q.begin() + k);
                if (k < n) {
                    ++tx_full;
                    break;
                }
            }
        }
        if (!quiet && now >= next_line) {
            const auto& r = live.results();
            std::string line;
            for (size_t s = 0; s < r.size(); ++s) {
                const uint64_t ds = r[s].sent_packets - last_sent[s], dd = r[s].delivered_packets - last_deliv[s];
                last_sent[s] = r[s].sent_packets;
                last_deliv[s] = r[s].delivered_packets;
                if (ds || dd) line += " " + sc.streams[s].name + " " + fmt_count(dd) + "/" + fmt_count(ds);
            }
            if (!line.empty()) {
                std::printf("[%2llus]%s  (delivered/sent packets this second)\n",
                            static_cast<unsigned long long>(next_line / 1'000'000'000), line.c_str());
                std::fflush(stdout);
            }
            next_line += 1'000'000'000;
        }
        if (waitpid(tr, &tr_status, WNOHANG) == tr) {
            tr_exited = true;
            stop_ports(ports);
            rte_eal_cleanup();
            return fail("triage exited during the drill");
        }
    }
    const bool interrupted = g_stop.load();
    // triage first: while its worker still polls, closing our memif ports
    // unmaps the rings under it (a segfault in librte_net_memif, seen under load).
    stop_triage(true);
    stop_ports(ports);
    rte_eal_cleanup();
    runtime_dirs();
    if (interrupted) {
        std::fprintf(stderr, "triage-gen: drill interrupted; no verdict\n");
        return 2;
    }
    std::string doc;
    {
        std::ifstream in(stats);
        std::stringstream ss;
        ss << in.rdbuf();
        doc = ss.str();
    }
    if (doc.empty()) return fail("triage wrote no counters to " + stats);

    // ---------------------------------------------------------------- report
    const auto& res = live.results();
    std::vector<StreamReport> reps;
    uint64_t legit_units = 0, legit_ok = 0, attack_units = 0, attack_dropped = 0, legit_challenges = 0;
    for (size_t s = 0; s < sc.streams.size(); ++s) {
        const Stream& st = sc.streams[s];
        const StreamResult& r = res[s];
        StreamReport rp;
        rp.name = st.name;
        rp.kind = kind_name(st.kind);
        if (st.kind == Kind::reflection) rp.kind += std::string(" ") + vector_name(st.vector);
        rp.legit = st.legit();
        char b[512];
        if (rp.legit) {
            rp.units = r.sessions;
            rp.ok = r.completed;
            rp.delivered_pct = pct(r.completed, r.sessions);
            rp.dropped_pct = 100 - rp.delivered_pct;
            legit_units += r.sessions;
            legit_ok += r.completed;
            legit_challenges += r.auth_challenges;
            if (st.kind == Kind::web_clients) {
                rp.handshake_pct = pct(r.handshakes, r.sessions);
                std::snprintf(b, sizeof b,
                              "%s sessions: %s handshakes (%.1f%%), %s answered (%.1f%%), %s gave up; connect time "
                              "avg %.1f ms, max %.1f ms; %s cookie challenges answered; packets %s of %s got through",
                              fmt_count(r.sessions).c_str(), fmt_count(r.handshakes).c_str(), rp.handshake_pct,
                              fmt_count(r.completed).c_str(), rp.delivered_pct, fmt_count(r.failed).c_str(),
                              r.handshakes ? static_cast<double>(r.handshake_ns_sum) / static_cast<double>(r.handshakes) / 1e6 : 0.0,
                              static_cast<double>(r.handshake_ns_max) / 1e6, fmt_count(r.auth_challenges).c_str(),
                              fmt_count(r.delivered_packets).c_str(), fmt_count(r.sent_packets).c_str());
            } else {
                std::snprintf(b, sizeof b, "%s %s, %s answered (%.1f%%); packets %s of %s got through",
                              fmt_count(r.sessions).c_str(), st.kind == Kind::dns_clients ? "queries" : "echo requests",
                              fmt_count(r.completed).c_str(), rp.delivered_pct, fmt_count(r.delivered_packets).c_str(),
                              fmt_count(r.sent_packets).c_str());
            }
        } else if (st.kind == Kind::http_get_flood) {
            rp.units = r.sessions;
            rp.ok = r.sessions - std::min(r.sessions, r.requests);
            rp.dropped_pct = pct(rp.ok, rp.units);
            rp.delivered_pct = 100 - rp.dropped_pct;
            rp.handshake_pct = pct(r.handshakes, r.sessions);
            attack_units += rp.units;
            attack_dropped += rp.ok;
            std::snprintf(b, sizeof b, "%s bot sessions (%s handshakes): %s requests reached the server, %s stopped (%.2f%%)",
                          fmt_count(r.sessions).c_str(), fmt_count(r.handshakes).c_str(), fmt_count(r.requests).c_str(),
                          fmt_count(rp.ok).c_str(), rp.dropped_pct);
        } else {
            rp.units = r.sent_packets;
            rp.ok = r.sent_packets - std::min(r.sent_packets, r.delivered_packets);
            rp.dropped_pct = pct(rp.ok, rp.units);
            rp.delivered_pct = 100 - rp.dropped_pct;
            attack_units += rp.units;
            attack_dropped += rp.ok;
            const int64_t lost = r.first_lost();
            if (lost >= 0 && static_cast<size_t>(lost) < r.sent_ns.size())
                rp.first_drop_ms = static_cast<double>(r.sent_ns[static_cast<size_t>(lost)] - r.sent_ns[0]) / 1e6;
            char fd[64] = "no packet dropped";
            if (rp.first_drop_ms >= 0) std::snprintf(fd, sizeof fd, "first drop %.1f ms after it began", rp.first_drop_ms);
            std::snprintf(b, sizeof b, "%s packets (%.0f pps from %s): %s dropped (%.2f%%), %s reached the clinic; %s",
                          fmt_count(r.sent_packets).c_str(), st.rate, format_ns(st.start_ns).c_str(),
                          fmt_count(rp.ok).c_str(), rp.dropped_pct, fmt_count(r.delivered_packets).c_str(), fd);
        }
        rp.detail = b;
        if (!rp.legit)
            for (const Mechanism& m : mechanisms(st)) {
                uint64_t v = 0;
                std::vector<std::string_view> path(m.path.begin(), m.path.end());
                bool found = false;
                if (path.size() == 2) found = json_number(doc, {path[0], path[1]}, v);
                if (path.size() == 3) found = json_number(doc, {path[0], path[1], path[2]}, v);
                if (!found || v == 0) continue;
                std::string what = m.what ? m.what
                                          : std::string("rate limit on the ") + vector_name(st.vector) + " reflection class";
                rp.mech.emplace_back(what, v);
            }
        reps.push_back(std::move(rp));
    }
    // Every drop reason triage counted (its "drops" object), largest first.
    std::vector<std::pair<std::string, uint64_t>> reasons;
    if (size_t at = doc.find("\"drops\": {"); at != std::string::npos) {
        const size_t close = doc.find('}', at);
        at += 10;
        while (at < close) {
            const size_t q1 = doc.find('"', at);
            if (q1 >= close) break;
            const size_t q2 = doc.find('"', q1 + 1);
            const std::string name = doc.substr(q1 + 1, q2 - q1 - 1);
            const uint64_t v = std::strtoull(doc.c_str() + q2 + 2, nullptr, 10);
            if (v) reasons.emplace_back(name, v);
            at = doc.find(',', q2);
            if (at == std::string::npos) break;
        }
    }
    std::sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    uint64_t cookies_sent = 0, sources_auth = 0;
    json_number(doc, {"scrub", "syn_cookies_sent"}, cookies_sent);
    json_number(doc, {"scrub", "sources_authenticated"}, sources_auth);

    // Incidents triage's detection opened (its --incident-log, the latest
    // line of each), and each stream's first packet and end on the wall clock.
    std::vector<IncidentRecord> incs;
    {
        std::ifstream in(incidents);
        std::stringstream ss;
        ss << in.rdbuf();
        if (!parse_incident_log(ss.str(), incs, err)) return fail(incidents + ": " + err);
    }
    std::vector<double> first_ms(sc.streams.size(), -1), end_ms(sc.streams.size());
    for (size_t s = 0; s < sc.streams.size(); ++s) {
        if (!res[s].sent_ns.empty()) first_ms[s] = wall0_ms + static_cast<double>(res[s].sent_ns[0]) / 1e6;
        end_ms[s] = wall0_ms + static_cast<double>(sc.streams[s].end_ns(sc.duration_ns)) / 1e6;
    }
    unsigned mitigations_on = 0;
    for (const IncidentRecord& r : incs) mitigations_on += r.count("mitigation on");

    // ---------------------------------------------------------------- checks
    struct Check {
        std::string text;
        bool pass;
        std::string hint;
    };
    std::vector<Check> checks;
    std::vector<Expect> expects = sc.expects;
    if (expects.empty()) {
        Expect e;
        e.target = "legit";
        e.what = Expect::What::delivered;
        e.value = 99;
        bool any_legit = false;
        for (const Stream& st : sc.streams) any_legit |= st.legit();
        if (any_legit) expects.push_back(e);
        for (const Stream& st : sc.streams)
            if (!st.legit()) {
                Expect a;
                a.target = st.name;
                a.what = Expect::What::dropped;
                a.value = 90;
                expects.push_back(a);
            }
    }
    auto hint_for = [&](const std::string& name) -> std::string {
        const Stream* st = sc.find(name);
        if (!st) return "legitimate traffic was dropped: look at triage's drops by reason above and in " + stats;
        switch (st->kind) {
        case Kind::syn_flood: return "turn on SYN authentication (set policy P syn-auth on) or a SYN limit for the target's policy";
        case Kind::ack_flood:
        case Kind::rst_flood: return "SYN authentication also drops TCP from unauthenticated sources; or set a tcp limit";
        case Kind::udp_flood: return "close unused UDP ports with the service ACL, or set a udp limit";
        case Kind::reflection: return "set a reflection limit (set policy P limit reflection destination N)";
        case Kind::icmp_flood: return "set an icmp limit (set policy P limit icmp source N)";
        case Kind::fragment_flood: return "set policy P fragments drop, or a fragment limit";
        case Kind::http_get_flood: return "add a drop signature for the request and turn signatures on for the policy";
        default: return "legitimate traffic was dropped: look at the drop reasons in " + stats;
        }
    };
    for (const Expect& e : expects) {
        double got = 0;
        bool have = true;
        std::string unit = "%";
        std::string label = e.target;
        std::string never;  // why got is infinite
        if (e.what == Expect::What::incidents || e.what == Expect::What::mitigations) {
            unit.clear();
            got = e.what == Expect::What::incidents ? static_cast<double>(incs.size()) : mitigations_on;
        } else if (e.what == Expect::What::detected_ms) {
            unit = " ms";
            have = false;
            got = -INFINITY;
            for (size_t s = 0; s < sc.streams.size(); ++s) {
                const Stream& st = sc.streams[s];
                if (!(e.target == st.name || (e.target == "attack" && !st.legit())) || detect_vector(st).empty() ||
                    first_ms[s] < 0)
                    continue;
                have = true;
                const Detection d = find_detection(incs, st, first_ms[s], end_ms[s]);
                if (d.incident < 0) {
                    got = INFINITY;
                    never = "never (no incident on " + st.name + "'s target held " + detect_vector(st) + ")";
                    break;
                }
                got = std::max(got, d.delay_ms);
            }
        } else if (e.what == Expect::What::classified) {
            unit.clear();
            const Stream* st = sc.find(e.target);
            const size_t s = static_cast<size_t>(st - sc.streams.data());
            have = first_ms[s] >= 0 || kind_is_session(st->kind);
            const double from = first_ms[s] >= 0 ? first_ms[s] : wall0_ms + static_cast<double>(st->start_ns) / 1e6;
            got = classified_confidence(incs, *st, e.vector, from, end_ms[s]);
        } else if (e.what == Expect::What::first_drop_ms) {
            unit = " ms";
            got = -1;
            for (const StreamReport& r : reps)
                if ((e.target == "attack" && !r.legit) || r.name == e.target) {
                    const Stream* st = sc.find(r.name);
                    if (kind_is_session(st->kind)) continue;
                    if (r.first_drop_ms < 0) {
                        got = INFINITY;
                        break;
                    }
                    got = std::max(got, r.first_drop_ms);
                }
            if (got < 0) have = false;
        } else {
            uint64_t units = 0, ok = 0, hs_units = 0, hs = 0;
            for (size_t s = 0; s < reps.size(); ++s) {
                const StreamReport& r = reps[s];
                const bool match = e.target == r.name || (e.target == "legit" && r.legit) ||
                                   (e.target == "attack" && !r.legit);
                if (!match) continue;
                // ok counts completed exchanges (legit) or dropped units (attack).
                units += r.units;
                ok += r.legit ? r.ok : r.units - r.ok;  // delivered units
                if (r.handshake_pct >= 0) {
                    hs_units += res[s].sessions;
                    hs += res[s].handshakes;
                }
            }
            if (e.what == Expect::What::handshakes) {
                have = hs_units > 0;
                got = pct(hs, hs_units);
            } else {
                have = units > 0;
                got = pct(ok, units);  // delivered
                if (e.what == Expect::What::dropped) got = 100 - got;
            }
        }
        const char* what = expect_what_name(e.what);
        char b[256];
        bool pass;
        if (e.what == Expect::What::incidents || e.what == Expect::What::mitigations ||
            e.what == Expect::What::classified) {
            const char* op = e.equal ? "==" : e.at_least ? ">=" : "<=";
            pass = e.equal ? std::fabs(got - e.value) < 1e-9 : e.at_least ? got >= e.value - 1e-9 : got <= e.value + 1e-9;
            char conf[48];
            std::snprintf(conf, sizeof conf, "%.2f", got);
            if (e.what == Expect::What::classified)
                std::snprintf(b, sizeof b, "%s classified %s confidence %s %g: %s", label.c_str(), e.vector.c_str(), op,
                              e.value, !have ? "nothing to measure (the stream sent nothing)"
                                             : got > 0 ? conf : "not classified so");
            else
                std::snprintf(b, sizeof b, "%s %s %g: %g", what, op, e.value, got);
            if (!have) pass = false;
        } else if (!have) {
            pass = false;
            std::snprintf(b, sizeof b, "%s %s %s %g%s: nothing to measure", label.c_str(), what, e.at_least ? ">=" : "<=",
                          e.value, unit.c_str());
        } else {
            pass = e.at_least ? got >= e.value - 1e-9 : got <= e.value + 1e-9;
            if (std::isinf(got))
                std::snprintf(b, sizeof b, "%s %s %s %g%s: %s", label.c_str(), what, e.at_least ? ">=" : "<=",
                              e.value, unit.c_str(), never.empty() ? "never (nothing was dropped)" : never.c_str());
            else
                std::snprintf(b, sizeof b, "%s %s %s %g%s: %.2f%s", label.c_str(), what, e.at_least ? ">=" : "<=",
                              e.value, unit.c_str(), got, unit.c_str());
        }
        std::string hint;
        if (!pass && e.what == Expect::What::incidents) {
            hint = got > e.value ? "triage opened an incident the scenario does not expect: see its vectors under "
                                   "Detection; a class's floor (set policy P detect CLASS PPS) below legitimate peaks "
                                   "makes them an attack"
                                 : "too few incidents: a flood is detected above max(floor, 3 x baseline) of its "
                                   "class (set policy P detect CLASS PPS), toward a protected prefix";
        } else if (!pass && e.what == Expect::What::mitigations) {
            hint = got > e.value && e.value == 0
                       ? "detection switched a mitigation on: an incident opened (see Detection)"
                   : got > e.value ? "the mitigation flapped: a hold-down longer than the attack's pauses keeps one "
                                     "incident open (set detect hold-down T)"
                                 : "detection switches mitigation only for a policy in mode auto (set policy P "
                                   "mitigation auto), when an incident opens";
        } else if (!pass && e.what == Expect::What::detected_ms) {
            hint = std::isinf(got) ? "detection never named the vector: is the target protected (add protect), its rate "
                                     "above the class's floor (set policy P detect CLASS PPS), and its share of the "
                                     "traffic toward the host high enough?"
                                   : "an incident opens after 2 samples of 20 ms above the threshold: later means the "
                                     "rate crossed it late (a floor close to the rate) or triage's control core "
                                     "sampled late";
        } else if (!pass && e.what == Expect::What::classified) {
            hint = got <= 0 ? "no incident on the stream's target held " + e.vector + ": see Detection"
                            : "confidence is share x min(1, rate / (2 x threshold)): other traffic toward the host, "
                              "or a rate close to the floor, lowers it";
        } else if (!pass && e.what == Expect::What::first_drop_ms) {
            hint = std::isinf(got) ? "nothing dropped it: see the other checks"
                                   : "a limit lets its burst through first (default one second's worth); a smaller "
                                     "burst (limit ... burst N) drops sooner";
        } else if (!pass) {
            if (e.target == "attack" || e.target == "legit") {
                for (const StreamReport& r : reps)
                    if (!r.legit && e.target == "attack" && r.dropped_pct < 90) hint = r.name + ": " + hint_for(r.name);
                if (hint.empty() && e.target == "legit") hint = hint_for("");
            } else {
                hint = hint_for(e.target);
            }
        }
        checks.push_back(Check{b, pass, hint});
    }
    bool all_pass = true;
    for (const Check& c : checks) all_pass &= c.pass;

    double worst_first = -1;
    for (const StreamReport& r : reps)
        if (!r.legit && r.first_drop_ms >= 0) worst_first = std::max(worst_first, r.first_drop_ms);
    std::string verdict;
    {
        char b[512];
        if (all_pass) {
            std::snprintf(b, sizeof b,
                          "PASS: legitimate traffic got through (%.1f%% of %s exchanges completed) while the box dropped "
                          "%.2f%% of %s attack packets/requests%s",
                          pct(legit_ok, legit_units), fmt_count(legit_units).c_str(), pct(attack_dropped, attack_units),
                          fmt_count(attack_units).c_str(),
                          worst_first >= 0 ? (", the first within " + std::to_string(static_cast<int>(std::ceil(worst_first))) + " ms of each attack's start").c_str() : "");
        } else {
            std::snprintf(b, sizeof b, "FAIL: ");
        }
        verdict = b;
        if (!all_pass)
            for (const Check& c : checks)
                if (!c.pass) {
                    if (verdict.size() > 6) verdict += "; ";
                    verdict += c.text;
                    if (!c.hint.empty()) verdict += " -> " + c.hint;
                }
    }

    std::printf("\nLegitimate traffic\n");
    for (const StreamReport& r : reps)
        if (r.legit) std::printf("  %-12s %-15s %s\n", r.name.c_str(), r.kind.c_str(), r.detail.c_str());
    std::printf("  total: %.2f%% of exchanges completed (%s of %s)\n", pct(legit_ok, legit_units),
                fmt_count(legit_ok).c_str(), fmt_count(legit_units).c_str());
    std::printf("\nAttack traffic\n");
    for (const StreamReport& r : reps) {
        if (r.legit) continue;
        std::printf("  %-12s %-15s %s\n", r.name.c_str(), r.kind.c_str(), r.detail.c_str());
        for (const auto& [what, v] : r.mech) std::printf("  %-28s dropped by %s: %s\n", "", what.c_str(), fmt_count(v).c_str());
    }
    std::printf("  triage: %s cookie SYN-ACKs sent (%s of them to legitimate clients), %s sources authenticated; "
                "its counters are per reason and class, shared by the streams of one class\n",
                fmt_count(cookies_sent).c_str(), fmt_count(legit_challenges).c_str(), fmt_count(sources_auth).c_str());
    std::printf("  triage's drops by reason:");
    for (const auto& [name, v] : reasons) std::printf(" %s %s", name.c_str(), fmt_count(v).c_str());
    std::printf("%s\n", reasons.empty() ? " none" : "");
    // Each incident: its vectors, how long after the stream that sends each
    // one it was detected, and when mitigation went on and off, all in the
    // drill's time (seconds from the scenario's start).
    auto at_s = [&](int64_t ms) { return (static_cast<double>(ms) - wall0_ms) / 1000; };
    std::vector<std::string> incident_json;
    std::printf("\nDetection: %zu incident(s) opened", incs.size());
    std::printf("%s\n", incs.empty() ? "" : (" (" + incidents + ", reports in " + workdir + ")").c_str());
    for (const IncidentRecord& r : incs) {
        char b[512];
        std::snprintf(b, sizeof b, "  incident %u on %s (%s): opened at %.3f s", r.id, r.target.c_str(),
                      r.prefix.c_str(), at_s(r.start_ms));
        std::string line = b;
        if (r.end_ms >= 0) {
            std::snprintf(b, sizeof b, ", closed at %.3f s", at_s(r.end_ms));
            line += b;
        } else {
            line += ", still open when triage stopped";
        }
        std::printf("%s\n", line.c_str());
        std::string dj;  // its "detections" for the JSON report
        for (const IncidentRecord::Vec& v : r.vectors) {
            // The stream that sends the vector toward the target and began
            // last before the vector showed (pulses: the one it answered).
            const int64_t vms = r.vector_ms(v.vector);
            int who = -1;
            for (size_t s = 0; s < sc.streams.size(); ++s) {
                const Stream& st = sc.streams[s];
                if (detect_vector(st) != v.vector || first_ms[s] < 0 || !block_overlaps(st.dst, r.prefix)) continue;
                if (first_ms[s] > static_cast<double>(vms) + 1) continue;
                if (who < 0 || first_ms[s] > first_ms[static_cast<size_t>(who)]) who = static_cast<int>(s);
            }
            std::snprintf(b, sizeof b, "    %-16s confidence %.2f, peak %s packets/s", v.vector.c_str(), v.confidence,
                          fmt_count(static_cast<uint64_t>(v.peak_pps)).c_str());
            line = b;
            char d[256];
            if (who >= 0) {
                const double delay = static_cast<double>(vms) - first_ms[static_cast<size_t>(who)];
                std::snprintf(d, sizeof d, ": detected %.0f ms after %s began (at %.3f s)", delay,
                              sc.streams[static_cast<size_t>(who)].name.c_str(), at_s(vms));
                line += d;
                std::snprintf(d, sizeof d, "\"stream\": \"%s\", \"delay_ms\": %.1f",
                              json_escape(sc.streams[static_cast<size_t>(who)].name).c_str(), delay);
            } else {
                std::snprintf(d, sizeof d, ": at %.3f s; no attack stream of the scenario sends it", at_s(vms));
                line += d;
                std::snprintf(d, sizeof d, "\"stream\": null, \"delay_ms\": null");
            }
            std::printf("%s\n", line.c_str());
            std::snprintf(b, sizeof b, "%s{\"vector\": \"%s\", \"confidence\": %.3f, \"at_s\": %.3f, %s}",
                          dj.empty() ? "" : ", ", json_escape(v.vector).c_str(), v.confidence, at_s(vms), d);
            dj += b;
        }
        std::string on, off, mon, moff;
        for (const IncidentRecord::Act& a : r.actions) {
            if (a.what != "mitigation on" && a.what != "mitigation off") continue;
            std::snprintf(b, sizeof b, "%.3f", at_s(a.ms));
            std::string& txt = a.what == "mitigation on" ? on : off;
            std::string& js = a.what == "mitigation on" ? mon : moff;
            txt += (txt.empty() ? "" : ", ") + std::string(b) + " s";
            js += (js.empty() ? "" : ", ") + std::string(b);
        }
        if (on.empty())
            std::printf("    mitigation: not switched by detection (mode %s)\n",
                        r.line.find("\"mode\": \"auto\"") != std::string::npos ? "auto" : "monitor or enforce");
        else
            std::printf("    mitigation on at %s%s%s\n", on.c_str(), off.empty() ? ", still on when triage stopped" : "; off at ",
                        off.c_str());
        // The record as triage wrote it, with what the drill measured added.
        std::string j = r.line;
        const size_t close = j.find_last_of('}');
        if (close != std::string::npos) {
            std::snprintf(b, sizeof b, "%.3f", at_s(r.start_ms));
            j = j.substr(0, close) + ", \"drill\": {\"opened_s\": " + b + ", \"closed_s\": ";
            if (r.end_ms >= 0) {
                std::snprintf(b, sizeof b, "%.3f", at_s(r.end_ms));
                j += b;
            } else {
                j += "null";
            }
            j += ", \"detections\": [" + dj + "], \"mitigation_on_s\": [" + mon + "], \"mitigation_off_s\": [" +
                 moff + "]}}";
        }
        incident_json.push_back(std::move(j));
    }
    std::printf("  mitigation switched on %u time(s)\n", mitigations_on);
    std::printf("\nChecks\n");
    for (const Check& c : checks)
        std::printf("  %s %s%s%s\n", c.pass ? "PASS" : "FAIL", c.text.c_str(), c.hint.empty() ? "" : " -> ",
                    c.hint.c_str());
    std::printf("\nVERDICT: %s\n", verdict.c_str());
    std::printf("(triage's counters: %s; its log: %s; %llu times a port's TX queue was full)\n", stats.c_str(),
                log.c_str(), static_cast<unsigned long long>(tx_full));

    if (!json.empty()) {
        FILE* f = std::fopen(json.c_str(), "w");
        if (!f) {
            std::fprintf(stderr, "triage-gen: %s: cannot write: %s\n", json.c_str(), std::strerror(errno));
            return 2;
        }
        std::fprintf(f, "{\"scenario\": \"%s\", \"config\": \"%s\", \"pass\": %s, \"verdict\": \"%s\",\n \"streams\": [",
                     json_escape(sc.name).c_str(), json_escape(config).c_str(), all_pass ? "true" : "false",
                     json_escape(verdict).c_str());
        for (size_t s = 0; s < reps.size(); ++s) {
            const StreamReport& r = reps[s];
            const StreamResult& x = res[s];
            std::fprintf(f,
                         "%s\n  {\"name\": \"%s\", \"kind\": \"%s\", \"legit\": %s, \"sent_packets\": %llu, "
                         "\"delivered_packets\": %llu, \"sessions\": %llu, \"handshakes\": %llu, \"requests\": %llu, "
                         "\"completed\": %llu, \"auth_challenges\": %llu, \"failed\": %llu, \"delivered_pct\": %.4f, "
                         "\"dropped_pct\": %.4f, \"first_drop_ms\": %s, \"mechanisms\": {",
                         s ? "," : "", json_escape(r.name).c_str(), json_escape(r.kind).c_str(), r.legit ? "true" : "false",
                         static_cast<unsigned long long>(x.sent_packets), static_cast<unsigned long long>(x.delivered_packets),
                         static_cast<unsigned long long>(x.sessions), static_cast<unsigned long long>(x.handshakes),
                         static_cast<unsigned long long>(x.requests), static_cast<unsigned long long>(x.completed),
                         static_cast<unsigned long long>(x.auth_challenges), static_cast<unsigned long long>(x.failed),
                         r.delivered_pct, r.dropped_pct,
                         r.first_drop_ms >= 0 ? std::to_string(r.first_drop_ms).c_str() : "null");
            for (size_t k = 0; k < r.mech.size(); ++k)
                std::fprintf(f, "%s\"%s\": %llu", k ? ", " : "", json_escape(r.mech[k].first).c_str(),
                             static_cast<unsigned long long>(r.mech[k].second));
            std::fprintf(f, "}}");
        }
        std::fprintf(f, "],\n \"checks\": [");
        for (size_t k = 0; k < checks.size(); ++k)
            std::fprintf(f, "%s{\"check\": \"%s\", \"pass\": %s}", k ? ", " : "", json_escape(checks[k].text).c_str(),
                         checks[k].pass ? "true" : "false");
        std::fprintf(f, "],\n \"incidents\": [");
        for (size_t k = 0; k < incident_json.size(); ++k)
            std::fprintf(f, "%s\n  %s", k ? "," : "", incident_json[k].c_str());
        std::fprintf(f, "],\n \"triage_drops\": {");
        for (size_t k = 0; k < reasons.size(); ++k)
            std::fprintf(f, "%s\"%s\": %llu", k ? ", " : "", json_escape(reasons[k].first).c_str(),
                         static_cast<unsigned long long>(reasons[k].second));
        std::fprintf(f, "},\n \"syn_cookies_sent\": %llu, \"sources_authenticated\": %llu, \"triage_stats\": \"%s\"}\n",
                     static_cast<unsigned long long>(cookies_sent), static_cast<unsigned long long>(sources_auth),
                     json_escape(stats).c_str());
        std::fclose(f);
    }
    return all_pass ? 0 : 1;
}

}  // namespace triage::gen
