// What the exporters build on without the EAL: the Prometheus text format,
// the --metrics address rules and the log rate limit.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "latest.h"
#include "listen_address.h"
#include "prometheus.h"
#include "ratelimit.h"
#include "telemetry.h"

namespace {

using namespace triage::telemetry;

struct Family {
    std::string type;
    std::vector<std::string> samples;  // whole lines
};

// Families in order of appearance; fails the test on any structural problem
// a scraper would trip over.
std::map<std::string, Family> parse_exposition(const std::string& text) {
    std::map<std::string, Family> fams;
    std::string current;
    bool typed = false;
    std::istringstream in(text);
    std::string line;
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    while (std::getline(in, line)) {
        EXPECT_FALSE(line.empty()) << "blank line";
        if (line.rfind("# HELP ", 0) == 0) {
            const std::string rest = line.substr(7);
            current = rest.substr(0, rest.find(' '));
            EXPECT_FALSE(fams.count(current)) << current << " declared twice";
            fams[current];
            typed = false;
        } else if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream ls(line.substr(7));
            std::string name, type;
            ls >> name >> type;
            EXPECT_EQ(name, current) << "TYPE without its HELP first: " << line;
            EXPECT_TRUE(type == "counter" || type == "gauge") << line;
            fams[current].type = type;
            typed = true;
        } else {
            const std::string name = line.substr(0, line.find_first_of("{ "));
            EXPECT_EQ(name, current) << "sample outside its family: " << line;
            EXPECT_TRUE(typed) << "sample before # TYPE: " << line;
            fams[current].samples.push_back(line);
        }
    }
    return fams;
}

Report sample_report(WorkerCounters (&w)[2]) {
    w[0].rx_packets[0].add(100);
    w[1].rx_packets[0].add(50);
    w[1].rx_packets[1].add(7);
    w[0].fwd_packets[0].add(140);
    w[0].drops[static_cast<unsigned>(Drop::land)].add(4);
    w[1].drops[static_cast<unsigned>(Drop::land)].add(1);
    w[0].drops[static_cast<unsigned>(Drop::tcp_xmas)].add(5);
    w[0].drops_by_dir[0].add(10);
    w[0].inbound_class[static_cast<unsigned>(Class::transit)].add(3);
    w[1].outbound_malformed.add(2);
    Report r;
    r.version = "1.0 \"q\" \\ \nx";
    r.ports.push_back({"outside", 0, 150, 7, 15000, 700, 1, 2, 3, 4});
    r.ports.push_back({"inside", 1, 7, 140, 700, 14000, 0, 0, 0, 0});
    r.workers.push_back({1, 0, &w[0]});
    r.workers.push_back({2, 1, &w[1]});
    r.policy = {.version = 9,
                .publications = 3,
                .protected_prefixes = 4,
                .allow_entries = 5,
                .deny_entries = 6,
                .reclaim_pending = 1};
    r.sum();
    return r;
}

