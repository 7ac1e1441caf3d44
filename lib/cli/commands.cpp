// Triage's console commands, each declared once: section, syntax, help line,
// effect and handler. Help, completion, diagnostics and docs/cli.md are all
// generated from this table. Handlers are thin: configuration edits go to the
// session's candidate Config, everything else to the Runtime.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli.h"

namespace triage::cli {

namespace {

using policy::ListKind;

ListKind list_of(const Args& a) { return a.str("list") == "allow" ? ListKind::allow : ListKind::deny; }

std::string remaining(policy::Time until, policy::Time now) {
    if (until <= now) return "expired";
    const long long s = (until - now).count();
    char buf[32];
    if (s < 120) std::snprintf(buf, sizeof buf, "%llds", s);
    else if (s < 7200) std::snprintf(buf, sizeof buf, "%lldm", s / 60);
    else if (s < 172800) std::snprintf(buf, sizeof buf, "%lldh", s / 3600);
    else std::snprintf(buf, sizeof buf, "%lldd", s / 86400);
    return buf;
}

void show_version(Session& s, const Args&) { s.out() << "triage " << s.runtime().version() << "\n"; }

void show_config(Session& s, const Args&) { s.view().write_script(s.out()); }

void show_port(Session& s, const Args& a) {
    if (a.str("what") == "info") s.runtime().show_port_info(s.out(), a.port("port"));
    else s.runtime().show_port_stats(s.out(), a.port("port"));
}

void show_workers(Session& s, const Args&) { s.runtime().show_workers(s.out()); }
void show_drops(Session& s, const Args&) { s.runtime().show_drops(s.out()); }
void show_policy(Session& s, const Args&) { s.runtime().show_policy_state(s.out()); }

void show_protect(Session& s, const Args&) {
    const auto& c = s.view();
    if (c.protect().empty()) {
        s.out() << "no protected prefixes (add one with: add protect PREFIX name NAME)\n";
        return;
    }
    char line[160];
    std::snprintf(line, sizeof line, "%-32s %-44s %s\n", "NAME", "PREFIX", "POLICY");
    s.out() << line;
    for (const auto& [p, e] : c.protect()) {
        std::snprintf(line, sizeof line, "%-32s %-44s %s\n", e.name.c_str(), classify::to_string(p).c_str(),
                      e.policy.c_str());
        s.out() << line;
    }
}

void show_list(Session& s, const Args& a) {
    const ListKind k = list_of(a);
    const auto& l = s.view().list(k);
    if (l.empty()) {
        s.out() << "the " << policy::list_name(k) << " list is empty\n";
        return;
    }
    const policy::Time now = s.runtime().now();
    char line[160];
    std::snprintf(line, sizeof line, "%-44s %-22s %s\n", "PREFIX", "EXPIRES", "IN");
    s.out() << line;
    for (const auto& [p, e] : l) {
        std::snprintf(line, sizeof line, "%-44s %-22s %s\n", classify::to_string(p).c_str(),
                      e.expires ? policy::format_time(*e.expires).c_str() : "never",
                      e.expires ? remaining(*e.expires, now).c_str() : "-");
        s.out() << line;
    }
}

void clear_port_stats(Session& s, const Args& a) {
    s.runtime().clear_port_stats(a.port("port"));
    s.out() << "port statistics cleared\n";
}

void add_policy(Session& s, const Args& a) { s.candidate().add_policy(a.str("name")); }
void del_policy(Session& s, const Args& a) { s.candidate().del_policy(a.str("name")); }

void add_protect(Session& s, const Args& a) {
    s.candidate().add_protect(a.prefix("prefix"), a.str("name"),
                              a.has("policy") ? a.str("policy") : std::string(policy::kDefaultPolicy));
}

void del_protect_name(Session& s, const Args& a) { s.candidate().del_protect(a.str("name")); }
void del_protect_prefix(Session& s, const Args& a) { s.candidate().del_protect(a.prefix("prefix")); }

void set_transit(Session& s, const Args& a) {
    s.candidate().set_transit(a.str("rule") == "drop" ? policy::TransitRule::drop : policy::TransitRule::forward);
}

void add_list(Session& s, const Args& a) {
    std::optional<policy::Time> until;
    if (a.has("when")) {
        policy::Time t;
        std::string err;
        if (!policy::parse_expiry(a.str("when"), s.runtime().now(), t, err)) throw CommandError(err);
        until = t;
    }
    s.candidate().add_list(list_of(a), a.prefix("prefix"), until);
}

void del_list(Session& s, const Args& a) { s.candidate().del_list(list_of(a), a.prefix("prefix")); }

void clear_list(Session& s, const Args& a) {
    const ListKind k = list_of(a);
    std::vector<policy::Prefix> all;
    for (const auto& [p, e] : s.candidate().list(k)) all.push_back(p);
    for (const auto& p : all) s.candidate().del_list(k, p);
}

// --- scrubbing ---------------------------------------------------------------

uint64_t si_arg(const Args& a, const char* key) {
    uint64_t v = 0;
    std::string err;
    if (!policy::parse_si(a.str(key), v, err)) throw CommandError(err);
    return v;
}

uint32_t seconds_arg(const Args& a, const char* key) {
    uint64_t v = 0;
    std::string err;
    if (!policy::parse_duration(a.str(key), v, err)) throw CommandError(err);
    return static_cast<uint32_t>(std::min<uint64_t>(v, 0xffffffffu));
}

uint32_t count_arg(const Args& a, const char* key) { return static_cast<uint32_t>(std::stoull(a.str(key))); }

bool on_arg(const Args& a, const char* key) { return a.str(key) == "on"; }

void set_syn_auth(Session& s, const Args& a) {
    const std::string& m = a.str("mode");
    s.candidate().set_syn_auth(a.str("policy"), m == "on"     ? policy::SynAuth::on
                                                : m == "auto" ? policy::SynAuth::auto_
                                                              : policy::SynAuth::off);
}

void set_auth_ttl(Session& s, const Args& a) { s.candidate().set_auth_ttl(a.str("policy"), seconds_arg(a, "ttl")); }

void set_aggregate(Session& s, const Args& a) {
    s.candidate().set_aggregate(a.str("policy"), a.str("family") == "ipv4" ? 4 : 6, count_arg(a, "len"));
}

void set_limit(Session& s, const Args& a) {
    policy::RateSpec r;
    r.pps = si_arg(a, "pps");
    if (a.has("bps")) r.bps = si_arg(a, "bps");
    if (a.has("burst")) {
        r.burst = si_arg(a, "burst");
        if (r.burst == 0) throw CommandError("burst must be at least 1 packet");
    }
    s.candidate().set_limit(a.str("policy"), a.str("class"), a.str("scope") == "destination", r, a.has("when"));
}

void set_limit_off(Session& s, const Args& a) {
    s.candidate().set_limit(a.str("policy"), a.str("class"), a.str("scope") == "destination", std::nullopt,
                            a.has("when"));
}

void set_fragments(Session& s, const Args& a) {
    s.candidate().set_fragments(a.str("policy"),
                                a.str("rule") == "drop" ? policy::FragmentRule::drop : policy::FragmentRule::allow);
}

void set_acl(Session& s, const Args& a) { s.candidate().set_acl(a.str("policy"), on_arg(a, "state")); }
void set_signatures(Session& s, const Args& a) { s.candidate().set_signatures(a.str("policy"), on_arg(a, "state")); }

policy::Service service_of(const Args& a) {
    policy::Service sv;
    const std::string& p = a.str("proto");
    sv.proto = p == "tcp" ? 6 : p == "udp" ? 17 : p == "icmp" ? 1 : p == "gre" ? 47 : p == "esp" ? 50 : 51;
    if (a.has("ports")) {
        std::string err;
        if (!policy::parse_port_range(a.str("ports"), sv.lo, sv.hi, false, err)) throw CommandError(err);
    }
    return sv;
}

void add_service(Session& s, const Args& a) { s.candidate().add_service(a.str("policy"), service_of(a)); }
void del_service(Session& s, const Args& a) { s.candidate().del_service(a.str("policy"), service_of(a)); }

void set_mitigation(Session& s, const Args& a) { s.candidate().set_mitigation(a.str("name"), on_arg(a, "state")); }

void set_mitigation_mode(Session& s, const Args& a) {
    const std::string& m = a.str("mode");
    s.candidate().set_mitigation_mode(a.str("policy"), m == "auto"      ? policy::MitigationMode::auto_
                                                       : m == "enforce" ? policy::MitigationMode::enforce
                                                                        : policy::MitigationMode::monitor);
}
void set_detect_floor(Session& s, const Args& a) {
    s.candidate().set_detect_floor(a.str("policy"), a.str("class"), a.has("pps") ? si_arg(a, "pps") : 0);
}
void set_hold_down(Session& s, const Args& a) { s.candidate().set_hold_down(seconds_arg(a, "time")); }
void show_incidents(Session& s, const Args&) { s.runtime().show_incidents(s.out()); }
void show_incident(Session& s, const Args& a) { s.runtime().show_incident(s.out(), count_arg(a, "id")); }

void capture_start(Session& s, const Args& a) {
    Runtime::CaptureRequest r;
    r.file = a.str("file");
    if (a.has("filter")) r.filter = a.str("filter");
    if (a.has("packets")) r.packets = count_arg(a, "packets");
    if (a.has("time")) r.seconds = seconds_arg(a, "time");
    if (a.has("snap")) {
        r.snap = count_arg(a, "snap");
        if (r.snap < 64 || r.snap > 2048) throw CommandError("snaplen is 64 to 2048 bytes");
    }
    s.runtime().capture_start(s.out(), r);
}
void capture_stop(Session& s, const Args&) { s.runtime().capture_stop(s.out()); }
void show_capture(Session& s, const Args&) { s.runtime().show_capture(s.out()); }

void add_reflector(Session& s, const Args& a) {
    const uint32_t port = count_arg(a, "port");
    if (port == 0 || port > 65535) throw CommandError("a UDP port is 1 to 65535");
    s.candidate().add_reflector(a.str("name"), static_cast<uint16_t>(port));
}

void del_reflector(Session& s, const Args& a) { s.candidate().del_reflector(a.str("name")); }
void set_reflection_window(Session& s, const Args& a) { s.candidate().set_solicit_window(seconds_arg(a, "window")); }

void set_secret(Session& s, const Args& a) {
    const std::string& v = a.str("secret");
    s.candidate().set_cookie_secret(v == "random" ? std::nullopt : std::optional<std::string>(v));
}

void add_signature(Session& s, const Args& a) {
    policy::SignatureRule r;
    r.id = count_arg(a, "id");
    const std::string& p = a.str("proto");
    r.proto = p == "tcp" ? 6 : p == "udp" ? 17 : 0;
    std::string err;
    if (!policy::parse_port_range(a.str("ports"), r.lo, r.hi, true, err)) throw CommandError(err);
    r.drop = a.str("action") == "drop";
    r.pattern = a.str("pattern");
    // Checked now, so the error carries this line's number; the whole set
    // is compiled again with the snapshot.
    if (auto e = policy::check_signature(r); !e.empty()) throw CommandError(e);
    s.candidate().add_signature(std::move(r));
}

void del_signature(Session& s, const Args& a) { s.candidate().del_signature(count_arg(a, "id")); }

void show_scrub(Session& s, const Args&) { s.runtime().show_scrub(s.out()); }
void show_signatures(Session& s, const Args&) { s.runtime().show_signatures(s.out()); }

void show_policy_settings(Session& s, const Args& a) {
    const policy::Policy& p = s.view().policy(a.str("policy"));
    auto& o = s.out();
    o << "policy " << p.name << "\n";
    o << "  syn-auth     " << policy::syn_auth_name(p.syn_auth) << " (authenticated sources kept "
      << policy::format_duration(p.auth_ttl) << ")\n";
    o << "  aggregate    ipv4 /" << unsigned{p.aggregate4} << ", ipv6 /" << unsigned{p.aggregate6} << "\n";
    o << "  fragments    " << (p.fragments == policy::FragmentRule::drop ? "drop" : "allow") << "\n";
    o << "  acl          " << (p.acl ? "on" : "off");
    if (p.acl || !p.services.empty()) {
        o << " (open:";
        if (p.services.empty()) o << " nothing";
        for (const auto& sv : p.services) o << " " << policy::format_service(sv) << ";";
        o << ")";
    }
    o << "\n  signatures   " << (p.signatures ? "on" : "off") << "\n";
    o << "  mitigation   " << policy::mitigation_mode_name(p.mitigation);
    for (const auto& [cls, pps] : p.detect_floor) o << "; detect " << cls << " above " << pps << "/s";
    o << "\n";
    if (p.limits.empty() && p.mitigation_limits.empty()) o << "  limits       none\n";
    for (const auto& [cls, l] : p.limits) {
        if (l.source) o << "  limit        " << cls << " source " << policy::format_rate(*l.source) << "\n";
        if (l.destination) o << "  limit        " << cls << " destination " << policy::format_rate(*l.destination) << "\n";
    }
    for (const auto& [cls, l] : p.mitigation_limits) {
        if (l.source)
            o << "  limit        " << cls << " source " << policy::format_rate(*l.source) << " while mitigating\n";
        if (l.destination)
            o << "  limit        " << cls << " destination " << policy::format_rate(*l.destination)
              << " while mitigating\n";
    }
    for (const auto& [pfx, e] : s.view().protect())
        if (e.policy == p.name)
            o << "  protects     " << e.name << " " << classify::to_string(pfx) << " (mitigation "
              << (e.mitigation ? "on" : "off") << ")\n";
}

void show_reflectors(Session& s, const Args&) {
    char line[96];
    std::snprintf(line, sizeof line, "%-20s %s\n", "REFLECTOR", "UDP SOURCE PORT");
    s.out() << line;
    for (const auto& [n, p] : s.view().reflectors()) {
        std::snprintf(line, sizeof line, "%-20s %u\n", n.c_str(), unsigned{p});
        s.out() << line;
    }
    s.out() << "responses solicited by an outbound request within " << policy::format_duration(s.view().solicit_window())
            << " pass unlimited by the reflection limits\n";
}

void save_config(Session& s, const Args& a) {
    const std::string& path = a.str("file");
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f) throw CommandError("cannot write '" + path + "': " + std::strerror(errno));
        f << "# triage " << s.runtime().version() << " running configuration, saved "
          << policy::format_time(s.runtime().now()) << "\n";
        s.runtime().config().write_script(f);
        f.close();
        if (!f) throw CommandError("cannot write '" + path + "'");
    }
    // Written whole, then renamed: a reader never sees half a configuration.
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw CommandError("cannot write '" + path + "': " + why);
    }
    s.out() << "configuration saved to " << path << "\n";
}

