// lib/cli: the operator console. Every command is declared once (commands.cpp)
// as a syntax string, a section and a help line; from that one table the
// engine builds DPDK librte_cmdline instances (typed tokens, TAB completion,
// history), the sectioned `help`, the diagnostics for bad input and the
// reference page docs/cli.md. The same engine serves the terminal (-i), start-up
// scripts (-f), `load`, and the unix socket that triage-cli talks to.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy.h"

struct cmdline;
struct cmdline_inst;

namespace triage::cli {

class Session;

// A command's failure at run time; the message is one line for the operator.
class CommandError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Typed views of a parsed command's words, keyed by the names in its syntax.
class Args {
public:
    bool has(std::string_view key) const { return words_.count(std::string(key)) != 0; }
    const std::string& str(std::string_view key) const;
    policy::Prefix prefix(std::string_view key) const;
    // A port selector: nullopt for "all", else the DPDK port id or role name
    // resolved by the caller ("outside"/"inside" come back as given in str()).
    std::optional<std::string> port(std::string_view key) const;

    void set(const std::string& key, std::string word) { words_[key] = std::move(word); }

private:
    std::map<std::string, std::string> words_;
};

// What a command does decides how a script treats it: config commands edit
// the script's candidate configuration (committed whole at its end), show
// commands print, actions (stats clearing, quit) run after a successful commit.
// `load` (include) is expanded into the surrounding script's transaction.
enum class Effect : uint8_t { show, config, action, include };

using Handler = void (*)(Session&, const Args&);

struct Command {
    const char* section;  // a Section id
    const char* syntax;   // e.g. "show port <what:info|stats> <port:port>"
    const char* help;     // one line
    Effect effect;
    Handler run;
};

struct Section {
    const char* id;
    const char* title;
};

// Triage's command table and sections (commands.cpp).
std::span<const Command> commands();
std::span<const Section> sections();

// The running box as the console sees it; the appliance implements it over
// its ports, workers and policy publisher.
class Runtime {
public:
    virtual ~Runtime() = default;
    virtual const policy::Config& config() const = 0;
    // Compiles, validates and publishes next as the running configuration.
    // Throws policy::ConfigError (nothing changes) when it does not compile.
    virtual void commit(const policy::Config& next) = 0;
    virtual policy::Time now() const = 0;
    virtual std::string version() const = 0;
    // port: nullopt = every port; else an id or "outside"/"inside".
    // Throw CommandError for an unknown port.
    virtual void show_port_info(std::ostream& os, const std::optional<std::string>& port) = 0;
    virtual void show_port_stats(std::ostream& os, const std::optional<std::string>& port) = 0;
    virtual void clear_port_stats(const std::optional<std::string>& port) = 0;
    virtual void show_workers(std::ostream& os) = 0;
    virtual void show_drops(std::ostream& os) = 0;
    virtual void show_policy_state(std::ostream& os) = 0;
    // Scrubbing counters and tables; signature rules with their hit counts.
    virtual void show_scrub(std::ostream& os) = 0;
    virtual void show_signatures(std::ostream& os) = 0;
    virtual void show_incidents(std::ostream& os) = 0;
    virtual void show_incident(std::ostream& os, uint32_t id) = 0;
    // Manual packet capture (lib/capture): filter is the capture filter's
    // text ("any" for everything), packets 0 and seconds 0 mean no limit,
    // snap 0 means headers only. Throw CommandError when it cannot start.
    struct CaptureRequest {
        std::string file, filter = "any";
        uint64_t packets = 0, seconds = 0;
        uint32_t snap = 0;
    };
    virtual void capture_start(std::ostream& os, const CaptureRequest& r) = 0;
    virtual void capture_stop(std::ostream& os) = 0;
    virtual void show_capture(std::ostream& os) = 0;
    virtual void set_log_level(const std::string& level) = 0;
};

// The grammar compiled into librte_cmdline instances, plus the diagnostics.
class Engine {
public:
    Engine(std::span<const Command> cmds, Runtime& rt);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // The NULL-terminated instance list for cmdline_new().
    cmdline_inst** context() noexcept { return ctx_.data(); }
    Runtime& runtime() noexcept { return rt_; }

    struct Bound {
        const Command* cmd = nullptr;
        Args args;
    };
    // Parses one line through librte_cmdline. Returns the bound command, or
    // nullopt with err set to one line naming the problem. Blank lines and
    // comments give nullopt with err empty.
    std::optional<Bound> parse(std::string_view line, std::string& err);

    // Our own walk over the same tokens: which command the line is, or why
    // it is none (used for the messages cmdline itself cannot give).
    std::optional<Bound> match(std::string_view line, std::string& err) const;

