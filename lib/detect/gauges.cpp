// detect::fill_gauges: the Detector's state as the plain numbers of
// telemetry::DetectGauges (/metrics, --stats-json). Runs on the control core
// when it refreshes the report (every 250 ms), never per sample.
#include <unordered_map>
#include <utility>

#include "detect.h"

namespace triage::detect {

void fill_gauges(const Detector& d, telemetry::DetectGauges& g) {
    g.samples = d.samples();
    const std::vector<Incident>& all = d.incidents();

    // Counters come from the incident history the detector keeps (it never
    // drops an incident), so they only ever grow.
    uint64_t closed = 0, by_class[kClasses]{};
    std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> switches;  // target -> on, off
    for (const Incident& i : all) {
        closed += !i.open;
        for (const VectorSeen& v : i.vectors)
            if (v.cls < kClasses) ++by_class[v.cls];
        for (const Action& a : i.actions) {
            if (a.what == "mitigation on") ++switches[i.target].first;
            else if (a.what == "mitigation off") ++switches[i.target].second;
        }
    }
    g.incidents_opened = all.size();
    g.incidents_closed = closed;
    g.vector_incidents.clear();
    for (unsigned c = 0; c < kClasses; ++c)
        if (!d.class_name(c).empty() || by_class[c])
            g.vector_incidents.emplace_back(vector_name(c, d.class_name(c)), by_class[c]);

    g.modes.clear();
    for (Mode m : {Mode::monitor, Mode::auto_, Mode::enforce}) g.modes.emplace_back(mode_name(m));

    g.targets.resize(d.targets());
    for (size_t k = 0; k < d.targets(); ++k) {
        const Entry& e = d.target(k);
        telemetry::DetectTargetGauges& t = g.targets[k];
        t.name = e.name;
        t.prefix = e.prefix;
        t.mode = mode_name(e.mode);
        const Incident* in = d.target_incident(k);
        t.incident = in != nullptr;
        t.incident_id = in ? in->id : 0;
        t.mitigated = e.mode == Mode::enforce || (in && in->mitigating);
        t.vectors.clear();
        if (in)
            for (const VectorSeen& v : in->vectors)
                t.vectors.push_back({vector_name(v.cls, d.class_name(v.cls)), v.confidence});
        t.classes.clear();
        for (unsigned c = 0; c < kClasses; ++c)
            if (!d.class_name(c).empty())
                t.classes.push_back({d.class_name(c), d.target_rate(k, c), d.target_baseline(k, c),
                                     d.target_threshold(k, c)});
        const auto s = switches.find(e.name);
        t.switches_on = s == switches.end() ? 0 : s->second.first;
        t.switches_off = s == switches.end() ? 0 : s->second.second;
    }

    if (all.empty()) {
        g.last_incident_id = 0;
        g.last_incident_start = g.last_detection_latency = 0;
    } else {
        const Incident& last = all.back();
        g.last_incident_id = last.id;
        g.last_incident_start = static_cast<double>(last.start_wall_ms) / 1000.0;
        g.last_detection_latency = last.start_t - last.first_anomaly_t;
    }
}

}  // namespace triage::detect
