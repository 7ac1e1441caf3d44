// lib/cli: the command table compiled into librte_cmdline, the diagnostics
// for bad input, scripts as transactions, save/load round trips, help and the
// reference page. Runs the real Engine and Session over a Runtime that keeps
// a real policy::Config (commits really compile) and records everything else.
// librte_cmdline needs no EAL, so this runs without hugepages or devices.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "policy.h"

namespace {

namespace cli = triage::cli;
namespace policy = triage::policy;
namespace fs = std::filesystem;

policy::Time at(std::string_view utc) {
    policy::Time t;
    std::string err;
    EXPECT_TRUE(policy::parse_expiry(utc, policy::Time{}, t, err)) << err;
    return t;
}

// The box as the console sees it, minus the box.
class TestRuntime : public cli::Runtime {
public:
    policy::Config cfg;
    policy::Time clock = at("2026-03-01T12:00:00Z");
    unsigned commits = 0;
    uint64_t snapshot_version = 0;
    std::string refuse;              // non-empty: the next commits fail with it
    std::vector<std::string> calls;  // port, worker and log operations, in order

    const policy::Config& config() const override { return cfg; }
    void commit(const policy::Config& next) override {
        // The appliance compiles before it publishes; so must the test, or a
        // config the workers could not use would pass here.
        auto snap = policy::compile(next, snapshot_version + 1);
        if (!refuse.empty()) throw policy::ConfigError(refuse);
        snapshot_version = snap->version;
        ++commits;
        cfg = next;
    }
    policy::Time now() const override { return clock; }
    std::string version() const override { return "9.9.9-test"; }
    void show_port_info(std::ostream& os, const std::optional<std::string>& port) override {
        const std::string p = check(port);
        os << "info " << p << "\n";
        calls.push_back("info " + p);
    }
    void show_port_stats(std::ostream& os, const std::optional<std::string>& port) override {
        const std::string p = check(port);
        os << "stats " << p << "\n";
        calls.push_back("stats " + p);
    }
    void clear_port_stats(const std::optional<std::string>& port) override {
        calls.push_back("clear " + check(port));
    }
    void show_workers(std::ostream& os) override {
        os << "workers\n";
        calls.push_back("workers");
    }
    void show_drops(std::ostream& os) override {
        os << "drops\n";
        calls.push_back("drops");
    }
    void show_policy_state(std::ostream& os) override {
        os << "policy version " << snapshot_version << "\n";
        calls.push_back("policy");
    }
    void show_scrub(std::ostream& os) override {
        os << "scrub\n";
        calls.push_back("scrub");
    }
    void show_signatures(std::ostream& os) override {
        os << "signatures\n";
        calls.push_back("signatures");
    }
    void show_incidents(std::ostream& os) override { os << "(no incidents in the test runtime)\n"; }
    void show_incident(std::ostream& os, uint32_t id) override { os << "incident " << id << "\n"; }
    void capture_start(std::ostream& os, const CaptureRequest& r) override {
        calls.push_back("capture " + r.file + " " + r.filter + " " + std::to_string(r.packets) + " " +
                        std::to_string(r.seconds) + " " + std::to_string(r.snap));
        os << "capturing\n";
    }
    void capture_stop(std::ostream&) override { calls.push_back("capture stop"); }
    void show_capture(std::ostream& os) override { os << "no capture\n"; }
    void set_log_level(const std::string& level) override { calls.push_back("log " + level); }

private:
    static std::string check(const std::optional<std::string>& port) {
        if (!port) return "all";
        if (*port == "0" || *port == "1" || *port == "outside" || *port == "inside") return *port;
        throw cli::CommandError("no port " + *port);
    }
};

// One runtime, its engine and a session whose output is kept.
struct Console {
    TestRuntime rt;
    cli::Engine engine{cli::commands(), rt};
    std::string out;
    cli::Session session{engine, [this](std::string_view s) { out += s; }, "test"};

    // Runs one line; returns its output (and forgets it).
    std::string run(std::string_view line, bool want_ok = true) {
        out.clear();
        const bool ok = session.execute(line);
        EXPECT_EQ(ok, want_ok) << line << "\n" << out;
        return std::exchange(out, {});
    }
    std::string config() {
        std::ostringstream os;
        rt.cfg.write_script(os);
        return os.str();
    }
};

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "triage-cli-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        const std::string p = (path_ / name).string();
        std::ofstream(p) << text;
        return p;
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    fs::path path_;
};

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// ---- every command parses, from samples generated out of its own syntax ----

struct SyntaxItem {
    std::string key;                 // empty for a literal
    std::vector<std::string> words;  // the literal, the choices, or examples of the type
    int group = -1;
};

// Valid words for each placeholder type; a type missing here fails the test,
// so a new type cannot go untested.
std::vector<std::string> examples(const std::string& type) {
    if (type == "prefix") return {"198.51.100.0/24", "2001:db8:10::/48", "203.0.113.7"};
    if (type == "port") return {"all", "0", "1", "outside", "inside"};
    if (type == "name") return {"clinic-a", "x.y_z"};
    if (type == "policy") return {"default"};
    if (type == "protected") return {"portal"};
    if (type == "file") return {"/tmp/triage-test.cli"};
    if (type == "expiry") return {"90s", "2h", "7d", "2026-11-22T06:14:00Z"};
    if (type == "section") return {"display", "all"};
    if (type == "number") return {"0", "42"};
    if (type == "count") return {"0", "42", "4294967295"};
    if (type == "signature") return {"1001"};
    if (type == "si") return {"500", "10k", "2m", "1g"};
    if (type == "duration") return {"90s", "15m", "2h", "7d"};
    if (type == "ports") return {"443", "8000-8080"};
    if (type == "sigports") return {"80", "1-1024", "any"};
    if (type == "class") return {"syn", "tcp", "udp", "icmp", "fragment", "reflection", "dns", "memcached"};
    if (type == "reflector") return {"dns", "ntp"};
    if (type == "secret") return {"random", "00112233445566778899aabbccddeeff"};
    if (type == "pattern") return {"/abc/", "/GET\\s+\\/admin/i", "/a/b/ism"};
    if (type == "mitigating") return {"mitigating"};  // a one-word choice
    if (type == "capfilter") return {"any", "dst=198.51.100.10,tcp,port=443", "src=2001:db8::/32,udp,out"};
    return {};
}