void load(Session&, const Args&) {
    // Expanded by the session (Effect::include); never called.
}

void set_log_level(Session& s, const Args& a) { s.runtime().set_log_level(a.str("level")); }

void help(Session& s, const Args& a) {
    s.engine().write_help(s.out(), a.has("section") ? a.str("section") : std::string());
}

void quit(Session& s, const Args&) { s.request_close(); }

constexpr Section kSections[] = {
    {"display", "Display"},
    {"ports", "Ports"},
    {"protect", "Protected prefixes and policies"},
    {"lists", "Allow and deny lists"},
    {"scrub", "Scrubbing: SYN authentication, limits, services, reflection, signatures"},
    {"detect", "Detection, automatic mitigation and incidents"},
    {"config", "Configuration files"},
    {"system", "Console and logging"},
};

const Command kCommands[] = {
    {"display", "show version", "the Triage version", Effect::show, show_version},
    {"display", "show config", "the running configuration as the commands that recreate it", Effect::show,
     show_config},
    {"display", "show port <what:info|stats> <port:port>",
     "port details (driver, MAC, link, MTU, queues) or traffic counters", Effect::show, show_port},
    {"display", "show workers", "per-worker lcore, queue and packet counters", Effect::show, show_workers},
    {"display", "show drops", "packets dropped, by reason", Effect::show, show_drops},
    {"display", "show policy", "the policy snapshot the workers use: version, publications, sizes", Effect::show,
     show_policy},
    {"display", "show protect", "protected prefixes with their names and policies", Effect::show, show_protect},
    {"display", "show <list:allow|deny>", "the entries of a source list with their expiry", Effect::show,
     show_list},
    {"ports", "clear port stats <port:port>", "reset port and worker counters", Effect::action,
     clear_port_stats},
    {"protect", "add policy <name:name>", "create a named policy for protected prefixes to use", Effect::config,
     add_policy},
    {"protect", "del policy <name:policy>", "delete a policy no protected prefix uses", Effect::config,
     del_policy},
    {"protect", "add protect <prefix:prefix> name <name:name> [policy <policy:policy>]",
     "protect a clinic prefix (policy 'default' unless given); the longest protected prefix decides",
     Effect::config, add_protect},
    {"protect", "del protect <name:protected>", "stop protecting a prefix, by its name", Effect::config,
     del_protect_name},
    {"protect", "del protect <prefix:prefix>", "stop protecting a prefix, by the prefix", Effect::config,
     del_protect_prefix},
    {"protect", "set transit <rule:forward|drop>",
     "what happens to inbound traffic for destinations that are not protected", Effect::config, set_transit},
    {"display", "show policy <policy:policy>", "one policy's scrubbing settings and the prefixes it protects",
     Effect::show, show_policy_settings},
    {"display", "show scrub", "scrubbing counters: SYN authentication, meters, tables, reflection", Effect::show,
     show_scrub},
    {"display", "show signatures", "signature rules with their matches", Effect::show, show_signatures},
    {"display", "show reflectors", "the UDP reflection vectors (source ports)", Effect::show, show_reflectors},
    {"scrub", "set policy <policy:policy> syn-auth <mode:off|on|auto>",
     "answer unauthenticated SYNs with cookies (auto: while the prefix's mitigation is on)", Effect::config,
     set_syn_auth},
    {"scrub", "set policy <policy:policy> auth-ttl <ttl:duration>", "how long an authenticated source stays so",
     Effect::config, set_auth_ttl},
    {"scrub", "set policy <policy:policy> aggregate <family:ipv4|ipv6> <len:count>",
     "source prefix length the per-source limits count per (ipv4 8-32, ipv6 32-128)", Effect::config, set_aggregate},
    {"scrub", "set policy <policy:policy> limit <class:class> <scope:source|destination> <pps:si> [bits <bps:si>] [burst <burst:si>] [<when:mitigating>]",
     "token bucket: packets/s, optional bits/s, burst in packets (default one second); mitigating: only while the "
     "prefix is under mitigation, replacing the everyday limit of that scope",
     Effect::config, set_limit},
    {"scrub", "set policy <policy:policy> limit <class:class> <scope:source|destination> off [<when:mitigating>]",
     "remove a limit (mitigating: the one for mitigation)", Effect::config, set_limit_off},
    {"scrub", "set policy <policy:policy> fragments <rule:allow|drop>", "IP fragments toward the policy's prefixes",
     Effect::config, set_fragments},
    {"scrub", "add service <policy:policy> <proto:tcp|udp> <ports:ports>", "open a TCP/UDP port range under the ACL",
     Effect::config, add_service},
    {"scrub", "add service <policy:policy> <proto:icmp|gre|esp|ah>", "open a protocol under the ACL", Effect::config,
     add_service},
    {"scrub", "del service <policy:policy> <proto:tcp|udp> <ports:ports>", "close a TCP/UDP port range",
     Effect::config, del_service},
    {"scrub", "del service <policy:policy> <proto:icmp|gre|esp|ah>", "close a protocol", Effect::config, del_service},
    {"scrub", "set policy <policy:policy> acl <state:on|off>",
     "on: only the policy's services are open; other inbound traffic is dropped", Effect::config, set_acl},
    {"scrub", "set policy <policy:policy> signatures <state:on|off>", "scan payloads against the signature rules",
     Effect::config, set_signatures},
    {"scrub", "set protect <name:protected> mitigation <state:on|off>",
     "switch mitigation of a protected prefix (drives syn-auth auto)", Effect::config, set_mitigation},
    {"detect", "set policy <policy:policy> mitigation <mode:monitor|auto|enforce>",
     "what detection does: monitor (incidents only), auto (switch mitigation on for an incident, withdraw it after "
     "the hold-down), enforce (mitigation always on)",
     Effect::config, set_mitigation_mode},
    {"detect", "set policy <policy:policy> detect <class:class> <pps:si>",
     "detection floor: packets/s of a class a protected host may get before its baseline is considered",
     Effect::config, set_detect_floor},
    {"detect", "set policy <policy:policy> detect <class:class> off", "back to the built-in detection floor",
     Effect::config, set_detect_floor},
    {"detect", "set detect hold-down <time:duration>",
     "how long an incident must stay quiet before it closes and auto mitigation is withdrawn", Effect::config,
     set_hold_down},
    {"detect", "show incidents", "incidents: open and recent, with target, vectors and mitigation", Effect::show,
     show_incidents},
    {"detect", "show incident <id:count>", "one incident in full: vectors, peaks, drops, every action",
     Effect::show, show_incident},
    {"detect", "capture start <file:file> [match <filter:capfilter>] [packets <packets:count>] [for <time:duration>]",
     "capture matching frames, both ports, headers only, to a new pcapng file (until capture stop or a limit)",
     Effect::action, capture_start},
    {"detect",
     "capture start <file:file> snaplen <snap:count> [match <filter:capfilter>] [packets <packets:count>] [for <time:duration>]",
     "the same, keeping up to snaplen bytes of each frame (payloads too: mind patient data)", Effect::action,
     capture_start},
    {"detect", "capture stop", "end the running capture and close its file", Effect::action, capture_stop},
    {"detect", "show capture", "the running capture, and the always-on incident capture rings", Effect::show,
     show_capture},
    {"scrub", "add reflector <name:name> <port:count>", "add a UDP reflection vector by source port", Effect::config,
     add_reflector},
    {"scrub", "del reflector <name:reflector>", "remove a UDP reflection vector", Effect::config, del_reflector},
    {"scrub", "set reflection window <window:duration>",
     "how long an outbound request makes the matching response solicited", Effect::config, set_reflection_window},
    {"scrub", "set syn-auth secret <secret:secret>", "SYN-cookie key source: random per boot, or a shared secret",
     Effect::config, set_secret},
    {"scrub", "add signature <id:count> <proto:tcp|udp|any> <ports:sigports> <action:drop|count> <pattern:pattern>",
     "a payload rule (Hyperscan regex) for policies with signatures on", Effect::config, add_signature},
    {"scrub", "del signature <id:signature>", "remove a payload rule", Effect::config, del_signature},
    {"lists", "add <list:allow|deny> <prefix:prefix> [expires <when:expiry>]",
     "add a source prefix to a list (again: change its expiry); deny drops, allow skips scrubbing",
     Effect::config, add_list},
    {"lists", "del <list:allow|deny> <prefix:prefix>", "remove a source prefix from a list", Effect::config,
     del_list},
    {"lists", "clear <list:allow|deny>", "empty a list", Effect::config, clear_list},
    {"config", "save config <file:file>", "write the running configuration as a script -f can load",
     Effect::action, save_config},
    {"config", "load <file:file>", "run a script as one change: all of it applies, or none", Effect::include,
     load},
    {"system", "set log level <level:trace|debug|info|warn|error|critical|off>", "change the log level",
     Effect::action, set_log_level},
    {"system", "help [<section:section>]", "list the sections, or the commands of one", Effect::show, help},
    {"system", "quit", "close this console (on the -i terminal: stop triage)", Effect::action, quit},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }
std::span<const Section> sections() { return kSections; }

const std::string& Args::str(std::string_view key) const {
    auto it = words_.find(std::string(key));
    if (it == words_.end()) throw CommandError("internal: missing argument '" + std::string(key) + "'");
    return it->second;
}

policy::Prefix Args::prefix(std::string_view key) const {
    policy::Prefix p;
    std::string err;
    if (!classify::parse_prefix(str(key), p, err)) throw CommandError(err);
    return p;
}

std::optional<std::string> Args::port(std::string_view key) const {
    const std::string& w = str(key);
    if (w == "all") return std::nullopt;
    return w;
}

}  // namespace triage::cli
