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

#include "detect.h"
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
    // Detection: one target under attack (a name that needs escaping), one quiet.
    DetectGauges& d = r.detect;
    d.samples = 1234;
    d.incidents_opened = 3;
    d.incidents_closed = 2;
    d.vector_incidents = {{"syn-flood", 2}, {"udp-flood", 0}, {"dns-reflection", 1}};
    d.modes = {"monitor", "auto", "enforce"};
    DetectTargetGauges portal;
    portal.name = "ehr \"portal\"\\1";
    portal.prefix = "2001:db8::/32";
    portal.mode = "auto";
    portal.mitigated = true;
    portal.incident = true;
    portal.incident_id = 3;
    portal.vectors = {{"syn-flood", 0.99}};
    portal.classes = {{"syn", 20000.5, 12.25, 1000}, {"udp", 0, 0, 20000}};
    portal.switches_on = 2;
    portal.switches_off = 1;
    DetectTargetGauges net;
    net.name = "clinic-net";
    net.prefix = "198.51.100.0/24";
    net.mode = "monitor";
    net.classes = {{"syn", 3, 2.5, 1000}, {"udp", 1, 1, 20000}};
    d.targets = {portal, net};
    d.last_incident_id = 3;
    d.last_incident_start = 1796000000.25;
    d.last_detection_latency = 0.02;
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
                          "triage_policy_reclaim_pending",
                          "triage_detect_samples_total",
                          "triage_incidents_opened_total",
                          "triage_incidents_closed_total",
                          "triage_incidents_total",
                          "triage_last_incident_id",
                          "triage_last_incident_start_timestamp_seconds",
                          "triage_last_incident_detection_latency_seconds",
                          "triage_detect_mode",
                          "triage_incident_active",
                          "triage_incident_vector_confidence",
                          "triage_mitigation_active",
                          "triage_mitigation_switches_total",
                          "triage_detect_rate_pps",
                          "triage_detect_baseline_pps",
                          "triage_detect_threshold_pps"})
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

TEST(Prometheus, DetectionFamilies) {
    WorkerCounters w[2];
    const auto fams = parse_exposition(render_prometheus(sample_report(w), 1));
    const auto has = [&](const char* fam, const std::string& line) {
        const auto& v = fams.at(fam).samples;
        return std::find(v.begin(), v.end(), line) != v.end();
    };
    const std::string portal = "target=\"ehr \\\"portal\\\"\\\\1\"";  // escaped: ehr \"portal\"\\1
    EXPECT_TRUE(has("triage_detect_samples_total", "triage_detect_samples_total 1234"));
    EXPECT_TRUE(has("triage_incidents_opened_total", "triage_incidents_opened_total 3"));
    EXPECT_TRUE(has("triage_incidents_closed_total", "triage_incidents_closed_total 2"));
    // Every vector, zeros included.
    EXPECT_EQ(fams.at("triage_incidents_total").samples.size(), 3u);
    EXPECT_TRUE(has("triage_incidents_total", "triage_incidents_total{vector=\"syn-flood\"} 2"));
    EXPECT_TRUE(has("triage_incidents_total", "triage_incidents_total{vector=\"udp-flood\"} 0"));
    EXPECT_TRUE(has("triage_last_incident_id", "triage_last_incident_id 3"));
    EXPECT_TRUE(has("triage_last_incident_start_timestamp_seconds",
                    "triage_last_incident_start_timestamp_seconds 1796000000.25"));
    EXPECT_TRUE(has("triage_last_incident_detection_latency_seconds",
                    "triage_last_incident_detection_latency_seconds 0.02"));
    EXPECT_TRUE(has("triage_incident_active",
                    "triage_incident_active{" + portal + ",prefix=\"2001:db8::/32\"} 1"));
    EXPECT_TRUE(has("triage_incident_active",
                    "triage_incident_active{target=\"clinic-net\",prefix=\"198.51.100.0/24\"} 0"));
    // Only the open incident's vectors.
    EXPECT_EQ(fams.at("triage_incident_vector_confidence").samples,
              std::vector<std::string>{"triage_incident_vector_confidence{" + portal +
                                       ",prefix=\"2001:db8::/32\",vector=\"syn-flood\",incident=\"3\"} 0.99"});
    // The mode as a state set: one series per mode, 1 for the one in force.
    EXPECT_EQ(fams.at("triage_detect_mode").samples.size(), 6u);
    EXPECT_TRUE(has("triage_detect_mode", "triage_detect_mode{" + portal + ",mode=\"auto\"} 1"));
    EXPECT_TRUE(has("triage_detect_mode", "triage_detect_mode{" + portal + ",mode=\"monitor\"} 0"));
    EXPECT_TRUE(has("triage_detect_mode", "triage_detect_mode{target=\"clinic-net\",mode=\"monitor\"} 1"));
    EXPECT_TRUE(has("triage_mitigation_active", "triage_mitigation_active{" + portal + "} 1"));
    EXPECT_TRUE(has("triage_mitigation_active", "triage_mitigation_active{target=\"clinic-net\"} 0"));
    EXPECT_TRUE(has("triage_mitigation_switches_total",
                    "triage_mitigation_switches_total{" + portal + ",action=\"on\"} 2"));
    EXPECT_TRUE(has("triage_mitigation_switches_total",
                    "triage_mitigation_switches_total{target=\"clinic-net\",action=\"off\"} 0"));
    // Every target x class, for rate, baseline and threshold alike.
    for (const char* f : {"triage_detect_rate_pps", "triage_detect_baseline_pps", "triage_detect_threshold_pps"})
        EXPECT_EQ(fams.at(f).samples.size(), 4u) << f;
    EXPECT_TRUE(has("triage_detect_rate_pps", "triage_detect_rate_pps{" + portal + ",class=\"syn\"} 20000.5"));
    EXPECT_TRUE(has("triage_detect_baseline_pps", "triage_detect_baseline_pps{" + portal + ",class=\"syn\"} 12.25"));
    EXPECT_TRUE(has("triage_detect_threshold_pps",
                    "triage_detect_threshold_pps{target=\"clinic-net\",class=\"udp\"} 20000"));
}

