#include "telemetry.h"

#include <cstdio>
#include <ostream>

namespace triage::telemetry {

namespace {

constexpr const char* kDropNames[] = {
    "none",
#define TRIAGE_X(e, name, desc) name,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X) TRIAGE_PIPELINE_DROP_REASONS(TRIAGE_X)
#undef TRIAGE_X
};
constexpr const char* kDropDescriptions[] = {
    "not dropped",
#define TRIAGE_X(e, name, desc) desc,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X) TRIAGE_PIPELINE_DROP_REASONS(TRIAGE_X)
#undef TRIAGE_X
};
static_assert(sizeof kDropNames / sizeof kDropNames[0] == kDropCount);
constexpr const char* kClassNames[] = {
#define TRIAGE_X(e, name, desc) name,
    TRIAGE_INBOUND_CLASSES(TRIAGE_X)
#undef TRIAGE_X
};
constexpr const char* kClassDescriptions[] = {
#define TRIAGE_X(e, name, desc) desc,
    TRIAGE_INBOUND_CLASSES(TRIAGE_X)
#undef TRIAGE_X
};

const char* role_of(unsigned dir) { return dir == 0 ? "inbound" : "outbound"; }

std::string si(double v) {
    char buf[32];
    if (v >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
    else if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

}  // namespace

const char* drop_name(Drop d) noexcept {
    const auto i = static_cast<unsigned>(d);
    return i < kDropCount ? kDropNames[i] : "invalid";
}

const char* drop_description(Drop d) noexcept {
    const auto i = static_cast<unsigned>(d);
    return i < kDropCount ? kDropDescriptions[i] : "invalid";
}

const char* class_name(Class c) noexcept {
    const auto i = static_cast<unsigned>(c);
    return i < kClassCount ? kClassNames[i] : "invalid";
}

const char* class_description(Class c) noexcept {
    const auto i = static_cast<unsigned>(c);
    return i < kClassCount ? kClassDescriptions[i] : "invalid";
}

void Totals::add(const WorkerCounters& w) noexcept {
    for (unsigned d = 0; d < kDirs; ++d) {
        rx_packets[d] += w.rx_packets[d].get();
        rx_bytes[d] += w.rx_bytes[d].get();
        fwd_packets[d] += w.fwd_packets[d].get();
        fwd_bytes[d] += w.fwd_bytes[d].get();
        drops_by_dir[d] += w.drops_by_dir[d].get();
    }
    for (unsigned i = 0; i < kDropCount; ++i) drops[i] += w.drops[i].get();
    outbound_malformed += w.outbound_malformed.get();
    steered_out += w.steered_out.get();
    steered_in += w.steered_in.get();
    for (unsigned i = 0; i < kClassCount; ++i) inbound_class[i] += w.inbound_class[i].get();
    for (unsigned i = 0; i < kScrubCount; ++i) scrub[i] += w.scrub[i].get();
    for (unsigned i = 0; i < kMeterClasses; ++i) {
        class_packets[i] += w.class_packets[i].get();
        class_dropped[i] += w.class_dropped[i].get();
    }
    for (unsigned i = 0; i < kSignatureSlots; ++i) signature_hits[i] += w.signature_hits.get(i);
}

namespace {
constexpr const char* kScrubNames[] = {
#define TRIAGE_X(e, name, desc) name,
    TRIAGE_SCRUB_EVENTS(TRIAGE_X)
#undef TRIAGE_X
};
constexpr const char* kScrubDescriptions[] = {
#define TRIAGE_X(e, name, desc) desc,
    TRIAGE_SCRUB_EVENTS(TRIAGE_X)
#undef TRIAGE_X
};
}  // namespace

const char* scrub_name(Scrub s) noexcept {
    const auto i = static_cast<unsigned>(s);
    return i < kScrubCount ? kScrubNames[i] : "invalid";
}

const char* scrub_description(Scrub s) noexcept {
    const auto i = static_cast<unsigned>(s);
    return i < kScrubCount ? kScrubDescriptions[i] : "invalid";
}

void Report::sum() {
    totals = Totals{};
    for (const auto& w : workers) totals.add(*w.counters);
}

namespace {

// Names reach here from the console grammar (letters, digits, "_-."), but a
// JSON string is escaped anyway.
std::string json_str(const std::string& v) {
    std::string o = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o + '"';
}

std::string json_num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}

// "detection": the same figures as the triage_detect_* / triage_incident*
// metrics (docs/operations.md).
void write_detection_json(std::ostream& os, const DetectGauges& d) {
    os << "  \"detection\": {\"samples\": " << d.samples << ", \"incidents_opened\": " << d.incidents_opened
       << ", \"incidents_closed\": " << d.incidents_closed << ", \"incidents_by_vector\": {";
    for (size_t i = 0; i < d.vector_incidents.size(); ++i)
        os << (i ? ", " : "") << json_str(d.vector_incidents[i].first) << ": " << d.vector_incidents[i].second;
    os << "}, \"last_incident\": ";
    if (d.last_incident_id)
        os << "{\"id\": " << d.last_incident_id << ", \"start\": " << json_num(d.last_incident_start)
           << ", \"detection_latency_s\": " << json_num(d.last_detection_latency) << "}";
    else
        os << "null";
    os << ", \"targets\": [";
    for (size_t i = 0; i < d.targets.size(); ++i) {
        const DetectTargetGauges& t = d.targets[i];
        os << (i ? ",\n" : "\n") << "    {\"name\": " << json_str(t.name) << ", \"prefix\": " << json_str(t.prefix)
           << ", \"mode\": " << json_str(t.mode) << ", \"mitigated\": " << (t.mitigated ? "true" : "false")
           << ", \"incident\": " << (t.incident ? std::to_string(t.incident_id) : std::string("null"))
           << ", \"vectors\": {";
        for (size_t k = 0; k < t.vectors.size(); ++k)
            os << (k ? ", " : "") << json_str(t.vectors[k].vector) << ": " << json_num(t.vectors[k].confidence);
        os << "}, \"mitigation_on\": " << t.switches_on << ", \"mitigation_off\": " << t.switches_off
           << ", \"classes\": {";
        for (size_t k = 0; k < t.classes.size(); ++k) {
            const DetectClassGauges& c = t.classes[k];
            os << (k ? ", " : "") << json_str(c.name) << ": {\"rate_pps\": " << json_num(c.rate_pps)
               << ", \"baseline_pps\": " << json_num(c.baseline_pps)
               << ", \"threshold_pps\": " << json_num(c.threshold_pps) << "}";
        }
        os << "}}";
    }
    os << (d.targets.empty() ? "]},\n" : "\n  ]},\n");
}

}  // namespace

void write_json(std::ostream& os, const Report& r) {
    const Totals& t = r.totals;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.6f", r.forwarding_seconds);
    os << "{\n  \"version\": \"" << r.version << "\",\n  \"forwarding_seconds\": " << secs
       << ",\n  \"ports\": [";
    for (size_t i = 0; i < r.ports.size(); ++i) {
        const auto& p = r.ports[i];
        os << (i ? ",\n" : "\n") << "    {\"role\": \"" << p.role << "\", \"port_id\": " << p.port_id
           << ", \"rx_packets\": " << p.rx_packets << ", \"tx_packets\": " << p.tx_packets
           << ", \"rx_bytes\": " << p.rx_bytes << ", \"tx_bytes\": " << p.tx_bytes
           << ", \"rx_missed\": " << p.rx_missed << ", \"rx_errors\": " << p.rx_errors
           << ", \"tx_errors\": " << p.tx_errors << ", \"rx_nombuf\": " << p.rx_nombuf << "}";
    }
    os << "\n  ],\n";
    for (unsigned d = 0; d < kDirs; ++d) {
        os << "  \"" << role_of(d) << "\": {\"rx\": " << t.rx_packets[d]
           << ", \"rx_bytes\": " << t.rx_bytes[d] << ", \"forwarded\": " << t.fwd_packets[d]
           << ", \"forwarded_bytes\": " << t.fwd_bytes[d] << ", \"dropped\": " << t.drops_by_dir[d];
        if (d == 1) os << ", \"malformed_seen\": " << t.outbound_malformed;
        os << "},\n";
    }
    os << "  \"drops\": {";
    for (unsigned i = 1; i < kDropCount; ++i)
        os << (i > 1 ? ", " : "") << "\"" << kDropNames[i] << "\": " << t.drops[i];
    os << "},\n  \"inbound_classes\": {";
    for (unsigned i = 0; i < kClassCount; ++i)
        os << (i ? ", " : "") << "\"" << kClassNames[i] << "\": " << t.inbound_class[i];
    os << "},\n  \"scrub\": {";
    for (unsigned i = 0; i < kScrubCount; ++i) os << (i ? ", " : "") << "\"" << kScrubNames[i] << "\": " << t.scrub[i];
    os << "},\n  \"traffic_classes\": {";
    bool first = true;
    for (unsigned i = 0; i < kMeterClasses && i < r.policy.class_names.size(); ++i) {
        if (r.policy.class_names[i].empty()) continue;
        os << (first ? "" : ", ") << "\"" << r.policy.class_names[i] << "\": {\"packets\": " << t.class_packets[i]
           << ", \"dropped\": " << t.class_dropped[i] << "}";
        first = false;
    }
    os << "},\n  \"signatures\": {";
    first = true;
    for (const auto& [slot, id] : r.policy.signature_slots) {
        os << (first ? "" : ", ") << "\"" << id << "\": " << t.signature_hits[slot];
        first = false;
    }
    os << "},\n  \"policy\": {\"version\": " << r.policy.version
       << ", \"publications\": " << r.policy.publications
       << ", \"protected_prefixes\": " << r.policy.protected_prefixes
       << ", \"allow_entries\": " << r.policy.allow_entries
       << ", \"deny_entries\": " << r.policy.deny_entries << "},\n";
    write_detection_json(os, r.detect);
    os << "  \"workers\": [";
    for (size_t i = 0; i < r.workers.size(); ++i) {
        const auto& w = r.workers[i];
        const auto& c = *w.counters;
        os << (i ? ",\n" : "\n") << "    {\"lcore\": " << w.lcore << ", \"queue\": " << w.queue
           << ", \"inbound_rx\": " << c.rx_packets[0].get()
           << ", \"outbound_rx\": " << c.rx_packets[1].get()
           << ", \"steered_out\": " << c.steered_out.get()
           << ", \"steered_in\": " << c.steered_in.get() << "}";
    }
    os << "\n  ]\n}\n";
}

void write_summary(std::ostream& os, const Report& r) {
    const Totals& t = r.totals;
    char line[256];
    std::snprintf(line, sizeof line, "Triage summary (forwarding %.2f s, %zu worker%s)\n",
                  r.forwarding_seconds, r.workers.size(), r.workers.size() == 1 ? "" : "s");
    os << line;
    std::snprintf(line, sizeof line,
                  "  inbound  (outside -> inside): %12llu in  %12llu forwarded  %12llu dropped\n",
                  static_cast<unsigned long long>(t.rx_packets[0]),
                  static_cast<unsigned long long>(t.fwd_packets[0]),
                  static_cast<unsigned long long>(t.drops_by_dir[0]));
    os << line;
    std::snprintf(line, sizeof line,
                  "  outbound (inside -> outside): %12llu in  %12llu forwarded  %12llu dropped"
                  "  (%llu malformed, passed)\n",
                  static_cast<unsigned long long>(t.rx_packets[1]),
                  static_cast<unsigned long long>(t.fwd_packets[1]),
                  static_cast<unsigned long long>(t.drops_by_dir[1]),
                  static_cast<unsigned long long>(t.outbound_malformed));
    os << line;
    bool any = false;
    for (unsigned i = 1; i < kDropCount; ++i) {
        if (!t.drops[i]) continue;
        if (!any) os << "  dropped by reason:\n";
        any = true;
        std::snprintf(line, sizeof line, "    %-20s %12llu  %s\n", kDropNames[i],
                      static_cast<unsigned long long>(t.drops[i]), kDropDescriptions[i]);
        os << line;
    }
    if (!any) os << "  no packets dropped\n";
}

std::string stats_line(const Totals& now, const Totals& prev, double seconds) {
    if (seconds <= 0) seconds = 1;
    auto rate = [&](uint64_t a, uint64_t b) { return si(static_cast<double>(a - b) / seconds); };
    std::string s = "in: rx " + rate(now.rx_packets[0], prev.rx_packets[0]) + "pps fwd " +
                    rate(now.fwd_packets[0], prev.fwd_packets[0]) + "pps drop " +
                    rate(now.drops_by_dir[0], prev.drops_by_dir[0]) + "pps | out: rx " +
                    rate(now.rx_packets[1], prev.rx_packets[1]) + "pps fwd " +
                    rate(now.fwd_packets[1], prev.fwd_packets[1]) + "pps | bits in " +
                    rate(now.rx_bytes[0] * 8, prev.rx_bytes[0] * 8) + "bps out " +
                    rate(now.rx_bytes[1] * 8, prev.rx_bytes[1] * 8) + "bps";
    // The busiest drop reason of the interval names what is going on.
    unsigned top = 0;
    uint64_t top_n = 0;
    for (unsigned i = 1; i < kDropCount; ++i)
        if (now.drops[i] - prev.drops[i] > top_n) top_n = now.drops[i] - prev.drops[i], top = i;
    if (top) s += " | top drop " + std::string(kDropNames[top]) + " " + rate(now.drops[top], prev.drops[top]) + "pps";
    return s;
}

}  // namespace triage::telemetry
