#include "control.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <ostream>

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
    // Workers always have a snapshot to read, from before the first packet.
    commit(running_);
}

policy::Time Control::now() const {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

void Control::commit(const policy::Config& next) {
    // compile() validates the whole snapshot; a throw leaves everything as it was.
    auto snap = policy::compile(next, version_no_ + 1);
    const size_t p = snap->protect.size(), a = snap->allow_entries, d = snap->deny_entries;
    pub_.publish(std::move(snap));
    ++version_no_;
    running_ = next;
    spdlog::info("policy v{} published: {} protected prefix{}, {} allow, {} deny, transit {}", version_no_, p,
                 p == 1 ? "" : "es", a, d, policy::transit_name(next.transit()));
}

void Control::tick() {
    pub_.reclaim();
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

void Control::set_log_level(const std::string& level) {
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::info("log level set to {}", level);
}

}  // namespace triage::app
