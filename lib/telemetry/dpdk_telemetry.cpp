#include "dpdk_telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "telemetry.h"

namespace triage::telemetry {

namespace {

// DPDK's callbacks carry no context pointer. Callbacks hold the lock while
// they read, so ~DpdkTelemetry cannot pull the Report (or the worker counters
// it points at) from under them.
std::mutex g_mu;
const Latest* g_latest = nullptr;
bool g_registered = false;

const char* const kDirNames[kDirs] = {"inbound", "outbound"};

using Fill = void (*)(const Report&, double uptime, rte_tel_data*);

template <Fill F>
int answer(const char* /*cmd*/, const char* /*params*/, rte_tel_data* d) {
    std::lock_guard lock(g_mu);
    if (!g_latest) return -ENODEV;  // shutting down
    const auto r = g_latest->load();
    if (!r) return -EAGAIN;  // starting: no report stored yet
    F(*r, g_latest->uptime_seconds(), d);
    return 0;
}

// A nested dict; DPDK frees it with the parent (keep = 0).
rte_tel_data* new_dict() {
    rte_tel_data* c = rte_tel_data_alloc();
    if (c) rte_tel_data_start_dict(c);
    return c;
}

void add_child(rte_tel_data* d, const char* name, rte_tel_data* c) {
    if (c && rte_tel_data_add_dict_container(d, name, c, 0) != 0) rte_tel_data_free(c);
}

void info(const Report& r, double uptime, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "version", r.version.c_str());
    rte_tel_data_add_dict_u64(d, "uptime_seconds", static_cast<uint64_t>(uptime));
    rte_tel_data_add_dict_u64(d, "forwarding_seconds", static_cast<uint64_t>(r.forwarding_seconds));
    rte_tel_data_add_dict_u64(d, "workers", r.workers.size());
    rte_tel_data_add_dict_u64(d, "policy_version", r.policy.version);
    rte_tel_data_add_dict_u64(d, "dropped", r.totals.dropped());
}

void traffic(const Report& r, double, rte_tel_data* d) {
    const Totals& t = r.totals;
    rte_tel_data_start_dict(d);
    for (unsigned dir = 0; dir < kDirs; ++dir) {
        rte_tel_data* c = new_dict();
        if (!c) continue;
        rte_tel_data_add_dict_u64(c, "rx", t.rx_packets[dir]);
        rte_tel_data_add_dict_u64(c, "rx_bytes", t.rx_bytes[dir]);
        rte_tel_data_add_dict_u64(c, "forwarded", t.fwd_packets[dir]);
        rte_tel_data_add_dict_u64(c, "forwarded_bytes", t.fwd_bytes[dir]);
        rte_tel_data_add_dict_u64(c, "dropped", t.drops_by_dir[dir]);
        if (dir == 1) rte_tel_data_add_dict_u64(c, "malformed_seen", t.outbound_malformed);
        add_child(d, kDirNames[dir], c);
    }
}

void ports(const Report& r, double, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (const auto& p : r.ports) {
        rte_tel_data* c = new_dict();
        if (!c) continue;
        rte_tel_data_add_dict_u64(c, "port_id", p.port_id);
        rte_tel_data_add_dict_u64(c, "rx_packets", p.rx_packets);
        rte_tel_data_add_dict_u64(c, "tx_packets", p.tx_packets);
        rte_tel_data_add_dict_u64(c, "rx_bytes", p.rx_bytes);
        rte_tel_data_add_dict_u64(c, "tx_bytes", p.tx_bytes);
        rte_tel_data_add_dict_u64(c, "rx_missed", p.rx_missed);
        rte_tel_data_add_dict_u64(c, "rx_errors", p.rx_errors);
        rte_tel_data_add_dict_u64(c, "tx_errors", p.tx_errors);
        rte_tel_data_add_dict_u64(c, "rx_nombuf", p.rx_nombuf);
        add_child(d, p.role.c_str(), c);
    }
}

void drops(const Report& r, double, rte_tel_data* d) {
    static_assert(kDropCount - 1 <= RTE_TEL_MAX_DICT_ENTRIES,
                  "drop reasons no longer fit one dict");
    rte_tel_data_start_dict(d);
    for (unsigned i = 1; i < kDropCount; ++i)
        rte_tel_data_add_dict_u64(d, drop_name(static_cast<Drop>(i)), r.totals.drops[i]);
}

void classes(const Report& r, double, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (unsigned i = 0; i < kClassCount; ++i)
        rte_tel_data_add_dict_u64(d, class_name(static_cast<Class>(i)), r.totals.inbound_class[i]);
}

// A dict keyed by worker index: DPDK 22.11 nests only arrays in arrays.
void workers(const Report& r, double, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < r.workers.size(); ++i) {
        const WorkerReport& w = r.workers[i];
        rte_tel_data* c = new_dict();
        if (!c) continue;
        rte_tel_data_add_dict_u64(c, "lcore", w.lcore);
        rte_tel_data_add_dict_u64(c, "queue", w.queue);
        if (w.counters) {
            rte_tel_data_add_dict_u64(c, "inbound_rx", w.counters->rx_packets[0].get());
            rte_tel_data_add_dict_u64(c, "outbound_rx", w.counters->rx_packets[1].get());
            rte_tel_data_add_dict_u64(c, "steered_out", w.counters->steered_out.get());
            rte_tel_data_add_dict_u64(c, "steered_in", w.counters->steered_in.get());
        }
        add_child(d, std::to_string(i).c_str(), c);
    }
}

