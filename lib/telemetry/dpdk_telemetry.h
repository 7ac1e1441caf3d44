// Triage's figures over DPDK's own telemetry socket
// (/var/run/dpdk/<prefix>/dpdk_telemetry.v2, read with dpdk-telemetry.py):
// /triage/info, /triage/traffic, /triage/ports, /triage/drops,
// /triage/classes, /triage/workers, /triage/policy.
#pragma once

#include "latest.h"

namespace triage::telemetry {

// While an object of this class lives, the /triage/* commands answer from
// `latest` (and nothing else: they run on DPDK's telemetry threads). DPDK
// cannot unregister a command, so the commands are registered once per process
// and, with no object alive, answer with an error instead of reading freed
// memory. Construct after rte_eal_init; at most one at a time.
class DpdkTelemetry {
public:
    explicit DpdkTelemetry(const Latest& latest);  // throws if DPDK refuses a command
    ~DpdkTelemetry();
    DpdkTelemetry(const DpdkTelemetry&) = delete;
    DpdkTelemetry& operator=(const DpdkTelemetry&) = delete;
};

}  // namespace triage::telemetry