std::vector<SyntaxItem> tokenize(std::string_view s) {
    std::vector<SyntaxItem> out;
    int group = -1, groups = 0;
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == ' ') {
            ++i;
        } else if (s[i] == '[') {
            group = groups++;
            ++i;
        } else if (s[i] == ']') {
            group = -1;
            ++i;
        } else {
            size_t e = i;
            while (e < s.size() && s[e] != ' ' && s[e] != ']') ++e;
            const std::string w(s.substr(i, e - i));
            i = e;
            SyntaxItem it;
            it.group = group;
            if (w.front() == '<') {
                const size_t colon = w.find(':');
                it.key = w.substr(1, colon - 1);
                const std::string type = w.substr(colon + 1, w.size() - colon - 2);
                if (type.find('|') != std::string::npos) {
                    std::stringstream ss(type);
                    for (std::string c; std::getline(ss, c, '|');) it.words.push_back(c);
                } else {
                    it.words = examples(type);
                    EXPECT_FALSE(it.words.empty()) << "no examples for type '" << type << "' in " << s;
                }
            } else {
                it.words = {w};
            }
            out.push_back(std::move(it));
        }
    }
    return out;
}

struct Sample {
    std::string line;
    std::map<std::string, std::string> args;
};

// Every optional group present and absent; every word of every item at least
// once (the items vary together rather than as a full product, which would
// be large and say no more).
std::vector<Sample> samples(const cli::Command& c) {
    const auto items = tokenize(c.syntax);
    int groups = 0;
    size_t widest = 1;
    for (const auto& it : items) {
        groups = std::max(groups, it.group + 1);
        widest = std::max(widest, it.words.size());
    }
    std::vector<Sample> out;
    for (unsigned mask = 0; mask < (1u << groups); ++mask)
        for (size_t v = 0; v < widest; ++v) {
            Sample s;
            for (const auto& it : items) {
                if (it.group >= 0 && !(mask >> it.group & 1)) continue;
                const std::string& w = it.words[v % it.words.size()];
                s.line += (s.line.empty() ? "" : " ") + w;
                if (!it.key.empty()) s.args[it.key] = w;
            }
            out.push_back(std::move(s));
        }
    return out;
}

TEST(CliGrammar, EveryCommandParsesFromItsSyntaxAndBindsToItself) {
    Console k;
    size_t n = 0;
    for (const cli::Command& c : cli::commands()) {
        for (const Sample& s : samples(c)) {
            SCOPED_TRACE(s.line);
            ++n;
            std::string err;
            // Through librte_cmdline: an ambiguity between two table entries
            // would come back as an error here.
            auto b = k.engine.parse(s.line, err);
            ASSERT_TRUE(b) << "'" << s.line << "' does not parse: " << err;
            EXPECT_EQ(err, "");
            EXPECT_EQ(b->cmd, &c) << "'" << s.line << "' binds to '" << b->cmd->syntax << "', not '" << c.syntax
                                  << "'";
            for (const auto& [key, word] : s.args) {
                ASSERT_TRUE(b->args.has(key)) << key;
                EXPECT_EQ(b->args.str(key), word);
            }
            // Our own walk (used for diagnostics) must agree with cmdline's.
            auto m = k.engine.match(s.line, err);
            ASSERT_TRUE(m) << err;
            EXPECT_EQ(m->cmd, &c);
            // Blanks and a trailing comment change nothing.
            auto padded = k.engine.parse("  " + s.line + "\t # note", err);
            ASSERT_TRUE(padded) << err;
            EXPECT_EQ(padded->cmd, &c);
        }
    }
    EXPECT_GE(n, cli::commands().size());
}

TEST(CliGrammar, NoTwoCommandsShareASyntax) {
    std::set<std::string> seen;
    for (const cli::Command& c : cli::commands()) EXPECT_TRUE(seen.insert(c.syntax).second) << c.syntax;
}

TEST(CliGrammar, OptionalArgumentsAreAbsentWhenNotGiven) {
    Console k;
    std::string err;
    auto b = k.engine.parse("add protect 198.51.100.0/24 name portal", err);
    ASSERT_TRUE(b) << err;
    EXPECT_FALSE(b->args.has("policy"));
    b = k.engine.parse("add deny 192.0.2.0/24", err);
    ASSERT_TRUE(b) << err;
    EXPECT_FALSE(b->args.has("when"));
    b = k.engine.parse("help", err);
    ASSERT_TRUE(b) << err;
    EXPECT_FALSE(b->args.has("section"));
}

// ---- bad input: one line naming the problem, nothing changed ---------------

struct BadLine {
    const char* line;
    const char* want;  // a piece of the message
};

