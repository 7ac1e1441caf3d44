#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "alert.h"
#include "ratelimit.h"
#include "sinks.h"

namespace triage::alert {

namespace {

constexpr const char* kSinkNames[] = {
#define TRIAGE_X(e, n) n,
    TRIAGE_ALERT_SINKS(TRIAGE_X)
#undef TRIAGE_X
};

std::string local_hostname() {
    char b[256] = {};
    if (gethostname(b, sizeof b - 1) != 0) return "-";
    return b;
}

template <class T, class F>
T parse_for(const char* option, const std::string& text, F f) {
    try {
        return f(text);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(option) + " '" + text + "': " + e.what());
    }
}

}  // namespace

const char* sink_name(Sink s) noexcept {
    const auto i = static_cast<unsigned>(s);
    return i < kSinks ? kSinkNames[i] : "?";
}

struct Dispatcher::Impl {
    struct Slot {
        Sink kind;
        std::unique_ptr<SinkImpl> sink;
    };
    Config cfg;
    std::vector<Slot> slots;
    std::array<bool, kSinks> enabled{};
    std::array<std::atomic<uint64_t>, kSinks> sent{}, failed{}, dropped{};
    std::atomic<uint64_t> enqueued{0};

    mutable std::mutex mu;
    std::condition_variable wake, idle;
    std::deque<Alert> queue;
    bool stop = false, busy = false;
    telemetry::RateLimit drop_log{0.1, 1};  // one warning per 10 s at most
    Budget budget;
    std::thread thread;

    void drop_all_sinks(uint64_t n) {
        for (const Slot& s : slots) dropped[static_cast<unsigned>(s.kind)] += n;
    }

    void run() {
        std::unique_lock lk(mu);
        for (;;) {
            wake.wait(lk, [&] { return stop || !queue.empty(); });
            if (queue.empty()) break;  // stopping, nothing left
            if (stop && Clock::now() >= budget.deadline()) {
                spdlog::warn("alerts: stopping with {} alert{} unsent (flush time {} ms ran out)", queue.size(),
                             queue.size() == 1 ? "" : "s", cfg.flush_timeout.count());
                drop_all_sinks(queue.size());
                queue.clear();
                break;
            }
            Alert a = std::move(queue.front());
            queue.pop_front();
            busy = true;
            lk.unlock();
            for (Slot& s : slots) {
                std::string err;
                const auto k = static_cast<unsigned>(s.kind);
                if (s.sink->deliver(a, budget, err)) {
                    ++sent[k];
                    spdlog::debug("alert {} {}: incident {} {} delivered", kSinkNames[k], s.sink->destination(),
                                  a.incident, event_name(a.kind));
                } else {
                    ++failed[k];
                    spdlog::warn("alert {} {}: incident {} {} not delivered: {}", kSinkNames[k],
                                 s.sink->destination(), a.incident, event_name(a.kind), err);
                }
            }
            lk.lock();
            busy = false;
            idle.notify_all();
        }
        busy = false;
        idle.notify_all();
    }
};

