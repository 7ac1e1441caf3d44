// Syslog over UDP (one datagram per message) or TCP (one persistent
// connection, newline framing, reopened when the collector closed it).
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sinks.h"

namespace triage::alert {

namespace {

std::string errno_text(const char* what, int e) { return std::string(what) + ": " + std::strerror(e); }

struct AddrInfo {
    addrinfo* list = nullptr;
    ~AddrInfo() {
        if (list) freeaddrinfo(list);
    }
};

class SyslogSink final : public SinkImpl {
public:
    SyslogSink(Destination d, Format f, std::string hostname, std::string version, milliseconds timeout)
        : d_(std::move(d)), f_(f), hostname_(std::move(hostname)), version_(std::move(version)), timeout_(timeout) {}
    ~SyslogSink() override { disconnect(); }

    std::string destination() const override { return d_.str(); }

    bool deliver(const Alert& a, const Budget& b, std::string& err) override {
        const std::string msg = syslog_message(a, f_, hostname_, static_cast<long>(getpid()), version_);
        if (d_.transport == Transport::udp) return send_udp(msg, err);
        const std::string framed = frame_tcp(msg);
        const bool had = fd_ >= 0 && !peer_closed();
        if (send_tcp(framed, b, err)) return true;
        // A connection that went stale since the last alert gets one fresh try.
        if (!had) return false;
        return send_tcp(framed, b, err);
    }

private:
    bool resolve(AddrInfo& ai, int socktype, std::string& err) const {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = socktype;
        hints.ai_flags = AI_NUMERICSERV;
        const int rc = getaddrinfo(d_.host.c_str(), std::to_string(d_.port).c_str(), &hints, &ai.list);
        if (rc != 0) {
            err = "cannot resolve " + d_.host + ": " + (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
            return false;
        }
        return true;
    }

    bool send_udp(const std::string& msg, std::string& err) {
        AddrInfo ai;
        if (!resolve(ai, SOCK_DGRAM, err)) return false;
        int last = 0;
        for (addrinfo* p = ai.list; p; p = p->ai_next) {
            const int fd = socket(p->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                last = errno;
                continue;
            }
            const ssize_t n = sendto(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL, p->ai_addr, p->ai_addrlen);
            last = errno;
            close(fd);
            if (n == static_cast<ssize_t>(msg.size())) return true;
        }
        err = errno_text("sendto", last) + " (" + std::to_string(msg.size()) + " bytes)";
        return false;
    }

    void disconnect() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
    }

    // The collector never talks back: anything readable on the socket is an
    // EOF or an error, i.e. it closed the connection.
    bool peer_closed() {
        pollfd p{fd_, POLLIN | POLLRDHUP, 0};
        if (poll(&p, 1, 0) <= 0) return false;
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
        char buf[512];
        const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }

    bool wait(short events, const Budget& b, std::string& err, const char* what) {
        const milliseconds left = b.clamp(timeout_);
        if (left.count() <= 0) {
            err = std::string(what) + ": the flush time at shutdown ran out";
            return false;
        }
        pollfd p{fd_, events, 0};
        const int rc = poll(&p, 1, static_cast<int>(left.count()));
        if (rc == 0) {
            err = std::string(what) + ": timed out after " + std::to_string(left.count()) + " ms";
            return false;
        }
        if (rc < 0) {
            err = errno_text(what, errno);
            return false;
        }
        return true;
    }

    bool connect_tcp(const Budget& b, std::string& err) {
        AddrInfo ai;
        if (!resolve(ai, SOCK_STREAM, err)) return false;
        for (addrinfo* p = ai.list; p; p = p->ai_next) {
            fd_ = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd_ < 0) {
                err = errno_text("socket", errno);
                continue;
            }
            if (connect(fd_, p->ai_addr, p->ai_addrlen) == 0) return true;
            if (errno != EINPROGRESS) {
                err = errno_text("connect", errno);
                disconnect();
                continue;
            }
            if (!wait(POLLOUT, b, err, "connect")) {
                disconnect();
                continue;
            }
            int so = 0;
            socklen_t len = sizeof so;
            getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so, &len);
            if (so == 0) return true;
            err = errno_text("connect", so);
            disconnect();
        }
        return false;
    }

    bool send_tcp(const std::string& framed, const Budget& b, std::string& err) {
        if (fd_ >= 0 && peer_closed()) disconnect();
        if (fd_ < 0 && !connect_tcp(b, err)) return false;
        size_t off = 0;
        while (off < framed.size()) {
            const ssize_t n = send(fd_, framed.data() + off, framed.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT, b, err, "send")) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) err = errno_text("send", errno);
            // Half a line on the wire would glue onto the next message:
            // start over on a fresh connection.
            disconnect();
            return false;
        }
        return true;
    }

    Destination d_;
    Format f_;
    std::string hostname_, version_;
    milliseconds timeout_;
    int fd_ = -1;
};

}  // namespace

std::unique_ptr<SinkImpl> make_syslog_sink(const Destination& d, Format f, std::string hostname, std::string version,
                                           milliseconds tcp_timeout) {
    return std::make_unique<SyslogSink>(d, f, std::move(hostname), std::move(version), tcp_timeout);
}

}  // namespace triage::alert