const BadLine kBadLines[] = {
    // unknown command
    {"frobnicate", "unknown command 'frobnicate'; type 'help' for the list"},
    {"shwo version", "unknown command 'shwo'"},
    // wrong word after a known start
    {"show bogus", "'bogus' is not"},
    {"set transit sideways", "'sideways' is not one of (forward|drop)"},
    // capture filters and limits
    {"capture start /tmp/x.pcapng match dst=198.51.100.1/24",
     "capture filter term 'dst=198.51.100.1/24': "},
    {"capture start /tmp/x.pcapng match tcp,port=99999", "capture filter term 'port=99999': not a port 0-65535"},
    {"capture start /tmp/x.pcapng match vlan=3", "capture filter term 'vlan=3': unknown"},
    {"capture start /tmp/x.pcapng packets many", "'many' is not"},
    {"add protect 198.51.100.0/24 called portal", "'called' is not 'name'"},
    {"set log level loud", "'loud' is not one of (trace|debug|info|warn|error|critical|off)"},
    {"help nosuch", "help: no help section 'nosuch' (sections: display ports"},
    {"add protect 198.51.100.0/24 name portal polcy strict", "'polcy' is not 'policy'"},
    // bad prefixes
    {"add deny 198.51.100.0/33", "'198.51.100.0/33': prefix length 33 is more than 32"},
    {"add deny 2001:db8::/129", "prefix length 129 is more than 128"},
    {"add deny 198.51.100.1/24", "has host bits set (did you mean 198.51.100.0/24?)"},
    {"add deny 2001:db8::1/32", "has host bits set (did you mean 2001:db8::/32?)"},
    {"add deny 198.51.100/24", "'198.51.100/24' is not an IPv4 or IPv6 prefix"},
    {"add deny zzz", "'zzz' is not an IPv4 or IPv6 prefix"},
    {"add deny 198.51.100.0/", "missing prefix length after '/'"},
    {"add deny 198.51.100.0/2x", "prefix length '2x' is not a number"},
    {"add protect 300.0.0.0/8 name big", "'300.0.0.0/8' is not an IPv4 or IPv6 prefix"},
    // bad ports
    {"show port info 9x", "'9x' is not a port: give a port id, outside, inside or all"},
    {"show port stats 70000", "'70000' is not a port"},
    {"clear port stats -1", "'-1' is not a port"},
    // bad names
    {"add policy 1st", "must start with a letter"},
    {"add policy a/b", "may hold only letters, digits, '_', '-' and '.'"},
    {"add policy abcdefghijklmnopqrstuvwxyz0123456", "is longer than 32 characters"},
    {"add protect 198.51.100.0/24 name -x", "must start with a letter"},
    // bad expiry
    {"add deny 192.0.2.0/24 expires 5y", "'5y' is not a duration"},
    {"add deny 192.0.2.0/24 expires 0s", "'0s' is not a duration"},
    {"add deny 192.0.2.0/24 expires 3651d", "at most 3650d"},
    {"add deny 192.0.2.0/24 expires 2026-11-22T06:14:00", "is not a UTC time like 2026-11-22T06:14:00Z"},
    {"add deny 192.0.2.0/24 expires 2026-02-30T00:00:00Z", "is not a valid UTC time"},
    // missing arguments
    {"add protect 198.51.100.0/24 name", "incomplete: expected NAME"},
    {"add protect 198.51.100.0/24", "incomplete: expected name"},
    {"add deny", "incomplete: expected PREFIX"},
    {"add deny 192.0.2.0/24 expires", "incomplete: expected (DURATION|TIME)"},
    {"show port info", "incomplete: expected (N|outside|inside|all)"},
    {"save config", "incomplete: expected FILE"},
    {"del", "incomplete"},
    // trailing words
    {"show version now", "unexpected 'now' at the end"},
    {"add deny 192.0.2.0/24 expires 2h please", "unexpected 'please' at the end"},
    {"quit now", "unexpected 'now' at the end"},
};

TEST(CliDiagnostics, EveryBadLineGetsOneLineAndChangesNothing) {
    Console k;
    k.run("add policy strict");
    k.run("add protect 198.51.100.0/24 name portal policy strict");
    k.run("add deny 203.0.113.0/24 expires 2h");
    const std::string before = k.config();
    const unsigned commits = k.rt.commits;
    for (const BadLine& b : kBadLines) {
        SCOPED_TRACE(b.line);
        const std::string out = k.run(b.line, false);
        EXPECT_EQ(count_lines(out), 1u) << out;
        EXPECT_EQ(out.rfind("error: ", 0), 0u) << out;
        EXPECT_NE(out.find(b.want), std::string::npos) << "got: " << out;
        // Engine::parse gives the same message without the session's prefix.
        std::string err;
        EXPECT_FALSE(k.engine.parse(b.line, err));
        EXPECT_EQ("error: " + err + "\n", out);
    }
    EXPECT_EQ(k.config(), before);
    EXPECT_EQ(k.rt.commits, commits);
    EXPECT_TRUE(k.rt.calls.empty());
    EXPECT_EQ(k.session.errors(), std::size(kBadLines));
}

TEST(CliDiagnostics, OverlongLineIsRefused) {
    Console k;
    const std::string out = k.run("add policy " + std::string(600, 'a'), false);
    EXPECT_EQ(out, "error: line longer than 500 characters\n");
    EXPECT_EQ(k.rt.commits, 0u);
}

TEST(CliDiagnostics, BlankLinesAndCommentsAreNoErrors) {
    Console k;
    for (const char* line : {"", "   ", "\t", "# a comment", "   # indented comment", "#"}) {
        std::string err = "unset";
        EXPECT_FALSE(k.engine.parse(line, err));
        EXPECT_EQ(err, "") << "'" << line << "'";
        EXPECT_EQ(k.run(line), "");
    }
    EXPECT_FALSE(k.session.failed());
    EXPECT_EQ(k.rt.commits, 0u);
}

