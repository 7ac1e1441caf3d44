// lib/gen scenarios (scenario.h) and their traffic (traffic.h): the parser's
// defaults and errors, times and rates, address blocks, event schedules, the
// stream tags and serials a receiver reads back (identify), and the Live
// engine's endpoints run against fake boxes: a plain wire, a wire that drops
// a flood, and a wire that authenticates new TCP clients with a wrong-ACK
// SYN-ACK (a cookie) the way a SYN-authenticating scrubber does.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gen.h"
#include "net.h"
#include "scenario.h"
#include "traffic.h"

namespace {

using namespace triage;
using namespace triage::gen;

Scenario parse_ok(const std::string& text) {
    Scenario sc;
    std::string err;
    EXPECT_TRUE(parse_scenario(text, "unit.scn", "", sc, err)) << err << "\n" << text;
    return sc;
}

std::string parse_err(const std::string& text) {
    Scenario sc;
    std::string err;
    EXPECT_FALSE(parse_scenario(text, "unit.scn", "", sc, err)) << text;
    return err;
}

std::string addr_str(const uint8_t* a, unsigned family) {
    char b[64];
    if (family == 4) {
        std::snprintf(b, sizeof b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    } else {
        std::string s;
        for (int i = 0; i < 16; i += 2) {
            std::snprintf(b, sizeof b, "%s%x", i ? ":" : "", a[i] << 8 | a[i + 1]);
            s += b;
        }
        return s;
    }
    return b;
}

Block block(const std::string& s) {
    Scenario sc = parse_ok("duration 1s\nstream x udp-flood src " + s + " dst " +
                           (s.find(':') != std::string::npos ? "2001:db8::1" : "192.0.2.1") + " rate 1\n");
    return sc.streams.empty() ? Block{} : sc.streams[0].src;
}

std::string nth(const Block& b, uint64_t i) {
    uint8_t out[16];
    b.nth(i, out);
    return addr_str(out, b.family);
}

// ------------------------------------------------------------- the parser

TEST(GenScenario, DefaultsByKind) {
    const Scenario sc = parse_ok(
        "duration 2s\n"
        "stream web web-clients src 198.19.0.0/16 dst 198.51.100.10 rate 10\n"
        "stream dns dns-clients src 198.51.100.32/28 dst 192.0.2.53 rate 5\n"
        "stream ping ping-clients src 198.19.200.1 dst 198.51.100.10 rate 1\n"
        "stream syn4 syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream syn6 syn-flood src 2001:db8:1::/64 dst 2001:db8::10 rate 1k\n"
        "stream ack4 ack-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream ack6 ack-flood src 2001:db8:1::/64 dst 2001:db8::10 rate 1k\n"
        "stream rst4 rst-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream rst6 rst-flood src 2001:db8:1::/64 dst 2001:db8::10 rate 1k\n"
        "stream udp udp-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream rdns reflection vector dns src 203.0.113.0/24 dst 198.51.100.0/24 rate 1k\n"
        "stream rntp reflection vector ntp src 203.0.113.0/24 dst 198.51.100.0/24 rate 1k\n"
        "stream rmem reflection vector memcached src 203.0.113.0/24 dst 198.51.100.0/24 rate 1k\n"
        "stream rssdp reflection vector ssdp src 203.0.113.0/24 dst 198.51.100.0/24 rate 1k\n"
        "stream rcldap reflection vector cldap src 203.0.113.0/24 dst 198.51.100.0/24 rate 1k\n"
        "stream icmp4 icmp-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream icmp6 icmp-flood src 2001:db8:1::/64 dst 2001:db8::10 rate 1k\n"
        "stream frag4 fragment-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream frag6 fragment-flood src 2001:db8:1::/64 dst 2001:db8::10 rate 1k\n"
        "stream get http-get-flood src 198.18.0.0/16 dst 198.51.100.10 rate 10\n");
    struct Want {
        const char* name;
        Kind kind;
        uint16_t port;
        uint32_t size;
        const char* path;
    };
    const Want want[] = {
        {"web", Kind::web_clients, 443, 0, "/portal/appointments"},
        {"dns", Kind::dns_clients, 53, 0, ""},
        {"ping", Kind::ping_clients, 0, 0, ""},
        {"syn4", Kind::syn_flood, 80, 58, ""},
        {"syn6", Kind::syn_flood, 80, 78, ""},
        {"ack4", Kind::ack_flood, 80, 60, ""},
        {"ack6", Kind::ack_flood, 80, 74, ""},
        {"rst4", Kind::rst_flood, 80, 60, ""},
        {"rst6", Kind::rst_flood, 80, 74, ""},
        {"udp", Kind::udp_flood, 0, 512, ""},  // port 0: a random one per packet
        {"rdns", Kind::reflection, 0, 1200, ""},
        {"rntp", Kind::reflection, 0, 482, ""},
        {"rmem", Kind::reflection, 0, 1400, ""},
        {"rssdp", Kind::reflection, 0, 330, ""},
        {"rcldap", Kind::reflection, 0, 1400, ""},
        {"icmp4", Kind::icmp_flood, 0, 98, ""},
        {"icmp6", Kind::icmp_flood, 0, 118, ""},
        {"frag4", Kind::fragment_flood, 0, 1034, ""},
        {"frag6", Kind::fragment_flood, 0, 1030, ""},
        {"get", Kind::http_get_flood, 80, 0, "/wp-login.php"},
    };
    ASSERT_EQ(sc.streams.size(), std::size(want));
    for (size_t i = 0; i < std::size(want); ++i) {
        const Stream& s = sc.streams[i];
        SCOPED_TRACE(want[i].name);
        EXPECT_EQ(s.name, want[i].name);
        EXPECT_EQ(s.kind, want[i].kind);
        EXPECT_EQ(s.port, want[i].port);
        EXPECT_EQ(s.size, want[i].size);
        EXPECT_EQ(s.path, want[i].path);
        EXPECT_EQ(s.sources, 0u) << "random sources by default";
        EXPECT_EQ(s.start_ns, 0u);
        EXPECT_EQ(s.duration_ns, 0u);
        EXPECT_EQ(s.line, i + 2);
        EXPECT_EQ(s.legit(), i < 3);
    }
    EXPECT_EQ(sc.streams[10].vector, Vector::dns);
    EXPECT_EQ(sc.streams[11].vector, Vector::ntp);
    EXPECT_EQ(sc.streams[12].vector, Vector::memcached);
    EXPECT_EQ(sc.streams[13].vector, Vector::ssdp);
    EXPECT_EQ(sc.streams[14].vector, Vector::cldap);
    EXPECT_EQ(vector_port(Vector::dns), 53);
    EXPECT_EQ(vector_port(Vector::ntp), 123);
    EXPECT_EQ(vector_port(Vector::memcached), 11211);
    EXPECT_EQ(vector_port(Vector::ssdp), 1900);
    EXPECT_EQ(vector_port(Vector::cldap), 389);
    // Scenario-wide defaults: the file's name, seed 1, a 20 ms round trip.
    EXPECT_EQ(sc.name, "unit");
    EXPECT_EQ(sc.seed, 1u);
    EXPECT_EQ(sc.rtt_ns, 20'000'000u);
    EXPECT_EQ(sc.duration_ns, 2'000'000'000u);
    EXPECT_TRUE(sc.expects.empty());
}

TEST(GenScenario, GivenValuesWin) {
    const Scenario sc = parse_ok(
        "# comment line\n"
        "name \"named one\"\n"
        "description \"a quoted description # not a comment\"\n"
        "seed 42\n"
        "rtt 35ms\n"
        "stream w web-clients src 198.19.0.0/16 dst 198.51.100.10 port 8443 rate 1.5k sources 100 "
        "start 250ms duration 1.5s path /book?x=1   # trailing comment\n"
        "stream u udp-flood src 2001:db8::/64 dst 2001:db8:1::/120 port 9999 rate 2m size 9000 duration 2m\n"
        "expect w handshakes >= 99.5%\n"
        "expect attack first-drop <= 100ms\n");
    ASSERT_EQ(sc.streams.size(), 2u);
    EXPECT_EQ(sc.name, "named one");
    EXPECT_EQ(sc.description, "a quoted description # not a comment");
    EXPECT_EQ(sc.seed, 42u);
    EXPECT_EQ(sc.rtt_ns, 35'000'000u);
    const Stream& w = sc.streams[0];
    EXPECT_EQ(w.port, 8443);
    EXPECT_DOUBLE_EQ(w.rate, 1500);
    EXPECT_EQ(w.sources, 100u);
    EXPECT_EQ(w.start_ns, 250'000'000u);
    EXPECT_EQ(w.duration_ns, 1'500'000'000u);
    EXPECT_EQ(w.path, "/book?x=1");
    EXPECT_EQ(w.line, 6u);
    const Stream& u = sc.streams[1];
    EXPECT_EQ(u.src.family, 6);
    EXPECT_EQ(u.src.len, 64);
    EXPECT_EQ(u.port, 9999);
    EXPECT_DOUBLE_EQ(u.rate, 2e6);
    EXPECT_EQ(u.size, 9000u);
    EXPECT_EQ(u.duration_ns, 120'000'000'000u);
    // No duration statement: the longest stream's end.
    EXPECT_EQ(sc.duration_ns, 120'000'000'000u);
    ASSERT_EQ(sc.expects.size(), 2u);
    EXPECT_EQ(sc.expects[0].target, "w");
    EXPECT_EQ(sc.expects[0].what, Expect::What::handshakes);
    EXPECT_TRUE(sc.expects[0].at_least);
    EXPECT_DOUBLE_EQ(sc.expects[0].value, 99.5);
    EXPECT_EQ(sc.expects[1].what, Expect::What::first_drop_ms);
    EXPECT_FALSE(sc.expects[1].at_least);
    EXPECT_DOUBLE_EQ(sc.expects[1].value, 100);
    EXPECT_EQ(sc.find("u"), &sc.streams[1]);
    EXPECT_EQ(sc.find("nope"), nullptr);
}

TEST(GenScenario, ConfigPathIsResolvedAgainstTheFilesFolder) {
    Scenario sc;
    std::string err;
    const std::string body = "duration 1s\nstream p ping-clients src 198.19.1.1 dst 198.51.100.1 rate 1\n";
    ASSERT_TRUE(parse_scenario("config ../clinic.cli\n" + body, "/srv/scn/x.scn", "/srv/scn", sc, err)) << err;
    EXPECT_EQ(sc.config, "/srv/scn/../clinic.cli");
    ASSERT_TRUE(parse_scenario("config /etc/triage.cli\n" + body, "/srv/scn/x.scn", "/srv/scn", sc, err)) << err;
    EXPECT_EQ(sc.config, "/etc/triage.cli");
    EXPECT_EQ(sc.name, "x");
}

TEST(GenScenario, ErrorsNameOriginAndLine) {
    const std::string head = "# line 1\nduration 2s\n\n";  // the bad line is line 4
    const std::string S = " src 198.18.0.0/16 dst 198.51.100.10 ";
    struct Case {
        std::string line;
        std::string word;
    };
    const Case cases[] = {
        {"stream x syn-flod" + S + "rate 1k", "'syn-flod'"},
        {"stream x udp-flood" + S + "rate 1k colour red", "'colour'"},
        {"stream x udp-flood" + S + "port 53", "'rate'"},
        {"stream x syn-flood src 198.18.0.0/16 dst 2001:db8::1 rate 5", "IPv6"},
        {"stream x udp-flood" + S + "rate 0", "'0'"},
        {"stream x udp-flood" + S + "rate 1k start 5x", "'5x'"},
        {"stream x reflection" + S + "rate 1k", "vector"},
        {"stream x reflection vector chargen" + S + "rate 1k", "'chargen'"},
        {"expect nosuch dropped >= 90%", "'nosuch'"},
        {"expect attack dropped >= 190%", "'190%'"},
        {"stream late udp-flood" + S + "rate 1k start 2s", "late"},
        {"stream x udp-flood" + S + "rate 5 rate 6", "twice"},
        {"stream x udp-flood" + S + "rate", "'rate'"},
        {"bogus 1", "'bogus'"},
        {"stream legit udp-flood" + S + "rate 5", "'legit'"},
        {"stream x udp-flood src 198.18.0.0/30 dst 198.51.100.1 rate 5 sources 3", "3 sources"},
        {"stream x udp-flood" + S + "rate 5 size 20", "'20'"},
        {"stream x web-clients" + S + "rate 5 size 500", "'size'"},
        {"stream x icmp-flood" + S + "rate 5 port 1", "'port'"},
        {"stream x syn-flood" + S + "rate 5 path /a", "'path'"},
        {"description \"unterminated", "quote"},
    };
    const std::string tail = "stream ok udp-flood" + S + "rate 1\n";
    for (const Case& c : cases) {
        const std::string err = parse_err(head + c.line + "\n" + tail);
        EXPECT_EQ(err.rfind("unit.scn:4: ", 0), 0u) << c.line << " -> " << err;
        EXPECT_NE(err.find(c.word), std::string::npos) << c.line << " -> " << err;
        EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
    }
    // A duplicate is reported on its second definition.
    const std::string dup = parse_err(head + tail + tail);
    EXPECT_EQ(dup.rfind("unit.scn:5: ", 0), 0u) << dup;
    EXPECT_NE(dup.find("ok"), std::string::npos) << dup;
    // A missing file names itself.
    Scenario sc;
    std::string err;
    EXPECT_FALSE(load_scenario("/nonexistent/triage-unit.scn", sc, err));
    EXPECT_NE(err.find("/nonexistent/triage-unit.scn"), std::string::npos) << err;
}

TEST(GenScenario, DetectionExpects) {
    const Scenario sc = parse_ok(
        "duration 4s\n"
        "stream p web-clients src 198.19.0.0/17 dst 198.51.100.10 rate 10\n"
        "stream syn syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k start 1s\n"
        "stream ack ack-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k start 1s\n"
        "stream rst rst-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k start 1s\n"
        "stream dns reflection vector dns src 192.0.2.0/24 dst 198.51.100.1 rate 1k\n"
        "stream frag fragment-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "expect incidents == 1\n"
        "expect incidents <= 2\n"
        "expect mitigations >= 0\n"
        "expect syn detected <= 100ms\n"
        "expect attack detected <= 0.25s\n"
        "expect syn classified syn-flood confidence >= 0.8\n"
        "expect dns classified dns-reflection\n"
        "expect p classified tcp-flood confidence <= 0.1\n");
    ASSERT_EQ(sc.expects.size(), 8u);
    const auto& e = sc.expects;
    EXPECT_EQ(e[0].what, Expect::What::incidents);
    EXPECT_TRUE(e[0].equal);
    EXPECT_DOUBLE_EQ(e[0].value, 1);
    EXPECT_TRUE(e[0].target.empty());
    EXPECT_FALSE(e[1].equal);
    EXPECT_FALSE(e[1].at_least);
    EXPECT_EQ(e[2].what, Expect::What::mitigations);
    EXPECT_TRUE(e[2].at_least);
    EXPECT_EQ(e[3].what, Expect::What::detected_ms);
    EXPECT_EQ(e[3].target, "syn");
    EXPECT_FALSE(e[3].at_least);
    EXPECT_DOUBLE_EQ(e[3].value, 100);
    EXPECT_DOUBLE_EQ(e[4].value, 250);
    EXPECT_EQ(e[5].what, Expect::What::classified);
    EXPECT_EQ(e[5].vector, "syn-flood");
    EXPECT_TRUE(e[5].at_least);
    EXPECT_DOUBLE_EQ(e[5].value, 0.8);
    EXPECT_DOUBLE_EQ(e[6].value, 0.5);  // without a confidence: what detection counts as a vector
    EXPECT_FALSE(e[7].at_least);
    EXPECT_STREQ(expect_what_name(e[3].what), "detected");
    // The vector detection gives each kind.
    EXPECT_EQ(detect_vector(sc.streams[0]), "");
    EXPECT_EQ(detect_vector(sc.streams[1]), "syn-flood");
    EXPECT_EQ(detect_vector(sc.streams[2]), "tcp-flood");
    EXPECT_EQ(detect_vector(sc.streams[3]), "tcp-flood");
    EXPECT_EQ(detect_vector(sc.streams[4]), "dns-reflection");
    EXPECT_EQ(detect_vector(sc.streams[5]), "fragment-flood");
    EXPECT_TRUE(valid_vector_name("chargen-reflection"));
    EXPECT_FALSE(valid_vector_name("-reflection"));
    EXPECT_FALSE(valid_vector_name("syn"));
    // Errors name the line.
    const std::string head = "duration 2s\nstream f syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 5\n";
    for (const auto& [line, word] : std::vector<std::pair<std::string, std::string>>{
             {"expect incidents = 1", "'='"},
             {"expect mitigations == -1", "'-1'"},
             {"expect f detected >= 5", "'5'"},
             {"expect f classified udp", "'udp'"},
             {"expect f classified syn-flood confidence >= 2", "'2'"},
             {"expect f classified syn-flood confidence", "classified"},
             {"expect legit detected <= 1s", "legit"},
             {"expect legit classified syn-flood", "'legit'"}}) {
        const std::string err = parse_err(head + line + "\n");
        EXPECT_EQ(err.rfind("unit.scn:3: ", 0), 0u) << line << " -> " << err;
        EXPECT_NE(err.find(word), std::string::npos) << line << " -> " << err;
    }
}

TEST(GenScenario, IncidentLogAndDetection) {
    // Two lines for incident 1 (open, then close: the close wins), one for 2.
    const std::string log =
        R"J({"event": "open", "id": 1, "target": "ehr-portal", "prefix": "198.51.100.10/32", "mode": "auto", "open": true, "start": "2026-12-05T06:14:00.123Z", "end": null, "duration_s": 0.000, "peak_pps": 20000, "peak_bps": 1, "packets": 1, "bytes": 1, "dropped": 0, "vectors": [{"vector": "syn-flood", "class": "syn", "confidence": 0.990, "peak_pps": 20000, "packets": 1, "bytes": 1}], "actions": [{"time": "2026-12-05T06:14:00.123Z", "action": "opened", "reason": "syn-flood at 20000 packets/s"}, {"time": "2026-12-05T06:14:00.123Z", "action": "mitigation on", "reason": "auto: x"}], "capture": null})J"
        "\n"
        R"J({"event": "close", "id": 1, "target": "ehr-portal", "prefix": "198.51.100.10/32", "mode": "auto", "open": false, "start": "2026-12-05T06:14:00.123Z", "end": "2026-12-05T06:14:05.500Z", "duration_s": 5.377, "peak_pps": 20000, "peak_bps": 1, "packets": 1, "bytes": 1, "dropped": 0, "vectors": [{"vector": "syn-flood", "class": "syn", "confidence": 0.995, "peak_pps": 21000, "packets": 1, "bytes": 1}, {"vector": "udp-flood", "class": "udp", "confidence": 0.7, "peak_pps": 9000, "packets": 1, "bytes": 1}], "actions": [{"time": "2026-12-05T06:14:00.123Z", "action": "opened", "reason": "syn-flood at 20000 packets/s"}, {"time": "2026-12-05T06:14:00.123Z", "action": "mitigation on", "reason": "auto: \"x\""}, {"time": "2026-12-05T06:14:01.040Z", "action": "vector added", "reason": "udp-flood at 9000 packets/s (confidence 0.70)"}, {"time": "2026-12-05T06:14:05.500Z", "action": "mitigation off", "reason": "quiet"}, {"time": "2026-12-05T06:14:05.500Z", "action": "closed", "reason": "quiet"}], "capture": null})J"
        "\n\n"
        R"J({"event": "exit", "id": 2, "target": "clinic-net", "prefix": "198.51.100.0/24", "mode": "monitor", "open": true, "start": "2026-12-05T06:14:07.000Z", "end": null, "vectors": [{"vector": "dns-reflection", "confidence": 0.9, "peak_pps": 8000}], "actions": [], "capture": "x.pcapng"})J"
        "\n";
    std::vector<IncidentRecord> inc;
    std::string err;
    ASSERT_TRUE(parse_incident_log(log, inc, err)) << err;
    ASSERT_EQ(inc.size(), 2u);
    int64_t t0;
    ASSERT_TRUE(parse_wall_ms("2026-12-05T06:14:00.123Z", t0));
    EXPECT_EQ(t0, 1796451240123);  // date -u -d 2026-12-05T06:14:00Z +%s, and the ms
    EXPECT_EQ(inc[0].event, "close");
    EXPECT_EQ(inc[0].start_ms, t0);
    EXPECT_EQ(inc[0].end_ms, t0 + 5377);
    EXPECT_EQ(inc[0].count("mitigation on"), 1u);
    EXPECT_EQ(inc[0].count("mitigation off"), 1u);
    EXPECT_EQ(inc[0].actions[1].reason, "auto: \"x\"");
    EXPECT_EQ(inc[0].vector_ms("syn-flood"), t0);        // there at the opening
    EXPECT_EQ(inc[0].vector_ms("udp-flood"), t0 + 917);  // added later
    EXPECT_EQ(inc[0].vector_ms("icmp-flood"), -1);
    EXPECT_EQ(inc[1].end_ms, -1);
    EXPECT_EQ(inc[1].target, "clinic-net");

    Scenario sc = parse_ok(
        "duration 10s\n"
        "stream syn syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream udp udp-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream late syn-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream dns reflection vector dns src 192.0.2.0/24 dst 198.51.100.1 rate 1k\n"
        "stream icmp icmp-flood src 198.18.0.0/16 dst 198.51.100.10 rate 1k\n"
        "stream elsewhere syn-flood src 198.18.0.0/16 dst 203.0.113.10 rate 1k\n");
    const double first = static_cast<double>(t0) - 42.5;  // the flood's first packet, 42.5 ms before the opening
    Detection d = find_detection(inc, sc.streams[0], first, first + 3000);
    EXPECT_EQ(d.incident, 0);
    EXPECT_DOUBLE_EQ(d.delay_ms, 42.5);
    EXPECT_DOUBLE_EQ(d.confidence, 0.995);
    d = find_detection(inc, sc.streams[1], static_cast<double>(t0) + 900, static_cast<double>(t0) + 3000);
    EXPECT_EQ(d.incident, 0);
    EXPECT_DOUBLE_EQ(d.delay_ms, 17);
    // A stream that began while the vector was already in an open incident.
    d = find_detection(inc, sc.streams[2], static_cast<double>(t0) + 2000, static_cast<double>(t0) + 3000);
    EXPECT_EQ(d.incident, 0);
    EXPECT_DOUBLE_EQ(d.delay_ms, -2000);
    // ... and one that began after it closed: not detected.
    d = find_detection(inc, sc.streams[2], static_cast<double>(t0) + 6000, static_cast<double>(t0) + 7000);
    EXPECT_EQ(d.incident, -1);
    // The /24 incident holds the DNS answers' vector; the /32 one does not.
    d = find_detection(inc, sc.streams[3], static_cast<double>(t0) + 6777, static_cast<double>(t0) + 9000);
    EXPECT_EQ(d.incident, 1);
    EXPECT_DOUBLE_EQ(d.delay_ms, 100);
    EXPECT_EQ(find_detection(inc, sc.streams[4], first, first + 3000).incident, -1);  // no icmp-flood vector
    EXPECT_EQ(find_detection(inc, sc.streams[5], first, first + 3000).incident, -1);  // another target
    int which = -2;
    EXPECT_DOUBLE_EQ(classified_confidence(inc, sc.streams[0], "syn-flood", first, first + 3000, &which), 0.995);
    EXPECT_EQ(which, 0);
    EXPECT_DOUBLE_EQ(classified_confidence(inc, sc.streams[0], "udp-flood", first, first + 3000), 0.7);
    EXPECT_DOUBLE_EQ(classified_confidence(inc, sc.streams[0], "icmp-flood", first, first + 3000, &which), 0);
    EXPECT_EQ(which, -1);
    EXPECT_DOUBLE_EQ(classified_confidence(inc, sc.streams[5], "syn-flood", first, first + 3000), 0);
    EXPECT_TRUE(block_overlaps(sc.streams[3].dst, "198.51.100.0/24"));
    EXPECT_FALSE(block_overlaps(sc.streams[3].dst, "198.51.100.10/32"));
    EXPECT_FALSE(block_overlaps(sc.streams[3].dst, "2001:db8::/32"));

    // Not an incident log: the line is named.
    EXPECT_FALSE(parse_incident_log("\n{\"id\": 1}\n", inc, err));
    EXPECT_NE(err.find("line 2"), std::string::npos) << err;
    EXPECT_FALSE(parse_incident_log("{\"id\": 1, \"vectors\": [\n", inc, err));
    EXPECT_NE(err.find("line 1"), std::string::npos) << err;
    EXPECT_TRUE(parse_incident_log("", inc, err));
    EXPECT_TRUE(inc.empty());
}

TEST(GenScenario, ParseTime) {
    struct Good {
        const char* s;
        uint64_t ns;
    };
    for (const Good& g : {Good{"250ms", 250'000'000}, Good{"2s", 2'000'000'000}, Good{"1.5s", 1'500'000'000},
                          Good{"90s", 90'000'000'000}, Good{"2m", 120'000'000'000}, Good{"10us", 10'000},
                          Good{"0s", 0}, Good{"0.5ms", 500'000}, Good{"86400s", 86'400'000'000'000},
                          Good{"1440m", 86'400'000'000'000}, Good{"0.000001s", 1'000}, Good{"1.0000000004s", 1'000'000'000}}) {
        uint64_t ns = 12345;
        std::string err;
        EXPECT_TRUE(parse_time_ns(g.s, ns, err)) << g.s << ": " << err;
        EXPECT_EQ(ns, g.ns) << g.s;
    }
    for (const char* bad : {"", "5", "s", "ms", "-1s", "1h", "86401s", "1441m", "1.5.2s", "nans", "infs", "5 s",
                            "0x10s", "+-1s"}) {
        uint64_t ns = 0;
        std::string err;
        EXPECT_FALSE(parse_time_ns(bad, ns, err)) << "'" << bad << "' gave " << ns;
        EXPECT_NE(err.find(std::string("'") + bad + "'"), std::string::npos) << err;
    }
}

TEST(GenScenario, ParseRate) {
    struct Good {
        const char* s;
        double v;
    };
    for (const Good& g : {Good{"500", 500}, Good{"20k", 20'000}, Good{"20K", 20'000}, Good{"1.5m", 1.5e6},
                          Good{"1.5M", 1.5e6}, Good{"0.5", 0.5}, Good{"1000m", 1e9}, Good{"1e9", 1e9}}) {
        double v = 0;
        std::string err;
        EXPECT_TRUE(parse_rate(g.s, v, err)) << g.s << ": " << err;
        EXPECT_DOUBLE_EQ(v, g.v) << g.s;
    }
    for (const char* bad : {"", "0", "0k", "-5", "k", "m", "5g", "1001m", "2e9", "nan", "inf", "5 k", "1kk"}) {
        double v = 0;
        std::string err;
        EXPECT_FALSE(parse_rate(bad, v, err)) << "'" << bad << "' gave " << v;
        EXPECT_FALSE(err.empty());
    }
}

TEST(GenScenario, FormatNs) {
    EXPECT_EQ(format_ns(2'000'000'000), "2s");
    EXPECT_EQ(format_ns(1'500'000'000), "1.5s");
    EXPECT_EQ(format_ns(250'000'000), "250ms");
    EXPECT_EQ(format_ns(0), "0s");
}

// ------------------------------------------------------- blocks and events

TEST(GenScenario, BlockV4SkipsNetworkAndBroadcast) {
    const Block b = block("198.51.100.0/24");
    EXPECT_EQ(b.family, 4);
    EXPECT_EQ(b.size(), 254u);
    EXPECT_EQ(nth(b, 0), "198.51.100.1");
    EXPECT_EQ(nth(b, 253), "198.51.100.254");
    std::set<std::string> all;
    for (uint64_t i = 0; i < b.size(); ++i) all.insert(nth(b, i));
    EXPECT_EQ(all.size(), 254u);
    EXPECT_EQ(all.count("198.51.100.0"), 0u);
    EXPECT_EQ(all.count("198.51.100.255"), 0u);

    const Block b16 = block("198.18.0.0/16");
    EXPECT_EQ(b16.size(), 65534u);
    EXPECT_EQ(nth(b16, 254), "198.18.0.255");  // a host of a /16, carried into the next byte
    EXPECT_EQ(nth(b16, 255), "198.18.1.0");
    EXPECT_EQ(nth(b16, 65533), "198.18.255.254");

    const Block b30 = block("192.0.2.4/30");
    EXPECT_EQ(b30.size(), 2u);
    EXPECT_EQ(nth(b30, 0), "192.0.2.5");
    EXPECT_EQ(nth(b30, 1), "192.0.2.6");

    const Block b31 = block("192.0.2.8/31");  // RFC 3021: both addresses usable
    EXPECT_EQ(b31.size(), 2u);
    EXPECT_EQ(nth(b31, 0), "192.0.2.8");
    EXPECT_EQ(nth(b31, 1), "192.0.2.9");

    const Block b32 = block("203.0.113.7/32");
    EXPECT_EQ(b32.size(), 1u);
    EXPECT_EQ(nth(b32, 0), "203.0.113.7");
    const Block bare = block("203.0.113.9");
    EXPECT_EQ(bare.len, 32);
    EXPECT_EQ(nth(bare, 0), "203.0.113.9");

    const Block b15 = block("198.18.0.0/15");
    EXPECT_EQ(b15.size(), 131070u);
    EXPECT_EQ(nth(b15, 131069), "198.19.255.254");
}

TEST(GenScenario, BlockV6) {
    const Block b120 = block("2001:db8:100::/120");
    EXPECT_EQ(b120.family, 6);
    EXPECT_EQ(b120.size(), 256u);
    EXPECT_EQ(nth(b120, 0), "2001:db8:100:0:0:0:0:0");
    EXPECT_EQ(nth(b120, 255), "2001:db8:100:0:0:0:0:ff");
    const Block b112 = block("2001:db8:100::/112");
    EXPECT_EQ(nth(b112, 0x1234), "2001:db8:100:0:0:0:0:1234");
    EXPECT_EQ(b112.size(), 65536u);
    const Block b128 = block("2001:db8::42/128");
    EXPECT_EQ(b128.size(), 1u);
    EXPECT_EQ(nth(b128, 0), "2001:db8:0:0:0:0:0:42");
    const Block b64 = block("2001:db8:1::/64");
    EXPECT_EQ(b64.size(), uint64_t{1} << 63) << "saturates";
    EXPECT_EQ(nth(b64, 0x0102030405060708ull), "2001:db8:1:0:102:304:506:708");
    const Block b32 = block("2001:db8::/32");
    EXPECT_EQ(b32.size(), uint64_t{1} << 63);
    EXPECT_EQ(nth(b32, (uint64_t{1} << 63) - 1), "2001:db8:0:0:7fff:ffff:ffff:ffff");
}

TEST(GenScenario, StreamEvents) {
    Stream s;
    s.rate = 3000;
    s.start_ns = 250'000'000;
    s.duration_ns = 500'000'000;
    EXPECT_EQ(s.events(2'000'000'000), 1500u);
    EXPECT_EQ(s.end_ns(2'000'000'000), 750'000'000u);
    EXPECT_EQ(s.event_ns(0), 250'000'000u);
    EXPECT_EQ(s.event_ns(1), 250'333'333u);
    EXPECT_EQ(s.event_ns(3), 251'000'000u);
    EXPECT_EQ(s.event_ns(1499), 250'000'000u + 499'666'666u);

    s = Stream{};
    s.rate = 1000;
    s.duration_ns = 1'000'000'000;
    EXPECT_EQ(s.events(5'000'000'000), 1000u) << "exactly rate x duration: no extra event at the end";

    s.rate = 333;  // 499.5 events in 1.5 s: the half event counts
    s.duration_ns = 1'500'000'000;
    EXPECT_EQ(s.events(5'000'000'000), 500u);

    s = Stream{};  // no duration: until the scenario ends
    s.rate = 10;
    s.start_ns = 500'000'000;
    EXPECT_EQ(s.end_ns(2'000'000'000), 2'000'000'000u);
    EXPECT_EQ(s.events(2'000'000'000), 15u);
    EXPECT_EQ(s.events(500'000'000), 0u) << "starts at the end";
    EXPECT_EQ(s.events(100'000'000), 0u) << "starts after the end";

    s = Stream{};
    s.rate = 0.5;
    EXPECT_EQ(s.events(3'000'000'000), 2u);
    EXPECT_EQ(s.event_ns(1), 2'000'000'000u);
    s.rate = 0;
    EXPECT_EQ(s.events(3'000'000'000), 0u);

    const Scenario sc = parse_ok("duration 2s\nstream a web-clients src 198.19.0.0/16 dst 198.51.100.1 rate 7 "
                                 "start 500ms duration 1s\n");
    EXPECT_EQ(sc.streams[0].events(sc.duration_ns), 7u);
}

// ----------------------------------------------- flood frames and identify

struct FloodCase {
    const char* kind;
    const char* extra;
};
const FloodCase kFloods[] = {
    {"syn-flood", ""},          {"ack-flood", ""},           {"rst-flood", ""},
    {"udp-flood", ""},          {"udp-flood", "port 9999 size 300"},
    {"reflection", "vector dns"}, {"reflection", "vector ntp"}, {"reflection", "vector memcached"},
    {"reflection", "vector ssdp"}, {"reflection", "vector cldap size 700"},
    {"icmp-flood", ""},         {"icmp-flood", "size 400"},
    {"fragment-flood", ""},     {"fragment-flood", "size 1500"},
};

TEST(GenTraffic, FloodFramesIdentifyTheirStreamAndSerial) {
    for (const int fam : {4, 6}) {
        std::string text = "duration 10s\n";
        // A filler stream first, so every flood's index is not 0.
        text += fam == 4 ? "stream pad ping-clients src 198.19.1.1 dst 198.51.100.1 rate 1\n"
                         : "stream pad ping-clients src 2001:db8:9::1 dst 2001:db8::1 rate 1\n";
        for (size_t k = 0; k < std::size(kFloods); ++k) {
            text += "stream f" + std::to_string(k) + " " + kFloods[k].kind +
                    (fam == 4 ? " src 198.18.0.0/16 dst 198.51.100.0/24" : " src 2001:db8:1::/64 dst 2001:db8:2::/120") +
                    " rate 1k " + kFloods[k].extra + "\n";
        }
        const Scenario sc = parse_ok(text);
        ASSERT_EQ(sc.streams.size(), std::size(kFloods) + 1);
        for (unsigned s = 1; s < sc.streams.size(); ++s) {
            const Stream& st = sc.streams[s];
            unsigned wrong = 0, unparsed = 0;
            std::string first_problem;
            std::set<std::string> reasons;  // why frames did not parse
            for (uint64_t i : std::initializer_list<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                                              16, 17, 99, 255, 256, 1000, 65535, 65536, 9999}) {
                const Bytes f = flood_frame(sc, s, i);
                ASSERT_FALSE(f.empty());
                // A fragment's data is rounded down to a multiple of 8 bytes (documented).
                const size_t l3 = 14 + (st.src.family == 4 ? 20u : 48u);
                const size_t want_size =
                    st.kind == Kind::fragment_flood ? l3 + (st.size - l3) / 8 * 8 : size_t{st.size};
                EXPECT_EQ(f.size(), want_size) << kind_name(st.kind) << " frame " << i;
                Seen sn;
                identify(&sc, f.data(), static_cast<uint32_t>(f.size()), sn);
                if (!sn.parsed) {
                    ++unparsed;
                    net::PacketView v;
                    reasons.insert(net::malformed_name(net::parse(f.data(), static_cast<uint32_t>(f.size()), v)));
                }
                if (sn.stream != static_cast<int>(s) || !sn.has_serial || sn.serial != i) {
                    if (!wrong++)
                        first_problem = "frame " + std::to_string(i) + ": stream " + std::to_string(sn.stream) +
                                        (sn.has_serial ? ", serial " + std::to_string(sn.serial) : ", no serial") +
                                        (sn.parsed ? "" : ", did not parse");
                }
                // The tag is where the format says, whatever the parser thinks.
                if (fam == 4) {
                    EXPECT_EQ(get16(f, 18), 0xa500 | s);
                } else {
                    EXPECT_EQ(get32(f, 14) & 0xfffff, 0xa5000u | s);
                }
            }
            EXPECT_EQ(wrong, 0u) << "IPv" << fam << " " << kind_name(st.kind) << " size " << st.size << ": "
                                 << first_problem << " (" << unparsed << " of 25 frames did not parse:"
                                 << [&] {
                                        std::string r;
                                        for (const auto& x : reasons) r += " " + x;
                                        return r;
                                    }()
                                 << ")";
        }
        // Without the scenario (or another's), a frame is not attributed.
        const Bytes f = flood_frame(sc, 1, 5);
        Seen sn;
        identify(nullptr, f.data(), static_cast<uint32_t>(f.size()), sn);
        EXPECT_EQ(sn.stream, -1);
        const Scenario small = parse_ok("duration 1s\nstream only ping-clients src 198.19.1.1 dst 198.51.100.1 rate 1\n");
        const Bytes g = flood_frame(sc, static_cast<unsigned>(sc.streams.size() - 1), 5);
        identify(&small, g.data(), static_cast<uint32_t>(g.size()), sn);
        EXPECT_EQ(sn.stream, -1) << "a tag past the scenario's streams";
    }
}

TEST(GenTraffic, FloodFramesAreDeterministicAndVary) {
    const Scenario sc = parse_ok(
        "duration 1s\nseed 9\nstream s syn-flood src 198.18.0.0/16 dst 198.51.100.0/24 rate 1k sources 3\n");
    EXPECT_EQ(flood_frame(sc, 0, 7), flood_frame(sc, 0, 7));
    EXPECT_NE(flood_frame(sc, 0, 7), flood_frame(sc, 0, 8));
    std::set<std::string> srcs;
    for (uint64_t i = 0; i < 30; ++i) {
        const Bytes f = flood_frame(sc, 0, i);
        srcs.insert(addr_str(f.data() + 26, 4));
        EXPECT_EQ(addr_str(f.data() + 30, 4), nth(sc.streams[0].dst, i % 254));
    }
    EXPECT_EQ(srcs, (std::set<std::string>{"198.18.0.1", "198.18.0.2", "198.18.0.3"}));
}

// --------------------------------------------------------------- Live

// A fake box between Live's two sides. Every frame Live sends goes INTO the
// box on Out.side; what the box lets through comes out of the other side
// and is handed to Live::receive(other side). The box may also answer on its
// own (out of the side the frame came in on).
struct Box {
    // Return false to drop; may push frames the box itself sends out of a side.
    std::function<bool(const Out& in, std::vector<std::pair<Side, Bytes>>& answers)> filter =
        [](const Out&, std::vector<std::pair<Side, Bytes>>&) { return true; };
    uint64_t forwarded = 0, dropped = 0, answered = 0;

    void carry(Live& live, std::vector<Out>& out, uint64_t now) {
        std::deque<Out> q(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
        out.clear();
        std::vector<Out> more;
        while (!q.empty()) {
            const Out o = std::move(q.front());
            q.pop_front();
            std::vector<std::pair<Side, Bytes>> answers;
            const bool pass = filter(o, answers);
            more.clear();
            if (pass) {
                ++forwarded;
                live.receive(other(o.side), o.bytes.data(), static_cast<uint32_t>(o.bytes.size()), now, more);
            } else {
                ++dropped;
            }
            for (auto& [side, b] : answers) {
                ++answered;
                live.receive(side, b.data(), static_cast<uint32_t>(b.size()), now, more);
            }
            for (Out& m : more) q.push_back(std::move(m));
        }
    }
};

void run(Live& live, Box& box, uint64_t until_ns, uint64_t step_ns) {
    std::vector<Out> out;
    for (uint64_t now = 0; now <= until_ns; now += step_ns) {
        live.tick(now, out, 1u << 20);
        box.carry(live, out, now);
    }
}

const char* const kLiveScenario =
    "duration 1s\n"
    "stream web web-clients src 198.19.0.0/16 dst 198.51.100.10 rate 20 sources 20\n"
    "stream dns dns-clients src 198.51.100.32/28 dst 192.0.2.53 rate 10\n"
    "stream ping ping-clients src 198.19.200.1 dst 198.51.100.10 rate 5\n"
    "stream syn syn-flood src 198.18.0.0/16 dst 198.51.100.10 port 443 rate 1k\n";
constexpr unsigned kWeb = 0, kDns = 1, kPing = 2, kSyn = 3;

bool is_stream(const Bytes& f, unsigned s) {  // IPv4 tag
    return f.size() > 20 && get16(f, 12) == 0x0800 && get16(f, 18) == (0xa500 | s);
}

void expect_legit_complete(const Live& live) {
    const auto& r = live.results();
    EXPECT_EQ(r[kWeb].sessions, 20u);
    EXPECT_EQ(r[kWeb].handshakes, r[kWeb].sessions);
    EXPECT_EQ(r[kWeb].completed, r[kWeb].sessions);
    EXPECT_EQ(r[kWeb].requests, r[kWeb].sessions);
    EXPECT_EQ(r[kWeb].failed, 0u);
    EXPECT_EQ(r[kDns].sessions, 10u);
    EXPECT_EQ(r[kDns].completed, r[kDns].sessions);
    EXPECT_EQ(r[kDns].requests, r[kDns].sessions);
    EXPECT_EQ(r[kPing].sessions, 5u);
    EXPECT_EQ(r[kPing].completed, r[kPing].sessions);
    EXPECT_EQ(r[kPing].requests, r[kPing].sessions);
    for (unsigned s : {kWeb, kDns, kPing}) {
        EXPECT_GT(r[s].delivered_packets, 0u);
        EXPECT_LE(r[s].delivered_packets, r[s].sent_packets);
    }
}

TEST(GenLive, PlainWireCompletesEverything) {
    const Scenario sc = parse_ok(kLiveScenario);
    Live live(sc);
    Box box;
    run(live, box, 1'000'000'000, 1'000'000);
    expect_legit_complete(live);
    const auto& r = live.results();
    EXPECT_EQ(r[kWeb].auth_challenges, 0u);
    EXPECT_EQ(r[kWeb].sent_packets, 20u * 8) << "both ends: SYN, SYN-ACK, ACK, request, answer, FIN, FIN, ACK";
    EXPECT_EQ(r[kWeb].delivered_packets, 20u * 8) << "both ends' frames arrive";
    EXPECT_EQ(r[kDns].delivered_packets, 10u * 2);
    EXPECT_EQ(r[kSyn].sent_packets, 1000u);
    ASSERT_EQ(r[kSyn].arrived.size(), 1000u);
    EXPECT_TRUE(std::all_of(r[kSyn].arrived.begin(), r[kSyn].arrived.end(), [](uint8_t a) { return a != 0; }));
    EXPECT_EQ(r[kSyn].first_lost(), -1);
    EXPECT_EQ(r[kSyn].delivered_packets, 1000u);
    ASSERT_EQ(r[kSyn].sent_ns.size(), 1000u);
    EXPECT_EQ(r[kSyn].sent_ns[0], 0u);
    EXPECT_EQ(r[kSyn].sent_ns[999], 999'000'000u) << "sent on the 1 ms step it was due";
    EXPECT_EQ(live.untagged_outside() + live.untagged_inside(), 0u);
    EXPECT_EQ(live.cookie_synacks(), 0u);
    EXPECT_TRUE(live.done(1'000'000'000));
    EXPECT_EQ(box.dropped, 0u);
}

TEST(GenLive, DroppedFloodIsLostFromItsFirstPacket) {
    const Scenario sc = parse_ok(kLiveScenario);
    Live live(sc);
    Box box;
    box.filter = [](const Out& o, std::vector<std::pair<Side, Bytes>>&) { return !is_stream(o.bytes, kSyn); };
    run(live, box, 1'000'000'000, 1'000'000);
    expect_legit_complete(live);
    const auto& r = live.results();
    EXPECT_EQ(r[kSyn].sent_packets, 1000u);
    EXPECT_EQ(r[kSyn].delivered_packets, 0u);
    EXPECT_EQ(r[kSyn].first_lost(), 0);
    EXPECT_EQ(box.dropped, 1000u);
}

TEST(GenLive, CookieAuthenticationIsAnsweredAndSessionsComplete) {
    const Scenario sc = parse_ok(kLiveScenario);
    Live live(sc);
    Box box;
    // Per client source: the cookie it was challenged with, then whether it
    // answered with the matching RST.
    std::map<std::array<uint8_t, 4>, uint32_t> challenged;
    std::set<std::array<uint8_t, 4>> authenticated;
    uint64_t cookies_sent = 0, rsts_accepted = 0, bad_rsts = 0;
    box.filter = [&](const Out& o, std::vector<std::pair<Side, Bytes>>& answers) {
        if (o.side != Side::outside) return true;  // the clinic side is trusted
        net::PacketView v;
        if (net::parse(o.bytes.data(), static_cast<uint32_t>(o.bytes.size()), v) != net::Malformed::none ||
            v.ip_version != 4 || v.l4_proto != net::ip_proto::tcp)
            return true;
        std::array<uint8_t, 4> src;
        std::memcpy(src.data(), v.src, 4);
        if (authenticated.count(src)) return true;
        const uint8_t* th = o.bytes.data() + v.l4_off;
        const uint32_t seq = uint32_t{th[4]} << 24 | uint32_t{th[5]} << 16 | uint32_t{th[6]} << 8 | th[7];
        using namespace net::tcp_flag;
        if ((v.tcp_flags & (syn | ack)) == syn) {
            // Answer with a SYN-ACK acknowledging a cookie instead of seq + 1.
            const uint32_t cookie = seq + 0x01000000u;
            challenged[src] = cookie;
            Tcp t;
            t.sport = v.dport;
            t.dport = v.sport;
            t.flags = syn | ack;
            t.seq = 0x5eed0000u;
            t.ack = cookie;
            t.options = opt::mss(1460);
            Ipv4 h;
            std::memcpy(h.src.data(), v.dst, 4);
            std::memcpy(h.dst.data(), v.src, 4);
            h.proto = net::ip_proto::tcp;
            h.id = 0;  // untagged: the box's own frame
            Bytes f = frame4(h, tcp(t));
            fill_l4_checksum(f);
            answers.emplace_back(Side::outside, std::move(f));
            ++cookies_sent;
            return false;
        }
        if (v.tcp_flags & rst) {
            auto it = challenged.find(src);
            if (it != challenged.end() && it->second == seq) {
                authenticated.insert(src);
                ++rsts_accepted;
            } else {
                ++bad_rsts;
            }
            return false;  // the RST is for the box, not the server
        }
        return false;  // anything else from an unauthenticated source
    };
    run(live, box, 1'000'000'000, 1'000'000);
    expect_legit_complete(live);
    const auto& r = live.results();
    EXPECT_EQ(r[kWeb].auth_challenges, r[kWeb].sessions);
    EXPECT_EQ(rsts_accepted, r[kWeb].sessions) << "each client answered its cookie with RST seq = cookie";
    EXPECT_EQ(bad_rsts, 0u);
    EXPECT_EQ(authenticated.size(), 20u);
    EXPECT_EQ(live.cookie_synacks(), cookies_sent) << "every cookie SYN-ACK reached the outside end";
    EXPECT_EQ(live.untagged_outside(), cookies_sent);
    EXPECT_GE(r[kWeb].handshake_ns_max, 8'000'000u) << "the retry after a cookie waits (8 ms, as Linux)";
    // The spoofed SYNs were all challenged and none reached the server.
    EXPECT_EQ(r[kSyn].delivered_packets, 0u);
    EXPECT_EQ(r[kSyn].first_lost(), 0);
    EXPECT_TRUE(live.done(1'000'000'000));
}

}  // namespace
