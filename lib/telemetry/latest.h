// Hand-off of the newest Report from the control core to exporter threads
// (HTTP metrics, DPDK telemetry callbacks). Those threads must not call ethdev
// functions or walk worker state, so the control core reads the ports and sums
// the workers, and they only ever see a finished, immutable copy.
//
// A stored Report's WorkerReport::counters still point at the live per-worker
// counters; exporters may read them (relaxed atomics) for per-worker figures.
// That is safe because the owner (app/triage/main.cpp) declares Latest and the
// exporters after the counters, so they are stopped and destroyed first. The
// per-worker figures can thus be a few packets newer than `totals`.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <utility>

#include "report.h"

namespace triage::telemetry {

class Latest {
public:
    using clock = std::chrono::steady_clock;

    explicit Latest(clock::time_point started = clock::now()) : started_(started) {}

    // Control core. The lock only guards a pointer swap; the old report is
    // freed by whoever drops the last reference, possibly an exporter.
    void store(Report r) {
        auto next = std::make_shared<const Report>(std::move(r));
        std::lock_guard lock(mu_);
        cur_.swap(next);
    }

    // Any thread. Null until the control core stores its first report.
    std::shared_ptr<const Report> load() const {
        std::lock_guard lock(mu_);
        return cur_;
    }

    // Seconds since the process started serving (for triage_uptime_seconds).
    double uptime_seconds() const {
        return std::chrono::duration<double>(clock::now() - started_).count();
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const Report> cur_;
    clock::time_point started_;
};

}  // namespace triage::telemetry
