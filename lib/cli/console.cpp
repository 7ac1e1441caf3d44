// Terminal and unix-socket front-ends of the console.
#include <cmdline.h>
#include <cmdline_socket.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli.h"

namespace triage::cli {

namespace {

constexpr size_t kMaxBatchLine = 4096;
constexpr int kMaxConns = 16;

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the peer went away or stalled past SO_SNDTIMEO
        s.remove_prefix(static_cast<size_t>(n));
    }
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

sockaddr_un unix_addr(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw CommandError("socket path '" + path + "' is too long");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

}  // namespace

struct Console::Conn {
    enum class Mode { unknown, batch, tty } mode = Mode::unknown;
    int fd = -1;
    std::string line;  // batch mode: the command so far
    ::cmdline* cl = nullptr;
    std::unique_ptr<Session> session;
};

Console::Console(Engine& e) : e_(e) {}

Console::~Console() { close_all(); }

void Console::open_terminal() {
    term_ = cmdline_stdin_new(e_.context(), "triage> ");
    if (!term_) throw CommandError("cannot open the console on the terminal");
    term_session_ = std::make_unique<Session>(e_, [](std::string_view s) { write_all(1, s); }, "console");
    e_.attach(term_, term_session_.get());
}

void Console::listen(const std::string& path) {
    const sockaddr_un a = unix_addr(path);
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        const bool made = std::filesystem::create_directories(parent, ec);
        if (ec) throw CommandError("--socket " + path + ": cannot create " + parent.string() + ": " + ec.message());
        // Only a directory we made: tightening an existing one (--socket
        // /tmp/x.sock) would take /tmp's sticky, world-writable mode away.
        if (made) ::chmod(parent.c_str(), 0750);
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw CommandError(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
        ::close(fd);
        throw CommandError("--socket " + path + ": another triage is answering there (give each instance its own --socket)");
    }
    ::unlink(path.c_str());  // stale, from a process that died
    // Created 0600 from the start: no window where others could connect.
    const mode_t old = ::umask(0177);
    const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    ::umask(old);
    if (rc != 0 || ::listen(fd, 8) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw CommandError("--socket " + path + ": cannot listen: " + why);
    }
    listen_fd_ = fd;
    path_ = path;
}

void Console::accept_new() {
    for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        if (conns_.size() >= kMaxConns) {
            write_all(fd, "error: too many console connections\n");
            ::close(fd);
            continue;
        }
        // A client that stops reading must not stall the control core.
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        conns_.push_back(std::move(c));
    }
}

bool Console::serve(Conn& c) {
    if (!readable(c.fd)) return true;
    char buf[512];
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
    size_t off = 0;
    if (c.mode == Conn::Mode::unknown) {
        if (buf[0] == kBatchMark) {
            c.mode = Conn::Mode::batch;
            const int fd = c.fd;
            c.session = std::make_unique<Session>(e_, [fd](std::string_view s) { write_all(fd, s); }, "socket");
            off = 1;
        } else {
            c.mode = Conn::Mode::tty;
            const int fd = c.fd;
            c.session = std::make_unique<Session>(e_, [fd](std::string_view s) { write_all(fd, s); }, "socket");
            c.cl = cmdline_new(e_.context(), "triage> ", c.fd, c.fd);
            if (!c.cl) return false;
            e_.attach(c.cl, c.session.get());
            if (buf[0] == kTtyMark) off = 1;
        }
    }
    if (c.mode == Conn::Mode::tty) return cmdline_in(c.cl, buf + off, static_cast<int>(n - off)) >= 0;
    for (ssize_t i = static_cast<ssize_t>(off); i < n; ++i) {
        if (buf[i] != '\n') {
            c.line.push_back(buf[i]);
            if (c.line.size() > kMaxBatchLine) {
                write_all(c.fd, std::string("error: command longer than ") + std::to_string(kMaxBatchLine) +
                                    " bytes\n" + std::string(1, '\0') + "1");
                return false;
            }
            continue;
        }
        const bool ok = c.session->execute(c.line);
        write_all(c.fd, std::string(1, '\0') + (ok ? "0" : "1"));
        return false;  // one command per batch connection
    }
    return true;
}

void Console::poll() {
    if (term_ && !term_closed_ && readable(0)) {
        char buf[256];
        const ssize_t n = ::read(0, buf, sizeof buf);
        if (n <= 0 || cmdline_in(term_, buf, static_cast<int>(n)) < 0) {
            term_closed_ = true;
            write_all(1, "\n");
        }
    }
    if (listen_fd_ >= 0) accept_new();
    for (size_t i = 0; i < conns_.size();) {
        Conn& c = *conns_[i];
        if (serve(c)) {
            ++i;
            continue;
        }
        if (c.cl) {
            e_.detach(c.cl);
            cmdline_free(c.cl);
        }
        ::close(c.fd);
        conns_.erase(conns_.begin() + static_cast<long>(i));
    }
}

void Console::close_all() {
    for (auto& c : conns_) {
        if (c->cl) {
            e_.detach(c->cl);
            cmdline_free(c->cl);
        }
        ::close(c->fd);
    }
    conns_.clear();
    if (term_) {
        e_.detach(term_);
        cmdline_stdin_exit(term_);  // restores the terminal
        term_ = nullptr;
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        ::unlink(path_.c_str());
        listen_fd_ = -1;
    }
}

}  // namespace triage::cli
