#include "metrics_server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "prometheus.h"

namespace triage::telemetry {

namespace {

const char* const kIndex =
    "<html><head><title>Triage</title></head><body><h1>Triage</h1>"
    "<p><a href=\"/metrics\">Metrics</a> (Prometheus text format)</p></body></html>\n";

}  // namespace

struct MetricsServer::Impl {
    ListenAddress addr;
    httplib::Server http;
    std::thread thread;
    std::atomic<bool> done{false};  // listen_after_bind returned

    explicit Impl(ListenAddress a) : addr(std::move(a)) {}
};

MetricsServer::MetricsServer(const std::string& address, const Latest& latest) {
    ListenAddress addr;
    try {
        addr = parse_listen_address(address);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error("--metrics '" + address + "': " + e.what());
    }
    impl_ = std::make_unique<Impl>(std::move(addr));
    Impl& im = *impl_;
    httplib::Server& http = im.http;

    // A scrape is one small response; a handful of threads is plenty and
    // bounds what a misbehaving client can tie up.
    http.new_task_queue = [] { return new httplib::ThreadPool(2); };
    // httplib's default sets SO_REUSEPORT, which would let a second triage
    // share the port silently; SO_REUSEADDR only survives TIME_WAIT.
    http.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // Bounds how long stop() waits for an idle keep-alive connection.
    http.set_keep_alive_timeout(1);
    http.set_read_timeout(5, 0);
    http.set_write_timeout(5, 0);

    const Latest* l = &latest;
    http.Get("/metrics", [l](const httplib::Request&, httplib::Response& res) {
        const auto r = l->load();
        if (!r) {
            res.status = 503;
            res.set_content("triage is starting; no report yet\n", "text/plain; charset=utf-8");
            return;
        }
        res.set_content(render_prometheus(*r, l->uptime_seconds()), kPrometheusContentType);
    });
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(kIndex, "text/html; charset=utf-8");
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 404)
            res.set_content("not found; metrics are at /metrics\n", "text/plain; charset=utf-8");
    });

    errno = 0;
    if (!http.bind_to_port(im.addr.host, im.addr.port)) {
        const int err = errno;
        throw std::runtime_error("--metrics " + im.addr.str() + ": cannot listen: " +
                                 (err ? std::strerror(err) : "address not available"));
    }
    im.thread = std::thread([&im] {
        // Signals are for the control core's loop, not for this thread (nor
        // the request threads, which inherit the mask).
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        im.http.listen_after_bind();
        im.done = true;
    });
    pthread_setname_np(im.thread.native_handle(), "triage-metrics");
}

MetricsServer::~MetricsServer() {
    stop();
}

const ListenAddress& MetricsServer::address() const noexcept {
    return impl_->addr;
}

void MetricsServer::stop() noexcept {
    if (!impl_ || !impl_->thread.joinable()) return;
    Impl& im = *impl_;
    // httplib's stop() only acts once the accept loop runs; a stop right
    // after start must wait for it rather than join a thread that never ends.
    while (!im.http.is_running() && !im.done)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    im.http.stop();
    im.thread.join();
}

}  // namespace triage::telemetry
