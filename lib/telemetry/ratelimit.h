// Rate limit for log messages a packet can trigger: an attack must not turn
// the log into a second flood (disk, syslog, the console the operator reads).
// Owned by one lcore: no atomics, no locks, no clock of its own (the caller
// passes the TSC), so it costs a few arithmetic instructions and is testable
// without the EAL.
#pragma once

#include <algorithm>
#include <cstdint>

namespace triage::telemetry {

class RateLimit {
public:
    // On average per_second messages, with bursts of up to `burst` (at least
    // one) after a quiet spell. The bucket starts full.
    RateLimit(double per_second, unsigned burst) noexcept
        : rate_(per_second > 0 ? per_second : 0), burst_(burst ? burst : 1), tokens_(burst_) {}

    // True when a message may be written now. Then suppressed_out is how many
    // were refused since the previous allowed one, so the message can say
    // "(N similar suppressed)"; otherwise suppressed_out is left alone.
    // now_tsc must not go backwards (one lcore reads one TSC).
    bool allow(uint64_t now_tsc, uint64_t tsc_hz, uint64_t& suppressed_out) noexcept {
        if (started_) {
            const double earned = static_cast<double>(now_tsc - last_tsc_) * rate_ /
                                  static_cast<double>(tsc_hz ? tsc_hz : 1);
            tokens_ = std::min(burst_, tokens_ + earned);
        }
        started_ = true;
        last_tsc_ = now_tsc;
        if (tokens_ < 1.0) {
            ++suppressed_;
            return false;
        }
        tokens_ -= 1.0;
        suppressed_out = suppressed_;
        suppressed_ = 0;
        return true;
    }

    // Refused since the last allowed message (e.g. for a final flush line).
    uint64_t suppressed() const noexcept { return suppressed_; }

private:
    double rate_;
    double burst_;
    double tokens_;
    uint64_t last_tsc_ = 0;
    uint64_t suppressed_ = 0;
    bool started_ = false;
};

}  // namespace triage::telemetry
