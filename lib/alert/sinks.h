// Inside lib/alert: the sinks the sender thread drives, one delivery at a
// time. Each says why a delivery failed in one line; the dispatcher logs it
// and counts it.
#pragma once

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alert.h"

namespace triage::alert {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long a delivery may still take: its own timeouts while running, and no
// longer than the flush deadline once the dispatcher is stopping.
class Budget {
public:
    void set_deadline(Clock::time_point t) noexcept { ticks_.store(t.time_since_epoch().count()); }
    Clock::time_point deadline() const noexcept { return Clock::time_point(Clock::duration(ticks_.load())); }
    bool stopping() const noexcept { return ticks_.load() != kNone; }
    // min(d, time left before the deadline); zero or less when it has passed.
    milliseconds clamp(milliseconds d) const noexcept {
        if (!stopping()) return d;
        return std::min(d, std::chrono::duration_cast<milliseconds>(deadline() - Clock::now()));
    }

private:
    static constexpr Clock::rep kNone = std::numeric_limits<Clock::rep>::max();
    std::atomic<Clock::rep> ticks_{kNone};
};

class SinkImpl {
public:
    virtual ~SinkImpl() = default;
    virtual std::string destination() const = 0;
    // True when delivered; otherwise err says why.
    virtual bool deliver(const Alert& a, const Budget& b, std::string& err) = 0;
};

std::unique_ptr<SinkImpl> make_syslog_sink(const Destination& d, Format f, std::string hostname, std::string version,
                                           milliseconds tcp_timeout);
std::unique_ptr<SinkImpl> make_webhook_sink(const WebhookUrl& u, std::vector<std::pair<std::string, std::string>> headers,
                                            const Config& c);
std::unique_ptr<SinkImpl> make_notify_sink(const Config& c);

}  // namespace triage::alert
