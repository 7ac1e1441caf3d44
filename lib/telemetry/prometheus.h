// Prometheus text exposition (format 0.0.4) of a Report: what /metrics serves.
// No EAL and no HTTP here, so the format is unit-tested on its own.
#pragma once

#include <string>
#include <string_view>

#include "report.h"

namespace triage::telemetry {

// Content-Type of the text format.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Every family has # HELP and # TYPE; counters end in _total; units are bytes
// and seconds. Label sets for drop reasons and inbound classes come from the
// X-macro tables and include zeros, so series exist from the first scrape;
// detection's per-target families list every protected prefix and class.
std::string render_prometheus(const Report& r, double uptime_seconds);

// Label value escaping of the text format: backslash, double quote, newline.
std::string prometheus_escape_label(std::string_view v);

}  // namespace triage::telemetry
