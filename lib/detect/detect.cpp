#include "detect.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace triage::detect {

double default_floor(unsigned cls) noexcept {
    switch (cls) {
    case kSyn: return 1000;
    case kTcp: return 50000;   // established traffic is what a clinic's link carries most
    case kUdp: return 20000;
    case kIcmp: return 1000;
    case kFragment: return 1000;
    default: return 2000;      // each reflection vector
    }
}

std::string vector_name(unsigned cls, const std::string& class_name) {
    switch (cls) {
    case kSyn: return "syn-flood";
    case kTcp: return "tcp-flood";
    case kUdp: return "udp-flood";
    case kIcmp: return "icmp-flood";
    case kFragment: return "fragment-flood";
    default: return (class_name.empty() ? "class" + std::to_string(cls) : class_name) + "-reflection";
    }
}

std::string format_wall(int64_t wall_ms) {
    const time_t s = static_cast<time_t>(wall_ms / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char b[96];
    std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(wall_ms % 1000));
    return b;
}

void Detector::set_entries(std::vector<Entry> entries, std::vector<std::string> class_names) {
    class_names_ = std::move(class_names);
    class_names_.resize(kClasses);
    std::vector<State> next;
    next.reserve(entries.size());
    for (Entry& e : entries) {
        State s;
        if (State* old = find(e.name)) {
            s = *old;  // baseline and incident follow the name
            s.have_last = false;  // the snapshot index may have moved: counters restart
        }
        s.entry = std::move(e);
        next.push_back(std::move(s));
    }
    // An incident whose target disappeared closes at once.
    for (Incident& i : incidents_)
        if (i.open) {
            bool kept = false;
            for (const State& s : next) kept |= s.entry.name == i.target;
            if (!kept) {
                i.open = false;
                i.end_t = last_t_;
                i.actions.push_back({last_t_, 0, "closed", "the protected prefix was removed"});
            }
        }
    st_ = std::move(next);
}

Detector::State* Detector::find(const std::string& name) {
    for (State& s : st_)
        if (s.entry.name == name) return &s;
    return nullptr;
}

const Incident* Detector::incident(uint32_t id) const noexcept {
    for (const Incident& i : incidents_)
        if (i.id == id) return &i;
    return nullptr;
}

Incident* Detector::incident_mut(uint32_t id) noexcept {
    for (Incident& i : incidents_)
        if (i.id == id) return &i;
    return nullptr;
}

std::vector<std::string> Detector::mitigated() const {
    std::vector<std::string> out;
    for (const Incident& i : incidents_)
        if (i.open && i.mitigating) out.push_back(i.target);
    return out;
}

double Detector::baseline(const std::string& target, unsigned cls) const noexcept {
    for (const State& s : st_)
        if (s.entry.name == target && cls < kClasses) return s.baseline[cls];
    return 0;
}

// The same rule observe() applies to each sample.
double Detector::target_threshold(size_t k, unsigned cls) const noexcept {
    if (k >= st_.size() || cls >= kClasses) return 0;
    const State& s = st_[k];
    const double floor = s.entry.floor[cls] > 0 ? s.entry.floor[cls] : default_floor(cls);
    return std::max(floor, tune_.trigger_factor * s.baseline[cls]);
}

const std::string& Detector::class_name(unsigned cls) const noexcept {
    static const std::string none;
    return cls < class_names_.size() ? class_names_[cls] : none;
}