Dispatcher::Dispatcher(Config c) : impl_(std::make_unique<Impl>()) {
    Impl& im = *impl_;
    im.cfg = std::move(c);
    const Config& cfg = im.cfg;
    const std::string host = cfg.hostname.empty() ? local_hostname() : cfg.hostname;
    auto add = [&](Sink k, std::unique_ptr<SinkImpl> s) {
        im.enabled[static_cast<unsigned>(k)] = true;
        im.slots.push_back({k, std::move(s)});
    };
    if (!cfg.syslog_cef.empty())
        add(Sink::syslog_cef,
            make_syslog_sink(parse_for<Destination>("--syslog-cef", cfg.syslog_cef, parse_destination), Format::cef,
                             host, cfg.version, cfg.tcp_timeout));
    if (!cfg.syslog_json.empty())
        add(Sink::syslog_json,
            make_syslog_sink(parse_for<Destination>("--syslog-json", cfg.syslog_json, parse_destination),
                             Format::json, host, cfg.version, cfg.tcp_timeout));
    if (!cfg.webhook.empty()) {
        std::vector<std::pair<std::string, std::string>> headers;
        for (const std::string& h : cfg.webhook_headers)
            headers.push_back(parse_for<std::pair<std::string, std::string>>("--webhook-header", h, parse_header));
        add(Sink::webhook,
            make_webhook_sink(parse_for<WebhookUrl>("--webhook", cfg.webhook, parse_webhook_url), std::move(headers), cfg));
    }
    if (!cfg.notify_command.empty()) add(Sink::notify, make_notify_sink(cfg));
    if (im.cfg.queue_capacity == 0) im.cfg.queue_capacity = 1;

    // The sender thread takes no signals: SIGINT/SIGTERM stay with the main
    // loop, and a write to a peer that went away (TLS included) is EPIPE
    // rather than a SIGPIPE that would end the process.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    im.thread = std::thread([&im] { im.run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_setname_np(im.thread.native_handle(), "triage-alert");
}

Dispatcher::~Dispatcher() {
    Impl& im = *impl_;
    {
        std::lock_guard lk(im.mu);
        im.budget.set_deadline(Clock::now() + im.cfg.flush_timeout);
        im.stop = true;
    }
    im.wake.notify_all();
    im.thread.join();
    std::string line;
    for (const Impl::Slot& s : im.slots) {
        const auto k = static_cast<unsigned>(s.kind);
        line += (line.empty() ? "" : "; ") + std::string(kSinkNames[k]) + " sent " + std::to_string(im.sent[k].load()) +
                ", failed " + std::to_string(im.failed[k].load()) + ", dropped " + std::to_string(im.dropped[k].load());
    }
    if (!line.empty()) spdlog::info("alerts: {}", line);
}

void Dispatcher::send(Alert a) {
    Impl& im = *impl_;
    uint64_t suppressed = 0;
    bool warn = false;
    std::string oldest;
    {
        std::lock_guard lk(im.mu);
        if (im.slots.empty()) return;
        ++im.enqueued;
        if (im.queue.size() >= im.cfg.queue_capacity) {
            const Alert& o = im.queue.front();
            oldest = "incident " + std::to_string(o.incident) + " " + event_name(o.kind);
            im.queue.pop_front();
            im.drop_all_sinks(1);
            const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch());
            warn = im.drop_log.allow(static_cast<uint64_t>(now.count()), 1000000000ull, suppressed);
        }
        im.queue.push_back(std::move(a));
    }
    im.wake.notify_one();
    if (warn)
        spdlog::warn("alerts: queue full ({} waiting): dropped the oldest alert ({}){}", im.cfg.queue_capacity, oldest,
                     suppressed ? " (" + std::to_string(suppressed) + " similar suppressed)" : std::string());
}

Stats Dispatcher::stats() const {
    const Impl& im = *impl_;
    Stats s;
    for (unsigned k = 0; k < kSinks; ++k) {
        s.sinks[k].enabled = im.enabled[k];
        s.sinks[k].sent = im.sent[k].load();
        s.sinks[k].failed = im.failed[k].load();
        s.sinks[k].dropped = im.dropped[k].load();
    }
    s.enqueued = im.enqueued.load();
    std::lock_guard lk(im.mu);
    s.queued = im.queue.size();
    return s;
}

bool Dispatcher::drain(std::chrono::milliseconds timeout) {
    Impl& im = *impl_;
    std::unique_lock lk(im.mu);
    return im.idle.wait_for(lk, timeout, [&] { return im.queue.empty() && !im.busy; });
}

std::string Dispatcher::describe() const {
    std::string o;
    for (const Impl::Slot& s : impl_->slots)
        o += (o.empty() ? "" : ", ") + std::string(sink_name(s.kind)) + " " + s.sink->destination();
    return o;
}

}  // namespace triage::alert
