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

struct Report {
    std::string version;
    double forwarding_seconds = 0;
    std::vector<PortReport> ports;
    std::vector<WorkerReport> workers;
    Totals totals;  // summed from workers by the caller (Report::sum)
    PolicyGauges policy;

    void sum();
};

void write_json(std::ostream& os, const Report& r);
void write_summary(std::ostream& os, const Report& r);

// One line for the periodic log: rates since the previous sample.
std::string stats_line(const Totals& now, const Totals& prev, double seconds);

}  // namespace triage::telemetry
