// lib/alert: the formats and parsers as pure functions, then real delivery
// to listeners in this process (UDP and TCP sockets on 127.0.0.1, an
// httplib::Server, a notify script in a temporary directory).
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "alert.h"

using namespace triage::alert;
using namespace std::chrono_literals;

namespace {

Alert sample(Kind k = Kind::open) {
    Alert a;
    a.kind = k;
    a.time_ms = 1796459640123;  // 2026-12-05T08:34:00.123Z
    a.incident = 7;
    a.target = "ehr-portal";
    a.prefix = "198.51.100.10/32";
    a.host = "198.51.100.10";
    a.mode = "auto";
    a.vectors = {"syn-flood", "udp-flood"};
    a.confidence = 0.987;
    a.start_ms = 1796459640000;
    a.peak_pps = 20012.4;
    a.peak_bps = 10246348;
    a.packets = 60000;
    a.bytes = 3840000;
    a.dropped = 59000;
    a.json = "{\"event\": \"open\", \"id\": 7, \"target\": \"ehr-portal\"}";
    return a;
}

std::string what_of(auto f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

// ---- pure formatting ----

TEST(AlertFormat, CefHeaderEscaping) {
    EXPECT_EQ(cef_escape_header("a|b\\c"), "a\\|b\\\\c");
    EXPECT_EQ(cef_escape_header("two\nlines\r"), "two lines ");
    EXPECT_EQ(cef_escape_header("a=b"), "a=b");  // = is plain text in the header
}

TEST(AlertFormat, CefExtensionEscaping) {
    EXPECT_EQ(cef_escape_extension("a=b\\c"), "a\\=b\\\\c");
    EXPECT_EQ(cef_escape_extension("l1\nl2\rl3"), "l1\\nl2\\rl3");
    EXPECT_EQ(cef_escape_extension("a|b"), "a|b");  // | is plain text in the extension
}

TEST(AlertFormat, CefLine) {
    const Alert a = sample();
    EXPECT_EQ(cef_line(a, "0.1.0"),
              "CEF:0|Triage|Triage|0.1.0|incident-open|DDoS incident opened|8|rt=1796459640123 externalId=7 "
              "cat=DDoS act=detected dst=198.51.100.10 cs1Label=target cs1=ehr-portal cs2Label=vectors "
              "cs2=syn-flood,udp-flood cs3Label=prefix cs3=198.51.100.10/32 cs4Label=mode cs4=auto "
              "cfp1Label=confidence cfp1=0.99 cnt=60000 in=3840000 cn1Label=peakPps cn1=20012 cn2Label=peakBps "
              "cn2=10246348 cn3Label=droppedPackets cn3=59000 start=1796459640000");
    Alert c = sample(Kind::mitigation_off);
    c.target = "odd=name|x";
    c.reason = "mitigation off for odd=name (incident 7): quiet\nfor 2 s";
    c.end_ms = 1796459650000;
    c.host = "2001:db8::10";
    c.host_v6 = true;
    const std::string l = cef_line(c, "v|1");
    EXPECT_EQ(l.rfind("CEF:0|Triage|Triage|v\\|1|mitigation-off|DDoS mitigation switched off|4|", 0), 0u) << l;
    EXPECT_NE(l.find(" cs1=odd\\=name|x "), std::string::npos) << l;
    EXPECT_NE(l.find(" c6a3Label=Destination IPv6 Address c6a3=2001:db8::10 "), std::string::npos) << l;
    EXPECT_EQ(l.find(" dst="), std::string::npos) << l;
    EXPECT_NE(l.find(" end=1796459650000 "), std::string::npos) << l;
    EXPECT_NE(l.find(" msg=mitigation off for odd\\=name (incident 7): quiet\\nfor 2 s"), std::string::npos) << l;
    EXPECT_EQ(l.find('\n'), std::string::npos);
    Alert net = sample(Kind::close);
    net.host.clear();
    EXPECT_EQ(cef_line(net, "x").find("dst="), std::string::npos);
}

TEST(AlertFormat, EventTable) {
    EXPECT_EQ(cef_severity(Kind::open), 8);
    EXPECT_EQ(cef_severity(Kind::close), 3);
    EXPECT_STREQ(signature_id(Kind::mitigation_on), "mitigation-on");
    Kind k{};
    ASSERT_TRUE(kind_from_event("close", k));
    EXPECT_EQ(k, Kind::close);
    ASSERT_TRUE(kind_from_event("exit", k));
    EXPECT_EQ(k, Kind::exit);
    EXPECT_FALSE(kind_from_event("bogus", k));
}

TEST(AlertFormat, MakeAlertFromIncident) {
    triage::detect::Incident i;
    i.id = 3;
    i.target = "portal6";
    i.prefix = "2001:db8::10/128";
    i.mode = triage::detect::Mode::auto_;
    i.open = false;
    i.start_wall_ms = 1000;
    i.end_wall_ms = 5000;
    i.vectors.push_back({triage::detect::kSyn, 0.93, 20000, 100, 6000});
    i.vectors.push_back({5, 0.6, 3000, 10, 1000});
    i.packets = 110;
    std::vector<std::string> names(triage::detect::kClasses);
    names[0] = "syn", names[5] = "dns";
    const Alert a = make_alert(Kind::close, i, names, 6000, "closed");
    EXPECT_EQ(a.host, "2001:db8::10");
    EXPECT_TRUE(a.host_v6);
    EXPECT_EQ(a.vector_list(), "syn-flood,dns-reflection");
    EXPECT_DOUBLE_EQ(a.confidence, 0.93);
    EXPECT_EQ(a.end_ms, 5000);
    EXPECT_EQ(a.mode, "auto");
    EXPECT_EQ(a.json.rfind("{\"event\": \"close\", \"id\": 3, \"target\": \"portal6\"", 0), 0u) << a.json;
    i.prefix = "198.51.100.0/24";
    EXPECT_EQ(make_alert(Kind::open, i, names, 6000).host, "");
}

TEST(AlertFormat, SyslogHeader) {
    EXPECT_EQ(syslog_header(4, 1796459640123, "scrubber-1", "triage", 42, "incident-open"),
              "<132>1 2026-12-05T08:34:00.123Z scrubber-1 triage 42 incident-open - ");
    // Spaces and control characters are not allowed in header fields; empty is "-".
    EXPECT_EQ(syslog_header(6, 0, "my host\n", "", 1, std::string(40, 'm')),
              "<134>1 1970-01-01T00:00:00.000Z myhost - 1 " + std::string(32, 'm') + " - ");
    EXPECT_EQ(syslog_severity(8), 4);
    EXPECT_EQ(syslog_severity(5), 5);
    EXPECT_EQ(syslog_severity(3), 6);
    const Alert a = sample();
    EXPECT_EQ(syslog_message(a, Format::json, "h", 9, "1"),
              "<132>1 2026-12-05T08:34:00.123Z h triage 9 incident-open - " + a.json);
    EXPECT_EQ(frame_tcp("a\nb"), "a b\n");
}

TEST(AlertFormat, Destinations) {
    Destination d = parse_destination("udp://192.0.2.1:514");
    EXPECT_EQ(d.transport, Transport::udp);
    EXPECT_EQ(d.host, "192.0.2.1");
    EXPECT_EQ(d.port, 514);
    d = parse_destination("tcp://[2001:db8::1]:6514");
    EXPECT_EQ(d.transport, Transport::tcp);
    EXPECT_EQ(d.host, "2001:db8::1");
    EXPECT_EQ(d.str(), "tcp://[2001:db8::1]:6514");
    d = parse_destination("udp://siem.example.net");
    EXPECT_EQ(d.port, 514);
    EXPECT_EQ(d.str(), "udp://siem.example.net:514");

    EXPECT_EQ(what_of([] { parse_destination("192.0.2.1:514"); }), "not udp://HOST:PORT or tcp://HOST:PORT");
    EXPECT_EQ(what_of([] { parse_destination("http://192.0.2.1:514"); }), "not udp://HOST:PORT or tcp://HOST:PORT");
    EXPECT_EQ(what_of([] { parse_destination("udp://"); }), "no host");
    EXPECT_EQ(what_of([] { parse_destination("udp://192.0.2:514"); }), "'192.0.2' is not an IPv4 address");
    EXPECT_EQ(what_of([] { parse_destination("udp://2001:db8::1:514"); }),
              "an IPv6 address goes in brackets, e.g. [2001:db8::1]:514");
    EXPECT_EQ(what_of([] { parse_destination("udp://[2001:db8::1:514"); }), "'[' without a closing ']'");
    EXPECT_EQ(what_of([] { parse_destination("udp://[192.0.2.1]:514"); }), "'192.0.2.1' is not an IPv6 address");
    EXPECT_EQ(what_of([] { parse_destination("udp://192.0.2.1:0"); }), "port '0' is not a number in 1..65535");
    EXPECT_EQ(what_of([] { parse_destination("udp://192.0.2.1:65536"); }), "port '65536' is not a number in 1..65535");
    EXPECT_EQ(what_of([] { parse_destination("udp://192.0.2.1:"); }), "empty port after ':'");
    EXPECT_EQ(what_of([] { parse_destination("udp://192.0.2.1:514/x"); }),
              "unexpected '/': give only HOST:PORT after udp://");
    EXPECT_EQ(what_of([] { parse_destination("tcp://bad_host:514"); }),
              "'bad_host' is not a host name, IPv4 address or [IPv6] address");
    EXPECT_EQ(what_of([] { parse_destination("tcp://-bad.example:514"); }),
              "'-bad.example' is not a host name, IPv4 address or [IPv6] address");
}

TEST(AlertFormat, WebhookUrls) {
    WebhookUrl u = parse_webhook_url("http://192.0.2.5:8080/hooks/triage?x=1");
    EXPECT_FALSE(u.https);
    EXPECT_EQ(u.host, "192.0.2.5");
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.path, "/hooks/triage?x=1");
    u = parse_webhook_url("HTTPS://alerts.example.net");
    EXPECT_TRUE(u.https);
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.path, "/");
    EXPECT_EQ(u.str(), "https://alerts.example.net/");
    u = parse_webhook_url("http://[2001:db8::5]?a=b");
    EXPECT_EQ(u.host, "2001:db8::5");
    EXPECT_EQ(u.path, "/?a=b");
    EXPECT_EQ(u.str(), "http://[2001:db8::5]/?a=b");