TEST(CliDiagnostics, SemanticErrorsAreOneLineAndChangeNothing) {
    Console k;
    k.run("add protect 198.51.100.0/24 name portal");
    k.run("add allow 192.0.2.0/24");
    const std::string before = k.config();
    const unsigned commits = k.rt.commits;
    const std::pair<const char*, const char*> cases[] = {
        {"add protect 203.0.113.0/24 name other policy nosuch", "error: no policy 'nosuch'"},
        {"add protect 198.51.100.0/24 name again", "error: 198.51.100.0/24 is already protected as 'portal'"},
        {"add protect 203.0.113.0/24 name portal", "error: protected prefix name 'portal' is already used"},
        {"del protect ghost", "error: no protected prefix named 'ghost'"},
        {"del protect 203.0.113.0/24", "error: 203.0.113.0/24 is not protected"},
        {"del deny 203.0.113.0/24", "error: 203.0.113.0/24 is not on the deny list"},
        {"add deny 192.0.2.0/24", "error: 192.0.2.0/24 is on the allow list; delete it there first"},
        {"del policy default", "error: the built-in policy 'default' cannot be deleted"},
        {"del policy nosuch", "error: no policy 'nosuch'"},
        {"add policy default", "error: policy 'default' already exists"},
        {"show port info 7", "error: no port 7"},
        {"capture start /tmp/x.pcapng snaplen 9000", "error: snaplen is 64 to 2048 bytes"},
    };
    for (const auto& [line, want] : cases) {
        SCOPED_TRACE(line);
        const std::string out = k.run(line, false);
        EXPECT_EQ(count_lines(out), 1u) << out;
        EXPECT_EQ(out.rfind(want, 0), 0u) << "got: " << out;
    }
    EXPECT_EQ(k.config(), before);
    EXPECT_EQ(k.rt.commits, commits);
}

TEST(CliDiagnostics, ACommitTheRuntimeRefusesChangesNothing) {
    Console k;
    k.rt.refuse = "table full";
    EXPECT_EQ(k.run("add deny 192.0.2.0/24", false), "error: table full\n");
    EXPECT_TRUE(k.rt.cfg.list(policy::ListKind::deny).empty());
    EXPECT_EQ(k.rt.commits, 0u);
}

// ---- commands do what they say ---------------------------------------------

TEST(CliCommands, EditsShowAndActions) {
    Console k;
    EXPECT_EQ(k.run("show version"), "triage 9.9.9-test\n");
    EXPECT_EQ(k.run("show config"), "set transit forward\n");
    EXPECT_NE(k.run("show protect").find("no protected prefixes"), std::string::npos);
    EXPECT_EQ(k.run("show deny"), "the deny list is empty\n");

    k.run("add policy strict");
    k.run("add protect 198.51.100.0/24 name portal policy strict");
    k.run("add protect 2001:db8:10::/48 name v6portal");
    k.run("add deny 203.0.113.0/24 expires 90m");
    k.run("add allow 192.0.2.0/24");
    k.run("set transit drop");
    EXPECT_EQ(k.rt.commits, 6u);
    EXPECT_EQ(k.rt.snapshot_version, 6u);
    EXPECT_EQ(k.run("show config"),
              "add policy strict\n"
              "add protect 198.51.100.0/24 name portal policy strict\n"
              "add protect 2001:db8:10::/48 name v6portal policy default\n"
              "add allow 192.0.2.0/24\n"
              "add deny 203.0.113.0/24 expires 2026-03-01T13:30:00Z\n"
              "set transit drop\n");
    const std::string prot = k.run("show protect");
    EXPECT_NE(prot.find("portal"), std::string::npos);
    EXPECT_NE(prot.find("2001:db8:10::/48"), std::string::npos);
    const std::string deny = k.run("show deny");
    EXPECT_NE(deny.find("2026-03-01T13:30:00Z"), std::string::npos) << deny;
    EXPECT_NE(deny.find("90m"), std::string::npos) << deny;
    EXPECT_NE(k.run("show allow").find("never"), std::string::npos);

    // Re-adding changes the expiry; a bare add makes it permanent.
    k.run("add deny 203.0.113.0/24 expires 2026-04-01T00:00:00Z");
    EXPECT_EQ(*k.rt.cfg.list(policy::ListKind::deny).begin()->second.expires, at("2026-04-01T00:00:00Z"));
    k.run("add deny 203.0.113.0/24");
    EXPECT_FALSE(k.rt.cfg.list(policy::ListKind::deny).begin()->second.expires);

    // Deleting by name and by prefix; policies free once unused.
    EXPECT_FALSE(k.run("del policy strict", false).empty());
    k.run("del protect portal");
    k.run("del protect 2001:db8:10::/48");
    k.run("del policy strict");
    k.run("clear deny");
    k.run("del allow 192.0.2.0/24");
    k.run("set transit forward");
    EXPECT_EQ(k.config(), "set transit forward\n");

    k.run("show port info all");
    k.run("show port stats outside");
    k.run("clear port stats 1");
    k.run("show workers");
    k.run("show drops");
    k.run("set log level debug");
    EXPECT_EQ(k.run("show policy"), "policy version " + std::to_string(k.rt.snapshot_version) + "\n");
    k.run("capture start /tmp/a.pcapng");
    k.run("capture start /tmp/b.pcapng match dst=198.51.100.10,tcp,port=443 packets 100 for 2m");
    k.run("capture start /tmp/c.pcapng snaplen 256 for 30s");
    k.run("capture stop");
    EXPECT_EQ(k.rt.calls, (std::vector<std::string>{"info all", "stats outside", "clear 1", "workers", "drops",
                                                    "log debug", "policy", "capture /tmp/a.pcapng any 0 0 0",
                                                    "capture /tmp/b.pcapng dst=198.51.100.10,tcp,port=443 100 120 0",
                                                    "capture /tmp/c.pcapng any 0 30 256", "capture stop"}));
    EXPECT_FALSE(k.session.closing());
    k.run("quit");
    EXPECT_TRUE(k.session.closing());
}

