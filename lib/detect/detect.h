// lib/detect: attack detection on the control core (docs/detection.md).
// Workers count inbound packets and bytes per protected prefix and traffic
// class (EntryCounters); the control core sums them every sample (20 ms),
// and the Detector turns the rates into incidents: a learned baseline per
// prefix and class with operator floors, classification by composition with
// a confidence, and a hold-down with hysteresis before an incident closes.
// EAL-free: the caller supplies counts and the clock, so tests can drive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "counters.h"
#include "policy.h"
#include "report.h"

namespace triage::detect {

inline constexpr unsigned kClasses = policy::kMaxClasses;
inline constexpr unsigned kUnclassified = kClasses;  // ICMP exempt and other protocols
inline constexpr unsigned kSlots = kClasses + 1;
inline constexpr uint8_t kSyn = policy::kClassSyn, kTcp = policy::kClassTcp, kUdp = policy::kClassUdp,
                         kIcmp = policy::kClassIcmp, kFragment = policy::kClassFragment,
                         kFirstReflector = policy::kFirstReflectorClass;

// One worker's counts toward one protected prefix (snapshot index). Written
// by that worker only.
struct alignas(64) EntryCounters {
    telemetry::Counter packets[kSlots];
    telemetry::Counter bytes[kSlots];
    telemetry::Counter drops[telemetry::kDropCount];  // of those, dropped, by reason (drop_name)
};

// The same, summed over workers, as plain numbers.
struct EntryTotals {
    uint64_t packets[kSlots]{};
    uint64_t bytes[kSlots]{};
    uint64_t drops[telemetry::kDropCount]{};
};

using Mode = policy::MitigationMode;

// A protected prefix as detection sees it (from the running snapshot).
struct Entry {
    std::string name;
    std::string prefix;  // text
    Mode mode = Mode::monitor;
    double floor[kClasses]{};  // packets/s
};

struct Tuning {
    double trigger_factor = 3.0;    // a class is anomalous above max(floor, factor x baseline)
    double release_ratio = 0.5;     // ... and quiet again below release_ratio x that threshold
    double min_confidence = 0.5;    // a vector counts from this confidence
    unsigned confirm_samples = 2;   // consecutive anomalous samples before an incident opens
    double baseline_tau_s = 300;    // EWMA time constant of the learned baseline
    double hold_down_s = 60;        // quiet this long before an incident closes
};

// Built-in floors (packets/s) by class, before the operator's.
double default_floor(unsigned cls) noexcept;

struct VectorSeen {
    uint8_t cls = 0;
    double confidence = 0;   // highest seen
    double peak_pps = 0;
    uint64_t packets = 0;    // while the incident was open
    uint64_t bytes = 0;
};

struct Action {
    double t = 0;           // monotonic seconds (caller's clock)
    int64_t wall_ms = 0;    // wall clock, ms since the epoch
    std::string what;       // "mitigation on", "mitigation off", "opened", "closed", "vector added"
    std::string reason;
};

// A source prefix among the heaviest toward an incident's target, estimated
// from sampled packets (sketch.h): the true count lies in
// [packets - error, packets]; share is packets over the target's packets.
struct TopSource {
    std::string prefix;  // "203.0.113.0/24"
    uint64_t packets = 0, bytes = 0, error = 0;
    double share = 0;
};

struct Incident {
    uint32_t id = 0;
    std::string target, prefix;
    Mode mode = Mode::monitor;
    bool open = true;
    bool mitigating = false;     // auto mitigation switched on by this incident
    double start_t = 0, end_t = 0, last_anomaly_t = 0;
    double first_anomaly_t = 0;  // first sample of the streak that opened it (start_t - this: detection latency)
    int64_t start_wall_ms = 0, end_wall_ms = 0;
    std::vector<VectorSeen> vectors;
    double peak_pps = 0, peak_bps = 0;  // all classes together, per sample
    uint64_t packets = 0, bytes = 0, dropped = 0;  // toward the target while open
    uint64_t drops[telemetry::kDropCount]{};       // dropped, by mechanism (telemetry::Drop)
    std::vector<Action> actions;
    std::string capture;  // capture file, when one was written
    uint64_t capture_packets = 0;  // written to it, once it is closed
    std::vector<TopSource> top_sources;  // heaviest first
};

// What the caller must do after observe().
struct Event {
    enum Kind : uint8_t { opened, vector_added, mitigate_on, mitigate_off, closed } kind;
    uint32_t incident;
    std::string target;
    std::string text;  // one line for the log
};

class Detector {
public:
    explicit Detector(Tuning t = {}) : tune_(t) {}
    void set_tuning(const Tuning& t) { tune_ = t; }
    const Tuning& tuning() const noexcept { return tune_; }
    // The protected prefixes in snapshot order. State (baselines, open
    // incidents) follows names across changes; the next sample after a
    // change only re-establishes the counters.
    void set_entries(std::vector<Entry> entries, std::vector<std::string> class_names);
    // One sample: cumulative totals per entry (same order), at monotonic
    // time t (seconds) and wall clock wall_ms. Appends what happened.
    void observe(double t, int64_t wall_ms, const std::vector<EntryTotals>& cum, std::vector<Event>& out);

