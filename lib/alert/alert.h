// lib/alert: incident alerts for a SIEM (syslog, in CEF or as JSON), a webhook
// and a notify command (docs/alerts.md). One background thread does all the
// sending; the control core only enqueues, so neither a dead collector nor a
// slow script can stall detection or the console.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format.h"

namespace triage::alert {

// X(enum, name in logs and docs)
#define TRIAGE_ALERT_SINKS(X)       \
    X(syslog_cef, "syslog-cef")     \
    X(syslog_json, "syslog-json")   \
    X(webhook, "webhook")           \
    X(notify, "notify")

enum class Sink : uint8_t {
#define TRIAGE_X(e, n) e,
    TRIAGE_ALERT_SINKS(TRIAGE_X)
#undef TRIAGE_X
};
inline constexpr unsigned kSinks = 0
#define TRIAGE_X(e, n) +1
    TRIAGE_ALERT_SINKS(TRIAGE_X)
#undef TRIAGE_X
    ;
const char* sink_name(Sink s) noexcept;

struct Config {
    std::string syslog_cef;   // udp://HOST:PORT or tcp://HOST:PORT; empty = off
    std::string syslog_json;  // the same, with the incident JSON as the MSG
    std::string webhook;      // http:// or https:// URL; empty = off
    std::vector<std::string> webhook_headers;  // "Name: value"
    std::string notify_command;                // executable; empty = off
    std::string version = "dev";               // CEF device version, User-Agent, TRIAGE_VERSION
    std::string hostname;                      // syslog HOSTNAME; empty = gethostname()
    size_t queue_capacity = 256;               // alerts waiting; when full the oldest is dropped
    std::chrono::milliseconds tcp_timeout{5000};      // syslog over TCP: connect, and each send
    std::chrono::milliseconds webhook_timeout{5000};  // connect, and read/write, per try
    unsigned webhook_tries = 3;
    std::chrono::milliseconds webhook_backoff{500};   // before the 2nd try; doubled after each
    std::chrono::milliseconds notify_timeout{10000};  // then SIGKILL to its process group
    std::chrono::milliseconds flush_timeout{2000};    // at destruction

    bool any() const noexcept {
        return !syslog_cef.empty() || !syslog_json.empty() || !webhook.empty() || !notify_command.empty();
    }
};

struct SinkStats {
    bool enabled = false;
    uint64_t sent = 0;     // delivered (syslog: handed to the kernel; webhook: a 2xx; notify: exit 0)
    uint64_t failed = 0;   // given up on after trying (each failure is logged)
    uint64_t dropped = 0;  // never tried: queue full, or still queued when the flush time ran out
};

struct Stats {
    std::array<SinkStats, kSinks> sinks{};
    uint64_t enqueued = 0;  // alerts handed to send()
    uint64_t queued = 0;    // waiting now (not counting the one being sent)
    const SinkStats& operator[](Sink s) const noexcept { return sinks[static_cast<unsigned>(s)]; }
};

class Dispatcher {
public:
    // Parses every destination again (throws std::invalid_argument naming the
    // option) and starts the sender thread. The thread inherits the caller's
    // CPU affinity: construct it on the control core, never on a worker.
    explicit Dispatcher(Config c);
    // Sends what is queued for up to flush_timeout, then stops; what is left
    // counts as dropped.
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Enqueues for every configured sink. O(1); never waits on a sink. When
    // the queue is full the oldest alert is dropped, counted and warned about
    // (rate-limited).
    void send(Alert a);
    Stats stats() const;
    // Blocks until everything enqueued so far has been handled or the timeout
    // passes (tests, and before a planned stop); true when drained.
    bool drain(std::chrono::milliseconds timeout);
    // "syslog-cef udp://192.0.2.1:514, webhook https://..." for the start-up log.
    std::string describe() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace triage::alert
