// The control core's side of the console: the running configuration, its
// publication to the workers, and the port/worker views the show commands
// print. Implements cli::Runtime over the real ports and counters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <chrono>
#include <cstdio>
#include <set>

#include "alert.h"
#include "capture.h"
#include "cli.h"
#include "detect.h"
#include "options.h"
#include "publisher.h"
#include "scrub.h"
#include "sketch.h"
#include "telemetry.h"

namespace triage::app {

class Control : public cli::Runtime {
public:
    // report.workers must already list every worker's counters.
    Control(const Options& o, telemetry::Report& report, policy::Publisher& pub, std::string version);

    const policy::Config& config() const override { return running_; }
    void commit(const policy::Config& next) override;
    policy::Time now() const override;
    std::string version() const override { return version_; }
    void show_port_info(std::ostream& os, const std::optional<std::string>& port) override;
    void show_port_stats(std::ostream& os, const std::optional<std::string>& port) override;
    void clear_port_stats(const std::optional<std::string>& port) override;
    void show_workers(std::ostream& os) override;
    void show_drops(std::ostream& os) override;
    void show_policy_state(std::ostream& os) override;
    void show_scrub(std::ostream& os) override;
    void show_signatures(std::ostream& os) override;
    void set_log_level(const std::string& level) override;
    void show_incidents(std::ostream& os) override;
    void show_incident(std::ostream& os, uint32_t id) override;
    void capture_start(std::ostream& os, const CaptureRequest& r) override;
    void capture_stop(std::ostream& os) override;
    void show_capture(std::ostream& os) override;
    // Packet capture: incident files (with --incident-dir) and `capture`.
    // Owned by main; nullptr: capture is off.
    void set_recorder(capture::Recorder* r) {
        recorder_ = r;
        sync_capture();
    }

    // Detection reads these (one array of policy::kMaxProtected per worker).
    void set_entry_counters(std::vector<const detect::EntryCounters*> per_worker) { entries_ = std::move(per_worker); }
    // The workers' top-sources summaries (one slot per worker).
    void set_sketches(std::vector<scrub::SketchSlot*> slots) {
        sketches_ = std::move(slots);
        sketch_req_.assign(sketches_.size(), 0);
    }
    // At exit: incidents still open go to the incident log as they stand.
    void finish();
    const detect::Detector& detector() const noexcept { return detector_; }
    // The alert sinks' counters (sent, failed, dropped); null when no sink is configured.
    const alert::Dispatcher* alerts() const noexcept { return alerts_.get(); }

    // Control-loop duties: free retired snapshots, drop expired list entries
    // and rotate the SYN-cookie keys (publishing the result). Cheap when
    // there is nothing to do.
    void tick();
    // The report's gauges; filling the policy's also refreshes report.detect
    // (main calls fill(report.policy) every 250 ms and at exit).
    void fill(telemetry::PolicyGauges& g) const;
    void fill(telemetry::DetectGauges& g) const;
    void fill(telemetry::ExportGauges& g) const;

private:
    struct Role {
        uint16_t id;
        const char* name;
    };
    std::vector<Role> select(const std::optional<std::string>& port) const;

    const Options& o_;
    telemetry::Report& report_;
    policy::Publisher& pub_;
    std::string version_;
    void publish(std::unique_ptr<policy::Snapshot> s);
    void sync_detector();
    void sync_capture();
    static constexpr uint16_t kNoEntry = 0xffff;
    uint16_t entry_index(const std::string& name) const;
    void start_capture(detect::Incident& i);
    void end_capture(detect::Incident& i);
    void detect_tick();
    void record(const detect::Incident& i, const char* event);
    // Hands the incident as it stands to the alert sinks (never waits on them).
    void send_alert(const detect::Incident& i, alert::Kind k, const std::string& reason = {});
    uint32_t cookie_window() const;

    policy::Config running_;
    policy::CompileOptions compile_opts_;
    // SYN-cookie keys; with a shared secret, derived from it.
    std::optional<syncookie::SharedSecret> shared_;
    syncookie::Secrets secrets_{};
    uint64_t version_no_ = 0;
    // `clear port stats` resets what the console shows, not the monotonic
    // counters Prometheus reads: these are the values at the last clear.
    telemetry::PortReport port_base_[2];
    telemetry::Totals totals_base_;
    // Detection: the samples, and the prefixes it has put under mitigation
    // (an overlay compiled into every snapshot, never saved with the config).
    detect::Detector detector_;
    std::vector<const detect::EntryCounters*> entries_;
    std::set<std::string> mitigated_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now(), last_sample_{};
    FILE* incident_log_ = nullptr;
    // --syslog-cef/--syslog-json/--webhook/--notify-command; null when none is set.
    std::unique_ptr<alert::Dispatcher> alerts_;
    capture::Recorder* recorder_ = nullptr;
    // Top sources: what each worker was last asked for, and the merged
    // summary of every open incident's window (cleared when none is open).
    void sketch_tick();
    std::vector<scrub::SketchSlot*> sketches_;
    std::vector<uint32_t> sketch_req_;
    std::unique_ptr<detect::SpaceSaving<1024>> merged_ = std::make_unique<detect::SpaceSaving<1024>>();
    bool merging_ = false;
    std::chrono::steady_clock::time_point last_sketch_req_{};
};

}  // namespace triage::app