// ---- scripts are transactions ----------------------------------------------

TEST(CliScripts, ABadLineNamesFileAndLineAndAppliesNothing) {
    TempDir d;
    Console k;
    k.run("add deny 198.18.0.0/15");
    const std::string before = k.config();
    const unsigned commits = k.rt.commits;
    const std::string f = d.write("bad.cli",
                                  "# start\n"
                                  "add protect 198.51.100.0/24 name portal\n"
                                  "add deny 203.0.113.0/33\n"
                                  "save config " + d.file("never.cli") + "\n"
                                  "clear port stats all\n");
    k.out.clear();
    EXPECT_FALSE(k.session.run_file(f));
    EXPECT_EQ(count_lines(k.out), 1u) << k.out;
    EXPECT_EQ(k.out.rfind("error: ", 0), std::string::npos) << "a script error names FILE:LINE first: " << k.out;
    EXPECT_EQ(k.out.rfind(f + ":3: ", 0), 0u) << k.out;
    EXPECT_NE(k.out.find("prefix length 33 is more than 32"), std::string::npos) << k.out;
    EXPECT_NE(k.out.find("nothing from " + f + " applied"), std::string::npos) << k.out;
    EXPECT_EQ(k.config(), before);
    EXPECT_EQ(k.rt.commits, commits);
    EXPECT_FALSE(fs::exists(d.file("never.cli")));
    EXPECT_TRUE(k.rt.calls.empty());

    // `load` at the prompt is the same transaction.
    k.out.clear();
    k.run("load " + f, false);
    EXPECT_EQ(k.config(), before);
    EXPECT_EQ(k.rt.commits, commits);
}

TEST(CliScripts, ASemanticErrorNamesFileAndLineAndAppliesNothing) {
    TempDir d;
    Console k;
    const std::string before = k.config();
    const std::pair<std::string, std::string> cases[] = {
        {"add deny 192.0.2.0/24\nadd protect 198.51.100.0/24 name portal policy nosuch\n",
         ":2: no policy 'nosuch'"},
        {"add deny 192.0.2.0/24\nset transit drop\ndel deny 203.0.113.0/24\n",
         ":3: 203.0.113.0/24 is not on the deny list"},
        {"add policy p\nadd protect 198.51.100.0/24 name portal policy p\ndel policy p\n",
         ":3: policy 'p' is used by protected prefix 'portal'"},
        {"add allow 192.0.2.0/24\nadd deny 192.0.2.0/24\n", ":2: 192.0.2.0/24 is on the allow list"},
    };
    int i = 0;
    for (const auto& [text, want] : cases) {
        const std::string f = d.write("s" + std::to_string(i++) + ".cli", text);
        k.out.clear();
        EXPECT_FALSE(k.session.run_file(f));
        EXPECT_EQ(count_lines(k.out), 1u) << k.out;
        EXPECT_EQ(k.out.rfind(f + want, 0), 0u) << k.out;
        EXPECT_NE(k.out.find("(nothing applied)"), std::string::npos) << k.out;
        EXPECT_EQ(k.config(), before);
        EXPECT_EQ(k.rt.commits, 0u);
    }
}

TEST(CliScripts, AValidScriptAppliesAsOneCommitThenRunsActions) {
    TempDir d;
    Console k;
    const std::string f = d.write("good.cli",
                                  "clear port stats all   # deferred until the commit\n"
                                  "add policy strict\n"
                                  "\n"
                                  "add protect 198.51.100.0/24 name portal policy strict\n"
                                  "show config\n"
                                  "add deny 203.0.113.0/24\n"
                                  "del deny 203.0.113.0/24\n"
                                  "set transit drop\n");
    k.out.clear();
    EXPECT_TRUE(k.session.run_file(f)) << k.out;
    EXPECT_EQ(k.rt.commits, 1u);
    EXPECT_EQ(k.config(),
              "add policy strict\nadd protect 198.51.100.0/24 name portal policy strict\nset transit drop\n");
    // show config inside the script sees the script's own changes so far.
    EXPECT_NE(k.out.find("add protect 198.51.100.0/24 name portal policy strict"), std::string::npos) << k.out;
    EXPECT_EQ(k.rt.calls, std::vector<std::string>{"clear all"});
}

TEST(CliScripts, AScriptTheRuntimeRefusesNamesTheScriptAndAppliesNothing) {
    TempDir d;
    Console k;
    k.rt.refuse = "too big";
    const std::string f = d.write("big.cli", "add deny 192.0.2.0/24\nclear port stats all\n");
    k.out.clear();
    EXPECT_FALSE(k.session.run_file(f));
    EXPECT_EQ(k.out, f + ": too big (nothing applied)\n");
    EXPECT_TRUE(k.rt.cfg.list(policy::ListKind::deny).empty());
    EXPECT_TRUE(k.rt.calls.empty()) << "actions run only after a successful commit";
}

TEST(CliScripts, MissingFile) {
    Console k;
    k.out.clear();
    EXPECT_FALSE(k.session.run_file("/nonexistent/triage.cli"));
    EXPECT_EQ(k.out.rfind("error: cannot open script '/nonexistent/triage.cli'", 0), 0u) << k.out;
    EXPECT_EQ(count_lines(k.out), 1u);
}

