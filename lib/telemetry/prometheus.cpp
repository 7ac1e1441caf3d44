#include "prometheus.h"

#include <cctype>
#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "telemetry.h"

namespace triage::telemetry {

namespace {

using Label = std::pair<std::string_view, std::string_view>;

const char* const kDirNames[kDirs] = {"inbound", "outbound"};

class Exposition {
public:
    // Starts a family: every sample of a name must follow its HELP/TYPE lines
    // in one block, so families are emitted whole, one after the other.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        name_ = name;
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        for (char c : help) {
            if (c == '\\')
                out_ += "\\\\";
            else if (c == '\n')
                out_ += "\\n";
            else
                out_ += c;
        }
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

    void sample(std::initializer_list<Label> labels, uint64_t v) {
        head(labels);
        char buf[24];
        const auto res = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, res.ptr);
        out_ += '\n';
    }

    void sample_double(std::initializer_list<Label> labels, double v) {
        head(labels);
        if (std::isnan(v)) {
            out_ += "NaN";
        } else if (std::isinf(v)) {
            out_ += v > 0 ? "+Inf" : "-Inf";
        } else {
            char buf[32];
            const auto res = std::to_chars(buf, buf + sizeof buf, v);
            out_.append(buf, res.ptr);
        }
        out_ += '\n';
    }

