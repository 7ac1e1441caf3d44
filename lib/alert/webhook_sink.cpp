// Webhook: HTTP(S) POST of the incident JSON with cpp-httplib (Debian builds
// it with OpenSSL; https:// verifies the server against the system CA store
// and its name). Bounded tries with doubling backoff.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "sinks.h"

namespace triage::alert {

namespace {

// A short, single-line excerpt of a response body for the log.
std::string excerpt(const std::string& body) {
    std::string o;
    for (char c : body) {
        if (o.size() >= 120) {
            o += "...";
            break;
        }
        o += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    return o;
}

class WebhookSink final : public SinkImpl {
public:
    WebhookSink(WebhookUrl u, std::vector<std::pair<std::string, std::string>> headers, const Config& c)
        : u_(std::move(u)), timeout_(c.webhook_timeout), tries_(std::max(1u, c.webhook_tries)),
          backoff_(c.webhook_backoff) {
        if (u_.https) {
            auto ssl = std::make_unique<httplib::SSLClient>(u_.host, u_.port);
            ssl->enable_server_certificate_verification(true);
            ssl_ = ssl.get();
            cli_ = std::move(ssl);
        } else {
            cli_ = std::make_unique<httplib::ClientImpl>(u_.host, u_.port);
        }
        cli_->set_keep_alive(false);
        cli_->set_follow_location(false);
        hdr_.emplace("User-Agent", "triage/" + c.version);
        for (auto& [k, v] : headers) hdr_.emplace(std::move(k), std::move(v));
    }

    std::string destination() const override { return u_.str(); }

    bool deliver(const Alert& a, const Budget& b, std::string& err) override {
        milliseconds backoff = backoff_;
        for (unsigned t = 1;; ++t) {
            const milliseconds left = b.clamp(timeout_);
            if (left.count() <= 0) {
                err += std::string(err.empty() ? "" : "; then ") + "the flush time at shutdown ran out";
                return false;
            }
            const time_t sec = static_cast<time_t>(left.count() / 1000);
            const time_t usec = static_cast<time_t>(left.count() % 1000 * 1000);
            cli_->set_connection_timeout(sec, usec);
            cli_->set_read_timeout(sec, usec);
            cli_->set_write_timeout(sec, usec);
            const httplib::Result res = cli_->Post(u_.path, hdr_, a.json, "application/json");
            bool retry = true;
            std::string why;
            if (res) {
                const int st = res->status;
                if (st >= 200 && st < 300) return true;
                why = "HTTP " + std::to_string(st);
                if (!res->body.empty()) why += " (" + excerpt(res->body) + ")";
                // A 4xx other than timeout/too-many-requests will not change
                // on a second try: the URL, token or body is wrong.
                retry = st >= 500 || st == 408 || st == 429;
            } else {
                why = describe(res.error());
            }
            err = why + " (try " + std::to_string(t) + " of " + std::to_string(tries_) + ")";
            if (!retry || t >= tries_) return false;
            spdlog::debug("alert webhook {}: incident {} {}: {}; retrying in {} ms", u_.str(), a.incident,
                          event_name(a.kind), err, backoff.count());
            // In slices, so a stop during the pause is noticed.
            for (const Clock::time_point until = Clock::now() + backoff; Clock::now() < until;) {
                const milliseconds slice = std::min(b.clamp(milliseconds(50)),
                                                    std::chrono::duration_cast<milliseconds>(until - Clock::now()));
                if (slice.count() <= 0) break;
                std::this_thread::sleep_for(slice);
            }
            backoff *= 2;
        }
    }

private:
    std::string describe(httplib::Error e) const {
        switch (e) {
        case httplib::Error::Connection: return "cannot connect";
        case httplib::Error::ConnectionTimeout: return "connect timed out";
        case httplib::Error::Read: return "no complete response (read failed or timed out)";
        case httplib::Error::Write: return "sending the request failed";
        case httplib::Error::SSLConnection: return "TLS handshake failed";
        case httplib::Error::SSLLoadingCerts: return "cannot load the system CA certificates";
        case httplib::Error::SSLServerVerification:
            return std::string("server certificate not trusted: ") +
                   (ssl_ ? X509_verify_cert_error_string(ssl_->get_openssl_verify_result()) : "?");
        default: return "request failed: " + httplib::to_string(e);
        }
    }

    WebhookUrl u_;
    milliseconds timeout_;
    unsigned tries_;
    milliseconds backoff_;
    std::unique_ptr<httplib::ClientImpl> cli_;
    httplib::SSLClient* ssl_ = nullptr;
    httplib::Headers hdr_;
};

}  // namespace

std::unique_ptr<SinkImpl> make_webhook_sink(const WebhookUrl& u, std::vector<std::pair<std::string, std::string>> headers,
                                            const Config& c) {
    return std::make_unique<WebhookSink>(u, std::move(headers), c);
}

}  // namespace triage::alert