void Detector::observe(double t, int64_t wall_ms, const std::vector<EntryTotals>& cum, std::vector<Event>& out) {
    if (last_t_ >= 0 && t <= last_t_) return;
    const double dt = last_t_ < 0 ? 0 : t - last_t_;
    last_t_ = t;
    ++samples_;
    const double alpha = dt > 0 ? 1 - std::exp(-dt / tune_.baseline_tau_s) : 0;
    for (size_t k = 0; k < st_.size() && k < cum.size(); ++k) {
        State& s = st_[k];
        const EntryTotals& c = cum[k];
        if (!s.have_last || dt <= 0) {
            s.last = c;
            s.have_last = true;
            continue;
        }
        double rate[kSlots], brate = 0, total = 0;
        uint64_t dpk[kSlots], dby[kSlots];
        for (unsigned j = 0; j < kSlots; ++j) {
            dpk[j] = c.packets[j] >= s.last.packets[j] ? c.packets[j] - s.last.packets[j] : 0;
            dby[j] = c.bytes[j] >= s.last.bytes[j] ? c.bytes[j] - s.last.bytes[j] : 0;
            rate[j] = static_cast<double>(dpk[j]) / dt;
            total += rate[j];
            brate += static_cast<double>(dby[j]) * 8 / dt;
        }
        uint64_t ddrops[telemetry::kDropCount], ddrop = 0;
        for (unsigned r = 0; r < telemetry::kDropCount; ++r) {
            ddrops[r] = c.drops[r] >= s.last.drops[r] ? c.drops[r] - s.last.drops[r] : 0;
            ddrop += ddrops[r];
        }
        s.last = c;
        std::copy(rate, rate + kSlots, s.rate);

        // Which classes stand out, and how surely they are an attack.
        double conf[kClasses]{}, thr[kClasses];
        bool any = false, quiet = true, over[kClasses]{};
        double over_rate = 0;  // of the classes above their thresholds
        for (unsigned j = 0; j < kClasses; ++j) {
            const double floor = s.entry.floor[j] > 0 ? s.entry.floor[j] : default_floor(j);
            thr[j] = std::max(floor, tune_.trigger_factor * s.baseline[j]);
            if (rate[j] >= tune_.release_ratio * thr[j]) quiet = false;
            over[j] = rate[j] > thr[j];
            if (over[j]) over_rate += rate[j];
        }
        for (unsigned j = 0; j < kClasses; ++j) {
            if (!over[j]) continue;
            // Composition: a SYN flood is SYNs without the rest of the
            // handshakes (real clients send several other segments per SYN);
            // every other vector by its share of the traffic toward the host
            // that is not itself another anomalous class, so vectors sent
            // together (UDP, ICMP and fragments at once) do not dilute each
            // other below the confidence that names them.
            const double share =
                j == kSyn ? rate[kSyn] / (rate[kSyn] + rate[kTcp]) : rate[j] / (total - (over_rate - rate[j]));
            conf[j] = share * std::min(1.0, rate[j] / (2 * thr[j]));
            any |= conf[j] >= tune_.min_confidence;
        }

        if (s.incident >= 0) {
            Incident& in = incidents_[static_cast<size_t>(s.incident)];
            in.peak_pps = std::max(in.peak_pps, total);
            in.peak_bps = std::max(in.peak_bps, brate);
            for (unsigned j = 0; j < kSlots; ++j) {
                in.packets += dpk[j];
                in.bytes += dby[j];
            }
            in.dropped += ddrop;
            for (unsigned r = 0; r < telemetry::kDropCount; ++r) in.drops[r] += ddrops[r];
            for (unsigned j = 0; j < kClasses; ++j) {
                auto v = std::find_if(in.vectors.begin(), in.vectors.end(), [&](const VectorSeen& x) { return x.cls == j; });
                if (v != in.vectors.end()) {
                    v->packets += dpk[j];
                    v->bytes += dby[j];
                    v->peak_pps = std::max(v->peak_pps, rate[j]);
                    v->confidence = std::max(v->confidence, conf[j]);
                } else if (conf[j] >= tune_.min_confidence) {
                    in.vectors.push_back({static_cast<uint8_t>(j), conf[j], rate[j], dpk[j], dby[j]});
                    char b[160];
                    std::snprintf(b, sizeof b, "%s at %.0f packets/s (confidence %.2f)",
                                  vector_name(j, class_name(j)).c_str(), rate[j], conf[j]);
                    in.actions.push_back({t, wall_ms, "vector added", b});
                    out.push_back({Event::vector_added, in.id, in.target,
                                   "incident " + std::to_string(in.id) + " on " + in.target + ": also " + b});
                }
            }
            if (!quiet) {
                in.last_anomaly_t = t;
            } else if (t - in.last_anomaly_t >= tune_.hold_down_s) {
                char b[128];
                std::snprintf(b, sizeof b, "quiet for %.0f s (every class below %.0f%% of its threshold)",
                              t - in.last_anomaly_t, tune_.release_ratio * 100);
                if (in.mitigating) {
                    in.mitigating = false;
                    in.actions.push_back({t, wall_ms, "mitigation off", b});
                    out.push_back({Event::mitigate_off, in.id, in.target,
                                   "mitigation off for " + in.target + " (incident " + std::to_string(in.id) + "): " + b});
                }
                in.open = false;
                in.end_t = t;
                in.end_wall_ms = wall_ms;
                in.actions.push_back({t, wall_ms, "closed", b});
                out.push_back({Event::closed, in.id, in.target,
                               "incident " + std::to_string(in.id) + " on " + in.target + " closed: " + b});
                s.incident = -1;
                s.streak = 0;
            }
            continue;
        }

        s.streak = any ? s.streak + 1 : 0;
        if (s.streak == 1) s.anomaly_since = t;
        if (s.streak >= tune_.confirm_samples) {
            Incident in;
            in.id = next_id_++;
            in.target = s.entry.name;
            in.prefix = s.entry.prefix;
            in.mode = s.entry.mode;
            in.start_t = in.last_anomaly_t = t;
            in.first_anomaly_t = s.anomaly_since;
            in.start_wall_ms = wall_ms;
            in.peak_pps = total;
            in.peak_bps = brate;
            std::string vectors;
            for (unsigned j = 0; j < kClasses; ++j)
                if (conf[j] >= tune_.min_confidence) {
                    in.vectors.push_back({static_cast<uint8_t>(j), conf[j], rate[j], dpk[j], dby[j]});
                    char b[128];
                    std::snprintf(b, sizeof b, "%s%s at %.0f packets/s (threshold %.0f, confidence %.2f)",
                                  vectors.empty() ? "" : ", ", vector_name(j, class_name(j)).c_str(), rate[j], thr[j],
                                  conf[j]);
                    vectors += b;
                }
            for (unsigned j = 0; j < kSlots; ++j) {
                in.packets += dpk[j];
                in.bytes += dby[j];
            }
            in.dropped += ddrop;
            for (unsigned r = 0; r < telemetry::kDropCount; ++r) in.drops[r] += ddrops[r];
            in.actions.push_back({t, wall_ms, "opened", vectors});
            out.push_back({Event::opened, in.id, in.target,
                           "incident " + std::to_string(in.id) + " on " + in.target + " (" + in.prefix + ", " +
                               mode_name(in.mode) + "): " + vectors});
            if (in.mode == Mode::auto_) {
                in.mitigating = true;
                in.actions.push_back({t, wall_ms, "mitigation on", "auto: " + vectors});
                out.push_back({Event::mitigate_on, in.id, in.target,
                               "mitigation on for " + in.target + " (incident " + std::to_string(in.id) + ")"});
            } else if (in.mode == Mode::enforce) {
                in.actions.push_back({t, wall_ms, "mitigation already on", "enforce"});
            }
            s.incident = static_cast<int>(incidents_.size());
            incidents_.push_back(std::move(in));
            continue;
        }
        // No incident and nothing building up: learn what normal looks like
        // (a busy morning raises the baseline, so it is not an attack).
        if (!any) {
            if (!s.baseline_seeded) {
                for (unsigned j = 0; j < kClasses; ++j) s.baseline[j] = rate[j];
                s.baseline_seeded = true;
            } else {
                for (unsigned j = 0; j < kClasses; ++j) s.baseline[j] += alpha * (rate[j] - s.baseline[j]);
            }
        }
    }
}

