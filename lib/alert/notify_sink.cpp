// The notify command: PATH EVENT INCIDENT_ID TARGET VECTORS, the incident JSON
// on stdin, TRIAGE_* in the environment. Started with posix_spawn (no shell,
// and no copy of a process that maps DPDK's memory), in its own process group
// so a timeout kills whatever it started too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "sinks.h"

extern char** environ;

namespace triage::alert {

namespace {

std::string one_line(const std::string& s) {
    std::string o;
    for (char c : s) o += c == '\n' || c == '\r' ? ' ' : c;
    while (!o.empty() && o.back() == ' ') o.pop_back();
    return o;
}

class NotifySink final : public SinkImpl {
public:
    explicit NotifySink(const Config& c) : path_(c.notify_command), version_(c.version), timeout_(c.notify_timeout) {}

    std::string destination() const override { return path_; }

    bool deliver(const Alert& a, const Budget& b, std::string& err) override {
        // Everything the child needs is built before it exists.
        std::vector<std::string> args{path_};
        for (std::string& s : notify_args(a)) args.push_back(std::move(s));
        std::vector<std::string> env;
        for (char** e = environ; e && *e; ++e)
            if (std::strncmp(*e, "TRIAGE_", 7) != 0) env.emplace_back(*e);
        for (std::string& s : notify_env(a, version_)) env.push_back(std::move(s));
        std::vector<char*> argv, envp;
        for (std::string& s : args) argv.push_back(s.data());
        argv.push_back(nullptr);
        for (std::string& s : env) envp.push_back(s.data());
        envp.push_back(nullptr);

        // stdin is a socket so writing to a child that exits early is EPIPE
        // (MSG_NOSIGNAL), never a SIGPIPE; stdout and stderr share a pipe.
        int in[2], out[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
            err = std::string("socketpair: ") + std::strerror(errno);
            return false;
        }
        if (pipe2(out, O_CLOEXEC) != 0) {
            err = std::string("pipe: ") + std::strerror(errno);
            close(in[0]);
            close(in[1]);
            return false;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[1], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, out[1], 2);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setsigdefault(&at, &all);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid = -1;
        const int rc = posix_spawn(&pid, path_.c_str(), &fa, &at, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        close(in[1]);
        close(out[1]);
        if (rc != 0) {
            close(in[0]);
            close(out[0]);
            err = std::string("cannot run: ") + std::strerror(rc);
            return false;
        }
        fcntl(out[0], F_SETFL, O_NONBLOCK);

        const Clock::time_point until = Clock::now() + timeout_;
        const std::string& body = a.json;
        size_t off = 0;
        int to_child = in[0], from_child = out[0];
        std::string output;
        int status = 0;
        bool exited = false, killed = false;
        auto drain_output = [&] {
            char buf[1024];
            for (;;) {
                const ssize_t n = read(from_child, buf, sizeof buf);
                if (n > 0) {
                    if (output.size() < 2048) output.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 2048)));
                    continue;
                }
                if (n == 0) {
                    close(from_child);
                    from_child = -1;
                }
                return;
            }
        };
        while (!exited) {
            if (to_child >= 0 && off == body.size()) {
                close(to_child);  // EOF on the child's stdin
                to_child = -1;
            }
            pollfd p[2];
            nfds_t np = 0;
            if (to_child >= 0) p[np++] = {to_child, POLLOUT, 0};
            if (from_child >= 0) p[np++] = {from_child, POLLIN, 0};
            poll(p, np, 20);
            if (to_child >= 0) {
                const ssize_t n = send(to_child, body.data() + off, body.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) off += static_cast<size_t>(n);
                else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    close(to_child);  // it does not read stdin: fine
                    to_child = -1;
                }
            }
            if (from_child >= 0) drain_output();
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                break;
            }
            const bool shutdown = b.stopping() && Clock::now() >= b.deadline();
            if (Clock::now() >= until || shutdown) {
                kill(-pid, SIGKILL);
                waitpid(pid, &status, 0);
                killed = true;
                err = shutdown ? "killed: the flush time at shutdown ran out"
                               : "killed after " + std::to_string(timeout_.count()) + " ms (timeout)";
                break;
            }
        }
        if (from_child >= 0) drain_output();  // what is there now; a grandchild may hold it open
        if (to_child >= 0) close(to_child);
        if (from_child >= 0) close(from_child);
        const std::string said = one_line(output);
        if (killed) {
            if (!said.empty()) err += "; output: " + said;
            return false;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            if (!said.empty()) spdlog::debug("alert notify {}: output: {}", path_, said);
            return true;
        }
        err = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                : "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                      strsignal(WTERMSIG(status)) + ")";
        if (!said.empty()) err += "; output: " + said;
        return false;
    }

private:
    std::string path_, version_;
    milliseconds timeout_;
};

}  // namespace

std::unique_ptr<SinkImpl> make_notify_sink(const Config& c) { return std::make_unique<NotifySink>(c); }

}  // namespace triage::alert