TEST(Prometheus, DetectionWithoutTargets) {
    // Before any prefix is protected: the scalars, no per-target families.
    Report r;
    r.detect.vector_incidents = {{"syn-flood", 0}};
    const auto fams = parse_exposition(render_prometheus(r, 0));
    EXPECT_EQ(fams.at("triage_detect_samples_total").samples, std::vector<std::string>{"triage_detect_samples_total 0"});
    EXPECT_EQ(fams.at("triage_incidents_total").samples.size(), 1u);
    EXPECT_EQ(fams.at("triage_last_incident_id").samples, std::vector<std::string>{"triage_last_incident_id 0"});
    for (const char* f : {"triage_incident_active", "triage_mitigation_active", "triage_detect_rate_pps",
                          "triage_incident_vector_confidence", "triage_detect_mode"})
        EXPECT_FALSE(fams.count(f)) << f;
}

TEST(StatsJson, Detection) {
    WorkerCounters w[2];
    std::ostringstream os;
    write_json(os, sample_report(w));
    const std::string j = os.str();
    EXPECT_NE(j.find("\"detection\": {\"samples\": 1234, \"incidents_opened\": 3, \"incidents_closed\": 2, "
                     "\"incidents_by_vector\": {\"syn-flood\": 2, \"udp-flood\": 0, \"dns-reflection\": 1}, "
                     "\"last_incident\": {\"id\": 3, \"start\": 1796000000.250, \"detection_latency_s\": 0.020}"),
              std::string::npos)
        << j;
    EXPECT_NE(j.find("{\"name\": \"ehr \\\"portal\\\"\\\\1\", \"prefix\": \"2001:db8::/32\", \"mode\": \"auto\", "
                     "\"mitigated\": true, \"incident\": 3, \"vectors\": {\"syn-flood\": 0.990}, \"mitigation_on\": 2, "
                     "\"mitigation_off\": 1, \"classes\": {\"syn\": {\"rate_pps\": 20000.500, \"baseline_pps\": 12.250, "
                     "\"threshold_pps\": 1000.000}"),
              std::string::npos)
        << j;
    EXPECT_NE(j.find("\"name\": \"clinic-net\", \"prefix\": \"198.51.100.0/24\", \"mode\": \"monitor\", "
                     "\"mitigated\": false, \"incident\": null, \"vectors\": {}"),
              std::string::npos)
        << j;
}

