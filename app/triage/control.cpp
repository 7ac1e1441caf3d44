#include "control.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include "ports.h"

namespace triage::app {

namespace {

std::string fmt_line(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt_line(const char* f, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

Control::Control(const Options& o, telemetry::Report& report, policy::Publisher& pub, std::string version)
    : o_(o), report_(report), pub_(pub), version_(std::move(version)) {
    compile_opts_.hz = rte_get_tsc_hz();
    compile_opts_.workers = static_cast<unsigned>(std::max<size_t>(1, report_.workers.size()));
    secrets_ = syncookie::initial_secrets(cookie_window(), nullptr);
    compile_opts_.mitigated = &mitigated_;
    detect::Tuning t;
    t.hold_down_s = running_.hold_down();
    detector_.set_tuning(t);
    if (!o_.incident_log.empty()) {
        incident_log_ = std::fopen(o_.incident_log.c_str(), "a");
        if (!incident_log_)
            throw std::runtime_error("--incident-log " + o_.incident_log + ": cannot open for appending: " +
                                     std::strerror(errno));
    }
    alert::Config ac;
    ac.syslog_cef = o_.syslog_cef;
    ac.syslog_json = o_.syslog_json;
    ac.webhook = o_.webhook;
    ac.webhook_headers = o_.webhook_headers;
    ac.notify_command = o_.notify_command;
    ac.version = version_;
    if (ac.any()) {
        // On the control core (after rte_eal_init): the sender thread stays off the workers' cores.
        alerts_ = std::make_unique<alert::Dispatcher>(std::move(ac));
        spdlog::info("incident alerts to {}", alerts_->describe());
    }
    // Workers always have a snapshot to read, from before the first packet.
    commit(running_);
}

void Control::sync_detector() {
    const policy::Snapshot* s = pub_.current();
    if (!s) return;
    detect::Tuning t = detector_.tuning();
    t.hold_down_s = running_.hold_down();
    detector_.set_tuning(t);
    std::vector<detect::Entry> entries;
    for (const auto& pr : s->protect) {
        detect::Entry e;
        e.name = pr.name;
        e.prefix = classify::to_string(pr.prefix);
        const std::string& pname = s->policy_names[pr.config_policy];
        const policy::Policy& pol = running_.policies().at(pname);
        e.mode = pol.mitigation;
        for (unsigned c = 0; c < detect::kClasses && c < s->class_names.size(); ++c) {
            const std::string& cn = s->class_names[c];
            if (cn.empty()) continue;
            auto f = pol.detect_floor.find(cn);
            if (f == pol.detect_floor.end() && c >= detect::kFirstReflector) f = pol.detect_floor.find(policy::kAllReflectors);
            if (f != pol.detect_floor.end()) e.floor[c] = static_cast<double>(f->second);
        }
        entries.push_back(std::move(e));
    }
    detector_.set_entries(std::move(entries), s->class_names);
    sync_capture();
}

// The running snapshot's index of a protected prefix (what workers tag
// their samples with), or kNoEntry when it is not protected.
uint16_t Control::entry_index(const std::string& name) const {
    if (const policy::Snapshot* s = pub_.current())
        for (size_t k = 0; k < s->protect.size(); ++k)
            if (s->protect[k].name == name) return static_cast<uint16_t>(k);
    return kNoEntry;
}

// Capture follows snapshot indexes: the names for the packets' comments,
// and the index of each open incident's target.
void Control::sync_capture() {
    const policy::Snapshot* s = pub_.current();
    if (!recorder_ || !s) return;
    std::vector<std::string> names;
    for (const auto& pr : s->protect) names.push_back(pr.name);
    // A target no longer protected keeps its file; nothing more goes in.
    for (const detect::Incident& i : detector_.incidents())
        if (i.open) recorder_->retarget(i.id, entry_index(i.target));
    recorder_->set_names(std::move(names));
}

void Control::record(const detect::Incident& i, const char* event) {
    if (incident_log_) {
        const std::string line = detect::incident_json(i, pub_.current()->class_names, event);
        std::fprintf(incident_log_, "%s\n", line.c_str());
        std::fflush(incident_log_);
    }
    if (!o_.incident_dir.empty() && std::strcmp(event, "open") != 0) {
        const std::string path = o_.incident_dir + "/incident-" + std::to_string(i.id) + ".md";
        if (FILE* f = std::fopen(path.c_str(), "w")) {
            const std::string md = detect::incident_markdown(i, pub_.current()->class_names);
            std::fwrite(md.data(), 1, md.size(), f);
            std::fclose(f);
        } else {
            spdlog::error("incident {}: cannot write {}: {}", i.id, path, std::strerror(errno));
        }
    }
    alert::Kind k{};
    if (alerts_ && alert::kind_from_event(event, k)) send_alert(i, k);
}

void Control::send_alert(const detect::Incident& i, alert::Kind k, const std::string& reason) {
    if (!alerts_) return;
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    alerts_->send(alert::make_alert(k, i, pub_.current()->class_names, now, reason));
}

// An incident's capture: the ring's history for its target, then its
// sampled packets until it closes (docs/capture.md).
void Control::start_capture(detect::Incident& i) {
    if (!recorder_ || o_.incident_dir.empty()) return;
    const uint16_t entry = entry_index(i.target);
    if (entry == kNoEntry) return;
    const std::string path = o_.incident_dir + "/incident-" + std::to_string(i.id) + ".pcapng";
    try {
        recorder_->open_incident(i.id, entry, path,
                                 "triage incident " + std::to_string(i.id) + " on " + i.target + " (" + i.prefix +
                                     "), sampled headers from before it opened");
        i.capture = path;
    } catch (const std::exception& e) {
        spdlog::error("incident {}: no capture: {}", i.id, e.what());
    }
}

void Control::end_capture(detect::Incident& i) {
    if (!recorder_ || i.capture.empty()) return;
    const uint64_t n = recorder_->close_incident(i.id);
    i.capture_packets = n;
    spdlog::info("incident {}: capture {} closed with {} packets", i.id, i.capture, n);
}

// Every 250 ms each worker hands over the summary of its samples since the
// last time. While an incident is open they are merged, and every open
// incident's top sources are read from the merge (docs/detection.md).
void Control::sketch_tick() {
    if (sketches_.empty()) return;
    bool open = false;
    for (const detect::Incident& i : detector_.incidents()) open |= i.open;
    if (open && !merging_) merged_->clear();
    merging_ = open;
    bool fresh = false;
    for (size_t k = 0; k < sketches_.size(); ++k) {
        scrub::SketchSlot& s = *sketches_[k];
        if (sketch_req_[k] == 0 || s.served.load(std::memory_order_acquire) != sketch_req_[k]) continue;
        if (open) {
            merged_->merge(s.snap);
            fresh = true;
        }
        sketch_req_[k] = 0;  // consumed
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sketch_req_ >= std::chrono::milliseconds(250)) {
        last_sketch_req_ = now;
        for (size_t k = 0; k < sketches_.size(); ++k) {
            if (sketch_req_[k] != 0) continue;  // the last one is not served yet
            uint32_t next = sketches_[k]->request.load(std::memory_order_relaxed) + 1;
            if (next == 0) next = 1;  // 0 means "nothing asked"
            sketch_req_[k] = next;
            sketches_[k]->request.store(next, std::memory_order_release);
        }
    }
    if (!fresh) return;
    for (const detect::Incident& i : detector_.incidents()) {
        if (!i.open) continue;
        const uint16_t entry = entry_index(i.target);
        if (entry == kNoEntry) continue;
        if (detect::Incident* m = detector_.incident_mut(i.id))
            m->top_sources = detect::top_sources(*merged_, entry, 10, i.packets);
    }
}

void Control::detect_tick() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sample_ < std::chrono::milliseconds(20) || entries_.empty()) return;
    last_sample_ = now;
    const policy::Snapshot* s = pub_.current();
    if (!s) return;
    const size_t n = std::min<size_t>(s->protect.size(), policy::kMaxProtected);
    std::vector<detect::EntryTotals> cum(n);
    for (const detect::EntryCounters* w : entries_)
        for (size_t i = 0; i < n; ++i) {
            for (unsigned j = 0; j < detect::kSlots; ++j) {
                cum[i].packets[j] += w[i].packets[j].get();
                cum[i].bytes[j] += w[i].bytes[j].get();
            }
            for (unsigned r = 0; r < telemetry::kDropCount; ++r) cum[i].drops[r] += w[i].drops[r].get();
        }
    std::vector<detect::Event> ev;
    const int64_t wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    detector_.observe(std::chrono::duration<double>(now - started_).count(), wall, cum, ev);
    bool remit = false;
    for (const detect::Event& e : ev) {
        switch (e.kind) {
        case detect::Event::opened:
            spdlog::warn("{}", e.text);
            if (detect::Incident* i = detector_.incident_mut(e.incident)) {
                start_capture(*i);
                record(*i, "open");
            }
            break;
        case detect::Event::vector_added:
            spdlog::warn("{}", e.text);
            if (const detect::Incident* i = detector_.incident(e.incident))
                send_alert(*i, alert::Kind::vector_added, e.text);
            break;
        case detect::Event::mitigate_on:
        case detect::Event::mitigate_off:
            spdlog::warn("{}", e.text);
            remit = true;
            if (const detect::Incident* i = detector_.incident(e.incident))
                send_alert(*i, e.kind == detect::Event::mitigate_on ? alert::Kind::mitigation_on : alert::Kind::mitigation_off,
                           e.text);
            break;
        case detect::Event::closed:
            spdlog::info("{}", e.text);
            if (detect::Incident* i = detector_.incident_mut(e.incident)) {
                end_capture(*i);
                record(*i, "close");
            }
            break;
        }
    }
    if (remit) {
        const auto m = detector_.mitigated();
        mitigated_ = std::set<std::string>(m.begin(), m.end());
        // The running configuration again, with the new overlay: tables and
        // counters carry on, only the prefixes' mitigation changes.
        try {
            auto snap = policy::compile(running_, version_no_ + 1, compile_opts_);
            publish(std::move(snap));
            ++version_no_;
            std::string list;
            for (const auto& n2 : mitigated_) list += (list.empty() ? "" : ", ") + n2;
            spdlog::info("policy v{} published: mitigation by detection on {}", version_no_,
                         list.empty() ? std::string("no prefix") : list);
        } catch (const std::exception& ex) {
            spdlog::error("mitigation change not published: {}", ex.what());
        }
    }
}

void Control::finish() {
    for (const detect::Incident& i : detector_.incidents())
        if (i.open)
            if (detect::Incident* m = detector_.incident_mut(i.id)) {
                end_capture(*m);
                record(*m, "exit");
            }
    if (recorder_) recorder_->finish();
    if (incident_log_) std::fclose(incident_log_);
    incident_log_ = nullptr;
    // Sends what is queued (the exit alerts above included) for up to 2 s.
    alerts_.reset();
}

void Control::capture_start(std::ostream& os, const CaptureRequest& r) {
    if (!recorder_) throw cli::CommandError("packet capture is off (triage was started with --capture-ring 0)");
    capture::Filter f;
    std::string err;
    if (!capture::parse_filter(r.filter, f, err)) throw cli::CommandError(err);
    try {
        recorder_->start_manual(r.file, f, r.packets, static_cast<double>(r.seconds), r.snap);
    } catch (const std::exception& e) {
        throw cli::CommandError(std::string("capture not started: ") + e.what());
    }
    os << "capturing " << capture::to_string(f) << " to " << r.file
       << (r.snap ? ", " + std::to_string(r.snap) + " bytes per frame" : std::string(", headers only"));
    if (r.packets) os << ", up to " << r.packets << " packets";
    if (r.seconds) os << ", for " << r.seconds << " s";
    os << " (capture stop ends it)\n";
}

void Control::capture_stop(std::ostream& os) {
    if (!recorder_) throw cli::CommandError("packet capture is off (triage was started with --capture-ring 0)");
    try {
        const capture::ManualStatus s = recorder_->stop_manual("capture stop");
        os << "capture stopped: " << s.packets << " packets (" << s.bytes << " bytes of pcapng) in " << s.path;
        if (s.lost) os << "; " << s.lost << " frames not captured (ring full)";
        os << "\n";
    } catch (const std::exception& e) {
        throw cli::CommandError(e.what());
    }
}

void Control::show_capture(std::ostream& os) {
    if (!recorder_) {
        os << "packet capture is off (triage was started with --capture-ring 0)\n";
        return;
    }
    const capture::ManualStatus m = recorder_->manual_status();
    if (m.running) {
        os << fmt_line("capture running: %s, filter %s, %llu packets, %.0f s", m.path.c_str(), m.filter.c_str(),
                       ull(m.packets), m.seconds);
        if (m.limit) os << fmt_line(" of %llu", ull(m.limit));
        if (m.duration > 0) os << fmt_line(", ends at %.0f s", m.duration);
        if (m.lost) os << fmt_line(", %llu not captured (ring full)", ull(m.lost));
        os << "\n";
    } else if (!m.path.empty()) {
        os << fmt_line("no capture running; the last wrote %llu packets to %s (%s)\n", ull(m.packets), m.path.c_str(),
                       m.ended.c_str());
    } else {
        os << "no capture running (capture start FILE [match FILTER] starts one)\n";
    }
    const capture::Settings& st = recorder_->settings();
    os << fmt_line("incident capture: 1 in %u frames toward protected prefixes, %s, ring of %u per worker%s\n",
                   st.sample_every,
                   st.payload ? fmt_line("headers + %u payload bytes", st.payload).c_str() : "headers only", st.ring,
                   o_.incident_dir.empty() ? " (off: no --incident-dir)" : "");
    os << fmt_line("%-8s %10s %12s %10s %10s %12s %10s\n", "WORKER", "HELD", "SAMPLED", "EVICTED", "NO-MBUF",
                   "MANUAL", "LOST");
    unsigned w = 0;
    for (const capture::Tap* t : recorder_->taps())
        os << fmt_line("%-8u %10u %12llu %10llu %10llu %12llu %10llu\n", w++, t->held(), ull(t->sampled()),
                       ull(t->evicted()), ull(t->no_mbuf()), ull(t->manual_taken()), ull(t->manual_lost()));
    os << fmt_line("open incident files: %zu\n", recorder_->open_incidents());
}

void Control::show_incidents(std::ostream& os) {
    const auto& all = detector_.incidents();
    if (all.empty()) {
        os << "no incidents (detection sampled " << detector_.samples() << " times)\n";
        return;
    }
    os << fmt_line("%-4s %-16s %-7s %-25s %-9s %-10s %s\n", "ID", "TARGET", "STATE", "START (UTC)", "DURATION",
                   "MITIGATION", "VECTORS");
    for (const detect::Incident& i : all) {
        std::string vec;
        for (const auto& v : i.vectors) {
            char b[96];
            std::snprintf(b, sizeof b, "%s%s %.2f", vec.empty() ? "" : ", ",
                          detect::vector_name(v.cls, detector_.class_name(v.cls)).c_str(), v.confidence);
            vec += b;
        }
        const double dur = (i.open ? std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()
                                   : i.end_t) - i.start_t;
        const char* mit = i.mode == detect::Mode::monitor ? "monitor"
                          : i.mode == detect::Mode::enforce ? "enforced"
                          : i.mitigating                    ? "auto: on"
                                                            : "auto: off";
        os << fmt_line("%-4u %-16s %-7s %-25s %7.1fs %-10s %s\n", i.id, i.target.c_str(), i.open ? "open" : "closed",
                       detect::format_wall(i.start_wall_ms).c_str(), dur, mit, vec.c_str());
    }
}

void Control::show_incident(std::ostream& os, uint32_t id) {
    const detect::Incident* i = detector_.incident(id);
    if (!i) throw cli::CommandError("no incident " + std::to_string(id) + " (show incidents lists them)");
    os << detect::incident_markdown(*i, pub_.current()->class_names);
}

policy::Time Control::now() const {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

uint32_t Control::cookie_window() const {
    if (o_.cookie_window) return o_.cookie_window;
    return syncookie::window_of(std::chrono::system_clock::now().time_since_epoch() / std::chrono::seconds(1));
}

void Control::publish(std::unique_ptr<policy::Snapshot> s) {
    s->cookies = secrets_;
    s->cookie_shared = shared_.has_value();
    pub_.publish(std::move(s));
}

void Control::commit(const policy::Config& next) {
    // compile() validates the whole snapshot; a throw leaves everything as it was.
    auto snap = policy::compile(next, version_no_ + 1, compile_opts_);
    const size_t p = snap->protect.size(), a = snap->allow_entries, d = snap->deny_entries;
    if (next.cookie_secret() != running_.cookie_secret() || version_no_ == 0) {
        shared_.reset();
        if (next.cookie_secret()) {
            syncookie::SharedSecret sec;
            std::string err;
            if (!syncookie::parse_secret(*next.cookie_secret(), sec, err)) throw policy::ConfigError(err);
            shared_ = sec;
        }
        // New keys at once: cookies made under the old secret stop validating.
        secrets_ = syncookie::initial_secrets(cookie_window(), shared_ ? &*shared_ : nullptr);
        if (version_no_ != 0)
            spdlog::info("SYN-cookie keys: {}", shared_ ? "derived from the shared secret" : "random per boot");
    }
    publish(std::move(snap));
    ++version_no_;
    running_ = next;
    sync_detector();
    spdlog::info("policy v{} published: {} protected prefix{}, {} allow, {} deny, transit {}", version_no_, p,
                 p == 1 ? "" : "es", a, d, policy::transit_name(next.transit()));
}

void Control::tick() {
    pub_.reclaim();
    detect_tick();
    sketch_tick();
    if (recorder_) recorder_->tick(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    if (const uint32_t w = cookie_window(); w != secrets_.window) {
        // A copy of the running snapshot with the next keys: tables and
        // rules are shared, so this costs a few small vectors.
        secrets_ = syncookie::rotate(secrets_, w, shared_ ? &*shared_ : nullptr);
        publish(std::make_unique<policy::Snapshot>(*pub_.current()));
        spdlog::debug("SYN-cookie keys rotated to window {}", w);
    }
    const auto next = running_.next_expiry();
    if (!next || *next > now()) return;
    policy::Config c = running_;
    for (const auto& line : c.expire(now())) spdlog::info("{}", line);
    commit(c);
}

void Control::fill(telemetry::PolicyGauges& g) const {
    g.version = version_no_;
    g.publications = pub_.publications();
    g.protected_prefixes = running_.protect().size();
    g.allow_entries = running_.list(policy::ListKind::allow).size();
    g.deny_entries = running_.list(policy::ListKind::deny).size();
    g.reclaim_pending = pub_.pending();
    if (const policy::Snapshot* s = pub_.current()) g.class_names = s->class_names;
    g.signature_slots.clear();
    for (const auto& [id, r] : running_.signatures()) g.signature_slots.emplace_back(r.slot, id);
    g.cookie_window = secrets_.window;
    g.cookie_shared = shared_.has_value();
    g.meter_capacity = o_.sources;
    fill(report_.detect);
    fill(report_.exports);
}

void Control::fill(telemetry::ExportGauges& g) const {
    g.alert_sinks.clear();
    if (alerts_) {
        const alert::Stats st = alerts_->stats();
        for (unsigned k = 0; k < alert::kSinks; ++k) {
            const alert::SinkStats& s = st.sinks[k];
            if (s.enabled)
                g.alert_sinks.push_back({alert::sink_name(static_cast<alert::Sink>(k)), s.sent, s.failed, s.dropped});
        }
    }
    g.capture = recorder_ != nullptr;
    if (!recorder_) return;
    g.capture_sampled = g.capture_evicted = g.capture_nombuf = g.capture_manual = g.capture_manual_lost = 0;
    for (const capture::Tap* t : recorder_->taps()) {
        g.capture_sampled += t->sampled();
        g.capture_evicted += t->evicted();
        g.capture_nombuf += t->no_mbuf();
        g.capture_manual += t->manual_taken();
        g.capture_manual_lost += t->manual_lost();
    }
    g.capture_files_open = recorder_->open_incidents();
    g.manual_running = recorder_->manual_status().running;
}

void Control::fill(telemetry::DetectGauges& g) const {
    detect::fill_gauges(detector_, g);
    // Whether mitigation is in force is the snapshot's word: it also knows
    // `set protect NAME mitigation on`. Detection follows snapshot order.
    if (const policy::Snapshot* s = pub_.current())
        for (size_t k = 0; k < g.targets.size() && k < s->protect.size(); ++k)
            if (s->protect[k].name == g.targets[k].name) g.targets[k].mitigated = s->protect[k].mitigation;
}

std::vector<Control::Role> Control::select(const std::optional<std::string>& port) const {
    const Role all[] = {{o_.outside_port, "outside"}, {o_.inside_port, "inside"}};
    if (!port) return {all[0], all[1]};
    for (const Role& r : all)
        if (*port == r.name || *port == std::to_string(r.id)) return {r};
    throw cli::CommandError("no port " + *port + ": triage uses port " + std::to_string(all[0].id) +
                            " (outside) and port " + std::to_string(all[1].id) + " (inside)");
}

void Control::show_port_info(std::ostream& os, const std::optional<std::string>& port) {
    for (const Role& r : select(port)) {
        rte_eth_dev_info info{};
        rte_eth_dev_info_get(r.id, &info);
        char name[RTE_ETH_NAME_MAX_LEN] = {};
        rte_eth_dev_get_name_by_port(r.id, name);
        rte_ether_addr mac{};
        rte_eth_macaddr_get(r.id, &mac);
        char macs[RTE_ETHER_ADDR_FMT_SIZE];
        rte_ether_format_addr(macs, sizeof macs, &mac);
        rte_eth_link link{};
        rte_eth_link_get_nowait(r.id, &link);
        uint16_t mtu = 0;
        rte_eth_dev_get_mtu(r.id, &mtu);
        os << fmt_line("port %u (%s): %s, driver %s\n", r.id, r.name, name, info.driver_name)
           << fmt_line("  MAC %s  link %s  speed %u Mbps  MTU %u  promiscuous %s\n", macs,
                       link.link_status ? "up" : "down", link.link_speed, mtu,
                       rte_eth_promiscuous_get(r.id) == 1 ? "on" : "off")
           << fmt_line("  queues rx %u tx %u (max %u/%u)  RSS %s  socket %d\n", info.nb_rx_queues,
                       info.nb_tx_queues, info.max_rx_queues, info.max_tx_queues,
                       info.flow_type_rss_offloads ? "yes" : "no", rte_eth_dev_socket_id(r.id));
    }
}

void Control::show_port_stats(std::ostream& os, const std::optional<std::string>& port) {
    for (const Role& r : select(port)) {
        const telemetry::PortReport now = read_port(r.id, r.name);
        const telemetry::PortReport& b = port_base_[r.id == o_.outside_port ? 0 : 1];
        os << fmt_line("port %u (%s)\n", r.id, r.name)
           << fmt_line("  RX packets %-14llu bytes %-16llu missed %-10llu errors %-10llu no-mbuf %llu\n",
                       ull(now.rx_packets - b.rx_packets), ull(now.rx_bytes - b.rx_bytes),
                       ull(now.rx_missed - b.rx_missed), ull(now.rx_errors - b.rx_errors),
                       ull(now.rx_nombuf - b.rx_nombuf))
           << fmt_line("  TX packets %-14llu bytes %-16llu errors %llu\n", ull(now.tx_packets - b.tx_packets),
                       ull(now.tx_bytes - b.tx_bytes), ull(now.tx_errors - b.tx_errors));
    }
}

void Control::clear_port_stats(const std::optional<std::string>& port) {
    for (const Role& r : select(port)) port_base_[r.id == o_.outside_port ? 0 : 1] = read_port(r.id, r.name);
    if (!port) {
        report_.sum();
        totals_base_ = report_.totals;
    }
}

void Control::show_workers(std::ostream& os) {
    os << fmt_line("%-6s %-6s %-5s %14s %14s %14s %14s %12s\n", "worker", "lcore", "queue", "inbound rx",
                   "inbound fwd", "outbound rx", "outbound fwd", "dropped");
    for (size_t i = 0; i < report_.workers.size(); ++i) {
        const auto& w = report_.workers[i];
        const auto& c = *w.counters;
        os << fmt_line("%-6zu %-6u %-5u %14llu %14llu %14llu %14llu %12llu\n", i, w.lcore, w.queue,
                       ull(c.rx_packets[0].get()), ull(c.fwd_packets[0].get()), ull(c.rx_packets[1].get()),
                       ull(c.fwd_packets[1].get()), ull(c.drops_by_dir[0].get() + c.drops_by_dir[1].get()));
    }
}

void Control::show_drops(std::ostream& os) {
    report_.sum();
    const telemetry::Totals& t = report_.totals;
    const telemetry::Totals& b = totals_base_;
    os << "inbound frames let through, by class:\n";
    for (unsigned i = 0; i < telemetry::kClassCount; ++i) {
        const auto c = static_cast<telemetry::Class>(i);
        os << fmt_line("  %-20s %14llu  %s\n", telemetry::class_name(c),
                       ull(t.inbound_class[i] - b.inbound_class[i]), telemetry::class_description(c));
    }
    bool any = false;
    for (unsigned i = 1; i < telemetry::kDropCount; ++i) {
        const uint64_t n = t.drops[i] - b.drops[i];
        if (!n) continue;
        if (!any) os << "dropped, by reason:\n";
        any = true;
        const auto d = static_cast<telemetry::Drop>(i);
        os << fmt_line("  %-20s %14llu  %s\n", telemetry::drop_name(d), ull(n), telemetry::drop_description(d));
    }
    if (!any) os << "no packets dropped\n";
}

void Control::show_policy_state(std::ostream& os) {
    const policy::Snapshot* s = pub_.current();
    os << fmt_line("policy version %llu (%llu publications, %zu old snapshot%s awaiting grace period)\n",
                   ull(version_no_), ull(pub_.publications()), pub_.pending(), pub_.pending() == 1 ? "" : "s");
    if (!s) return;
    os << fmt_line("  protected prefixes %zu (IPv4 table %zu B, IPv6 table %zu B)\n", s->protect.size(),
                   s->dst4.memory_bytes(), s->dst6.memory_bytes())
       << fmt_line("  allow %zu, deny %zu (IPv4 table %zu B, IPv6 table %zu B)\n", s->allow_entries,
                   s->deny_entries, s->src4.memory_bytes(), s->src6.memory_bytes())
       << fmt_line("  policies %zu, transit %s\n", s->policy_names.size(), policy::transit_name(s->transit));
}

void Control::show_scrub(std::ostream& os) {
    report_.sum();
    const telemetry::Totals& t = report_.totals;
    const telemetry::Totals& b = totals_base_;
    auto ev = [&](telemetry::Scrub e) {
        const auto i = static_cast<unsigned>(e);
        return ull(t.scrub[i] - b.scrub[i]);
    };
    auto dr = [&](telemetry::Drop d) {
        const auto i = static_cast<unsigned>(d);
        return ull(t.drops[i] - b.drops[i]);
    };
    using telemetry::Drop;
    using telemetry::Scrub;
    os << fmt_line("SYN authentication (keys %s, window %u, rotated every %u s)\n",
                   shared_ ? "derived from the shared secret" : "random per boot", secrets_.window,
                   syncookie::kWindowSeconds)
       << fmt_line("  SYNs answered with a cookie  %14llu  (SYN-ACKs sent %llu, refused by TX %llu)\n",
                   dr(Drop::syn_cookie), ev(Scrub::cookies_sent), ev(Scrub::cookies_unsent))
       << fmt_line("  sources authenticated        %14llu  by a correct cookie answer\n", ev(Scrub::auth_by_cookie))
       << fmt_line("  sources learned              %14llu  from protected hosts talking to them\n",
                   ev(Scrub::auth_by_outbound))
       << fmt_line("  TCP passed, authenticated    %14llu\n", ev(Scrub::auth_passed))
       << fmt_line("  TCP dropped, unauthenticated %14llu\n", dr(Drop::tcp_unauthenticated));
    os << "traffic classes (inbound packets toward protected prefixes that passed the fragment rule and ACL):\n"
       << fmt_line("  %-12s %14s %14s\n", "CLASS", "PACKETS", "LIMITED");
    const policy::Snapshot* s = pub_.current();
    for (unsigned i = 0; s && i < telemetry::kMeterClasses && i < s->class_names.size(); ++i)
        if (!s->class_names[i].empty())
            os << fmt_line("  %-12s %14llu %14llu\n", s->class_names[i].c_str(),
                           ull(t.class_packets[i] - b.class_packets[i]), ull(t.class_dropped[i] - b.class_dropped[i]));
    os << fmt_line("  over a per-source limit %llu, over a per-destination limit %llu\n", dr(Drop::rate_source),
                   dr(Drop::rate_destination))
       << fmt_line("reflection: solicited responses passed %llu\n", ev(Scrub::solicited))
       << fmt_line("ICMP packet-too-big and neighbour discovery passed unlimited %llu\n", ev(Scrub::exempt_icmp))
       << fmt_line("service ACL drops %llu, fragment drops %llu, signature drops %llu (count-only matches %llu)\n",
                   dr(Drop::service_acl), dr(Drop::fragment_policy), dr(Drop::signature),
                   ev(Scrub::signature_counted))
       << fmt_line("per-worker tables: %llu source bucket slots (%llu MiB; about half that many sources tracked at once), "
                   "evictions of active entries: meters %llu, "
                   "authenticated %llu, solicited %llu\n",
                   ull(o_.sources), ull(uint64_t{o_.sources} * 32 >> 20), ev(Scrub::meter_evictions),
                   ev(Scrub::auth_evictions), ev(Scrub::solicit_evictions));
}

void Control::show_signatures(std::ostream& os) {
    const auto& sigs = running_.signatures();
    if (sigs.empty()) {
        os << "no signature rules (add one with: add signature ID PROTO PORTS ACTION /REGEX/FLAGS)\n";
        return;
    }
    report_.sum();
    const policy::Snapshot* s = pub_.current();
    os << fmt_line("%zu rule%s, Hyperscan %zu bytes (database and %u worker scratch spaces)\n", sigs.size(),
                   sigs.size() == 1 ? "" : "s", s && s->signatures ? s->signatures->memory_bytes() : size_t{0},
                   compile_opts_.workers)
       << fmt_line("%-10s %-5s %-12s %-6s %14s  %s\n", "ID", "PROTO", "PORTS", "ACTION", "MATCHES", "PATTERN");
    for (const auto& [id, r] : sigs) {
        std::string ports = r.lo == 0 && r.hi == 65535 ? "any"
                            : r.lo == r.hi         ? std::to_string(r.lo)
                                                   : std::to_string(r.lo) + "-" + std::to_string(r.hi);
        os << fmt_line("%-10u %-5s %-12s %-6s %14llu  %s\n", id, r.proto == 6 ? "tcp" : r.proto == 17 ? "udp" : "any",
                       ports.c_str(), r.drop ? "drop" : "count",
                       ull(report_.totals.signature_hits[r.slot] - totals_base_.signature_hits[r.slot]),
                       r.pattern.c_str());
    }
}

void Control::set_log_level(const std::string& level) {
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::info("log level set to {}", level);
}

}  // namespace triage::app
