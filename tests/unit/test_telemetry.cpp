// Counters, drop-reason table and the reports built from them.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "telemetry.h"

namespace {

using namespace triage::telemetry;

TEST(DropReasons, NamesAreUniqueAndFollowTheParser) {
    std::set<std::string> names;
    for (unsigned i = 1; i < kDropCount; ++i) {
        const auto d = static_cast<Drop>(i);
        EXPECT_TRUE(names.insert(drop_name(d)).second) << drop_name(d);
        EXPECT_STRNE(drop_description(d), "");
    }
    for (unsigned i = 1; i < triage::net::kMalformedCount; ++i) {
        const auto m = static_cast<triage::net::Malformed>(i);
        EXPECT_STREQ(drop_name(drop_from(m)), triage::net::malformed_name(m));
    }
    EXPECT_STREQ(drop_name(Drop::tx_full), "tx_full");
    EXPECT_STREQ(drop_name(static_cast<Drop>(kDropCount)), "invalid");
}

TEST(Totals, SumsWorkers) {
    WorkerCounters a, b;
    a.rx_packets[0].add(10);
    b.rx_packets[0].add(5);
    a.fwd_packets[0].add(9);
    b.fwd_packets[0].add(4);
    a.drops[static_cast<unsigned>(Drop::land)].add();
    a.drops_by_dir[0].add();
    b.drops[static_cast<unsigned>(Drop::land)].add();
    b.drops_by_dir[0].add();
    b.outbound_malformed.add(3);
    Totals t;
    t.add(a);
    t.add(b);
    EXPECT_EQ(t.rx_packets[0], 15u);
    EXPECT_EQ(t.fwd_packets[0], 13u);
    EXPECT_EQ(t.drops[static_cast<unsigned>(Drop::land)], 2u);
    EXPECT_EQ(t.dropped(), 2u);
    EXPECT_EQ(t.outbound_malformed, 3u);
}

TEST(Report, JsonAndSummaryCarryEveryCounter) {
    WorkerCounters w;
    w.rx_packets[0].add(7);
    w.fwd_packets[0].add(6);
    w.drops[static_cast<unsigned>(Drop::tcp_syn_fin)].add();
    w.drops_by_dir[0].add();
    w.steered_out.add(2);
    Report r;
    r.version = "t";
    r.forwarding_seconds = 1.5;
    r.ports.push_back({"outside", 0, 7, 0, 420, 0, 0, 0, 0, 0});
    r.workers.push_back({1, 0, &w});
    r.sum();
    std::ostringstream js;
    write_json(js, r);
    const std::string j = js.str();
    EXPECT_NE(j.find("\"inbound\": {\"rx\": 7, \"rx_bytes\": 0, \"forwarded\": 6"), std::string::npos) << j;
    EXPECT_NE(j.find("\"tcp_syn_fin\": 1"), std::string::npos);
    EXPECT_NE(j.find("\"steered_out\": 2"), std::string::npos);
    for (unsigned i = 1; i < kDropCount; ++i)
        EXPECT_NE(j.find(std::string("\"") + drop_name(static_cast<Drop>(i)) + "\": "), std::string::npos);
    std::ostringstream sm;
    write_summary(sm, r);
    EXPECT_NE(sm.str().find("tcp_syn_fin"), std::string::npos);
    EXPECT_EQ(sm.str().find("land"), std::string::npos) << "zero reasons are left out";
}

TEST(Report, StatsLineRatesAndTopDrop) {
    Totals prev, now;
    now.rx_packets[0] = 2'000'000;
    now.fwd_packets[0] = 1'000'000;
    now.drops_by_dir[0] = 1'000'000;
    now.drops[static_cast<unsigned>(Drop::tcp_null)] = 1'000'000;
    const std::string s = stats_line(now, prev, 2.0);
    EXPECT_NE(s.find("in: rx 1.00Mpps fwd 500.0kpps"), std::string::npos) << s;
    EXPECT_NE(s.find("top drop tcp_null 500.0kpps"), std::string::npos) << s;
}

}  // namespace
