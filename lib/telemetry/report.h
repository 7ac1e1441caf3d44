// Human and machine-readable views of the counters: the periodic one-line
// stats log, the exit summary, and the JSON dump tests read.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "counters.h"

namespace triage::telemetry {

struct PortReport {
    std::string role;  // "outside" / "inside"
    uint16_t port_id = 0;
    uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
    uint64_t rx_missed = 0, rx_errors = 0, tx_errors = 0, rx_nombuf = 0;
};

struct WorkerReport {
    unsigned lcore = 0;
    uint16_t queue = 0;
    const WorkerCounters* counters = nullptr;
};

// The policy as the workers see it (filled by the control core).
struct PolicyGauges {
    uint64_t version = 0;       // of the snapshot the workers read
    uint64_t publications = 0;  // snapshots published since start
    uint64_t protected_prefixes = 0, allow_entries = 0, deny_entries = 0;
    uint64_t reclaim_pending = 0;  // old snapshots waiting for their grace period
    // Traffic class names by meter class index (empty: unused index).
    std::vector<std::string> class_names;
    // (counter slot, rule id) of every signature rule.
    std::vector<std::pair<unsigned, uint32_t>> signature_slots;
    // Per-worker state tables (capacity and bytes are per worker).
    uint64_t meter_capacity = 0, meter_bytes = 0, auth_capacity = 0, solicit_capacity = 0;
    uint64_t cookie_window = 0;   // current SYN-cookie window number
    bool cookie_shared = false;   // keys derived from a shared secret
};

// Detection as the control core last sampled it (lib/detect fills it with
// detect::fill_gauges; telemetry only carries the numbers, so it does not
// depend on lib/detect). Counters count since start.
struct DetectClassGauges {
    std::string name;  // traffic class ("syn", "udp", "dns", ...)
    double rate_pps = 0;       // the latest sample (20 ms)
    double baseline_pps = 0;   // learned
    double threshold_pps = 0;  // what the next sample is compared with
};

struct DetectVectorGauges {
    std::string vector;  // "syn-flood", "dns-reflection", ...
    double confidence = 0;
};

struct DetectTargetGauges {
    std::string name, prefix;
    std::string mode;        // "monitor", "auto", "enforce"
    bool mitigated = false;  // mitigation in force now (enforced, switched on by detection, or set by hand)
    bool incident = false;   // an incident is open
    uint32_t incident_id = 0;                 // of the open incident
    std::vector<DetectVectorGauges> vectors;  // of the open incident
    std::vector<DetectClassGauges> classes;   // every class in use
    uint64_t switches_on = 0, switches_off = 0;  // automatic mitigation switched on / off
};

struct DetectGauges {
    uint64_t samples = 0;
    uint64_t incidents_opened = 0, incidents_closed = 0;
    // Incidents that saw each vector, for every vector the classes in use
    // can yield (zeros included).
    std::vector<std::pair<std::string, uint64_t>> vector_incidents;
    std::vector<std::string> modes;  // every response mode's name (label set of the mode gauge)
    std::vector<DetectTargetGauges> targets;  // the protected prefixes, in snapshot order
    // The newest incident: id (0: none yet), start (Unix seconds) and the
    // time from the first anomalous sample to its opening (confirmation).
    uint32_t last_incident_id = 0;
    double last_incident_start = 0, last_detection_latency = 0;
};

// Alert sinks (lib/alert) and packet capture (lib/capture), filled by the
// control core.
struct AlertSinkGauges {
    std::string sink;  // syslog-cef, syslog-json, webhook, notify
    uint64_t sent = 0, failed = 0, dropped = 0;
};
struct ExportGauges {
    std::vector<AlertSinkGauges> alert_sinks;  // the configured sinks only
    bool capture = false;                      // capture is on (--capture-ring > 0)
    uint64_t capture_sampled = 0, capture_evicted = 0, capture_nombuf = 0;
    uint64_t capture_manual = 0, capture_manual_lost = 0;
    uint64_t capture_files_open = 0;  // incident files being written
    bool manual_running = false;
};

struct Report {
    std::string version;
    double forwarding_seconds = 0;
    std::vector<PortReport> ports;
    std::vector<WorkerReport> workers;
    Totals totals;  // summed from workers by the caller (Report::sum)
    PolicyGauges policy;
    DetectGauges detect;
    ExportGauges exports;

    void sum();
};

void write_json(std::ostream& os, const Report& r);
void write_summary(std::ostream& os, const Report& r);

// One line for the periodic log: rates since the previous sample.
std::string stats_line(const Totals& now, const Totals& prev, double seconds);

}  // namespace triage::telemetry