void policy(const Report& r, double, rte_tel_data* d) {
    const PolicyGauges& p = r.policy;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "version", p.version);
    rte_tel_data_add_dict_u64(d, "publications", p.publications);
    rte_tel_data_add_dict_u64(d, "protected_prefixes", p.protected_prefixes);
    rte_tel_data_add_dict_u64(d, "allow_entries", p.allow_entries);
    rte_tel_data_add_dict_u64(d, "deny_entries", p.deny_entries);
    rte_tel_data_add_dict_u64(d, "reclaim_pending", p.reclaim_pending);
}

void scrub(const Report& r, double, rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    for (unsigned i = 0; i < kScrubCount; ++i)
        rte_tel_data_add_dict_u64(d, scrub_name(static_cast<Scrub>(i)), r.totals.scrub[i]);
    for (unsigned i = 0; i < kMeterClasses && i < r.policy.class_names.size(); ++i) {
        if (r.policy.class_names[i].empty()) continue;
        rte_tel_data_add_dict_u64(d, ("class_" + r.policy.class_names[i]).c_str(), r.totals.class_packets[i]);
        rte_tel_data_add_dict_u64(d, ("limited_" + r.policy.class_names[i]).c_str(), r.totals.class_dropped[i]);
    }
    rte_tel_data_add_dict_u64(d, "cookie_window", r.policy.cookie_window);
    rte_tel_data_add_dict_u64(d, "tracked_sources_per_worker", r.policy.meter_capacity);
}

struct Command {
    const char* name;
    telemetry_cb fn;
    const char* help;
};

constexpr Command kCommands[] = {
    {"/triage/info", answer<info>,
     "Triage version, uptime, workers, policy version. No parameters"},
    {"/triage/traffic", answer<traffic>,
     "Packets and bytes received, forwarded and dropped per direction. No parameters"},
    {"/triage/ports", answer<ports>,
     "Port counters (outside, inside) as the NIC counts them. No parameters"},
    {"/triage/drops", answer<drops>, "Dropped packets by reason, every reason. No parameters"},
    {"/triage/classes", answer<classes>,
     "Inbound packets let through, by policy class. No parameters"},
    {"/triage/workers", answer<workers>,
     "Per worker index: lcore, queue, packets received and steered. No parameters"},
    {"/triage/policy", answer<policy>,
     "Policy snapshot version, publications, prefixes and list sizes. No parameters"},
    {"/triage/scrub", answer<scrub>,
     "Scrubbing events (cookies, authenticated sources, evictions), packets and limited packets by traffic "
     "class. No parameters"},
};

}  // namespace

DpdkTelemetry::DpdkTelemetry(const Latest& latest) {
    std::lock_guard lock(g_mu);
    if (!g_registered) {
        for (const Command& c : kCommands)
            if (const int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help); rc != 0)
                throw std::runtime_error(std::string("DPDK telemetry refused command ") + c.name +
                                         ": " + std::strerror(-rc));
        g_registered = true;
    }
    g_latest = &latest;
}

DpdkTelemetry::~DpdkTelemetry() {
    std::lock_guard lock(g_mu);
    g_latest = nullptr;
}

}  // namespace triage::telemetry