// detect::fill_gauges on a real Detector: a SYN flood on one of two targets,
// then quiet past the hold-down; the gauges follow the incident.
TEST(DetectGauges, FollowAnIncidentThroughTheDetector) {
    namespace dt = triage::detect;
    dt::Detector d(dt::Tuning{3.0, 0.5, 0.5, 2, 300, 1});
    std::vector<std::string> names(dt::kClasses);
    names[0] = "syn", names[1] = "tcp", names[2] = "udp", names[3] = "icmp", names[4] = "fragment", names[5] = "dns";
    dt::Entry portal, net;
    portal.name = "portal";
    portal.prefix = "198.51.100.10/32";
    portal.mode = dt::Mode::auto_;
    portal.floor[dt::kSyn] = 500;
    net.name = "clinic-net";
    net.prefix = "198.51.100.0/24";
    net.mode = dt::Mode::enforce;
    d.set_entries({portal, net}, names);
    std::vector<dt::EntryTotals> cum(2);
    std::vector<dt::Event> ev;
    double t = 0;
    auto step = [&](double syn, double tcp) {
        t += 0.02;
        cum[0].packets[dt::kSyn] += static_cast<uint64_t>(syn * 0.02);
        cum[0].packets[dt::kTcp] += static_cast<uint64_t>(tcp * 0.02);
        d.observe(t, 1'796'000'000'000 + static_cast<int64_t>(t * 1000), cum, ev);
    };
    DetectGauges g;
    dt::fill_gauges(d, g);
    EXPECT_EQ(g.samples, 0u);
    ASSERT_EQ(g.targets.size(), 2u);
    EXPECT_EQ(g.targets[1].mode, "enforce");
    EXPECT_TRUE(g.targets[1].mitigated) << "enforce: always mitigated";
    EXPECT_FALSE(g.targets[0].mitigated);
    EXPECT_EQ(g.modes, (std::vector<std::string>{"monitor", "auto", "enforce"}));
    // Six named classes: six vectors with zero incidents, six classes per target.
    EXPECT_EQ(g.vector_incidents.size(), 6u);
    EXPECT_EQ(g.vector_incidents[0], (std::pair<std::string, uint64_t>{"syn-flood", 0}));
    EXPECT_EQ(g.vector_incidents[5].first, "dns-reflection");
    ASSERT_EQ(g.targets[0].classes.size(), 6u);
    EXPECT_EQ(g.targets[0].classes[0].threshold_pps, 500) << "the operator's floor";
    EXPECT_EQ(g.targets[0].classes[2].threshold_pps, dt::default_floor(dt::kUdp));
    EXPECT_EQ(g.last_incident_id, 0u);

    for (int i = 0; i < 100; ++i) step(50, 250);
    dt::fill_gauges(d, g);
    EXPECT_EQ(g.samples, 100u);
    EXPECT_NEAR(g.targets[0].classes[0].rate_pps, 50, 1);
    EXPECT_NEAR(g.targets[0].classes[0].baseline_pps, 50, 1);
    EXPECT_NEAR(g.targets[0].classes[1].threshold_pps, dt::default_floor(dt::kTcp), 1);
    EXPECT_FALSE(g.targets[0].incident);

    step(20000, 250);
    step(20000, 250);
    dt::fill_gauges(d, g);
    EXPECT_EQ(g.incidents_opened, 1u);
    EXPECT_EQ(g.incidents_closed, 0u);
    EXPECT_TRUE(g.targets[0].incident);
    EXPECT_EQ(g.targets[0].incident_id, 1u);
    EXPECT_TRUE(g.targets[0].mitigated);
    EXPECT_EQ(g.targets[0].switches_on, 1u);
    EXPECT_EQ(g.targets[0].switches_off, 0u);
    ASSERT_EQ(g.targets[0].vectors.size(), 1u);
    EXPECT_EQ(g.targets[0].vectors[0].vector, "syn-flood");
    EXPECT_GT(g.targets[0].vectors[0].confidence, 0.9);
    EXPECT_NEAR(g.targets[0].classes[0].rate_pps, 20000, 1);
    EXPECT_FALSE(g.targets[1].incident);
    EXPECT_EQ(g.vector_incidents[0].second, 1u);
    EXPECT_EQ(g.last_incident_id, 1u);
    EXPECT_NEAR(g.last_incident_start, 1'796'000'000 + t, 0.002);
    EXPECT_NEAR(g.last_detection_latency, 0.02, 1e-6) << "one confirming sample after the first";

    for (int i = 0; i < 70; ++i) step(50, 250);  // 1.4 s quiet: past the 1 s hold-down
    dt::fill_gauges(d, g);
    EXPECT_EQ(g.incidents_closed, 1u);
    EXPECT_FALSE(g.targets[0].incident);
    EXPECT_FALSE(g.targets[0].mitigated);
    EXPECT_TRUE(g.targets[0].vectors.empty());
    EXPECT_EQ(g.targets[0].switches_on, 1u);
    EXPECT_EQ(g.targets[0].switches_off, 1u);
    EXPECT_EQ(g.targets[1].switches_on + g.targets[1].switches_off, 0u);
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
