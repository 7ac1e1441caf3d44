// Application options (after the EAL's `--`), declared once in a table that
// also produces `--help`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triage::app {

struct Options {
    uint16_t outside_port = 0;
    uint16_t inside_port = 1;
    uint16_t burst = 32;
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    uint32_t sources = 1u << 20;  // per-worker meter table entries
    uint32_t cookie_window = 0;   // 0 = follow the clock; else pinned (tests)
    // auto: symmetric RSS when both ports have it, else software steering;
    // rss: insist on RSS; software: steer in software even if RSS exists.
    std::string distribution = "auto";
    double stats_interval = 10.0;  // seconds, 0 = off
    bool exit_on_eof = false;
    std::string stats_json;  // empty = none
    std::string incident_log;  // JSON lines; empty = none
    std::string incident_dir;  // Markdown reports and incident captures; empty = none
    uint32_t capture_sample = 32, capture_ring = 8192, capture_payload = 0, capture_rate = 10000;
    std::string log_level = "info";
    std::string log_file;           // empty = console (and syslog) only
    unsigned log_file_mb = 10;      // rotate at this size
    unsigned log_file_count = 5;    // rotated copies kept
    bool log_syslog = false;
    std::string metrics;            // --metrics ADDR:PORT as given (validated); empty = off
    // Incident alerts (lib/alert, docs/alerts.md), validated at parse time; empty = off.
    std::string syslog_cef, syslog_json;       // udp://HOST:PORT or tcp://HOST:PORT
    std::string webhook;                       // http:// or https:// URL
    std::vector<std::string> webhook_headers;  // "Name: value"
    std::string notify_command;                // an executable
    bool quiet_summary = false;
    bool interactive = false;     // -i
    std::string script;           // -f FILE
    std::string socket;           // empty = the default path; "none" = off
    bool cli_reference = false;
    bool list_drop_reasons = false;
};

// Parses argv (the part after `--`, argv[0] is the program). Returns 0 to go
// on, 1 when --help was printed, -1 on error (message already printed).
int parse_options(int argc, char** argv, Options& out);
void print_usage(const char* prog);

}  // namespace triage::app
