#include "log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace triage::telemetry {

namespace {

spdlog::level::level_enum parse_level(const std::string& s) {
    static constexpr std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"off", spdlog::level::off},
    };
    for (const auto& [name, lvl] : kLevels)
        if (s == name) return lvl;
    // spdlog's own from_str turns an unknown name into "off": silence by typo.
    throw std::invalid_argument("log level '" + s +
                                "' is not one of trace|debug|info|warn|error|off");
}

}  // namespace

void configure_logging(const LogOptions& o) {
    const auto level = parse_level(o.level);
    const char* const pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ triage: %v";
    std::vector<spdlog::sink_ptr> sinks;
    if (o.console) {
        auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        s->set_pattern(pattern);
        sinks.push_back(std::move(s));
    }
    if (!o.file.empty()) {
        // spdlog's own error names neither the option nor the reason clearly;
        // open once here to report errno in the operator's terms.
        errno = 0;
        if (std::FILE* f = std::fopen(o.file.c_str(), "a")) {
            std::fclose(f);
        } else {
            throw std::runtime_error("--log-file '" + o.file +
                                     "': cannot open for writing: " + std::strerror(errno));
        }
        if (o.file_max_bytes == 0 || o.file_count == 0)
            throw std::invalid_argument(
                "--log-file: rotation size and file count must be at least 1");
        std::shared_ptr<spdlog::sinks::rotating_file_sink_mt> s;
        try {
            s = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(o.file, o.file_max_bytes,
                                                                       o.file_count);
        } catch (const spdlog::spdlog_ex& e) {
            throw std::runtime_error("--log-file '" + o.file + "': " + e.what());
        }
        s->set_pattern(pattern);
        sinks.push_back(std::move(s));
    }
    if (o.syslog) {
        // syslog stamps time and host itself; the raw message is enough.
        sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>(o.syslog_ident, LOG_PID,
                                                                        LOG_DAEMON, false));
    }
    auto logger = std::make_shared<spdlog::logger>("triage", sinks.begin(), sinks.end());
    logger->set_level(level);
    // Log lines are rare (stats, events, rate-limited packet warnings); a
    // crash or kill must not lose the last ones still buffered.
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace triage::telemetry