    EXPECT_EQ(what_of([] { parse_webhook_url("ftp://192.0.2.5/"); }), "not an http:// or https:// URL");
    EXPECT_EQ(what_of([] { parse_webhook_url("192.0.2.5/hook"); }), "not an http:// or https:// URL");
    EXPECT_EQ(what_of([] { parse_webhook_url("http://user:pw@192.0.2.5/"); }),
              "no user:password@ in the URL; use --webhook-header 'Authorization: ...'");
    EXPECT_EQ(what_of([] { parse_webhook_url("http://192.0.2.5/a#b"); }), "a #fragment has no place in a webhook URL");
    EXPECT_EQ(what_of([] { parse_webhook_url("http://192.0.2.5/a b"); }),
              "a space or control character in the URL (percent-encode it)");
    EXPECT_EQ(what_of([] { parse_webhook_url("http://:80/"); }), "no host");
    EXPECT_EQ(what_of([] { parse_webhook_url("http://192.0.2.5:http/"); }), "port 'http' is not a number in 1..65535");
}

TEST(AlertFormat, Headers) {
    auto h = parse_header("Authorization:   Bearer abc=  ");
    EXPECT_EQ(h.first, "Authorization");
    EXPECT_EQ(h.second, "Bearer abc=");
    EXPECT_EQ(parse_header("X-Empty:").second, "");
    EXPECT_EQ(what_of([] { parse_header("no colon"); }), "not 'Name: value'");
    EXPECT_EQ(what_of([] { parse_header(": v"); }), "not 'Name: value'");
    EXPECT_EQ(what_of([] { parse_header("Bad Name: v"); }), "header name 'Bad Name' has a character not allowed in a name");
    EXPECT_EQ(what_of([] { parse_header(std::string("X: a\r\nInjected: b")); }), "header value has a CR, LF or NUL");
    EXPECT_EQ(what_of([] { parse_header("content-type: text/plain"); }), "header content-type is set by triage itself");
}