namespace {

std::string esc(const std::string& s) {
    std::string o;
    for (char ch : s) {
        if (ch == '"' || ch == '\\') o += '\\';
        if (static_cast<unsigned char>(ch) < 0x20) continue;
        o += ch;
    }
    return o;
}

}  // namespace

std::string incident_json(const Incident& i, const std::vector<std::string>& class_names, const char* event) {
    std::ostringstream o;
    auto cname = [&](unsigned c) { return c < class_names.size() ? class_names[c] : std::string(); };
    char b[64];
    o << "{\"event\": \"" << event << "\", \"id\": " << i.id << ", \"target\": \"" << esc(i.target)
      << "\", \"prefix\": \"" << esc(i.prefix) << "\", \"mode\": \"" << mode_name(i.mode) << "\", \"open\": "
      << (i.open ? "true" : "false") << ", \"start\": \"" << format_wall(i.start_wall_ms) << "\", \"end\": ";
    if (i.open) o << "null";
    else o << "\"" << format_wall(i.end_wall_ms) << "\"";
    std::snprintf(b, sizeof b, "%.3f", (i.open ? i.last_anomaly_t : i.end_t) - i.start_t);
    o << ", \"duration_s\": " << b;
    std::snprintf(b, sizeof b, "%.0f", i.peak_pps);
    o << ", \"peak_pps\": " << b;
    std::snprintf(b, sizeof b, "%.0f", i.peak_bps);
    o << ", \"peak_bps\": " << b << ", \"packets\": " << i.packets << ", \"bytes\": " << i.bytes
      << ", \"dropped\": " << i.dropped << ", \"dropped_by\": {";
    bool first = true;
    for (unsigned r = 0; r < telemetry::kDropCount; ++r)
        if (i.drops[r]) {
            o << (first ? "" : ", ") << "\"" << telemetry::drop_name(static_cast<telemetry::Drop>(r)) << "\": " << i.drops[r];
            first = false;
        }
    o << "}, \"vectors\": [";
    for (size_t k = 0; k < i.vectors.size(); ++k) {
        const VectorSeen& v = i.vectors[k];
        std::snprintf(b, sizeof b, "%.3f", v.confidence);
        o << (k ? ", " : "") << "{\"vector\": \"" << esc(vector_name(v.cls, cname(v.cls))) << "\", \"class\": \""
          << esc(cname(v.cls)) << "\", \"confidence\": " << b;
        std::snprintf(b, sizeof b, "%.0f", v.peak_pps);
        o << ", \"peak_pps\": " << b << ", \"packets\": " << v.packets << ", \"bytes\": " << v.bytes << "}";
    }
    o << "], \"actions\": [";
    for (size_t k = 0; k < i.actions.size(); ++k) {
        const Action& a = i.actions[k];
        o << (k ? ", " : "") << "{\"time\": \"" << format_wall(a.wall_ms) << "\", \"action\": \"" << esc(a.what)
          << "\", \"reason\": \"" << esc(a.reason) << "\"}";
    }
    o << "], \"top_sources\": [";
    for (size_t k = 0; k < i.top_sources.size(); ++k) {
        const TopSource& t = i.top_sources[k];
        std::snprintf(b, sizeof b, "%.4f", t.share);
        o << (k ? ", " : "") << "{\"prefix\": \"" << esc(t.prefix) << "\", \"packets\": " << t.packets
          << ", \"error\": " << t.error << ", \"bytes\": " << t.bytes << ", \"share\": " << b << "}";
    }
    o << "], \"capture\": " << (i.capture.empty() ? "null" : "\"" + esc(i.capture) + "\"")
      << ", \"capture_packets\": " << i.capture_packets << "}";
    return o.str();
}

