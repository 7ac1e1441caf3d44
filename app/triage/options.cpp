#include "options.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "alert.h"
#include "listen_address.h"

namespace triage::app {

namespace {

// X(long name, metavar or "" for a flag, help)
#define TRIAGE_OPTIONS(X)                                                                       \
    X("outside-port", "N", "DPDK port facing the ISP uplink; inbound traffic is scrubbed (default 0)") \
    X("inside-port", "N", "DPDK port facing the clinic LAN (default 1)")                         \
    X("burst", "N", "packets per RX burst, 1..64 (default 32)")                                  \
    X("rxd", "N", "RX descriptors per queue (default 1024)")                                     \
    X("txd", "N", "TX descriptors per queue (default 1024)")                                     \
    X("sources", "N", "per-source bucket slots per worker, 1024..67108864 (default 1048576; 32 bytes each; size at twice the sources to track)") \
    X("cookie-window", "N", "pin the SYN-cookie key window to N and never rotate (reproducible tests with a shared secret only)") \
    X("distribution", "MODE", "auto|rss|software: how several workers split traffic (default auto)") \
    X("stats-interval", "SEC", "seconds between one-line stats logs, 0 = off (default 10)")     \
    X("stats-json", "FILE", "write every counter as JSON to FILE at exit")                      \
    X("exit-on-eof", "", "stop once every net_pcap rx_pcap input is read and the pipeline drained (tests, replay)") \
    X("incident-log", "FILE", "append every incident as JSON lines to FILE (one when it opens, one when it closes)") \
    X("incident-dir", "DIR", "write a Markdown report per incident to DIR when it closes (incident-N.md), and its packet capture (incident-N.pcapng)") \
    X("capture-sample", "N", "incident capture: sample 1 in N frames toward protected prefixes, 1..65536 (default 32)") \
    X("capture-rate", "N", "incident capture: at most N of those samples a second per worker go to the ring, 0 = no cap (default 10000)") \
    X("capture-ring", "N", "incident capture: sampled frames each worker keeps from before an incident, 0..1048576; 0 turns capture off, the console's too (default 8192)") \
    X("capture-payload", "BYTES", "keep BYTES past each frame's transport header in captures, 0..1500 (default 0: headers only, no patient payloads)") \
    X("log-level", "LEVEL", "trace|debug|info|warn|error|off (default info)")                   \
    X("log-file", "FILE", "also write the log to FILE, rotated by size")                       \
    X("log-file-size", "MB", "rotate --log-file at MB mebibytes, 1..1024 (default 10)")          \
    X("log-file-count", "N", "rotated --log-file copies kept, 1..100 (default 5)")              \
    X("log-syslog", "", "also send the log to syslog (facility daemon, ident triage)")          \
    X("metrics", "ADDR:PORT", "serve Prometheus metrics on http://ADDR:PORT/metrics; PORT alone means 127.0.0.1:PORT, IPv6 as [ADDR]:PORT (default off)") \
    X("syslog-cef", "DEST", "send incident alerts in CEF over syslog (RFC 5424) to DEST: udp://HOST:PORT, or tcp://HOST:PORT one message per line; IPv6 as [ADDR]:PORT, PORT default 514 (docs/alerts.md)") \
    X("syslog-json", "DEST", "send the same alerts over syslog with the incident JSON as the message; DEST as for --syslog-cef") \
    X("webhook", "URL", "POST each alert's incident JSON to URL, http:// or https:// (verified against the system CAs); 5 s timeout, 3 tries") \
    X("webhook-header", "HEADER", "add 'Name: value' to every webhook request, e.g. 'Authorization: Bearer TOKEN' (repeatable)") \
    X("notify-command", "PATH", "run PATH EVENT INCIDENT_ID TARGET VECTORS for each alert (no shell), the incident JSON on stdin, TRIAGE_* in the environment; killed after 10 s") \
    X("interactive", "", "-i: open the triage> console on this terminal (quit there stops triage)") \
    X("script", "FILE", "-f: run console script FILE before forwarding starts; any bad line refuses to start") \
    X("socket", "PATH", "console socket for triage-cli, mode 0600 (default /run/triage/PREFIX.sock, PREFIX = EAL --file-prefix or triage; none = off)") \
    X("cli-reference", "", "print the console command reference (docs/cli.md) and exit")          \
    X("no-summary", "", "do not print the summary report at exit")                              \
    X("list-drop-reasons", "", "print every drop reason with its description and exit")         \
    X("help", "", "show this help and exit")

struct Spec {
    const char* name;
    const char* metavar;
    const char* help;
};
constexpr Spec kSpecs[] = {
#define TRIAGE_X(n, m, h) {n, m, h},
    TRIAGE_OPTIONS(TRIAGE_X)
#undef TRIAGE_X
};

bool to_uint(const char* opt, const char* s, unsigned long lo, unsigned long hi, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
        std::fprintf(stderr, "triage: --%s: '%s' is not a number in %lu..%lu\n", opt, s, lo, hi);
        return false;
    }
    out = v;
    return true;
}

}  // namespace