TEST(AlertFormat, NotifyArgsAndEnv) {
    Alert a = sample();
    EXPECT_EQ(notify_args(a), (std::vector<std::string>{"open", "7", "ehr-portal", "syn-flood,udp-flood"}));
    a.vectors.clear();
    EXPECT_EQ(notify_args(a)[3], "-");
    const auto env = notify_env(sample(Kind::close), "0.1.0");
    auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
    EXPECT_TRUE(has("TRIAGE_EVENT=close"));
    EXPECT_TRUE(has("TRIAGE_INCIDENT_ID=7"));
    EXPECT_TRUE(has("TRIAGE_TARGET=ehr-portal"));
    EXPECT_TRUE(has("TRIAGE_HOST=198.51.100.10"));
    EXPECT_TRUE(has("TRIAGE_VECTORS=syn-flood,udp-flood"));
    EXPECT_TRUE(has("TRIAGE_SEVERITY=3"));
    EXPECT_TRUE(has("TRIAGE_VERSION=0.1.0"));
    EXPECT_TRUE(has("TRIAGE_TIME=2026-12-05T08:34:00.123Z"));
}

TEST(AlertFormat, DispatcherRefusesBadConfig) {
    Config c;
    c.syslog_cef = "udp://192.0.2.1";
    c.webhook = "ftp://x";
    EXPECT_EQ(what_of([&] { Dispatcher d(c); }), "--webhook 'ftp://x': not an http:// or https:// URL");
}