    std::string take() { return std::move(out_); }

private:
    void head(std::initializer_list<Label> labels) {
        out_ += name_;
        if (labels.size()) {
            out_ += '{';
            bool first = true;
            for (const auto& [k, v] : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += k;
                out_ += "=\"";
                out_ += prometheus_escape_label(v);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
    }

    std::string out_;
    std::string_view name_;
};

// Detection (docs/detection.md): scalars always; per-target families once
// the protected prefixes are known, every target and class from the first
// scrape, zeros included. Only the open incidents' vectors come and go.
// Alert delivery per configured sink, and the packet capture's rings.
void render_exports(Exposition& e, const ExportGauges& x) {
    if (!x.alert_sinks.empty()) {
        e.family("triage_alerts_sent_total", "counter",
                 "Alerts delivered, by sink (syslog: handed to the kernel; webhook: a 2xx answer; notify: exit 0).");
        for (const auto& a : x.alert_sinks) e.sample({{"sink", a.sink}}, a.sent);
        e.family("triage_alerts_failed_total", "counter", "Alerts given up on after trying, by sink (each is logged).");
        for (const auto& a : x.alert_sinks) e.sample({{"sink", a.sink}}, a.failed);
        e.family("triage_alerts_dropped_total", "counter",
                 "Alerts never tried, by sink: the queue was full, or still queued when triage stopped.");
        for (const auto& a : x.alert_sinks) e.sample({{"sink", a.sink}}, a.dropped);
    }
    if (!x.capture) return;
    e.family("triage_capture_sampled_total", "counter",
             "Frames toward protected prefixes copied into the always-on incident capture rings.");
    e.sample({}, x.capture_sampled);
    e.family("triage_capture_evicted_total", "counter", "Sampled frames pushed out of a full ring before an incident wanted them.");
    e.sample({}, x.capture_evicted);
    e.family("triage_capture_nombuf_total", "counter", "Frames not sampled for want of a capture buffer.");
    e.sample({}, x.capture_nombuf);
    e.family("triage_capture_manual_total", "counter", "Frames a manual capture (capture start) took.");
    e.sample({}, x.capture_manual);
    e.family("triage_capture_manual_lost_total", "counter",
             "Frames a manual capture matched but could not take (its ring was full).");
    e.sample({}, x.capture_manual_lost);
    e.family("triage_capture_incident_files", "gauge", "Incident capture files being written.");
    e.sample({}, x.capture_files_open);
    e.family("triage_capture_manual_running", "gauge", "1 while a manual capture runs.");
    e.sample({}, x.manual_running ? 1 : 0);
}

void render_detection(Exposition& e, const DetectGauges& d) {
    e.family("triage_detect_samples_total", "counter",
             "Detection samples taken (one every 20 ms while prefixes are protected).");
    e.sample({}, d.samples);
    e.family("triage_incidents_opened_total", "counter", "Incidents detection opened.");
    e.sample({}, d.incidents_opened);
    e.family("triage_incidents_closed_total", "counter",
             "Incidents closed (quiet for the hold-down, or their prefix removed).");
    e.sample({}, d.incidents_closed);
    if (!d.vector_incidents.empty()) {
        e.family("triage_incidents_total", "counter", "Incidents in which each attack vector was seen.");
        for (const auto& [vector, n] : d.vector_incidents) e.sample({{"vector", vector}}, n);
    }
    e.family("triage_last_incident_id", "gauge", "Number of the newest incident (show incident N); 0: none yet.");
    e.sample({}, d.last_incident_id);
    e.family("triage_last_incident_start_timestamp_seconds", "gauge",
             "When the newest incident opened, in Unix seconds; 0: none yet.");
    e.sample_double({}, d.last_incident_start);
    e.family("triage_last_incident_detection_latency_seconds", "gauge",
             "Newest incident: seconds from the first sample over the threshold to the incident opening.");
    e.sample_double({}, d.last_detection_latency);
    if (d.targets.empty()) return;

    e.family("triage_detect_mode", "gauge",
             "Response mode of each protected prefix's policy: 1 for the mode in force, 0 for the others.");
    for (const auto& t : d.targets)
        for (const auto& m : d.modes) e.sample({{"target", t.name}, {"mode", m}}, t.mode == m);
    e.family("triage_incident_active", "gauge", "1 while an incident is open on the protected prefix.");
    for (const auto& t : d.targets) e.sample({{"target", t.name}, {"prefix", t.prefix}}, t.incident);
    bool vectors = false;
    for (const auto& t : d.targets) vectors |= !t.vectors.empty();
    if (vectors) {
        e.family("triage_incident_vector_confidence", "gauge",
                 "Attack vectors of each open incident, with the highest confidence seen (0..1).");
        for (const auto& t : d.targets) {
            const std::string id = std::to_string(t.incident_id);
            for (const auto& v : t.vectors)
                e.sample_double({{"target", t.name}, {"prefix", t.prefix}, {"vector", v.vector}, {"incident", id}},
                                v.confidence);
        }
    }
    e.family("triage_mitigation_active", "gauge",
             "1 while mitigation is in force on the protected prefix (enforced, switched on by detection, or set "
             "by hand).");
    for (const auto& t : d.targets) e.sample({{"target", t.name}}, t.mitigated);
    e.family("triage_mitigation_switches_total", "counter",
             "Times automatic mitigation was switched on and off for the protected prefix.");
    for (const auto& t : d.targets) {
        e.sample({{"target", t.name}, {"action", "on"}}, t.switches_on);
        e.sample({{"target", t.name}, {"action", "off"}}, t.switches_off);
    }
    e.family("triage_detect_rate_pps", "gauge",
             "Inbound packets/s toward the protected prefix by traffic class, in the latest 20 ms sample.");
    for (const auto& t : d.targets)
        for (const auto& c : t.classes) e.sample_double({{"target", t.name}, {"class", c.name}}, c.rate_pps);
    e.family("triage_detect_baseline_pps", "gauge",
             "Learned normal packets/s toward the protected prefix by traffic class.");
    for (const auto& t : d.targets)
        for (const auto& c : t.classes) e.sample_double({{"target", t.name}, {"class", c.name}}, c.baseline_pps);
    e.family("triage_detect_threshold_pps", "gauge",
             "Packets/s above which a class is anomalous: max(floor, trigger factor x baseline).");
    for (const auto& t : d.targets)
        for (const auto& c : t.classes) e.sample_double({{"target", t.name}, {"class", c.name}}, c.threshold_pps);
}

}  // namespace

std::string prometheus_escape_label(std::string_view v) {
    std::string s;
    s.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            s += "\\\\";
        else if (c == '"')
            s += "\\\"";
        else if (c == '\n')
            s += "\\n";
        else
            s += c;
    }
    return s;
}

std::string render_prometheus(const Report& r, double uptime_seconds) {
    const Totals& t = r.totals;
    Exposition e;

    e.family("triage_build_info", "gauge", "Triage build; the value is always 1.");
    e.sample({{"version", r.version}}, 1);
    e.family("triage_uptime_seconds", "gauge", "Seconds since triage started serving.");
    e.sample_double({}, uptime_seconds);

    // Ports, as the NIC (or vdev) counts them.
    e.family("triage_port_packets_total", "counter",
             "Packets the port received (rx) or sent (tx).");
    for (const auto& p : r.ports) {
        e.sample({{"port", p.role}, {"direction", "rx"}}, p.rx_packets);
        e.sample({{"port", p.role}, {"direction", "tx"}}, p.tx_packets);
    }
    e.family("triage_port_bytes_total", "counter", "Bytes the port received (rx) or sent (tx).");
    for (const auto& p : r.ports) {
        e.sample({{"port", p.role}, {"direction", "rx"}}, p.rx_bytes);
        e.sample({{"port", p.role}, {"direction", "tx"}}, p.tx_bytes);
    }
    e.family("triage_port_errors_total", "counter",
             "Erroneous packets the port received (rx) or failed to send (tx).");
    for (const auto& p : r.ports) {
        e.sample({{"port", p.role}, {"direction", "rx"}}, p.rx_errors);
        e.sample({{"port", p.role}, {"direction", "tx"}}, p.tx_errors);
    }
    e.family(
        "triage_port_missed_packets_total", "counter",
        "Packets the port dropped because no RX descriptor was free (workers not keeping up).");
    for (const auto& p : r.ports) e.sample({{"port", p.role}}, p.rx_missed);
    e.family("triage_port_rx_nombuf_total", "counter",
             "Receive attempts that found no free packet buffer (mbuf pool exhausted).");
    for (const auto& p : r.ports) e.sample({{"port", p.role}}, p.rx_nombuf);

    // The workers' view, summed.
    e.family("triage_received_packets_total", "counter",
             "Packets the workers received; inbound is outside to inside.");
    for (unsigned d = 0; d < kDirs; ++d) e.sample({{"direction", kDirNames[d]}}, t.rx_packets[d]);
    e.family("triage_received_bytes_total", "counter", "Bytes the workers received.");
    for (unsigned d = 0; d < kDirs; ++d) e.sample({{"direction", kDirNames[d]}}, t.rx_bytes[d]);
    e.family("triage_forwarded_packets_total", "counter",
             "Packets handed to the other port and accepted by it.");
    for (unsigned d = 0; d < kDirs; ++d) e.sample({{"direction", kDirNames[d]}}, t.fwd_packets[d]);
    e.family("triage_forwarded_bytes_total", "counter",
             "Bytes handed to the other port and accepted by it.");
    for (unsigned d = 0; d < kDirs; ++d) e.sample({{"direction", kDirNames[d]}}, t.fwd_bytes[d]);
    e.family("triage_dropped_packets_total", "counter",
             "Packets dropped, by reason (triage -- --list-drop-reasons describes each).");
    for (unsigned i = 1; i < kDropCount; ++i)
        e.sample({{"reason", drop_name(static_cast<Drop>(i))}}, t.drops[i]);
    e.family("triage_inbound_packets_total", "counter",
             "Inbound IP packets let through, by how the policy classified them.");
    for (unsigned i = 0; i < kClassCount; ++i)
        e.sample({{"class", class_name(static_cast<Class>(i))}}, t.inbound_class[i]);
    for (unsigned i = 0; i < kScrubCount; ++i) {
        // Family names outlive the call: the exposition keeps a view of them.
        static const auto kNames = [] {
            std::array<std::string, kScrubCount> n;
            for (unsigned j = 0; j < kScrubCount; ++j)
                n[j] = std::string("triage_") + scrub_name(static_cast<Scrub>(j)) + "_total";
            return n;
        }();
        std::string help = scrub_description(static_cast<Scrub>(i));
        help[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(help[0])));
        e.family(kNames[i], "counter", help + ".");
        e.sample({}, t.scrub[i]);
    }
    // Class names come with the policy; a report without one (nothing
    // published yet) has no classes and no such families.
    bool classes = false;
    for (const auto& n : r.policy.class_names) classes |= !n.empty();
    if (classes) {
        e.family("triage_class_packets_total", "counter",
                 "Scrubbed inbound packets toward protected prefixes, by traffic class.");
        for (unsigned i = 0; i < kMeterClasses && i < r.policy.class_names.size(); ++i)
            if (!r.policy.class_names[i].empty()) e.sample({{"class", r.policy.class_names[i]}}, t.class_packets[i]);
        e.family("triage_class_limited_packets_total", "counter",
                 "Scrubbed inbound packets dropped by a per-source or per-destination limit, by traffic class.");
        for (unsigned i = 0; i < kMeterClasses && i < r.policy.class_names.size(); ++i)
            if (!r.policy.class_names[i].empty()) e.sample({{"class", r.policy.class_names[i]}}, t.class_dropped[i]);
    }
    if (!r.policy.signature_slots.empty()) {
        e.family("triage_signature_matches_total", "counter", "Payloads that matched each signature rule.");
        std::vector<std::string> ids;
        ids.reserve(r.policy.signature_slots.size());
        for (const auto& [slot, id] : r.policy.signature_slots) {
            ids.push_back(std::to_string(id));
            e.sample({{"rule", ids.back()}}, t.signature_hits[slot]);
        }
    }
    e.family("triage_outbound_malformed_packets_total", "counter",
             "Malformed packets from the inside, forwarded anyway.");
    e.sample({}, t.outbound_malformed);

