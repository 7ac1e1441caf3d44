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