void print_usage(const char* prog) {
    std::printf(
        "Usage: %s [EAL options] -- [options]\n"
        "Triage: inline DDoS scrubber between two DPDK ports. Port 'outside' faces the ISP\n"
        "uplink, port 'inside' the clinic LAN; frames are forwarded both ways untouched, and\n"
        "inbound frames are validated and dropped by named reason.\n"
        "Every worker lcore (all EAL lcores but the main one) owns one RX/TX queue pair on\n"
        "each port. Example without a NIC:\n"
        "  %s -l 0,1 --no-pci --no-huge -m 256 --file-prefix demo \\\n"
        "     --vdev net_pcap0,rx_pcap=in.pcap,tx_pcap=out0.pcap \\\n"
        "     --vdev net_pcap1,rx_pcap=lan.pcap,tx_pcap=out1.pcap -- --exit-on-eof\n\n"
        "Options:\n",
        prog, prog);
    for (const Spec& s : kSpecs) {
        char left[48];
        std::snprintf(left, sizeof left, "--%s%s%s", s.name, *s.metavar ? " " : "", s.metavar);
        std::printf("  %-24s %s\n", left, s.help);
    }
}

int parse_options(int argc, char** argv, Options& o) {
    std::vector<option> longopts;
    for (const Spec& s : kSpecs) longopts.push_back({s.name, *s.metavar ? required_argument : no_argument, nullptr, 0});
    longopts.push_back({nullptr, 0, nullptr, 0});
    optind = 1;
    opterr = 0;
    for (;;) {
        int idx = -1;
        const int c = getopt_long(argc, argv, ":hif:", longopts.data(), &idx);
        if (c == -1) break;
        // The testpmd-style short forms -i and -f.
        if (c == 'i' || c == 'f') {
            const std::string_view want = c == 'i' ? "interactive" : "script";
            for (idx = 0; kSpecs[idx].name != want; ++idx) {
            }
        }
        if (c == 'h') {
            print_usage(argv[0]);
            return 1;
        }
        if (c == '?' || c == ':') {
            const char* bad = argv[optind - 1];
            if (c == ':')
                std::fprintf(stderr, "triage: option '%s' needs a value (see --help)\n", bad);
            else
                std::fprintf(stderr, "triage: unknown option '%s' (see --help)\n", bad);
            return -1;
        }
        const std::string_view name = kSpecs[idx].name;
        unsigned long v = 0;
        if (name == "outside-port" || name == "inside-port") {
            if (!to_uint(kSpecs[idx].name, optarg, 0, 1023, v)) return -1;
            (name == "outside-port" ? o.outside_port : o.inside_port) = static_cast<uint16_t>(v);
        } else if (name == "burst") {
            if (!to_uint("burst", optarg, 1, 64, v)) return -1;
            o.burst = static_cast<uint16_t>(v);
        } else if (name == "sources") {
            if (!to_uint("sources", optarg, 1024, 67108864, v)) return -1;
            o.sources = static_cast<uint32_t>(v);
        } else if (name == "cookie-window") {
            if (!to_uint("cookie-window", optarg, 1, 0xffffffffu, v)) return -1;
            o.cookie_window = static_cast<uint32_t>(v);
        } else if (name == "rxd" || name == "txd") {
            if (!to_uint(kSpecs[idx].name, optarg, 64, 16384, v)) return -1;
            (name == "rxd" ? o.rx_desc : o.tx_desc) = static_cast<uint16_t>(v);
        } else if (name == "distribution") {
            const std::string_view m = optarg;
            if (m != "auto" && m != "rss" && m != "software") {
                std::fprintf(stderr, "triage: --distribution: '%s' is not one of auto|rss|software\n", optarg);
                return -1;
            }
            o.distribution = optarg;
        } else if (name == "stats-interval") {
            char* end = nullptr;
            const double d = std::strtod(optarg, &end);
            if (end == optarg || *end || !(d >= 0) || d > 86400) {
                std::fprintf(stderr, "triage: --stats-interval: '%s' is not a number of seconds in 0..86400\n", optarg);
                return -1;
            }
            o.stats_interval = d;
        } else if (name == "stats-json") {
            o.stats_json = optarg;
        } else if (name == "incident-log") {
            o.incident_log = optarg;
        } else if (name == "incident-dir") {
            o.incident_dir = optarg;
        } else if (name == "capture-sample") {
            if (!to_uint(kSpecs[idx].name, optarg, 1, 65536, v)) return -1;
            o.capture_sample = static_cast<uint32_t>(v);
        } else if (name == "capture-rate") {
            if (!to_uint(kSpecs[idx].name, optarg, 0, 10000000, v)) return -1;
            o.capture_rate = static_cast<uint32_t>(v);
        } else if (name == "capture-ring") {
            if (!to_uint(kSpecs[idx].name, optarg, 0, 1048576, v)) return -1;
            o.capture_ring = static_cast<uint32_t>(v);
        } else if (name == "capture-payload") {
            if (!to_uint(kSpecs[idx].name, optarg, 0, 1500, v)) return -1;
            o.capture_payload = static_cast<uint32_t>(v);
        } else if (name == "exit-on-eof") {
            o.exit_on_eof = true;
        } else if (name == "log-level") {
            static constexpr const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
            bool ok = false;
            for (const char* l : levels) ok |= std::strcmp(l, optarg) == 0;
            if (!ok) {
                std::fprintf(stderr, "triage: --log-level: '%s' is not one of trace|debug|info|warn|error|off\n", optarg);
                return -1;
            }
            o.log_level = optarg;
        } else if (name == "log-file") {
            o.log_file = optarg;
        } else if (name == "log-file-size" || name == "log-file-count") {
            if (!to_uint(kSpecs[idx].name, optarg, 1, name == "log-file-size" ? 1024 : 100, v)) return -1;
            (name == "log-file-size" ? o.log_file_mb : o.log_file_count) = static_cast<unsigned>(v);
        } else if (name == "log-syslog") {
            o.log_syslog = true;
        } else if (name == "metrics") {
            try {
                telemetry::parse_listen_address(optarg);
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "triage: --metrics '%s': %s\n", optarg, e.what());
                return -1;
            }
            o.metrics = optarg;
        } else if (name == "syslog-cef" || name == "syslog-json" || name == "webhook" || name == "webhook-header") {
            try {
                if (name == "webhook") alert::parse_webhook_url(optarg);
                else if (name == "webhook-header") alert::parse_header(optarg);
                else alert::parse_destination(optarg);
            } catch (const std::invalid_argument& e) {
                std::fprintf(stderr, "triage: --%s '%s': %s\n", kSpecs[idx].name, optarg, e.what());
                return -1;
            }
            if (name == "webhook-header") o.webhook_headers.push_back(optarg);
            else (name == "webhook" ? o.webhook : name == "syslog-cef" ? o.syslog_cef : o.syslog_json) = optarg;
        } else if (name == "notify-command") {
            struct stat st{};
            const bool found = stat(optarg, &st) == 0;
            const int err = errno;
            if (!found || !S_ISREG(st.st_mode) || access(optarg, X_OK) != 0) {
                std::fprintf(stderr, "triage: --notify-command '%s': %s\n", optarg,
                             found ? "not an executable file" : std::strerror(err));
                return -1;
            }
            o.notify_command = optarg;
        } else if (name == "interactive") {
            o.interactive = true;
        } else if (name == "script") {
            o.script = optarg;
        } else if (name == "socket") {
            if (!*optarg || (std::string_view(optarg) != "none" && optarg[0] != '/')) {
                std::fprintf(stderr, "triage: --socket: '%s' is not an absolute path or none\n", optarg);
                return -1;
            }
            o.socket = optarg;
        } else if (name == "cli-reference") {
            o.cli_reference = true;
        } else if (name == "no-summary") {
            o.quiet_summary = true;
        } else if (name == "list-drop-reasons") {
            o.list_drop_reasons = true;
        } else if (name == "help") {
            print_usage(argv[0]);
            return 1;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "triage: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (!o.webhook_headers.empty() && o.webhook.empty()) {
        std::fprintf(stderr, "triage: --webhook-header needs --webhook URL\n");
        return -1;
    }
    if (o.outside_port == o.inside_port) {
        std::fprintf(stderr, "triage: --outside-port and --inside-port are both %u; they must differ\n",
                     o.outside_port);
        return -1;
    }
    return 0;
}

}  // namespace triage::app