    // `help`, `help SECTION`, and the Markdown reference (docs/cli.md).
    void write_help(std::ostream& os, std::string_view section) const;
    static void write_reference(std::ostream& os);
    // Display form of a command's syntax: "show port (info|stats) (N|all)".
    static std::string usage(const Command& c);

    // Interactive cmdline sessions: the instance callbacks run commands in
    // the Session attached to the cmdline that parsed them.
    void attach(::cmdline* cl, Session* s);
    void detach(::cmdline* cl);

    // Implementation detail shared with the cmdline callbacks.
    struct Impl;

private:
    Runtime& rt_;
    std::unique_ptr<Impl> impl_;
    std::vector<cmdline_inst*> ctx_;
};

// One console conversation: the terminal, one socket connection, or a script
// run. Output goes to `out`; errors are counted so callers can set exit codes.
class Session {
public:
    using Sink = std::function<void(std::string_view)>;
    Session(Engine& e, Sink out, std::string origin);

    // Runs one line as its own transaction. Returns false on error (already
    // reported through the sink).
    bool execute(std::string_view line);
    // Runs a script file as one transaction: every line parses, every change
    // applies to a candidate configuration, the candidate compiles — or
    // nothing of it is applied. Errors name FILE:LINE. Nested `load` is
    // allowed up to a depth of 8.
    bool run_file(const std::string& path);
    bool run_lines(const std::vector<std::string>& lines, const std::string& origin);

    // Runs an already parsed command (the cmdline callback path).
    bool run_bound(Engine::Bound b);
    // Reports a line that did not parse.
    void syntax_error(const std::string& msg);

    // For handlers.
    Engine& engine() noexcept { return e_; }
    Runtime& runtime() noexcept { return e_.runtime(); }
    std::ostream& out() noexcept { return buf_; }
    // The configuration a show command should describe and a config command
    // edits: the script's candidate inside a transaction.
    policy::Config& candidate();
    const policy::Config& view() const;
    void request_close() noexcept { close_ = true; }
    bool closing() const noexcept { return close_; }
    bool failed() const noexcept { return errors_ != 0; }
    unsigned errors() const noexcept { return errors_; }
    const std::string& origin() const noexcept { return origin_; }

private:
    struct Step {
        Engine::Bound bound;
        std::string where;  // FILE:LINE
    };
    void collect(const std::vector<std::string>& lines, const std::string& origin, std::vector<Step>& steps,
                 unsigned depth);
    bool apply(std::vector<Step>& steps);
    void flush();
    void error(const std::string& msg);

    Engine& e_;
    Sink sink_;
    std::string origin_;
    std::ostringstream buf_;
    std::optional<policy::Config> cand_;
    std::string tx_origin_;  // the script a failed commit is reported against
    std::vector<Step>* pending_ = nullptr;  // while collecting a script
    unsigned depth_ = 0;
    unsigned errors_ = 0;
    bool close_ = false;
};

// Reads a script file into lines; throws CommandError naming the file.
std::vector<std::string> read_script(const std::string& path);

}  // namespace triage::cli

namespace triage::cli {

// The console's front-ends, driven from the control loop: poll() serves
// whatever is ready and never waits. Remote connections speak either the
// interactive protocol (raw terminal bytes; the server runs rdline with
// completion and history) or, when the first byte is kBatchMark, one
// command line whose answer ends with a NUL byte and a status digit.
class Console {
public:
    static constexpr char kBatchMark = '\x01';
    // Optional first byte of an interactive connection: opens the session
    // (and shows the prompt) before the user types anything.
    static constexpr char kTtyMark = '\x02';

    explicit Console(Engine& e);
    ~Console();
    Console(const Console&) = delete;
    Console& operator=(const Console&) = delete;

    // The local terminal (-i): prompt "triage> ", raw mode until closed.
    void open_terminal();
    // quit or end of input on the terminal.
    bool terminal_closed() const noexcept { return term_closed_; }
    // Listens on a unix socket (mode 0600, parent created 0750). Refuses a
    // path where another live process answers; replaces a stale one.
    void listen(const std::string& path);
    const std::string& socket_path() const noexcept { return path_; }
    void poll();
    void close_all();

private:
    struct Conn;
    void accept_new();
    bool serve(Conn& c);  // false when the connection is finished

    Engine& e_;
    int listen_fd_ = -1;
    std::string path_;
    ::cmdline* term_ = nullptr;
    std::unique_ptr<Session> term_session_;
    bool term_closed_ = false;
    std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace triage::cli