TEST(Prometheus, StructureNamingAndStableLabelSets) {
    WorkerCounters w[2];
    const auto fams = parse_exposition(render_prometheus(sample_report(w), 12.5));
    for (const auto& [name, f] : fams) {
        EXPECT_EQ(name.rfind("triage_", 0), 0u) << name;
        const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
        EXPECT_EQ(f.type == "counter", total) << name << " is a " << f.type;
        EXPECT_FALSE(f.samples.empty()) << name << " has no samples";
    }
    for (const char* n : {"triage_build_info",
                          "triage_uptime_seconds",
                          "triage_port_packets_total",
                          "triage_port_bytes_total",
                          "triage_port_errors_total",
                          "triage_port_missed_packets_total",
                          "triage_port_rx_nombuf_total",
                          "triage_received_packets_total",
                          "triage_received_bytes_total",
                          "triage_forwarded_packets_total",
                          "triage_forwarded_bytes_total",
                          "triage_dropped_packets_total",
                          "triage_inbound_packets_total",
                          "triage_outbound_malformed_packets_total",
                          "triage_workers",
                          "triage_worker_received_packets_total",
                          "triage_policy_version",
                          "triage_policy_publications_total",
                          "triage_protected_prefixes",
                          "triage_list_entries",
                          "triage_policy_reclaim_pending"})
        EXPECT_TRUE(fams.count(n)) << n << " missing";

    // Every drop reason exactly once, zeros included.
    const auto& drops = fams.at("triage_dropped_packets_total").samples;
    EXPECT_EQ(drops.size(), kDropCount - 1);
    for (unsigned i = 1; i < kDropCount; ++i) {
        const std::string label =
            std::string("{reason=\"") + drop_name(static_cast<Drop>(i)) + "\"} ";
        int seen = 0;
        for (const auto& s : drops) seen += s.find(label) != std::string::npos;
        EXPECT_EQ(seen, 1) << label;
    }
    const auto has = [&](const char* fam, const std::string& line) {
        const auto& v = fams.at(fam).samples;
        return std::find(v.begin(), v.end(), line) != v.end();
    };
    EXPECT_TRUE(
        has("triage_dropped_packets_total", "triage_dropped_packets_total{reason=\"land\"} 5"));
    EXPECT_TRUE(
        has("triage_dropped_packets_total", "triage_dropped_packets_total{reason=\"shutdown\"} 0"));
    EXPECT_EQ(fams.at("triage_inbound_packets_total").samples.size(), kClassCount);
    for (unsigned i = 0; i < kClassCount; ++i)
        EXPECT_TRUE(has("triage_inbound_packets_total",
                        std::string("triage_inbound_packets_total{class=\"") +
                            class_name(static_cast<Class>(i)) + "\"} " + (i == 1 ? "3" : "0")));

    EXPECT_TRUE(has("triage_uptime_seconds", "triage_uptime_seconds 12.5"));
    EXPECT_TRUE(has("triage_port_packets_total",
                    "triage_port_packets_total{port=\"outside\",direction=\"rx\"} 150"));
    EXPECT_TRUE(has("triage_port_errors_total",
                    "triage_port_errors_total{port=\"outside\",direction=\"tx\"} 3"));
    EXPECT_TRUE(has("triage_port_missed_packets_total",
                    "triage_port_missed_packets_total{port=\"outside\"} 1"));
    EXPECT_TRUE(
        has("triage_port_rx_nombuf_total", "triage_port_rx_nombuf_total{port=\"outside\"} 4"));
    EXPECT_TRUE(has("triage_received_packets_total",
                    "triage_received_packets_total{direction=\"inbound\"} 150"));
    EXPECT_TRUE(has("triage_forwarded_packets_total",
                    "triage_forwarded_packets_total{direction=\"inbound\"} 140"));
    EXPECT_TRUE(has("triage_outbound_malformed_packets_total",
                    "triage_outbound_malformed_packets_total 2"));
    EXPECT_TRUE(has("triage_workers", "triage_workers 2"));
    EXPECT_TRUE(has("triage_worker_received_packets_total",
                    "triage_worker_received_packets_total{worker=\"1\",direction=\"outbound\"} 7"));
    EXPECT_TRUE(has("triage_policy_version", "triage_policy_version 9"));
    EXPECT_TRUE(has("triage_list_entries", "triage_list_entries{list=\"deny\"} 6"));
    EXPECT_TRUE(has("triage_policy_reclaim_pending", "triage_policy_reclaim_pending 1"));
    // Label values escaped: quote, backslash, newline.
    EXPECT_TRUE(
        has("triage_build_info", "triage_build_info{version=\"1.0 \\\"q\\\" \\\\ \\nx\"} 1"));
}

TEST(Prometheus, EscapesLabelValues) {
    EXPECT_EQ(prometheus_escape_label("plain"), "plain");
    EXPECT_EQ(prometheus_escape_label("a\"b"), "a\\\"b");
    EXPECT_EQ(prometheus_escape_label("a\\b"), "a\\\\b");
    EXPECT_EQ(prometheus_escape_label("a\nb"), "a\\nb");
}

TEST(Prometheus, EmptyReportStillHasEveryReason) {
    const auto fams = parse_exposition(render_prometheus(Report{}, 0));
    EXPECT_EQ(fams.at("triage_dropped_packets_total").samples.size(), kDropCount - 1);
    EXPECT_TRUE(fams.at("triage_worker_received_packets_total").samples.empty());
}

TEST(Latest, HandsOverCopies) {
    Latest l;
    EXPECT_EQ(l.load(), nullptr);
    Report r;
    r.version = "a";
    l.store(r);
    const auto first = l.load();
    ASSERT_NE(first, nullptr);
    r.version = "b";
    l.store(r);
    EXPECT_EQ(first->version, "a");  // a reader's copy never changes under it
    EXPECT_EQ(l.load()->version, "b");
    EXPECT_GE(l.uptime_seconds(), 0.0);
}

TEST(ListenAddress, AcceptedForms) {
    auto a = parse_listen_address("9100");
    EXPECT_EQ(a.host, "127.0.0.1");  // a bare port never means every interface
    EXPECT_EQ(a.port, 9100);
    EXPECT_FALSE(a.ipv6);
    EXPECT_EQ(a.str(), "127.0.0.1:9100");
    a = parse_listen_address("192.0.2.10:9200");
    EXPECT_EQ(a.host, "192.0.2.10");
    EXPECT_EQ(a.port, 9200);
    a = parse_listen_address("0.0.0.0:1");
    EXPECT_EQ(a.host, "0.0.0.0");
    a = parse_listen_address("[2001:db8::5]:65535");
    EXPECT_EQ(a.host, "2001:db8::5");
    EXPECT_EQ(a.port, 65535);
    EXPECT_TRUE(a.ipv6);
    EXPECT_EQ(a.str(), "[2001:db8::5]:65535");
    EXPECT_EQ(parse_listen_address("[::]:9100").host, "::");
}