TEST(CliScripts, NestedLoadIsPartOfTheTransaction) {
    TempDir d;
    Console k;
    const std::string inner = d.write("inner.cli", "add policy strict\nadd deny 203.0.113.0/24\n");
    const std::string outer =
        d.write("outer.cli", "add allow 192.0.2.0/24\nload " + inner + "\nadd protect 198.51.100.0/24 name p "
                             "policy strict\n");
    k.out.clear();
    EXPECT_TRUE(k.session.run_file(outer)) << k.out;
    EXPECT_EQ(k.rt.commits, 1u);
    EXPECT_EQ(k.config(),
              "add policy strict\nadd protect 198.51.100.0/24 name p policy strict\nadd allow 192.0.2.0/24\n"
              "add deny 203.0.113.0/24\nset transit forward\n");

    // A bad line in the included file names that file and line; nothing of
    // either file applies.
    Console k2;
    const std::string bad_inner = d.write("bad_inner.cli", "add policy ok\nadd policy 9bad\n");
    const std::string outer2 = d.write("outer2.cli", "add allow 192.0.2.0/24\nload " + bad_inner + "\n");
    k2.out.clear();
    EXPECT_FALSE(k2.session.run_file(outer2));
    EXPECT_EQ(k2.out.rfind(bad_inner + ":2: ", 0), 0u) << k2.out;
    EXPECT_EQ(k2.config(), "set transit forward\n");

    // An include that is not there names the load line.
    const std::string outer3 = d.write("outer3.cli", "add allow 192.0.2.0/24\nload " + d.file("missing.cli") + "\n");
    k2.out.clear();
    EXPECT_FALSE(k2.session.run_file(outer3));
    EXPECT_EQ(k2.out.rfind(outer3 + ":2: cannot open script", 0), 0u) << k2.out;
    EXPECT_EQ(k2.config(), "set transit forward\n");
}

TEST(CliScripts, TooDeepNestingIsRefused) {
    TempDir d;
    // A chain of 8 files (depth 0..7) is allowed; 9 is not.
    auto chain = [&](const std::string& tag, int n) {
        std::string next;
        for (int i = n - 1; i >= 0; --i) {
            std::string text = "add policy " + tag + std::to_string(i) + "\n";
            if (!next.empty()) text += "load " + next + "\n";
            next = d.write(tag + std::to_string(i) + ".cli", text);
        }
        return next;
    };
    Console ok;
    ok.out.clear();
    EXPECT_TRUE(ok.session.run_file(chain("a", 8))) << ok.out;
    EXPECT_EQ(ok.rt.cfg.policies().size(), 9u);

    Console deep;
    deep.out.clear();
    EXPECT_FALSE(deep.session.run_file(chain("b", 9)));
    EXPECT_NE(deep.out.find("scripts nested deeper than 8"), std::string::npos) << deep.out;
    EXPECT_EQ(count_lines(deep.out), 1u) << deep.out;
    EXPECT_EQ(deep.rt.commits, 0u);

    // A script that loads itself ends the same way, not in a stack overflow.
    const std::string self = d.file("self.cli");
    d.write("self.cli", "add policy x\nload " + self + "\n");
    Console loop;
    loop.out.clear();
    EXPECT_FALSE(loop.session.run_file(self));
    EXPECT_NE(loop.out.find("nested deeper than 8"), std::string::npos) << loop.out;
    EXPECT_EQ(loop.rt.commits, 0u);
}

// ---- save config and reload: the same configuration -----------------------

TEST(CliScripts, SaveConfigRoundTrips) {
    TempDir d;
    Console a;
    for (const char* line : {
             "add policy strict",
             "add policy lab.v2",
             "add protect 198.51.100.0/24 name portal policy strict",
             "add protect 198.51.100.128/25 name portal-b",
             "add protect 2001:db8:10::/48 name v6 policy lab.v2",
             "add protect 203.0.113.10 name host",
             "add deny 192.0.2.0/24 expires 2h",
             "add deny 2001:db8:bad::/48 expires 2026-11-22T06:14:00Z",
             "add deny 198.18.0.0/15",
             "add allow 192.0.2.64/26",
             "add allow 2001:db8:bad:1::/64 expires 7d",
             "set transit drop",
         })
        a.run(line);
    const std::string saved = d.file("saved.cli");
    EXPECT_EQ(a.run("save config " + saved), "configuration saved to " + saved + "\n");
    EXPECT_FALSE(fs::exists(saved + ".tmp"));

    // Later, on a fresh box: absolute expiry times do not move.
    Console b;
    b.rt.clock = a.rt.clock + std::chrono::hours(1);
    b.out.clear();
    EXPECT_TRUE(b.session.run_file(saved)) << b.out;
    EXPECT_EQ(b.rt.commits, 1u);
    EXPECT_EQ(b.run("show config"), a.run("show config"));
    EXPECT_EQ(b.rt.cfg, a.rt.cfg);

    // And once more, through `load` at the prompt and a second save.
    Console c;
    c.run("load " + saved);
    const std::string again = d.file("again.cli");
    c.run("save config " + again);
    EXPECT_EQ(c.rt.cfg, a.rt.cfg);
    std::ifstream f1(saved), f2(again);
    std::string l1, l2;
    std::getline(f1, l1);  // headers carry the save time
    std::getline(f2, l2);
    EXPECT_EQ(l1.rfind("# triage 9.9.9-test", 0), 0u) << l1;
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f1), {}), std::string(std::istreambuf_iterator<char>(f2), {}));
}