    const std::vector<Incident>& incidents() const noexcept { return incidents_; }
    const Incident* incident(uint32_t id) const noexcept;
    Incident* incident_mut(uint32_t id) noexcept;
    // Names of the protected prefixes whose auto mitigation is on.
    std::vector<std::string> mitigated() const;
    // The learned baseline (packets/s) of a class at a target, for tests and `show`.
    double baseline(const std::string& target, unsigned cls) const noexcept;
    const std::string& class_name(unsigned cls) const noexcept;
    uint64_t samples() const noexcept { return samples_; }
    // Per protected prefix, by snapshot index (for metrics: fill_gauges).
    size_t targets() const noexcept { return st_.size(); }
    const Entry& target(size_t k) const noexcept { return st_[k].entry; }
    // Packets/s of a slot (class, or kUnclassified) in the latest sample; 0 before the second.
    double target_rate(size_t k, unsigned slot) const noexcept { return slot < kSlots ? st_[k].rate[slot] : 0; }
    double target_baseline(size_t k, unsigned cls) const noexcept { return cls < kClasses ? st_[k].baseline[cls] : 0; }
    // The threshold the next sample of a class is compared with: max(floor, trigger_factor x baseline).
    double target_threshold(size_t k, unsigned cls) const noexcept;
    // The incident open on it, or null.
    const Incident* target_incident(size_t k) const noexcept {
        return st_[k].incident >= 0 ? &incidents_[static_cast<size_t>(st_[k].incident)] : nullptr;
    }

private:
    struct State {
        Entry entry;
        EntryTotals last{};
        bool have_last = false;
        double baseline[kClasses]{};
        bool baseline_seeded = false;
        unsigned streak = 0;      // consecutive anomalous samples
        int incident = -1;        // index into incidents_ while one is open
        double rate[kSlots]{};    // packets/s in the latest sample (metrics)
        double anomaly_since = 0; // t of the streak's first sample
    };
    State* find(const std::string& name);

    Tuning tune_;
    std::vector<State> st_;
    std::vector<std::string> class_names_;
    std::vector<Incident> incidents_;
    double last_t_ = -1;
    uint64_t samples_ = 0;
    uint32_t next_id_ = 1;
};

inline const char* mode_name(Mode m) noexcept { return policy::mitigation_mode_name(m); }
// "syn-flood", "tcp-flood" (ACK/RST/other TCP), "udp-flood", "icmp-flood",
// "fragment-flood", "dns-reflection", ...
std::string vector_name(unsigned cls, const std::string& class_name);

// One JSON object (one line) for an incident; a Markdown report for a
// compliance reader.
std::string incident_json(const Incident& i, const std::vector<std::string>& class_names, const char* event);
std::string incident_markdown(const Incident& i, const std::vector<std::string>& class_names);
std::string format_wall(int64_t wall_ms);  // "2026-12-05T06:14:00.123Z"

// Detection's state and counters as plain numbers for /metrics and
// --stats-json (the control core calls it when it refreshes the report).
void fill_gauges(const Detector& d, telemetry::DetectGauges& g);

}  // namespace triage::detect