std::string parse_error(const char* text) {
    try {
        parse_listen_address(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(accepted)";
}

TEST(ListenAddress, ErrorsNameTheBadPart) {
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("0").find("port '0'"), std::string::npos);
    EXPECT_NE(parse_error("65536").find("port '65536'"), std::string::npos);
    EXPECT_NE(parse_error("192.0.2.1:http").find("port 'http'"), std::string::npos);
    EXPECT_NE(parse_error("192.0.2.1:").find("port ''"), std::string::npos);
    EXPECT_NE(parse_error("192.0.2.1:-5").find("port '-5'"), std::string::npos);
    EXPECT_NE(parse_error("192.0.2.300:9100").find("'192.0.2.300' is not a numeric IPv4"),
              std::string::npos);
    EXPECT_NE(parse_error("localhost:9100").find("'localhost'"), std::string::npos);
    EXPECT_NE(parse_error("192.0.2.1").find("has no port"), std::string::npos);
    EXPECT_NE(parse_error(":9100").find("missing address"), std::string::npos);
    EXPECT_NE(parse_error("2001:db8::1:9100").find("brackets"), std::string::npos);
    EXPECT_NE(parse_error("[2001:db8::1:9100").find("missing ']'"), std::string::npos);
    EXPECT_NE(parse_error("[2001:db8::1]").find("missing ':PORT'"), std::string::npos);
    EXPECT_NE(parse_error("[2001:db8::1]9100").find("missing ':PORT'"), std::string::npos);
    EXPECT_NE(parse_error("[192.0.2.1]:9100").find("'192.0.2.1' is not a numeric IPv6"),
              std::string::npos);
}

TEST(RateLimit, BurstThenRefillAndSuppressedCounts) {
    constexpr uint64_t hz = 1000;  // 1 tick = 1 ms
    RateLimit rl(10, 3);           // one message per 100 ticks, bursts of 3
    uint64_t sup = 99;
    EXPECT_TRUE(rl.allow(5000, hz, sup));
    EXPECT_EQ(sup, 0u);
    EXPECT_TRUE(rl.allow(5000, hz, sup));
    EXPECT_TRUE(rl.allow(5000, hz, sup));
    for (int i = 0; i < 7; ++i) EXPECT_FALSE(rl.allow(5001, hz, sup));
    EXPECT_EQ(rl.suppressed(), 7u);
    EXPECT_FALSE(rl.allow(5099, hz, sup));  // 0.99 of a token earned
    EXPECT_TRUE(rl.allow(5100, hz, sup));   // one token
    EXPECT_EQ(sup, 8u);                     // reported once, then reset
    EXPECT_EQ(rl.suppressed(), 0u);
    EXPECT_FALSE(rl.allow(5150, hz, sup));
    EXPECT_TRUE(rl.allow(5200, hz, sup));
    EXPECT_EQ(sup, 1u);
    // A long quiet spell refills to the burst, not beyond.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.allow(100000, hz, sup));
    EXPECT_FALSE(rl.allow(100000, hz, sup));
}

TEST(RateLimit, SteadyRateOverOneSecond) {
    constexpr uint64_t hz = 2'000'000'000;  // a 2 GHz TSC
    RateLimit rl(5, 1);
    uint64_t sup = 0, allowed = 0, refused = 0;
    // 1000 attempts a second for 2 s: the first, then one per 200 ms.
    for (uint64_t t = 0; t < 2 * hz; t += hz / 1000) (rl.allow(t, hz, sup) ? allowed : refused)++;
    EXPECT_EQ(allowed, 10u);
    EXPECT_EQ(refused, 1990u);
}

TEST(RateLimit, DegenerateSettings) {
    uint64_t sup = 0;
    RateLimit zero_burst(1, 0);  // burst 0 would never allow anything: taken as 1
    EXPECT_TRUE(zero_burst.allow(0, 1000, sup));
    EXPECT_FALSE(zero_burst.allow(1, 1000, sup));
    RateLimit never_refills(0, 2);
    EXPECT_TRUE(never_refills.allow(0, 1000, sup));
    EXPECT_TRUE(never_refills.allow(0, 1000, sup));
    EXPECT_FALSE(never_refills.allow(1'000'000, 1000, sup));
}

}  // namespace
