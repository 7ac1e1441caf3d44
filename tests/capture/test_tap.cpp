// lib/capture against a real EAL (no NIC, no hugepages): the always-on ring
// keeps the newest frames and evicts the oldest without running out of
// mbufs, the manual ring counts what it cannot take, and an incident file
// gets the history of its own target only, as pcapng blocks with comments.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capture.h"
#include "drop_reason.h"
#include "gen.h"

using namespace triage;

namespace {

rte_mempool* g_pool = nullptr;

rte_mbuf* frame(uint8_t last_octet) {
    gen::Ipv4 h;
    h.src = {203, 0, 113, last_octet};
    h.dst = {198, 51, 100, 10};
    gen::Tcp t;
    t.dport = 443;
    const gen::Bytes f = gen::frame4(h, gen::tcp(t, gen::filler(100)));
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
    return m;
}

// The Enhanced Packet Blocks of a pcapng file: (captured length, original
// length, source's last octet, comment).
struct Block {
    uint32_t cap, orig;
    uint8_t src_last;
    std::string comment;
};
std::vector<Block> read_blocks(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<Block> out;
    size_t at = 0;
    while (at + 12 <= s.size()) {
        uint32_t type, len;
        std::memcpy(&type, s.data() + at, 4);
        std::memcpy(&len, s.data() + at + 4, 4);
        if (len < 12 || at + len > s.size()) break;
        if (type == 6) {
            Block b{};
            std::memcpy(&b.cap, s.data() + at + 20, 4);
            std::memcpy(&b.orig, s.data() + at + 24, 4);
            b.src_last = static_cast<uint8_t>(s[at + 28 + 14 + 15]);
            size_t o = at + 28 + ((b.cap + 3) & ~3u);
            while (o + 4 <= at + len - 4) {
                uint16_t code, olen;
                std::memcpy(&code, s.data() + o, 2);
                std::memcpy(&olen, s.data() + o + 2, 2);
                if (code == 0) break;
                if (code == 1) b.comment.assign(s.data() + o + 4, olen);
                o += 4 + ((olen + 3u) & ~3u);
            }
            out.push_back(b);
        }
        at += len;
    }
    return out;
}

}  // namespace

TEST(CaptureTap, TheRingKeepsTheNewestAndNeverRunsDry) {
    capture::Settings s;
    s.ring = 16;
    s.manual_ring = 8;
    capture::Tap tap(0, 0, s);
    rte_mbuf* m = frame(1);
    capture::Tag t;
    t.entry = 0;
    t.decided = 1;
    for (unsigned i = 0; i < 100; ++i) tap.sample(m, 54, t, 0, 0, rte_rdtsc());
    EXPECT_EQ(tap.sampled(), 100u);
    EXPECT_EQ(tap.held(), 16u) << "exactly the configured size";
    EXPECT_EQ(tap.evicted(), 84u);
    EXPECT_EQ(tap.no_mbuf(), 0u) << "a full ring evicts; it never drains the pool";
    for (unsigned i = 0; i < 20; ++i) tap.take(m, 54, t, 0, 0, rte_rdtsc());
    EXPECT_EQ(tap.manual_taken(), 8u);
    EXPECT_EQ(tap.manual_lost(), 12u);
    rte_pktmbuf_free(m);
}

TEST(CaptureTap, AnIncidentFileGetsItsTargetsHistoryWithComments) {
    capture::Settings s;
    s.ring = 64;
    capture::Tap tap(1, 0, s);
    // 40 frames toward entry 0 (sources .0-.39), interleaved with 40 toward
    // entry 1; the last 64 stay in the ring.
    for (uint8_t i = 0; i < 40; ++i) {
        rte_mbuf* a = frame(i);
        rte_mbuf* b = frame(200);
        capture::Tag ta, tb;
        ta.entry = 0;
        ta.decided = 1;
        ta.drop = static_cast<uint8_t>(telemetry::Drop::syn_cookie);
        tb.entry = 1;
        tb.decided = 1;
        tap.sample(a, 54, ta, 0, 0, rte_rdtsc());
        tap.sample(b, 54, tb, 0, 0, rte_rdtsc());
        rte_pktmbuf_free(a);
        rte_pktmbuf_free(b);
    }
    capture::Recorder rec({&tap}, s);
    rec.set_names({"ehr-portal", "telehealth"});
    char path[] = "/tmp/triage-tap-XXXXXX";
    ASSERT_NE(mkdtemp(path), nullptr);
    const std::string file = std::string(path) + "/incident-1.pcapng";
    rec.open_incident(1, 0, file, "test incident");
    EXPECT_THROW(rec.open_incident(2, 0, file, "again"), std::runtime_error) << "a capture never overwrites";
    EXPECT_EQ(rec.close_incident(1), 32u);
    const auto blocks = read_blocks(file);
    ASSERT_EQ(blocks.size(), 32u) << "the newest 64 frames, of which 32 toward the target";
    for (size_t k = 0; k < blocks.size(); ++k) {
        EXPECT_EQ(blocks[k].cap, 54u);
        EXPECT_EQ(blocks[k].orig, 154u) << "the original length survives the header-only copy";
        EXPECT_EQ(blocks[k].src_last, 8 + k) << "oldest first, the first 8 evicted";
        EXPECT_EQ(blocks[k].comment, "inbound to ehr-portal: dropped (syn_cookie)");
    }
    std::remove(file.c_str());
    rmdir(path);
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    const std::string prefix = "cap_tap_" + std::to_string(getpid());
    std::vector<std::string> args = {"test_tap", "-l", "0", "--no-pci", "--no-huge", "-m", "128",
                                     "--file-prefix", prefix, "--no-telemetry", "--log-level", "lib.eal:error"};
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0) {
        std::fprintf(stderr, "EAL initialisation failed\n");
        return 1;
    }
    g_pool = rte_pktmbuf_pool_create("tap_test", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    const int rc = g_pool ? RUN_ALL_TESTS() : 1;
    rte_mempool_free(g_pool);
    rte_eal_cleanup();
    std::error_code ec;  // the EAL's runtime directory of this prefix
    std::filesystem::remove_all("/var/run/dpdk/" + prefix, ec);
    return rc;
}
