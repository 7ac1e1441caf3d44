// The process log: one spdlog logger (console, rotating file, syslog) set as
// spdlog's default, plus rate-limited logging for anything a packet can
// trigger.
#pragma once

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "ratelimit.h"

namespace triage::telemetry {

struct LogOptions {
    std::string level = "info";  // trace|debug|info|warn|error|off
    bool console = true;         // stderr, coloured when it is a terminal
    std::string file;            // empty = no file
    size_t file_max_bytes = size_t{10} << 20;
    size_t file_count = 5;  // rotated copies kept besides the live file
    bool syslog = false;    // facility LOG_DAEMON
    std::string syslog_ident = "triage";
};

// Builds the logger and makes it spdlog's default. Call it before any other
// thread logs. Throws std::invalid_argument for an unknown level and
// std::runtime_error naming the file when the log file cannot be opened.
void configure_logging(const LogOptions& o);

// Logs through `limit` (owned by the calling lcore) and, once messages were
// refused, says how many: "... (12 similar suppressed)". The level check comes
// first so a disabled level does not use up the budget.
template <typename... Args>
void log_limited(RateLimit& limit, uint64_t now_tsc, uint64_t tsc_hz, spdlog::level::level_enum lvl,
                 spdlog::format_string_t<Args...> format, Args&&... args) {
    if (!spdlog::should_log(lvl)) return;
    uint64_t suppressed = 0;
    if (!limit.allow(now_tsc, tsc_hz, suppressed)) return;
    if (suppressed == 0) {
        spdlog::log(lvl, format, std::forward<Args>(args)...);
    } else {
        spdlog::log(lvl, "{} ({} similar suppressed)",
                    fmt::format(format, std::forward<Args>(args)...), suppressed);
    }
}

}  // namespace triage::telemetry

// For worker lcores (which include <rte_cycles.h>): one RateLimit per message
// site and lcore, e.g. a member of the worker's state:
//   TRIAGE_LOG_LIMITED(st.rl_bad_ring, spdlog::level::warn, "ring {} full", id);
#define TRIAGE_LOG_LIMITED(limit, lvl, ...) \
    ::triage::telemetry::log_limited((limit), rte_rdtsc(), rte_get_tsc_hz(), (lvl), __VA_ARGS__)