std::string incident_markdown(const Incident& i, const std::vector<std::string>& class_names) {
    std::ostringstream o;
    auto cname = [&](unsigned c) { return c < class_names.size() ? class_names[c] : std::string(); };
    char b[256];
    o << "# Incident " << i.id << ": " << i.target << " (" << i.prefix << ")\n\n";
    o << "| | |\n|---|---|\n";
    o << "| Target | " << i.target << ", " << i.prefix << " |\n";
    o << "| Started | " << format_wall(i.start_wall_ms) << " (UTC) |\n";
    o << "| Ended | " << (i.open ? std::string("still open") : format_wall(i.end_wall_ms) + " (UTC)") << " |\n";
    std::snprintf(b, sizeof b, "%.1f s", (i.open ? i.last_anomaly_t : i.end_t) - i.start_t);
    o << "| Duration | " << b << " |\n";
    o << "| Response mode | " << mode_name(i.mode)
      << (i.mode == Mode::auto_      ? " (the box switched mitigation on and off by itself)"
          : i.mode == Mode::enforce ? " (mitigation was always on)"
                                     : " (detection only: nothing was changed)")
      << " |\n";
    std::snprintf(b, sizeof b, "%.0f packets/s, %.1f Mbit/s", i.peak_pps, i.peak_bps / 1e6);
    o << "| Peak toward the target | " << b << " |\n";
    o << "| Packets toward the target while open | " << i.packets << " (" << i.bytes << " bytes), of which "
      << i.dropped << " dropped by the box |\n\n";
    if (i.dropped) {
        o << "## Dropped, by mechanism\n\n| Mechanism | Packets | What it means |\n|---|---|---|\n";
        for (unsigned r = 0; r < telemetry::kDropCount; ++r)
            if (i.drops[r]) {
                const auto d = static_cast<telemetry::Drop>(r);
                o << "| " << telemetry::drop_name(d) << " | " << i.drops[r] << " | " << telemetry::drop_description(d)
                  << " |\n";
            }
        o << "\n";
    }
    o << "## Attack vectors\n\n| Vector | Confidence | Peak packets/s | Packets |\n|---|---|---|---|\n";
    for (const VectorSeen& v : i.vectors) {
        std::snprintf(b, sizeof b, "| %s | %.2f | %.0f | %" PRIu64 " |\n", vector_name(v.cls, cname(v.cls)).c_str(),
                      v.confidence, v.peak_pps, v.packets);
        o << b;
    }
    o << "\n## Timeline\n\n| Time (UTC) | Action | Reason |\n|---|---|---|\n";
    for (const Action& a : i.actions) o << "| " << format_wall(a.wall_ms) << " | " << a.what << " | " << a.reason << " |\n";
    o << "\n## Top source prefixes\n\n"
         "Estimated from sampled packets: each worker keeps a small summary of the heaviest source prefixes "
         "among the packets it samples, scaled up by the sampling ratio, and the summaries are merged. The "
         "summary may overcount a prefix by up to its error bound, never undercount it: the sampled count lies "
         "between the estimate minus the error bound and the estimate (sampling adds its own noise). Bytes "
         "are a lower bound, and the share is the estimate over all packets toward the target. Flood sources are easily spoofed, so "
         "these prefixes need not be the real senders.\n\n";
    if (i.top_sources.empty()) {
        o << "No source prefixes were sampled for this incident.\n";
    } else {
        o << "| Source prefix | Packets (estimate) | Error bound | Share | Bytes (at least) |\n|---|---|---|---|---|\n";
        for (const TopSource& t : i.top_sources) {
            std::snprintf(b, sizeof b, " | %" PRIu64 " | %" PRIu64 " | %.1f %% | %" PRIu64 " |\n", t.packets, t.error,
                          t.share * 100, t.bytes);
            o << "| " << t.prefix << b;
        }
    }
    o << "\n## What was kept\n\n"
         "Triage counts packets and bytes per protected prefix and traffic class; it does not read or keep the "
         "payloads of patient traffic. "
      << (i.capture.empty() ? std::string("No packet capture was written for this incident.")
                            : "Packet headers sampled toward the target, from before the incident opened until it "
                              "closed, are in " + i.capture +
                                  (i.open ? std::string() : " (" + std::to_string(i.capture_packets) + " packets)") +
                                  ": a pcapng file Wireshark and tshark open. Frames are cut after their transport "
                                  "header unless the box was started with --capture-payload, and each frame's "
                                  "comment says what Triage did with it.")
      << "\n";
    return o.str();
}

}  // namespace triage::detect