// ---- delivery to real listeners ----

struct UdpListener {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint16_t port = 0;
    UdpListener() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t l = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
        port = ntohs(a.sin_port);
    }
    ~UdpListener() { close(fd); }
    std::string recv_one(int ms = 2000) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, ms) != 1) return {};
        char b[65536];
        const ssize_t n = recv(fd, b, sizeof b, 0);
        return n > 0 ? std::string(b, static_cast<size_t>(n)) : std::string();
    }
};

struct TcpListener {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    TcpListener() {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(listen(fd, 4), 0);
        socklen_t l = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
        port = ntohs(a.sin_port);
    }
    ~TcpListener() { close(fd); }
    int accept_one(int ms = 2000) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, ms) != 1) return -1;
        return accept(fd, nullptr, nullptr);
    }
    // Reads from c until n lines arrived (or the time is up).
    static std::vector<std::string> lines(int c, size_t n, int ms = 2000) {
        std::string buf;
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (static_cast<size_t>(std::count(buf.begin(), buf.end(), '\n')) < n &&
               std::chrono::steady_clock::now() < until) {
            pollfd p{c, POLLIN, 0};
            if (poll(&p, 1, 50) != 1) continue;
            char b[4096];
            const ssize_t r = recv(c, b, sizeof b, 0);
            if (r <= 0) break;
            buf.append(b, static_cast<size_t>(r));
        }
        std::vector<std::string> out;
        std::istringstream is(buf);
        for (std::string l; std::getline(is, l);) out.push_back(l);
        return out;
    }
};

TEST(AlertDelivery, SyslogCefOverUdp) {
    UdpListener u;
    Config c;
    c.version = "9.9";
    c.hostname = "scrubber-1";
    c.syslog_cef = "udp://127.0.0.1:" + std::to_string(u.port);
    Dispatcher d(c);
    d.send(sample());
    const std::string got = u.recv_one();
    const std::string head = "<132>1 2026-12-05T08:34:00.123Z scrubber-1 triage " + std::to_string(getpid()) +
                             " incident-open - CEF:0|Triage|Triage|9.9|incident-open|DDoS incident opened|8|rt=";
    EXPECT_EQ(got.rfind(head, 0), 0u) << got;
    EXPECT_EQ(got, syslog_message(sample(), Format::cef, "scrubber-1", getpid(), "9.9"));
    ASSERT_TRUE(d.drain(2s));
    const Stats s = d.stats();
    EXPECT_TRUE(s[Sink::syslog_cef].enabled);
    EXPECT_FALSE(s[Sink::webhook].enabled);
    EXPECT_EQ(s[Sink::syslog_cef].sent, 1u);
    EXPECT_EQ(s[Sink::syslog_cef].failed, 0u);
    EXPECT_EQ(s.enqueued, 1u);
}

TEST(AlertDelivery, SyslogJsonOverTcpReconnects) {
    TcpListener t;
    Config c;
    c.hostname = "h";
    c.syslog_json = "tcp://127.0.0.1:" + std::to_string(t.port);
    Dispatcher d(c);
    d.send(sample(Kind::open));
    d.send(sample(Kind::close));
    int conn = t.accept_one();
    ASSERT_GE(conn, 0);
    auto l = TcpListener::lines(conn, 2);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0], syslog_message(sample(Kind::open), Format::json, "h", getpid(), "dev"));
    EXPECT_NE(l[1].find(" incident-close - {\"event\": \"open\""), std::string::npos) << l[1];  // sample()'s JSON
    ASSERT_TRUE(d.drain(2s));
    // The collector restarts: the next alert goes over a new connection.
    close(conn);
    std::this_thread::sleep_for(50ms);
    d.send(sample(Kind::exit));
    conn = t.accept_one();
    ASSERT_GE(conn, 0);
    l = TcpListener::lines(conn, 1);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_NE(l[0].find(" incident-exit - "), std::string::npos) << l[0];
    close(conn);
    ASSERT_TRUE(d.drain(2s));
    EXPECT_EQ(d.stats()[Sink::syslog_json].sent, 3u);
    EXPECT_EQ(d.stats()[Sink::syslog_json].failed, 0u);
}

