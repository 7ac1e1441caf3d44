// The HTTP endpoint a Prometheus server scrapes: GET /metrics. Runs on its own
// thread (plus a small request pool) and reads only Latest.
#pragma once

#include <memory>
#include <string>

#include "latest.h"
#include "listen_address.h"

namespace triage::telemetry {

class MetricsServer {
public:
    // address as for --metrics (see parse_listen_address). Returns once the
    // socket is listening; throws std::runtime_error with a one-line message
    // ("--metrics 127.0.0.1:9100: cannot listen: Address already in use").
    // Threads inherit the caller's CPU affinity: start it from the main lcore
    // after rte_eal_init so it stays off the worker cores.
    MetricsServer(const std::string& address, const Latest& latest);
    ~MetricsServer();  // stop()
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Closes the socket and joins the threads; in-flight scrapes finish first.
    void stop() noexcept;
    const ListenAddress& address() const noexcept;

private:
    struct Impl;  // keeps <httplib.h> out of every includer
    std::unique_ptr<Impl> impl_;
};

}  // namespace triage::telemetry