TEST(CliScripts, SaveConfigToAnUnwritablePlaceFails) {
    Console k;
    const std::string out = k.run("save config /nonexistent/dir/x.cli", false);
    EXPECT_EQ(out.rfind("error: cannot write '/nonexistent/dir/x.cli'", 0), 0u) << out;
    EXPECT_EQ(count_lines(out), 1u);
}

// ---- help and the reference page -------------------------------------------

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> v;
    std::stringstream ss(s);
    for (std::string l; std::getline(ss, l);) v.push_back(l);
    return v;
}

TEST(CliHelp, ListsEverySectionAndEveryCommandInExactlyOneSection) {
    Console k;
    const std::string top = k.run("help");
    for (const cli::Section& s : cli::sections()) {
        EXPECT_NE(top.find(std::string("  ") + s.id), std::string::npos) << s.id;
        EXPECT_NE(top.find(s.title), std::string::npos) << s.title;
    }
    std::map<std::string, int> seen;  // usage -> sections listing it
    for (const cli::Section& s : cli::sections()) {
        const std::string text = k.run(std::string("help ") + s.id);
        const auto lines = lines_of(text);
        ASSERT_FALSE(lines.empty());
        EXPECT_EQ(lines[0], std::string(s.title) + ":");
        for (const cli::Command& c : cli::commands()) {
            const bool listed =
                std::find(lines.begin(), lines.end(), "  " + cli::Engine::usage(c)) != lines.end();
            EXPECT_EQ(listed, std::string_view(c.section) == s.id) << c.syntax << " in help " << s.id;
            if (listed) ++seen[cli::Engine::usage(c)];
        }
    }
    for (const cli::Command& c : cli::commands()) EXPECT_EQ(seen[cli::Engine::usage(c)], 1) << c.syntax;

    // help all is every section in turn.
    std::string all;
    for (const cli::Section& s : cli::sections()) all += k.run(std::string("help ") + s.id);
    EXPECT_EQ(k.run("help all"), all);
}

TEST(CliHelp, EveryCommandsSectionExistsAndHasHelp) {
    for (const cli::Command& c : cli::commands()) {
        EXPECT_TRUE(std::any_of(cli::sections().begin(), cli::sections().end(),
                                [&](const cli::Section& s) { return std::string_view(s.id) == c.section; }))
            << c.syntax << " is in unknown section " << c.section;
        EXPECT_NE(std::string_view(c.help), "") << c.syntax;
        EXPECT_TRUE(c.run) << c.syntax;
    }
}

TEST(CliHelp, UsageRendersPlaceholders) {
    for (const cli::Command& c : cli::commands()) {
        const std::string u = cli::Engine::usage(c);
        EXPECT_EQ(u.find('<'), std::string::npos) << u;
        EXPECT_EQ(u.find(':'), std::string::npos) << u;
    }
    const auto find = [](std::string_view syntax) {
        for (const cli::Command& c : cli::commands())
            if (syntax == c.syntax) return cli::Engine::usage(c);
        return std::string("(missing)");
    };
    EXPECT_EQ(find("show port <what:info|stats> <port:port>"), "show port (info|stats) (N|outside|inside|all)");
    EXPECT_EQ(find("add <list:allow|deny> <prefix:prefix> [expires <when:expiry>]"),
              "add (allow|deny) PREFIX [expires (DURATION|TIME)]");
}

TEST(CliHelp, ReferenceMentionsEveryCommandAndSection) {
    std::ostringstream os;
    cli::Engine::write_reference(os);
    const std::string ref = os.str();
    for (const cli::Command& c : cli::commands()) {
        EXPECT_NE(ref.find("- `" + cli::Engine::usage(c) + "`"), std::string::npos) << c.syntax;
        EXPECT_NE(ref.find(c.help), std::string::npos) << c.help;
    }
    for (const cli::Section& s : cli::sections())
        EXPECT_NE(ref.find(std::string("## ") + s.title + " (`help " + s.id + "`)"), std::string::npos) << s.id;
    EXPECT_EQ(ref.rfind("# Console command reference\n", 0), 0u);
}

}  // namespace

// ---- scrubbing configuration ----