    e.family("triage_workers", "gauge", "Worker lcores forwarding traffic.");
    e.sample({}, r.workers.size());
    e.family("triage_worker_received_packets_total", "counter", "Packets each worker received.");
    std::vector<std::string> index(r.workers.size());
    for (size_t w = 0; w < r.workers.size(); ++w) {
        index[w] = std::to_string(w);
        if (!r.workers[w].counters) continue;
        for (unsigned d = 0; d < kDirs; ++d)
            e.sample({{"worker", index[w]}, {"direction", kDirNames[d]}},
                     r.workers[w].counters->rx_packets[d].get());
    }
    e.family("triage_worker_steered_packets_total", "counter",
             "Packets a worker handed to (out) or took from (in) another worker under software "
             "steering.");
    for (size_t w = 0; w < r.workers.size(); ++w) {
        if (!r.workers[w].counters) continue;
        e.sample({{"worker", index[w]}, {"way", "out"}}, r.workers[w].counters->steered_out.get());
        e.sample({{"worker", index[w]}, {"way", "in"}}, r.workers[w].counters->steered_in.get());
    }

    const PolicyGauges& p = r.policy;
    e.family("triage_policy_version", "gauge", "Version of the policy snapshot the workers read.");
    e.sample({}, p.version);
    e.family("triage_policy_publications_total", "counter",
             "Policy snapshots published since start.");
    e.sample({}, p.publications);
    e.family("triage_protected_prefixes", "gauge", "Prefixes in the protected set.");
    e.sample({}, p.protected_prefixes);
    e.family("triage_list_entries", "gauge", "Entries on the source allow and deny lists.");
    e.sample({{"list", "allow"}}, p.allow_entries);
    e.sample({{"list", "deny"}}, p.deny_entries);
    e.family("triage_policy_reclaim_pending", "gauge",
             "Old policy snapshots waiting for their grace period before being freed.");
    e.sample({}, p.reclaim_pending);
    e.family("triage_tracked_sources_capacity", "gauge",
             "Per-source buckets each worker can track (--sources); see triage_meter_evictions_total.");
    e.sample({}, p.meter_capacity);
    e.family("triage_syn_cookie_window", "gauge",
             "Current SYN-cookie key window (Unix time / 64); keys rotate when it changes.");
    e.sample({}, p.cookie_window);
    render_detection(e, r.detect);
    render_exports(e, r.exports);
    return e.take();
}

}  // namespace triage::telemetry
