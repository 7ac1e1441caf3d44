// triage-gen: lab traffic for Triage. Builds scenario pcaps, replays pcaps or
// scenarios out of DPDK ports at a set rate, and runs drills against a real
// triage. See docs/lab.md and docs/scenarios.md.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "pcapfile.h"
#include "scenario.h"
#include "traffic.h"

namespace triage::gen {

namespace {

void usage(FILE* to) {
    std::fprintf(to,
                 "usage: triage-gen COMMAND ...\n"
                 "\n"
                 "  build SCENARIO [-o ALL.pcap] [--outside OUT.pcap] [--inside IN.pcap] [--start-time UNIX]\n"
                 "        write the scenario's frames to pcap files (nanosecond timestamps): -o every frame,\n"
                 "        --outside the frames that enter the box from the Internet (port 0), --inside the\n"
                 "        frames that enter from the clinic (port 1)\n"
                 "  replay [EAL options] -- (--pcap FILE | --scenario FILE) [options]\n"
                 "        send a capture or a scenario out of a DPDK port at a set rate, count what comes back\n"
                 "        (triage-gen replay -- --help for the options)\n"
                 "  drill SCENARIO [--config FILE | --no-config] [--triage PATH] [--json FILE] [--workdir DIR] [--quiet]\n"
                 "        run the scenario through a real triage on memif ports (no NIC needed) and report\n"
                 "        what was delivered and dropped, and a verdict (exit 0 pass, 1 fail, 2 error)\n"
                 "  kinds  list the stream kinds and reflection vectors a scenario can use\n"
                 "  check SCENARIO   parse a scenario and print its streams\n"
                 "\n"
                 "Scenario files: docs/scenarios.md; examples in config/scenarios/.\n");
}

void print_streams(const Scenario& sc, FILE* to) {
    std::fprintf(to, "scenario %s: %s, %zu streams%s%s\n", sc.name.c_str(), format_ns(sc.duration_ns).c_str(),
                 sc.streams.size(), sc.description.empty() ? "" : " - ", sc.description.c_str());
    for (const Stream& s : sc.streams) {
        const uint64_t n = s.events(sc.duration_ns);
        std::fprintf(to, "  %-14s %-15s %-7s %10g %-10s from %s for %s: %llu %s\n", s.name.c_str(),
                     kind_name(s.kind), s.legit() ? "legit" : "attack", s.rate,
                     kind_is_session(s.kind) ? "sessions/s" : "pps", format_ns(s.start_ns).c_str(),
                     format_ns(s.end_ns(sc.duration_ns) - s.start_ns).c_str(), static_cast<unsigned long long>(n),
                     kind_is_session(s.kind) ? "sessions" : "packets");
    }
}

int cmd_kinds() {
    std::printf("stream kinds (stream NAME KIND key value ...):\n");
    for (unsigned k = 0; k < static_cast<unsigned>(Kind::count_); ++k) {
        const auto kk = static_cast<Kind>(k);
        std::printf("  %-15s %-6s %s\n", kind_name(kk), kind_is_legit(kk) ? "legit" : "attack", kind_description(kk));
    }
    std::printf("reflection vectors (stream NAME reflection vector V ...):\n");
    for (unsigned v = 0; v < static_cast<unsigned>(Vector::count_); ++v)
        std::printf("  %-10s from UDP port %u\n", vector_name(static_cast<Vector>(v)),
                    vector_port(static_cast<Vector>(v)));
    return 0;
}

int cmd_check(int argc, char** argv) {
    if (argc != 1) {
        std::fprintf(stderr, "triage-gen check: give one scenario file\n");
        return 2;
    }
    Scenario sc;
    std::string err;
    if (!load_scenario(argv[0], sc, err)) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        return 2;
    }
    print_streams(sc, stdout);
    return 0;
}

int cmd_build(int argc, char** argv) {
    std::string scenario, all, outside, inside;
    uint64_t start_s = 1767225600;  // 2026-01-01T00:00:00Z: the same scenario builds the same bytes
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](const char* what) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "triage-gen build: %s needs %s\n", a.c_str(), what);
                return nullptr;
            }
            return argv[++i];
        };
        const char* v = nullptr;
        if (a == "-o") {
            if (!(v = value("a file name"))) return 2;
            all = v;
        } else if (a == "--outside") {
            if (!(v = value("a file name"))) return 2;
            outside = v;
        } else if (a == "--inside") {
            if (!(v = value("a file name"))) return 2;
            inside = v;
        } else if (a == "--start-time") {
            if (!(v = value("seconds since 1970"))) return 2;
            char* end;
            errno = 0;
            start_s = std::strtoull(v, &end, 10);
            // pcap keeps 32-bit seconds: the whole scenario must fit.
            if (*end || !*v || *v == '-' || errno || start_s > 4000000000ull) {
                std::fprintf(stderr, "triage-gen build: --start-time: '%s' is not whole seconds since 1970 in 0..4000000000\n", v);
                return 2;
            }
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "triage-gen build: unknown option '%s'\n", a.c_str());
            return 2;
        } else if (scenario.empty()) {
            scenario = a;
        } else {
            std::fprintf(stderr, "triage-gen build: one scenario only ('%s' is a second)\n", a.c_str());
            return 2;
        }
    }
    if (scenario.empty() || (all.empty() && outside.empty() && inside.empty())) {
        std::fprintf(stderr, "triage-gen build: give a scenario and at least one of -o, --outside, --inside\n");
        return 2;
    }
    Scenario sc;
    std::string err;
    if (!load_scenario(scenario, sc, err)) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        return 2;
    }
    PcapWriter w_all, w_out, w_in;
    if (start_s * 1'000'000'000 + sc.duration_ns + sc.rtt_ns * 4 > 4294967295ull * 1'000'000'000) {
        std::fprintf(stderr, "triage-gen build: --start-time %llu: the scenario would end past 2106 (pcap's 32-bit seconds)\n",
                     static_cast<unsigned long long>(start_s));
        return 2;
    }
    if ((!all.empty() && !w_all.open(all, err)) || (!outside.empty() && !w_out.open(outside, err)) ||
        (!inside.empty() && !w_in.open(inside, err))) {
        std::fprintf(stderr, "triage-gen: %s\n", err.c_str());
        // Leave nothing half made: remove the captures this run opened.
        for (auto [w, path] : {std::pair{&w_all, &all}, std::pair{&w_out, &outside}, std::pair{&w_in, &inside}})
            if (w->is_open()) {
                w->close();
                std::remove(path->c_str());
            }
        return 2;
    }
    print_streams(sc, stdout);
    const auto t0 = std::chrono::steady_clock::now();
    Builder b(sc);
    Frame f;
    std::vector<uint64_t> packets(sc.streams.size()), bytes(sc.streams.size());
    const uint64_t base = start_s * 1'000'000'000;
    while (b.next(f)) {
        const auto len = static_cast<uint32_t>(f.bytes.size());
        packets[f.stream]++;
        bytes[f.stream] += len;
        if (w_all.is_open()) w_all.write(base + f.t_ns, f.bytes.data(), len);
        PcapWriter& side = f.side == Side::outside ? w_out : w_in;
        if (side.is_open()) side.write(base + f.t_ns, f.bytes.data(), len);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool ok = true;
    for (auto* w : {&w_all, &w_out, &w_in}) ok = w->close() && ok;
    if (!ok) {
        std::fprintf(stderr, "triage-gen: writing a capture failed (disk full?)\n");
        return 2;
    }
    std::printf("frames by stream:\n");
    for (size_t s = 0; s < sc.streams.size(); ++s)
        std::printf("  %-14s %12llu frames %14llu bytes\n", sc.streams[s].name.c_str(),
                    static_cast<unsigned long long>(packets[s]), static_cast<unsigned long long>(bytes[s]));
    std::printf("built %llu frames in %.2f s (%.2f M frames/s)", static_cast<unsigned long long>(b.produced()), secs,
                secs > 0 ? static_cast<double>(b.produced()) / secs / 1e6 : 0.0);
    if (!all.empty()) std::printf("; all: %s (%llu)", all.c_str(), static_cast<unsigned long long>(w_all.frames()));
    if (!outside.empty())
        std::printf("; outside: %s (%llu)", outside.c_str(), static_cast<unsigned long long>(w_out.frames()));
    if (!inside.empty())
        std::printf("; inside: %s (%llu)", inside.c_str(), static_cast<unsigned long long>(w_in.frames()));
    std::printf("\n");
    return 0;
}

}  // namespace

}  // namespace triage::gen

int main(int argc, char** argv) {
    using namespace triage::gen;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "build") return cmd_build(argc - 2, argv + 2);
    if (cmd == "check") return cmd_check(argc - 2, argv + 2);
    if (cmd == "kinds") return cmd_kinds();
    if (cmd == "replay") return cmd_replay(argc - 1, argv + 1);
    if (cmd == "drill") return cmd_drill(argc - 2, argv + 2, argv[0]);
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        usage(stdout);
        return 0;
    }
    std::fprintf(stderr, "triage-gen: unknown command '%s'\n", cmd.c_str());
    usage(stderr);
    return 2;
}