TEST(AlertDelivery, TcpRefusedIsAFailureNotACrash) {
    uint16_t port;
    {
        TcpListener t;  // a port that was free a moment ago and now refuses
        port = t.port;
    }
    Config c;
    c.syslog_cef = "tcp://127.0.0.1:" + std::to_string(port);
    c.tcp_timeout = 500ms;
    Dispatcher d(c);
    d.send(sample());
    ASSERT_TRUE(d.drain(3s));
    EXPECT_EQ(d.stats()[Sink::syslog_cef].sent, 0u);
    EXPECT_EQ(d.stats()[Sink::syslog_cef].failed, 1u);
}

struct Hook {
    httplib::Server srv;
    int port = 0;
    std::thread th;
    std::mutex mu;
    std::vector<httplib::Request> got;
    std::atomic<int> fail_first{0};  // answer 500 to this many requests first
    std::atomic<int> status{200};
    Hook() {
        srv.Post("/hook", [this](const httplib::Request& rq, httplib::Response& rs) {
            std::lock_guard lk(mu);
            got.push_back(rq);
            if (fail_first > 0) {
                --fail_first;
                rs.status = 500;
                rs.set_content("busy", "text/plain");
                return;
            }
            rs.status = status;
        });
        port = srv.bind_to_any_port("127.0.0.1");
        th = std::thread([this] { srv.listen_after_bind(); });
        while (!srv.is_running()) std::this_thread::sleep_for(1ms);
    }
    ~Hook() {
        srv.stop();
        th.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/hook"; }
    size_t count() {
        std::lock_guard lk(mu);
        return got.size();
    }
};

TEST(AlertDelivery, WebhookRetriesAfter500) {
    Hook h;
    h.fail_first = 1;
    Config c;
    c.version = "0.1.0";
    c.webhook = h.url();
    c.webhook_headers = {"Authorization: Bearer s3cret", "X-Source: lab"};
    c.webhook_backoff = 20ms;
    Dispatcher d(c);
    Alert a = sample();
    a.json = R"({"event": "open", "id": 7, "target": "ehr-portal"})";
    d.send(a);
    ASSERT_TRUE(d.drain(5s));
    ASSERT_EQ(h.count(), 2u);
    const httplib::Request& r = h.got[1];
    EXPECT_EQ(r.body, a.json);
    EXPECT_EQ(r.get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(r.get_header_value("User-Agent"), "triage/0.1.0");
    EXPECT_EQ(r.get_header_value("Authorization"), "Bearer s3cret");
    EXPECT_EQ(r.get_header_value("X-Source"), "lab");
    EXPECT_EQ(d.stats()[Sink::webhook].sent, 1u);
    EXPECT_EQ(d.stats()[Sink::webhook].failed, 0u);
}

TEST(AlertDelivery, WebhookGivesUpAfterBoundedTries) {
    Hook h;
    h.fail_first = 100;
    Config c;
    c.webhook = h.url();
    c.webhook_tries = 3;
    c.webhook_backoff = 10ms;
    Dispatcher d(c);
    d.send(sample());
    ASSERT_TRUE(d.drain(5s));
    EXPECT_EQ(h.count(), 3u);
    EXPECT_EQ(d.stats()[Sink::webhook].failed, 1u);
    // A 4xx is not retried: the URL or the token is wrong.
    h.fail_first = 0;
    h.status = 401;
    d.send(sample());
    ASSERT_TRUE(d.drain(5s));
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(d.stats()[Sink::webhook].failed, 2u);
    EXPECT_EQ(d.stats()[Sink::webhook].sent, 0u);
}

TEST(AlertDelivery, HttpsAgainstAPlainServerFailsCleanly) {
    Hook h;
    Config c;
    c.webhook = "https://127.0.0.1:" + std::to_string(h.port) + "/hook";
    c.webhook_tries = 1;
    c.webhook_timeout = 1000ms;
    Dispatcher d(c);
    d.send(sample());
    ASSERT_TRUE(d.drain(5s));
    EXPECT_EQ(d.stats()[Sink::webhook].failed, 1u);
    EXPECT_EQ(d.stats()[Sink::webhook].sent, 0u);
}

struct TempDir {
    std::filesystem::path p;
    TempDir() {
        char t[] = "/tmp/triage-alert-test.XXXXXX";
        p = mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(p); }
    std::string script(const std::string& name, const std::string& body) const {
        const auto f = p / name;
        std::ofstream(f) << "#!/bin/sh\n" << body;
        chmod(f.c_str(), 0755);
        return f.string();
    }
    std::string read(const std::string& name) const {
        std::ifstream in(p / name);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
};

TEST(AlertDelivery, NotifyCommandGetsArgvStdinAndEnvironment) {
    TempDir t;
    const std::string dir = t.p.string();
    Config c;
    c.version = "0.1.0";
    c.notify_command = t.script("notify.sh", "printf '%s\\n' \"$@\" > " + dir + "/argv\ncat > " + dir +
                                                 "/stdin\nenv | grep '^TRIAGE_' | sort > " + dir + "/env\necho done\n");
    Dispatcher d(c);
    Alert a = sample(Kind::mitigation_on);
    a.reason = "mitigation on for ehr-portal (incident 7)";
    d.send(a);
    ASSERT_TRUE(d.drain(5s));
    EXPECT_EQ(t.read("argv"), "mitigation-on\n7\nehr-portal\nsyn-flood,udp-flood\n");
    EXPECT_EQ(t.read("stdin"), a.json);
    const std::string env = t.read("env");
    EXPECT_NE(env.find("TRIAGE_EVENT=mitigation-on\n"), std::string::npos) << env;
    EXPECT_NE(env.find("TRIAGE_REASON=mitigation on for ehr-portal (incident 7)\n"), std::string::npos) << env;
    EXPECT_NE(env.find("TRIAGE_PREFIX=198.51.100.10/32\n"), std::string::npos) << env;
    EXPECT_EQ(d.stats()[Sink::notify].sent, 1u);
}

TEST(AlertDelivery, NotifyFailuresAndTimeout) {
    TempDir t;
    Config c;
    c.notify_command = t.script("fail.sh", "echo 'no route to ticket system' >&2\nexit 3\n");
    {
        Dispatcher d(c);
        d.send(sample());
        ASSERT_TRUE(d.drain(5s));
        EXPECT_EQ(d.stats()[Sink::notify].failed, 1u);
    }
    c.notify_command = t.script("slow.sh", "sleep 30\n");
    c.notify_timeout = 300ms;
    {
        Dispatcher d(c);
        const auto t0 = std::chrono::steady_clock::now();
        d.send(sample());
        ASSERT_TRUE(d.drain(5s));
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
        EXPECT_EQ(d.stats()[Sink::notify].failed, 1u);
    }
    c.notify_command = (t.p / "missing.sh").string();
    {
        Dispatcher d(c);
        d.send(sample());
        ASSERT_TRUE(d.drain(5s));
        EXPECT_EQ(d.stats()[Sink::notify].failed, 1u);
    }
}

TEST(AlertDelivery, FullQueueDropsTheOldest) {
    TempDir t;
    Config c;
    c.notify_command = t.script("slow.sh", "cat >> " + t.p.string() + "/seen; echo >> " + t.p.string() + "/seen; sleep 0.2\n");
    c.queue_capacity = 2;
    Dispatcher d(c);
    for (uint32_t k = 1; k <= 6; ++k) {
        Alert a = sample();
        a.incident = k;
        a.json = "incident " + std::to_string(k);
        d.send(a);  // never waits for the slow sink
    }
    ASSERT_TRUE(d.drain(5s));
    const Stats s = d.stats();
    EXPECT_EQ(s.enqueued, 6u);
    EXPECT_GE(s[Sink::notify].dropped, 3u);
    EXPECT_EQ(s[Sink::notify].sent + s[Sink::notify].dropped, 6u);
    // The newest two always survive.
    const std::string seen = t.read("seen");
    EXPECT_NE(seen.find("incident 5\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("incident 6\n"), std::string::npos) << seen;
}

TEST(AlertDelivery, ShutdownFlushIsBounded) {
    TempDir t;
    Config c;
    c.notify_command = t.script("slow.sh", "sleep 5\n");
    c.flush_timeout = 300ms;
    const auto t0 = std::chrono::steady_clock::now();
    {
        Dispatcher d(c);
        for (int k = 0; k < 3; ++k) d.send(sample());
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

}  // namespace