TEST(CliScrubbing, EverySettingRoundTripsThroughSaveConfig) {
    TempDir d;
    Console a;
    for (const char* line : {
             "del reflector chargen",
             "add reflector quic-amp 443",
             "set reflection window 45s",
             "add policy web",
             "set policy web syn-auth on",
             "set policy web auth-ttl 10m",
             "set policy web aggregate ipv4 24",
             "set policy web aggregate ipv6 48",
             "set policy web limit syn source 50 burst 100",
             "set policy web limit udp destination 20k bits 200m",
             "set policy web limit reflection destination 1k",
             "set policy web limit quic-amp source 10",
             "set policy web limit tcp source 0 bits 8m",
             "set policy web limit syn destination 500 mitigating",
             "set policy web limit reflection source 20 burst 40 mitigating",
             "set policy web fragments drop",
             "add service web tcp 443",
             "add service web tcp 8000-8080",
             "add service web udp 53",
             "add service web icmp",
             "set policy web acl on",
             "set policy web signatures on",
             "set policy default syn-auth auto",
             "add protect 198.51.100.0/24 name portal policy web",
             "add protect 203.0.113.0/24 name lan",
             "set protect lan mitigation on",
             "add signature 1001 tcp 80 drop /GET\\s+\\/admin/i",
             "add signature 7 any any count /exploit/s",
             "add signature 8 udp 1000-2000 drop /x\\x00y/",
             "set syn-auth secret 00112233445566778899AABBCCDDEEFF",
         })
        a.run(line);
    const std::string saved = d.file("scrub.cli");
    a.run("save config " + saved);
    Console b;
    b.out.clear();
    EXPECT_TRUE(b.session.run_file(saved)) << b.out;
    EXPECT_EQ(b.rt.cfg, a.rt.cfg);
    EXPECT_EQ(b.run("show config"), a.run("show config"));
    const std::string cfg = a.config();
    EXPECT_NE(cfg.find("set syn-auth secret 00112233445566778899aabbccddeeff\n"), std::string::npos) << cfg;
    EXPECT_NE(cfg.find("set policy web limit udp destination 20k bits 200m\n"), std::string::npos) << cfg;
    EXPECT_NE(cfg.find("set policy web limit tcp source 0 bits 8m\n"), std::string::npos) << cfg;
    EXPECT_NE(cfg.find("set policy web limit syn destination 500 mitigating\n"), std::string::npos) << cfg;
    EXPECT_NE(cfg.find("set policy web limit reflection source 20 burst 40 mitigating\n"), std::string::npos) << cfg;
    EXPECT_NE(a.run("show policy web").find("limit        syn destination 500 while mitigating"), std::string::npos);
    EXPECT_NE(cfg.find("del reflector chargen\n"), std::string::npos) << cfg;
    EXPECT_NE(cfg.find("add signature 1001 tcp 80 drop /GET\\s+\\/admin/i\n"), std::string::npos) << cfg;
    // Settings show up in `show policy NAME`.
    const std::string shown = a.run("show policy web");
    for (const char* want : {"syn-auth     on", "aggregate    ipv4 /24, ipv6 /48", "fragments    drop",
                             "tcp 8000-8080;", "signatures   on", "limit        quic-amp source 10",
                             "protects     portal 198.51.100.0/24"})
        EXPECT_NE(shown.find(want), std::string::npos) << want << "\n" << shown;
}

TEST(CliScrubbing, BadScrubbingInputIsOneLineAndChangesNothing) {
    Console k;
    k.run("add policy web");
    k.run("add signature 1 tcp 80 drop /ok/");
    const std::string before = k.config();
    const unsigned commits = k.rt.commits;
    const std::pair<const char*, const char*> cases[] = {
        {"set policy web limit sin source 10", "no traffic class 'sin'"},
        {"set policy web limit udp source 10x", "'10x' is not"},
        {"set policy web limit udp source 0", "needs a packet rate or a bit rate"},
        {"set policy web limit udp source 10 burst 0", "burst must be at least 1 packet"},
        {"set policy nope syn-auth on", "no policy 'nope'"},
        {"set policy web auth-ttl 5s", "out of range (10s to 1d)"},
        {"set policy web auth-ttl 5", "is not a duration"},
        {"set policy web aggregate ipv4 33", "out of range (/8 to /32)"},
        {"set policy web aggregate ipv6 16", "out of range (/32 to /128)"},
        {"add service web tcp 0", "is not a port or port range"},
        {"add service web tcp 90-80", "is not a port or port range"},
        {"del service web udp 53", "udp 53 is not open in policy 'web'"},
        {"add reflector dns2 53", "UDP port 53 is already reflector 'dns'"},
        {"add reflector tcp 99", "is a traffic class name"},
        {"add reflector big 70000", "a UDP port is 1 to 65535"},
        {"del reflector nope", "no reflector 'nope'"},
        {"set protect nope mitigation on", "no protected prefix named 'nope'"},
        {"set syn-auth secret 0011", "exactly 32 hex digits"},
        {"set syn-auth secret 00000000000000000000000000000000", "(make one with"},
        {"add signature 1 tcp 80 drop /again/", "signature 1 already exists"},
        {"add signature 2 tcp 80 drop abc", "is not a pattern like /regex/flags"},
        {"add signature 3 tcp 80 drop /(abc/", "signature 3: Hyperscan: Missing close parenthesis"},
        {"add signature 4 tcp 80 drop /abc/q", "unknown flag"},
        {"add signature 0 tcp 80 drop /abc/", "signature ids start at 1"},
        {"del signature 99", "no signature 99"},
    };
    for (const auto& [line, want] : cases) {
        const std::string out = k.run(line, false);
        EXPECT_EQ(count_lines(out), 1u) << line << "\n" << out;
        EXPECT_NE(out.find(want), std::string::npos) << line << "\n" << out;
    }
    // A limit on a reflector pins it.
    k.run("set policy web limit dns source 5");
    EXPECT_NE(k.run("del reflector dns", false).find("has a limit in policy 'web'"), std::string::npos);
    k.run("set policy web limit dns source off");
    EXPECT_EQ(k.config(), before);
    EXPECT_EQ(k.rt.commits, commits + 2);
}

TEST(CliScrubbing, ABadSignatureInAScriptNamesTheLineAndHyperscansMessage) {
    TempDir d;
    Console k;
    const std::string f = d.write("sig.cli",
                                  "add policy web\n"
                                  "add signature 10 tcp 80 drop /fine/\n"
                                  "add signature 11 tcp 80 drop /[z-a]/\n");
    k.out.clear();
    EXPECT_FALSE(k.session.run_file(f));
    EXPECT_EQ(k.out.rfind(f + ":3: signature 11: Hyperscan: ", 0), 0u) << k.out;
    EXPECT_EQ(k.rt.cfg, policy::Config());
}

TEST(CliScrubbing, TheClinicExampleLoads) {
    Console k;
    k.out.clear();
    EXPECT_TRUE(k.session.run_file(TRIAGE_SOURCE_ROOT "/config/clinic.cli")) << k.out;
    EXPECT_EQ(k.rt.cfg.policy("portal").syn_auth, policy::SynAuth::on);
    EXPECT_FALSE(k.rt.cfg.signatures().empty());
}
