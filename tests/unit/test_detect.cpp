// lib/detect: the detector driven with synthetic per-prefix counts, 20 ms
// samples, no EAL.
#include <gtest/gtest.h>

#include <set>

#include "detect.h"

using namespace triage::detect;

namespace {

struct Rig {
    Detector d;
    std::vector<EntryTotals> cum{1};
    double t = 0;
    std::vector<Event> ev;
    explicit Rig(Mode m = Mode::auto_, double hold = 2) : d(Tuning{3.0, 0.5, 0.5, 2, 300, hold}) {
        Entry e;
        e.name = "portal";
        e.prefix = "198.51.100.10/32";
        e.mode = m;
        std::vector<std::string> names(kClasses);
        names[0] = "syn", names[1] = "tcp", names[2] = "udp", names[3] = "icmp", names[4] = "fragment", names[5] = "dns";
        d.set_entries({e}, names);
    }
    // One 20 ms sample at these per-second rates.
    void step(double syn, double tcp, double dns = 0) {
        t += 0.02;
        cum[0].packets[kSyn] += static_cast<uint64_t>(syn * 0.02);
        cum[0].packets[kTcp] += static_cast<uint64_t>(tcp * 0.02);
        cum[0].packets[5] += static_cast<uint64_t>(dns * 0.02);
        d.observe(t, static_cast<int64_t>(t * 1000), cum, ev);
    }
    size_t count(Event::Kind k) const {
        size_t n = 0;
        for (const Event& e : ev) n += e.kind == k;
        return n;
    }
};

}  // namespace

TEST(Detect, SynFloodOpensWithinTwoSamplesAndMitigates) {
    Rig r;
    for (int i = 0; i < 100; ++i) r.step(40, 200);  // two seconds of normal portal traffic
    EXPECT_EQ(r.count(Event::opened), 0u);
    r.step(20000, 200);
    EXPECT_EQ(r.count(Event::opened), 0u) << "one sample is not an incident";
    r.step(20000, 200);
    ASSERT_EQ(r.count(Event::opened), 1u);
    ASSERT_EQ(r.count(Event::mitigate_on), 1u);
    const Incident& in = r.d.incidents().at(0);
    ASSERT_EQ(in.vectors.size(), 1u);
    EXPECT_EQ(in.vectors[0].cls, kSyn);
    EXPECT_GT(in.vectors[0].confidence, 0.95);
    EXPECT_EQ(r.d.mitigated(), std::vector<std::string>{"portal"});
}

TEST(Detect, LegitSurgeOfCompletedHandshakesIsNoIncident) {
    Rig r;
    for (int i = 0; i < 50; ++i) r.step(40, 200);
    // Monday morning: 50x the SYNs, each with its handshake and request.
    for (int i = 0; i < 200; ++i) r.step(2000, 9000);
    EXPECT_EQ(r.count(Event::opened), 0u);
}

TEST(Detect, VectorsSentTogetherDoNotDiluteEachOther) {
    Rig r;
    for (int i = 0; i < 50; ++i) r.step(40, 2000);
    // UDP, ICMP and fragments at 30k/s each (above the built-in 20k UDP and
    // 1k ICMP/fragment floors) with the portal's usual TCP: each is a third
    // of the traffic, which alone would not name them.
    for (int i = 0; i < 5; ++i) {
        r.cum[0].packets[kUdp] += 600;
        r.cum[0].packets[kIcmp] += 600;
        r.cum[0].packets[kFragment] += 600;
        r.step(40, 2000);
    }
    ASSERT_EQ(r.count(Event::opened), 1u);
    const Incident& in = r.d.incidents().at(0);
    std::set<unsigned> seen;
    for (const VectorSeen& v : in.vectors) {
        seen.insert(v.cls);
        EXPECT_GT(v.confidence, 0.6) << v.cls;  // each alone would be about 0.25
    }
    EXPECT_EQ(seen, (std::set<unsigned>{kUdp, kIcmp, kFragment}));
}

TEST(Detect, ClosesAfterHoldDownAndPulsesDoNotFlap) {
    Rig r(Mode::auto_, 2);
    for (int i = 0; i < 50; ++i) r.step(40, 200);
    for (int p = 0; p < 4; ++p) {  // 1 s on, 1 s off: shorter than the hold-down
        for (int i = 0; i < 50; ++i) r.step(20000, 200);
        for (int i = 0; i < 50; ++i) r.step(40, 200);
    }
    EXPECT_EQ(r.count(Event::opened), 1u);
    EXPECT_EQ(r.count(Event::mitigate_on), 1u);
    EXPECT_EQ(r.count(Event::mitigate_off), 0u);
    for (int i = 0; i < 60; ++i) r.step(40, 200);  // past 2 s quiet in all
    EXPECT_EQ(r.count(Event::closed), 1u);
    EXPECT_EQ(r.count(Event::mitigate_off), 1u);
    EXPECT_TRUE(r.d.mitigated().empty());
    EXPECT_FALSE(r.d.incidents().at(0).open);
}

TEST(Detect, MonitorModeRecordsButNeverMitigates) {
    Rig r(Mode::monitor);
    for (int i = 0; i < 10; ++i) r.step(40, 200);
    for (int i = 0; i < 10; ++i) r.step(0, 0, 30000);
    EXPECT_EQ(r.count(Event::opened), 1u);
    EXPECT_EQ(r.count(Event::mitigate_on), 0u);
    EXPECT_EQ(r.d.incidents().at(0).vectors.at(0).cls, 5);
    const std::string j = incident_json(r.d.incidents().at(0), std::vector<std::string>{"syn", "tcp", "udp", "icmp", "fragment", "dns"}, "open");
    EXPECT_NE(j.find("\"vector\": \"dns-reflection\""), std::string::npos) << j;
    EXPECT_NE(incident_markdown(r.d.incidents().at(0), {}).find("# Incident 1: portal"), std::string::npos);
}

TEST(Detect, BaselineRaisesTheThresholdAboveTheFloor) {
    Rig r;
    // A portal that normally sees 1500 SYN/s (above the 1000 floor) with its
    // handshakes learns that: 1500 is not an attack, 3x the baseline would be.
    for (int i = 0; i < 100; ++i) r.step(1500, 6000);
    EXPECT_NEAR(r.d.baseline("portal", kSyn), 1500, 100);
    EXPECT_EQ(r.count(Event::opened), 0u);
}
