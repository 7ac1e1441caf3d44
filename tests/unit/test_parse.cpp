// Unit tests for the EAL-free frame parser in lib/net.
//
// The malformed table at the top is the contract: every Malformed reason has
// at least one frame that yields it (EveryReason fails for a reason added to
// TRIAGE_MALFORMED_REASONS without a frame here). The TESTs below it check the
// well-formed paths and the PacketView fields.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <random>
#include <vector>

#include "net.h"
#include "packet_builder.h"
#include "view_invariants.h"

namespace triage::net {
// gtest prints enum values as numbers; names make failures readable.
void PrintTo(Malformed m, std::ostream* os) {
    *os << malformed_name(m);
}
}  // namespace triage::net

namespace {

using namespace triage::net;
using namespace triage::test;

constexpr uint8_t kTcp = ip_proto::tcp;
constexpr uint8_t kUdp = ip_proto::udp;
constexpr uint8_t kIcmp = ip_proto::icmp;
constexpr uint8_t kIcmp6 = ip_proto::icmpv6;
constexpr uint8_t kHbh = ip_proto::hop_by_hop;
constexpr uint8_t kRouting = ip_proto::ipv6_routing;
constexpr uint8_t kFrag = ip_proto::ipv6_fragment;
constexpr uint8_t kDestOpts = ip_proto::ipv6_dest_opts;
constexpr uint8_t kNoNext = ip_proto::ipv6_no_next;

using namespace tcp_flag;

constexpr Addr4 kLoopback4{127, 0, 0, 1};
constexpr Addr4 kMulticast4{224, 0, 0, 5};
constexpr Addr4 kMulticastTop4{239, 255, 255, 250};
constexpr Addr4 kBroadcast4{255, 255, 255, 255};
constexpr Addr4 kAny4{0, 0, 0, 0};
constexpr Addr6 kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr Addr6 kAllNodes6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr Addr6 kGlobalMcast6{0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01};
constexpr Addr6 kUnspecified6{};

struct Parsed {
    Malformed result;
    PacketView view;
};

// Parse from an exact-size heap copy, so ASan reports any read past the frame.
Parsed run(const Bytes& frame, ParseOptions opt = {}) {
    auto buf = std::make_unique<uint8_t[]>(frame.size());
    if (!frame.empty()) std::memcpy(buf.get(), frame.data(), frame.size());
    Parsed p{};
    p.result = parse(buf.get(), static_cast<uint32_t>(frame.size()), p.view, opt);
    return p;
}

Bytes head(const Bytes& b, size_t n) {
    return Bytes(b.begin(), b.begin() + long(n));
}

uint16_t size16(const Bytes& b) {
    return static_cast<uint16_t>(b.size());
}

bool same4(const uint8_t* a, const Addr4& b) {
    return std::memcmp(a, b.data(), 4) == 0 &&
           std::all_of(a + 4, a + 16, [](uint8_t x) { return x == 0; });
}

bool same6(const uint8_t* a, const Addr6& b) {
    return std::memcmp(a, b.data(), 16) == 0;
}

// n destination-options headers in a row, the last one pointing at `last_next`.
Bytes dest_opts_chain(unsigned n, uint8_t last_next) {
    Bytes out;
    for (unsigned i = 0; i < n; ++i)
        out = cat(out, ipv6_ext(i + 1 == n ? last_next : kDestOpts, {}));
    return out;
}

Bytes tcp_with_options(const Bytes& options, uint8_t flags = syn) {
    return tcp({.flags = flags, .options = options});
}

// ------------------------------------------------------------ malformed table

struct Case {
    std::string name;
    Malformed want;
    Bytes frame;
    bool verify_checksum = true;
};

std::vector<Case> build_malformed_cases() {
    using M = Malformed;
    const Bytes ack_seg = tcp({.flags = ack});
    std::vector<Case> c;

    // L2
    c.push_back({"empty", M::l2_truncated, {}});
    c.push_back({"runt_13_bytes", M::l2_truncated, head(frame4({}, tcp({})), 13)});
    c.push_back({"vlan_tag_cut", M::l2_truncated, head(eth(ether_type::arp, {Vlan{}}), 17)});
    c.push_back(
        {"qinq_inner_tag_cut", M::l2_truncated,
         head(eth(ether_type::ipv4, {{ether_type::qinq, 10}, {ether_type::vlan, 20}}), 21)});
    c.push_back({"three_tags", M::l2_too_many_tags,
                 frame4({}, tcp({}),
                        {{ether_type::qinq, 10}, {ether_type::vlan, 20}, {ether_type::vlan, 30}})});
    c.push_back(
        {"three_tags_9100", M::l2_too_many_tags,
         frame4(
             {}, tcp({}),
             {{ether_type::qinq_old, 1}, {ether_type::qinq_old, 2}, {ether_type::qinq_old, 3}})});

    // IPv4 header
    c.push_back({"ipv4_no_header", M::ipv4_truncated, eth(ether_type::ipv4)});
    c.push_back({"ipv4_19_bytes", M::ipv4_truncated, head(frame4({}, tcp({})), 14 + 19)});
    c.push_back(
        {"vlan_ipv4_19_bytes", M::ipv4_truncated, head(frame4({}, tcp({}), {Vlan{}}), 18 + 19)});
    c.push_back({"ipv4_version_6", M::ipv4_bad_version, frame4({.version = 6}, tcp({}))});
    c.push_back({"ipv4_version_0", M::ipv4_bad_version, frame4({.version = 0}, tcp({}))});
    c.push_back({"ipv4_ihl_4", M::ipv4_bad_ihl, frame4({.ihl = 4}, tcp({}))});
    c.push_back({"ipv4_ihl_0", M::ipv4_bad_ihl, frame4({.ihl = 0}, tcp({}))});
    c.push_back(
        {"ipv4_ihl_past_frame", M::ipv4_bad_ihl, frame4({.proto = kUdp, .ihl = 15}, udp({}))});
    c.push_back({"ipv4_total_below_20", M::ipv4_bad_length, frame4({.total_length = 19}, tcp({}))});
    c.push_back({"ipv4_total_below_ihl", M::ipv4_bad_length,
                 frame4({.options = {1, 1, 1, 1}, .total_length = 22}, tcp({}))});
    c.push_back({"ipv4_total_past_frame", M::ipv4_bad_length,
                 frame4({.total_length = 20 + 20 + 1}, tcp({}))});
    c.push_back(
        {"ipv4_opt_len_1", M::ipv4_bad_options, frame4({.options = {0x83, 1, 0, 0}}, tcp({}))});
    c.push_back(
        {"ipv4_opt_len_0", M::ipv4_bad_options, frame4({.options = {0x94, 0, 0, 0}}, tcp({}))});
    c.push_back({"ipv4_opt_overruns_header", M::ipv4_bad_options,
                 frame4({.options = {7, 12, 4, 0}}, tcp({}))});
    c.push_back({"ipv4_opt_overruns_after_nops", M::ipv4_bad_options,
                 frame4({.options = {1, 1, 0x44, 8, 5, 0, 0, 0}}, tcp({}))});
    c.push_back({"ipv4_opt_kind_in_last_byte", M::ipv4_bad_options,
                 frame4({.options = {1, 1, 1, 0x44}}, tcp({}))});
    c.push_back(
        {"ipv4_bad_checksum", M::ipv4_bad_checksum, frame4({.corrupt_checksum = true}, tcp({}))});
    c.push_back({"ipv4_bad_checksum_with_options", M::ipv4_bad_checksum,
                 frame4({.options = {0x94, 4, 0, 0}, .corrupt_checksum = true}, tcp({}))});

    // IPv6 header and extension headers
    c.push_back({"ipv6_no_header", M::ipv6_truncated, eth(ether_type::ipv6)});
    c.push_back({"ipv6_39_bytes", M::ipv6_truncated, head(frame6({}, tcp({})), 14 + 39)});
    c.push_back({"ipv6_version_4", M::ipv6_bad_version, frame6({.version = 4}, tcp({}))});
    c.push_back(
        {"ipv6_payload_past_frame", M::ipv6_bad_length, frame6({.payload_length = 21}, tcp({}))});
    c.push_back({"ipv6_ext_fewer_than_8_bytes", M::ipv6_ext_truncated,
                 frame6({.next = kDestOpts}, Bytes{kTcp, 0, 0, 0})});
    c.push_back({"ipv6_frag_header_cut", M::ipv6_ext_truncated,
                 frame6({.next = kFrag}, head(ipv6_frag(kTcp, 0, false), 6))});
    c.push_back({"ipv6_hbh_len_past_payload", M::ipv6_ext_truncated,
                 frame6({.next = kHbh}, cat(ipv6_ext(kTcp, {}, 3), tcp({})))});
    c.push_back({"ipv6_second_ext_past_payload", M::ipv6_ext_truncated,
                 frame6({.next = kHbh}, cat(ipv6_ext(kRouting, {}), ipv6_ext(kTcp, {4}, 1)))});
    c.push_back({"ipv6_nine_ext_headers", M::ipv6_ext_too_many,
                 frame6({.next = kDestOpts}, cat(dest_opts_chain(9, kTcp), tcp({})))});
    c.push_back(
        {"ipv6_hbh_and_eight_ext_headers", M::ipv6_ext_too_many,
         frame6({.next = kHbh}, cat(ipv6_ext(kDestOpts, {}), dest_opts_chain(8, kTcp), tcp({})))});
    c.push_back(
        {"ipv6_hbh_after_destopts", M::ipv6_ext_order,
         frame6({.next = kDestOpts}, cat(ipv6_ext(kHbh, {}), ipv6_ext(kTcp, {}), tcp({})))});
    c.push_back({"ipv6_two_hbh", M::ipv6_ext_order,
                 frame6({.next = kHbh}, cat(ipv6_ext(kHbh, {}), ipv6_ext(kTcp, {}), tcp({})))});
    c.push_back({"ipv6_hbh_tlv_overrun", M::ipv6_bad_options,
                 frame6({.next = kHbh}, cat(ipv6_ext(kTcp, {1, 5, 0, 0, 0, 0}), tcp({})))});
    c.push_back({"ipv6_destopts_type_in_last_byte", M::ipv6_bad_options,
                 frame6({.next = kDestOpts}, cat(ipv6_ext(kTcp, {1, 2, 0, 0, 0, 5}), tcp({})))});
    c.push_back(
        {"ipv6_destopts_overrun_second_block", M::ipv6_bad_options,
         frame6({.next = kDestOpts},
                cat(ipv6_ext(kTcp, {1, 4, 0, 0, 0, 0, 0xc2, 7, 0, 0, 0, 0, 0, 0}), tcp({})))});
    c.push_back({"ipv6_rh0", M::ipv6_rh0,
                 frame6({.next = kRouting}, cat(ipv6_routing(kTcp, 0, 1), tcp({})))});
    c.push_back(
        {"ipv6_rh0_after_hbh", M::ipv6_rh0,
         frame6({.next = kHbh}, cat(ipv6_ext(kRouting, {}), ipv6_routing(kTcp, 0, 0), tcp({})))});

    // Fragments
    c.push_back({"v4_evil_bit", M::frag_bad, frame4({.frag = kEvil}, ack_seg)});
    c.push_back({"v4_evil_bit_on_fragment", M::frag_bad,
                 frame4({.frag = kEvil | kMF}, tcp({.flags = ack}, filler(4)))});
    c.push_back({"v4_mf_payload_12", M::frag_bad,
                 frame4({.proto = kUdp, .frag = kMF}, udp({}, filler(4)))});
    c.push_back({"v4_mf_later_payload_13", M::frag_bad,
                 frame4({.proto = kUdp, .frag = kMF | 10}, filler(13))});
    c.push_back({"v6_frag_reserved_bits", M::frag_bad,
                 frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 0, true, 1), tcp({}, filler(4))))});
    c.push_back({"v6_atomic_frag_reserved_bits", M::frag_bad,
                 frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 0, false, 2), tcp({})))});
    c.push_back({"v6_mf_payload_12", M::frag_bad,
                 frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 0, true), udp({}, filler(4))))});
    c.push_back(
        {"v4_ping_of_death", M::frag_oversize, frame4({.proto = kIcmp, .frag = 8189}, filler(16))});
    c.push_back(
        {"v4_one_past_65535", M::frag_oversize, frame4({.proto = kUdp, .frag = 8188}, filler(12))});
    c.push_back({"v4_past_65535_counting_options", M::frag_oversize,
                 frame4({.proto = kUdp, .frag = 8188, .options = {1, 1, 1, 1}}, filler(11))});
    c.push_back({"v4_mf_last_offset", M::frag_oversize,
                 frame4({.proto = kUdp, .frag = kMF | 8191}, filler(8))});
    c.push_back({"v6_one_past_65535", M::frag_oversize,
                 frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 8191, false), filler(8)))});
    c.push_back({"v6_past_65535_counting_hbh", M::frag_oversize,
                 frame6({.next = kHbh},
                        cat(ipv6_ext(kFrag, {}), ipv6_frag(kUdp, 8190, false), filler(15)))});
    c.push_back(
        {"v4_first_fragment_tcp_16", M::frag_tiny, frame4({.frag = kMF}, head(tcp({}), 16))});
    c.push_back(
        {"v4_first_fragment_udp_0", M::frag_tiny, frame4({.proto = kUdp, .frag = kMF}, {})});
    c.push_back(
        {"v4_first_fragment_icmp_0", M::frag_tiny, frame4({.proto = kIcmp, .frag = kMF}, {})});
    c.push_back({"v4_tcp_offset_1", M::frag_tiny, frame4({.frag = 1}, filler(12))});
    c.push_back({"v4_tcp_offset_1_mf", M::frag_tiny, frame4({.frag = kMF | 1}, filler(16))});
    c.push_back({"v6_first_fragment_tcp_16", M::frag_tiny,
                 frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 0, true), head(tcp({}), 16)))});
    c.push_back({"v6_first_fragment_icmpv6_0", M::frag_tiny,
                 frame6({.next = kFrag}, ipv6_frag(kIcmp6, 0, true))});
    c.push_back({"v6_tcp_offset_1", M::frag_tiny,
                 frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 1, false), filler(16)))});

    // Addresses
    c.push_back({"v4_src_loopback", M::ip_src_martian, frame4({.src = kLoopback4}, ack_seg)});
    c.push_back({"v4_src_multicast", M::ip_src_martian, frame4({.src = kMulticast4}, ack_seg)});
    c.push_back(
        {"v4_src_multicast_top", M::ip_src_martian, frame4({.src = kMulticastTop4}, ack_seg)});
    c.push_back({"v4_src_broadcast", M::ip_src_martian, frame4({.src = kBroadcast4}, ack_seg)});
    c.push_back({"v6_src_multicast", M::ip_src_martian, frame6({.src = kAllNodes6}, ack_seg)});
    c.push_back(
        {"v6_src_global_multicast", M::ip_src_martian, frame6({.src = kGlobalMcast6}, ack_seg)});
    c.push_back({"v6_src_loopback", M::ip_src_martian, frame6({.src = kLoopback6}, ack_seg)});
    c.push_back({"v4_land", M::land, frame4({.src = kHostC4, .dst = kHostC4}, tcp({}))});
    c.push_back(
        {"v4_land_udp", M::land, frame4({.src = kHostA4, .dst = kHostA4, .proto = kUdp}, udp({}))});
    c.push_back({"v6_land", M::land, frame6({.src = kHostC6, .dst = kHostC6}, tcp({}))});

    // TCP
    c.push_back({"v4_tcp_empty", M::tcp_truncated, frame4({}, {})});
    c.push_back({"v4_tcp_19_bytes", M::tcp_truncated, frame4({}, head(tcp({}), 19))});
    c.push_back({"v6_tcp_19_bytes", M::tcp_truncated, frame6({}, head(tcp({}), 19))});
    c.push_back({"tcp_doff_0", M::tcp_bad_data_offset, frame4({}, tcp({.doff = 0}))});
    c.push_back({"tcp_doff_4", M::tcp_bad_data_offset, frame4({}, tcp({.doff = 4}))});
    c.push_back({"tcp_doff_6_no_options", M::tcp_bad_data_offset, frame4({}, tcp({.doff = 6}))});
    c.push_back(
        {"v6_tcp_doff_15", M::tcp_bad_data_offset, frame6({}, tcp({.doff = 15}, filler(20)))});
    const std::pair<const char*, Bytes> bad_tcp_options[] = {
        {"mss_len_3", {2, 3, 5, 1}},
        {"mss_len_5", {2, 5, 5, 0xb4, 0, 1, 1, 1}},
        {"wscale_len_2", {3, 2, 1, 1}},
        {"wscale_len_4", {3, 4, 7, 0}},
        {"sack_ok_len_3", {4, 3, 0, 1}},
        {"sack_len_2", {5, 2, 1, 1}},
        {"sack_len_8", {5, 8, 0, 0, 0, 1, 0, 0}},
        {"sack_len_12", {5, 12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}},
        {"ts_len_8", {8, 8, 0, 0, 0, 1, 0, 0}},
        {"ts_len_12", {8, 12, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1}},
        {"unknown_len_1", {30, 1, 1, 1}},
        {"unknown_len_0", {254, 0, 1, 1}},
        {"unknown_overruns_header", {254, 10, 0, 0}},
        {"mss_overruns_header", {1, 1, 2, 4}},
        {"kind_in_last_byte", {1, 1, 1, 254}},
        {"bad_after_good", cat(opt::mss(1460), Bytes{3, 2, 1, 1})},
    };
    for (const auto& [name, o] : bad_tcp_options)
        c.push_back(
            {std::string("tcp_opt_") + name, M::tcp_bad_options, frame4({}, tcp_with_options(o))});
    c.push_back({"v6_tcp_opt_ts_len_9", M::tcp_bad_options,
                 frame6({}, tcp_with_options({1, 1, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0}))});
    c.push_back({"tcp_syn_fin", M::tcp_syn_fin, frame4({}, tcp({.flags = syn | fin}))});
    c.push_back({"tcp_syn_fin_ack", M::tcp_syn_fin, frame4({}, tcp({.flags = syn | fin | ack}))});
    c.push_back({"tcp_syn_rst", M::tcp_syn_rst, frame4({}, tcp({.flags = syn | rst}))});
    c.push_back(
        {"v6_tcp_syn_rst_ack", M::tcp_syn_rst, frame6({}, tcp({.flags = syn | rst | ack}))});
    c.push_back({"tcp_null", M::tcp_null, frame4({}, tcp({.flags = 0}))});
    c.push_back({"tcp_ece_cwr_only", M::tcp_null, frame4({}, tcp({.flags = ece | cwr}))});
    c.push_back({"tcp_xmas", M::tcp_xmas, frame4({}, tcp({.flags = fin | psh | urg}))});
    c.push_back({"tcp_xmas_ack", M::tcp_xmas, frame4({}, tcp({.flags = fin | psh | urg | ack}))});
    c.push_back({"tcp_fin", M::tcp_fin_no_ack, frame4({}, tcp({.flags = fin}))});
    c.push_back({"tcp_fin_psh", M::tcp_fin_no_ack, frame4({}, tcp({.flags = fin | psh}))});
    c.push_back({"tcp_sport_0", M::l4_port_zero, frame4({}, tcp({.sport = 0, .flags = ack}))});
    c.push_back({"tcp_dport_0", M::l4_port_zero, frame4({}, tcp({.dport = 0}))});

    // UDP, ICMP, ICMPv6
    c.push_back({"v4_udp_7_bytes", M::udp_truncated, frame4({.proto = kUdp}, head(udp({}), 7))});
    c.push_back({"v6_udp_empty", M::udp_truncated, frame6({.next = kUdp}, {})});
    c.push_back({"udp_len_7", M::udp_bad_length, frame4({.proto = kUdp}, udp({.length = 7}))});
    c.push_back(
        {"udp_len_0", M::udp_bad_length, frame4({.proto = kUdp}, udp({.length = 0}, filler(8)))});
    c.push_back({"udp_len_past_ip_payload", M::udp_bad_length,
                 frame4({.proto = kUdp}, udp({.length = 4000}, filler(1472)))});
    c.push_back({"v6_udp_len_past_payload", M::udp_bad_length,
                 frame6({.next = kUdp}, udp({.length = 17}, filler(8)))});
    c.push_back({"v6_atomic_frag_udp_len_past_payload", M::udp_bad_length,
                 frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 0, false), udp({.length = 9})))});
    c.push_back({"udp_sport_0", M::l4_port_zero, frame4({.proto = kUdp}, udp({.sport = 0}))});
    c.push_back({"udp_dport_0", M::l4_port_zero, frame4({.proto = kUdp}, udp({.dport = 0}))});
    c.push_back({"v6_udp_dport_0", M::l4_port_zero, frame6({.next = kUdp}, udp({.dport = 0}))});
    c.push_back({"icmp_empty", M::icmp_truncated, frame4({.proto = kIcmp}, {})});
    c.push_back({"icmp_7_bytes", M::icmp_truncated, frame4({.proto = kIcmp}, head(icmp(8, 0), 7))});
    c.push_back(
        {"icmpv6_7_bytes", M::icmpv6_truncated, frame6({.next = kIcmp6}, head(icmp(128, 0), 7))});
    c.push_back({"icmpv6_after_destopts_empty", M::icmpv6_truncated,
                 frame6({.next = kDestOpts}, ipv6_ext(kIcmp6, {}))});
    return c;
}

// Without this gtest dumps the struct's bytes for a failing case.
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name << " (" << c.frame.size() << " bytes, expects " << malformed_name(c.want) << ")";
}

const std::vector<Case>& malformed_cases() {
    static const std::vector<Case> cases = build_malformed_cases();
    return cases;
}

class MalformedFrame : public ::testing::TestWithParam<Case> {};

TEST_P(MalformedFrame, YieldsItsReason) {
    const Case& c = GetParam();
    EXPECT_EQ(run(c.frame, {.verify_ipv4_checksum = c.verify_checksum}).result, c.want);
}

// The software checksum is the only check the option turns off: every other
// reason must come out the same without it.
TEST_P(MalformedFrame, SameReasonWithoutChecksumVerification) {
    const Case& c = GetParam();
    const Malformed r = run(c.frame, {.verify_ipv4_checksum = false}).result;
    if (c.want == Malformed::ipv4_bad_checksum)
        EXPECT_NE(r, Malformed::ipv4_bad_checksum);
    else
        EXPECT_EQ(r, c.want);
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedFrame, ::testing::ValuesIn(malformed_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

class EveryReason : public ::testing::TestWithParam<unsigned> {};

TEST_P(EveryReason, HasATestFrameThatYieldsIt) {
    const auto want = static_cast<Malformed>(GetParam());
    unsigned frames = 0;
    for (const Case& c : malformed_cases()) {
        if (c.want != want) continue;
        ++frames;
        EXPECT_EQ(run(c.frame, {.verify_ipv4_checksum = c.verify_checksum}).result, want) << c.name;
    }
    EXPECT_GT(frames, 0u) << "add a frame for " << malformed_name(want)
                          << " to build_malformed_cases()";
}

INSTANTIATE_TEST_SUITE_P(Reason, EveryReason, ::testing::Range(1u, kMalformedCount),
                         [](const ::testing::TestParamInfo<unsigned>& i) {
                             return std::string(malformed_name(static_cast<Malformed>(i.param)));
                         });

// ------------------------------------------------------- names, descriptions

TEST(MalformedNames, NonEmptyUniqueAndSnakeCase) {
    std::set<std::string> names, descriptions;
    for (unsigned i = 0; i < kMalformedCount; ++i) {
        const auto m = static_cast<Malformed>(i);
        const std::string name = malformed_name(m);
        const std::string desc = malformed_description(m);
        EXPECT_FALSE(name.empty()) << i;
        EXPECT_FALSE(desc.empty()) << name;
        EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
        EXPECT_TRUE(descriptions.insert(desc).second) << "duplicate description " << desc;
        // Names are metric labels and JSON keys.
        EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
                  std::string::npos)
            << name;
    }
    EXPECT_EQ(names.size(), kMalformedCount);
}

TEST(MalformedNames, NameMatchesEnumerator) {
#define TRIAGE_X(e, name, desc) EXPECT_STREQ(malformed_name(Malformed::e), #e);
    TRIAGE_MALFORMED_REASONS(TRIAGE_X)
#undef TRIAGE_X
}

TEST(MalformedNames, NoneAndOutOfRange) {
    EXPECT_STREQ(malformed_name(Malformed::none), "ok");
    EXPECT_STREQ(malformed_description(Malformed::none), "well-formed");
    EXPECT_STREQ(malformed_name(Malformed::count_), "invalid");
    EXPECT_STREQ(malformed_description(static_cast<Malformed>(255)), "invalid");
}

// ------------------------------------------------------------------ Ethernet

TEST(ParseL2, ArpPassesWithoutL3) {
    const Bytes f = cat(eth(ether_type::arp), arp_request(), Bytes(18, 0));
    const auto [r, v] = run(f);
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ether_type, ether_type::arp);
    EXPECT_FALSE(v.is_ip());
    EXPECT_EQ(v.l3_off, 0);
    EXPECT_EQ(v.flags, 0);
    EXPECT_EQ(v.vlan_count, 0);
}

TEST(ParseL2, OtherEthertypesPass) {
    for (uint16_t et : {uint16_t{0x88cc} /* LLDP */, uint16_t{0x8847} /* MPLS */,
                        uint16_t{0x0600} /* length-ish */}) {
        const auto [r, v] = run(cat(eth(et), filler(46)));
        EXPECT_EQ(r, Malformed::none) << et;
        EXPECT_EQ(v.ether_type, et);
        EXPECT_EQ(v.ip_version, 0);
    }
}

TEST(ParseL2, BareHeaderIsEnough) {
    const auto [r, v] = run(eth(ether_type::arp));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ether_type, ether_type::arp);
}

// A tag needs its 4 bytes plus the ethertype after it, nothing more.
TEST(ParseL2, TaggedBareHeaderIsEnough) {
    const Bytes f = eth(ether_type::arp, {Vlan{}});
    ASSERT_EQ(f.size(), 18u);
    const auto [r, v] = run(f);
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 1);
    EXPECT_EQ(v.ether_type, ether_type::arp);
    EXPECT_EQ(run(head(f, 17)).result, Malformed::l2_truncated);

    const Bytes qinq = eth(ether_type::arp, {{ether_type::qinq, 1}, {ether_type::vlan, 2}});
    EXPECT_EQ(run(qinq).result, Malformed::none);
    EXPECT_EQ(run(head(qinq, 21)).result, Malformed::l2_truncated);
}

TEST(ParseL2, TaggedIpv4JustShortOfItsHeaderIsAnIpv4Fault) {
    EXPECT_EQ(run(head(frame4({}, tcp({}), {Vlan{}}), 19)).result, Malformed::ipv4_truncated);
}

TEST(ParseL2, VlanArp) {
    const auto [r, v] = run(cat(eth(ether_type::arp, {Vlan{}}), arp_request()));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 1);
    EXPECT_EQ(v.ether_type, ether_type::arp);
    EXPECT_EQ(v.l3_off, 0);
}

TEST(ParseL2, Dot1qIpv4) {
    const auto [r, v] = run(frame4({}, tcp({}), {Vlan{ether_type::vlan, 42}}));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 1);
    EXPECT_EQ(v.ether_type, ether_type::ipv4);
    EXPECT_EQ(v.l3_off, 18);
    EXPECT_EQ(v.l4_off, 38);
}

TEST(ParseL2, QinQ88a8) {
    const auto [r, v] = run(frame4({.proto = kUdp}, udp({}, filler(4)),
                                   {{ether_type::qinq, 10}, {ether_type::vlan, 20}}));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 2);
    EXPECT_EQ(v.ether_type, ether_type::ipv4);
    EXPECT_EQ(v.l3_off, 22);
    EXPECT_EQ(v.l4_off, 42);
    EXPECT_EQ(v.payload_off, 50);
}

TEST(ParseL2, QinQ9100) {
    const auto [r, v] =
        run(frame6({.next = kUdp}, udp({}), {{ether_type::qinq_old, 10}, {ether_type::vlan, 20}}));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 2);
    EXPECT_EQ(v.ether_type, ether_type::ipv6);
    EXPECT_EQ(v.l3_off, 22);
    EXPECT_EQ(v.l4_off, 62);
}

TEST(ParseL2, DoubleDot1q) {
    const auto [r, v] = run(frame4({}, tcp({}), {{ether_type::vlan, 10}, {ether_type::vlan, 20}}));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.vlan_count, 2);
}

TEST(ParseL2, ThreeTagsIsTooManyEvenWhenTruncated) {
    // The third tag is refused before its bytes are needed.
    const Bytes f = eth(ether_type::ipv4, {{ether_type::qinq, 1}, {ether_type::vlan, 2}});
    Bytes third = head(f, 20);
    push16(third, ether_type::vlan);
    EXPECT_EQ(run(third).result, Malformed::l2_too_many_tags);
}

// Offsets are 16-bit, so the parser sees at most 65535 bytes of any frame.
TEST(ParseL2, FramesAreCappedAt64KiB) {
    const Bytes big = frame6({.next = kUdp}, udp({}, filler(65535 - 8)));
    ASSERT_GT(big.size(), 65535u);
    EXPECT_EQ(run(big).result, Malformed::ipv6_bad_length);

    const Bytes ok = cat(frame4({.proto = kUdp}, udp({}, filler(1000))), Bytes(70000, 0));
    const auto [r, v] = run(ok);
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 1008);
}

// -------------------------------------------------------------------- IPv4

TEST(ParseIpv4, TcpSynWithOptionsFillsTheView) {
    const Bytes seg =
        tcp({.sport = 51515,
             .dport = 443,
             .flags = syn,
             .options = cat(opt::mss(1460), opt::sack_ok(), opt::timestamps(0x11223344, 0),
                            opt::nop(), opt::wscale(7))});
    const Bytes f = frame4({.src = kHostC4, .dst = kHostD4, .ttl = 57}, seg);
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ip_version, 4);
    EXPECT_TRUE(v.is_ip());
    EXPECT_EQ(v.ether_type, ether_type::ipv4);
    EXPECT_EQ(v.vlan_count, 0);
    EXPECT_TRUE(same4(v.src, kHostC4));
    EXPECT_TRUE(same4(v.dst, kHostD4));
    EXPECT_EQ(v.ttl, 57);
    EXPECT_EQ(v.l3_off, 14);
    EXPECT_EQ(v.l4_off, 34);
    EXPECT_EQ(v.l4_proto, kTcp);
    EXPECT_EQ(v.l4_len, 40);
    EXPECT_EQ(v.payload_off, 74);
    EXPECT_EQ(v.payload_off, size16(f));
    EXPECT_EQ(v.sport, 51515);
    EXPECT_EQ(v.dport, 443);
    EXPECT_EQ(v.tcp_flags, syn);
    EXPECT_EQ(v.frag_off, 0);
    EXPECT_EQ(v.ext_count, 0);
    EXPECT_EQ(v.flags, view_flag::l4_parsed | view_flag::tcp_mss | view_flag::tcp_wscale |
                           view_flag::tcp_sack_ok | view_flag::tcp_timestamps);
    EXPECT_EQ(v.tcp_mss, 1460);
    EXPECT_EQ(v.tcp_wscale, 7);
    // MSS(4) + SACK-permitted(2) put the timestamps option at 34+20+6, TSval 2 later.
    EXPECT_EQ(v.tcp_ts_off, 62);
    EXPECT_EQ(get32(f, v.tcp_ts_off), 0x11223344u);
    EXPECT_EQ(get32(f, v.tcp_ts_off + 4u), 0u);
    EXPECT_EQ(view_violation(v, size16(f)), nullptr);
}

TEST(ParseIpv4, EthernetPaddingBeyondTotalLengthIsAccepted) {
    Bytes f = frame4({.proto = kUdp}, udp({.sport = 5353, .dport = 5353}, filler(4)));
    ASSERT_LT(f.size(), 60u);
    f.resize(60, 0);
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 12);  // from the IP total length, not the frame
    EXPECT_EQ(v.payload_off, 42);
    EXPECT_EQ(v.sport, 5353);
}

TEST(ParseIpv4, PaddedTcpSegmentIsBoundedByTotalLength) {
    Bytes f = frame4({}, tcp({.flags = ack}));
    f.resize(60, 0xee);
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 20);
    EXPECT_EQ(v.payload_off, 54);
}

TEST(ParseIpv4, OptionsWalk) {
    const Bytes ok_options[] = {
        {1, 1, 1, 1},                 // NOPs only
        {1, 1, 1, 0},                 // NOPs then EOL
        {0x94, 4, 0, 0},              // router alert
        {7, 7, 4, 0, 0, 0, 0, 0},     // record route, one slot, then EOL
        {0, 0xff, 0xff, 0xff},        // EOL: what follows is not walked
        {1, 0x44, 6, 5, 0, 0, 0, 0},  // timestamp after a NOP
        Bytes(40, 1),                 // the largest header (IHL 15)
    };
    for (const Bytes& o : ok_options) {
        const Bytes f = frame4({.options = o}, tcp({}));
        const auto [r, v] = run(f);
        EXPECT_EQ(r, Malformed::none) << ::testing::PrintToString(o);
        EXPECT_EQ(v.l4_off, 34u + o.size());
    }
}

TEST(ParseIpv4, ChecksumVerificationCanBeTurnedOff) {
    const Bytes f = frame4({.corrupt_checksum = true}, tcp({}));
    EXPECT_EQ(run(f).result, Malformed::ipv4_bad_checksum);
    const auto [r, v] = run(f, {.verify_ipv4_checksum = false});
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_off, 34);
    EXPECT_TRUE(v.has(view_flag::l4_parsed));
}

TEST(ParseIpv4, ChecksumOffStillChecksTheRest) {
    const Bytes land = frame4({.src = kHostA4, .dst = kHostA4, .corrupt_checksum = true}, tcp({}));
    EXPECT_EQ(run(land, {.verify_ipv4_checksum = false}).result, Malformed::land);
    const Bytes xmas = frame4({.corrupt_checksum = true}, tcp({.flags = fin | psh | urg}));
    EXPECT_EQ(run(xmas, {.verify_ipv4_checksum = false}).result, Malformed::tcp_xmas);
}

TEST(ParseIpv4, ChecksumCoversOptions) {
    Bytes f = frame4({.options = {0x94, 4, 0, 0}}, tcp({}));
    EXPECT_EQ(run(f).result, Malformed::none);
    f[14 + 22] ^= 0x01;  // router alert value: inside the header, outside the fixed part
    EXPECT_EQ(run(f).result, Malformed::ipv4_bad_checksum);
}

TEST(ParseIpv4, DontFragmentIsNotAFragment) {
    const auto [r, v] = run(frame4({.frag = kDF}, tcp({})));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_FALSE(v.has(view_flag::fragment));
}

TEST(ParseIpv4, OtherProtocolsAreOpaque) {
    const Bytes f = frame4({.proto = 47 /* GRE */}, filler(4));
    const auto [r, v] = run(f);
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_proto, 47);
    EXPECT_EQ(v.l4_off, 34);
    EXPECT_EQ(v.l4_len, 4);
    EXPECT_EQ(v.payload_off, 34);
    EXPECT_FALSE(v.has(view_flag::l4_parsed));
    // Even an empty payload: nothing is known about the header size.
    EXPECT_EQ(run(frame4({.proto = 50 /* ESP */}, {})).result, Malformed::none);
}

TEST(ParseIpv4Fragments, FirstFragmentUdpLengthCoversWholeDatagram) {
    const Bytes f = frame4({.proto = kUdp, .frag = kMF}, udp({.length = 4000}, filler(1472)));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::more_fragments | view_flag::l4_parsed);
    EXPECT_EQ(v.frag_off, 0);
    EXPECT_EQ(v.l4_len, 1480);
    EXPECT_EQ(v.sport, 40000);
    EXPECT_EQ(v.dport, 53);
    EXPECT_EQ(v.payload_off, 42);
}

TEST(ParseIpv4Fragments, FirstFragmentTcpIsParsed) {
    const auto [r, v] = run(frame4({.frag = kMF}, tcp({.flags = psh | ack}, filler(4))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_TRUE(v.has(view_flag::fragment));
    EXPECT_TRUE(v.has(view_flag::l4_parsed));
    EXPECT_EQ(v.tcp_flags, psh | ack);
}

TEST(ParseIpv4Fragments, LaterFragmentSkipsL4) {
    // The bytes would be a broken UDP header; later fragments carry no header.
    const Bytes f = frame4({.proto = kUdp, .frag = kMF | 185}, Bytes(1480, 0));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::later_fragment | view_flag::more_fragments);
    EXPECT_EQ(v.frag_off, 185);
    EXPECT_EQ(v.l4_proto, kUdp);
    EXPECT_EQ(v.l4_off, 34);
    EXPECT_EQ(v.l4_len, 1480);
    EXPECT_EQ(v.payload_off, 34);
    EXPECT_EQ(v.sport, 0);
    EXPECT_EQ(v.dport, 0);
}

TEST(ParseIpv4Fragments, LastFragment) {
    const auto [r, v] = run(frame4({.proto = kUdp, .frag = 370}, filler(13)));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::later_fragment);
    EXPECT_EQ(v.frag_off, 370);
    EXPECT_EQ(v.l4_len, 13);
}

TEST(ParseIpv4Fragments, OffsetOneOnlyMattersForTcp) {
    EXPECT_EQ(run(frame4({.proto = kUdp, .frag = 1}, filler(12))).result, Malformed::none);
    EXPECT_EQ(run(frame4({.frag = 2}, filler(12))).result, Malformed::none);
}

TEST(ParseIpv4Fragments, ReachingExactly65535IsAccepted) {
    // 20-byte header + 8188 * 8 + 11 = 65535.
    const auto [r, v] = run(frame4({.proto = kUdp, .frag = 8188}, filler(11)));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.frag_off, 8188);
}

// -------------------------------------------------------------------- IPv6

TEST(ParseIpv6, TcpFillsTheView) {
    const Bytes f = frame6({.src = kHostC6, .dst = kHostB6, .hop_limit = 3},
                           tcp({.sport = 1234, .dport = 22, .flags = psh | ack}, filler(10)));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ip_version, 6);
    EXPECT_EQ(v.ether_type, ether_type::ipv6);
    EXPECT_TRUE(same6(v.src, kHostC6));
    EXPECT_TRUE(same6(v.dst, kHostB6));
    EXPECT_EQ(v.ttl, 3);
    EXPECT_EQ(v.l3_off, 14);
    EXPECT_EQ(v.l4_off, 54);
    EXPECT_EQ(v.l4_len, 30);
    EXPECT_EQ(v.payload_off, 74);
    EXPECT_EQ(v.ext_count, 0);
    EXPECT_EQ(v.sport, 1234);
    EXPECT_EQ(v.dport, 22);
    EXPECT_EQ(v.tcp_flags, psh | ack);
    EXPECT_EQ(v.flags, view_flag::l4_parsed);
}

TEST(ParseIpv6, TrailingBytesBeyondPayloadLengthAreIgnored) {
    Bytes f = frame6({.next = kUdp}, udp({}));
    f.resize(f.size() + 10, 0);
    const auto [r, v] = run(f);
    EXPECT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 8);
}

TEST(ParseIpv6, ExtensionHeaderWalk) {
    // HBH with router alert, segment routing header (type 4), destination options.
    const Bytes f = frame6(
        {.next = kHbh},
        cat(ipv6_ext(kRouting, {5, 2, 0, 0, 1, 0}), ipv6_routing(kDestOpts, 4, 0),
            ipv6_ext(kTcp, {1, 4, 0, 0, 0, 0, 0xc2, 4, 0, 1, 0, 0, 0, 0}), tcp({.flags = ack})));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ext_count, 3);
    EXPECT_EQ(v.l4_proto, kTcp);
    EXPECT_EQ(v.l4_off, 14 + 40 + 8 + 8 + 16);
    EXPECT_EQ(v.l4_len, 20);
    EXPECT_TRUE(v.has(view_flag::l4_parsed));
    EXPECT_FALSE(v.has(view_flag::fragment));
}

TEST(ParseIpv6, OptionTlvs) {
    const Bytes ok_bodies[] = {
        {0, 0, 0, 0, 0, 0},     // Pad1 only
        {1, 4, 0, 0, 0, 0},     // one PadN filling the header
        {5, 2, 0, 0, 0, 0},     // router alert, then Pad1s
        {0x3e, 0, 1, 0, 0, 0},  // unknown type, zero-length data, PadN
    };
    for (const Bytes& body : ok_bodies)
        EXPECT_EQ(run(frame6({.next = kHbh}, cat(ipv6_ext(kUdp, body), udp({})))).result,
                  Malformed::none)
            << ::testing::PrintToString(body);
}

TEST(ParseIpv6, EightExtensionHeadersAreAllowed) {
    const Bytes f =
        frame6({.next = kHbh}, cat(ipv6_ext(kDestOpts, {}), dest_opts_chain(7, kTcp), tcp({})));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.ext_count, kMaxIpv6ExtHeaders);
    EXPECT_EQ(v.l4_off, 14 + 40 + 8 * kMaxIpv6ExtHeaders);
}

TEST(ParseIpv6, RoutingTypesOtherThanZeroPass) {
    for (uint8_t type : {uint8_t{2}, uint8_t{3}, uint8_t{4}}) {
        const Bytes f = frame6({.next = kRouting}, cat(ipv6_routing(kUdp, type, 1), udp({})));
        EXPECT_EQ(run(f).result, Malformed::none) << int(type);
    }
}

TEST(ParseIpv6, NoNextHeader) {
    const auto [r, v] = run(frame6({.next = kNoNext}, {}));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_proto, kNoNext);
    EXPECT_EQ(v.l4_off, 54);
    EXPECT_EQ(v.l4_len, 0);
    EXPECT_EQ(v.payload_off, 54);
    EXPECT_FALSE(v.has(view_flag::l4_parsed));

    const auto [r2, v2] = run(frame6({.next = kDestOpts}, cat(ipv6_ext(kNoNext, {}), filler(8))));
    ASSERT_EQ(r2, Malformed::none);
    EXPECT_EQ(v2.ext_count, 1);
    EXPECT_EQ(v2.l4_off, 62);
    EXPECT_EQ(v2.l4_len, 8);
    EXPECT_EQ(v2.payload_off, 62);
}

TEST(ParseIpv6, AtomicFragmentIsAWholePacket) {
    const Bytes f = frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 0, false), udp({}, filler(10))));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::l4_parsed);
    EXPECT_EQ(v.ext_count, 1);
    EXPECT_EQ(v.frag_off, 0);
    EXPECT_EQ(v.l4_proto, kUdp);
    EXPECT_EQ(v.l4_off, 62);
    EXPECT_EQ(v.payload_off, 70);
}

TEST(ParseIpv6, LaterFragmentSkipsL4) {
    const Bytes f = frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 185, true), Bytes(16, 0)));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::later_fragment | view_flag::more_fragments);
    EXPECT_EQ(v.frag_off, 185);
    EXPECT_EQ(v.l4_proto, kTcp);
    EXPECT_EQ(v.l4_off, 62);
    EXPECT_EQ(v.l4_len, 16);
    EXPECT_EQ(v.payload_off, 62);
    EXPECT_EQ(v.ext_count, 1);
    EXPECT_EQ(v.sport, 0);
}

TEST(ParseIpv6, LastFragment) {
    const Bytes f =
        frame6({.next = kHbh}, cat(ipv6_ext(kFrag, {}), ipv6_frag(kUdp, 300, false), filler(13)));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::later_fragment);
    EXPECT_EQ(v.ext_count, 2);
    EXPECT_EQ(v.l4_off, 14 + 40 + 8 + 8);
    EXPECT_EQ(v.l4_len, 13);
}

TEST(ParseIpv6, FirstFragmentUdpLengthCoversWholeDatagram) {
    const Bytes f =
        frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 0, true), udp({.length = 3000}, filler(1224))));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::fragment | view_flag::more_fragments | view_flag::l4_parsed);
    EXPECT_EQ(v.l4_len, 1232);
    EXPECT_EQ(v.dport, 53);
}

TEST(ParseIpv6, FragmentReachingExactly65535IsAccepted) {
    EXPECT_EQ(run(frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 8191, false), filler(7)))).result,
              Malformed::none);
    // With 8 bytes of hop-by-hop in front, 8 fewer fit.
    EXPECT_EQ(run(frame6({.next = kHbh},
                         cat(ipv6_ext(kFrag, {}), ipv6_frag(kUdp, 8190, false), filler(7))))
                  .result,
              Malformed::none);
}

TEST(ParseIpv6, Icmpv6) {
    const auto [r, v] = run(frame6({.dst = kAllNodes6, .next = kIcmp6}, icmp(128, 0, filler(32))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_proto, kIcmp6);
    EXPECT_EQ(v.icmp_type, 128);
    EXPECT_EQ(v.icmp_code, 0);
    EXPECT_EQ(v.payload_off, 62);
    EXPECT_TRUE(v.has(view_flag::l4_parsed));
}

// ---------------------------------------------------------------- addresses

TEST(ParseAddresses, UnspecifiedToUnspecifiedIsNotLand) {
    // Duplicate address detection sends from ::.
    const auto [r, v] =
        run(frame6({.src = kUnspecified6, .dst = kUnspecified6, .next = kIcmp6}, icmp(135, 0)));
    EXPECT_EQ(r, Malformed::none);
    EXPECT_TRUE(same6(v.src, kUnspecified6));
}

TEST(ParseAddresses, MulticastAndBroadcastDestinationsAreFine) {
    EXPECT_EQ(run(frame4({.src = kAny4, .dst = kBroadcast4, .proto = kUdp},
                         udp({.sport = 68, .dport = 67})))
                  .result,
              Malformed::none);
    EXPECT_EQ(run(frame4({.dst = kMulticast4, .proto = kUdp}, udp({}))).result, Malformed::none);
    EXPECT_EQ(
        run(frame6({.src = kUnspecified6, .dst = kAllNodes6, .next = kIcmp6}, icmp(143, 0))).result,
        Malformed::none);
}

TEST(ParseAddresses, NeighboursOfMartiansAreFine) {
    for (const Addr4& a :
         {Addr4{126, 255, 255, 255}, Addr4{128, 0, 0, 1}, Addr4{223, 255, 255, 255}})
        EXPECT_EQ(run(frame4({.src = a}, tcp({}))).result, Malformed::none)
            << int(a[0]) << "." << int(a[1]) << "." << int(a[2]) << "." << int(a[3]);
    const Addr6 fe80{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const Addr6 two{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    EXPECT_EQ(run(frame6({.src = fe80}, tcp({}))).result, Malformed::none);
    EXPECT_EQ(run(frame6({.src = two}, tcp({}))).result, Malformed::none);
}

// The view keeps what was parsed before the fault, for logging.
TEST(ParseAddresses, RejectedViewKeepsAddresses) {
    const auto [r, v] = run(frame4({.src = kHostC4, .dst = kHostC4}, tcp({})));
    ASSERT_EQ(r, Malformed::land);
    EXPECT_TRUE(same4(v.src, kHostC4));
    EXPECT_TRUE(same4(v.dst, kHostC4));
    const auto [r6, v6] = run(frame6({.src = kLoopback6}, tcp({})));
    ASSERT_EQ(r6, Malformed::ip_src_martian);
    EXPECT_TRUE(same6(v6.src, kLoopback6));
    EXPECT_TRUE(same6(v6.dst, kHostB6));
}

// --------------------------------------------------------------------- TCP

TEST(ParseTcp, EveryAcceptedFlagCombination) {
    const uint8_t ok_flags[] = {syn,
                                syn | ack,
                                ack,
                                fin | ack,
                                rst,
                                rst | ack,
                                psh | ack,
                                urg | ack,
                                fin | psh | ack,
                                fin | urg | ack,
                                syn | ece | cwr,
                                ack | ece,
                                psh | urg | ack};
    for (uint8_t f : ok_flags) {
        const auto [r, v] = run(frame4({}, tcp({.flags = f})));
        EXPECT_EQ(r, Malformed::none) << int(f);
        EXPECT_EQ(v.tcp_flags, f);
    }
}

TEST(ParseTcp, PayloadFollowsTheHeader) {
    const auto [r, v] =
        run(frame4({}, tcp({.flags = psh | ack, .options = opt::mss(536)}, filler(100))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 124);
    EXPECT_EQ(v.payload_off, 34 + 24);
    EXPECT_EQ(v.tcp_mss, 536);
}

TEST(ParseTcp, NoOptions) {
    const auto [r, v] = run(frame4({}, tcp({.flags = ack})));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::l4_parsed);
    EXPECT_EQ(v.tcp_mss, 0);
    EXPECT_EQ(v.tcp_ts_off, 0);
}

TEST(ParseTcp, SackBlocks) {
    for (unsigned blocks = 1; blocks <= 4; ++blocks) {
        const auto [r, v] =
            run(frame4({}, tcp_with_options(cat(opt::nop(), opt::nop(), opt::sack(blocks)), ack)));
        EXPECT_EQ(r, Malformed::none) << blocks;
        EXPECT_EQ(v.flags, view_flag::l4_parsed) << blocks;  // blocks are not recorded
    }
}

TEST(ParseTcp, UnknownKindsAreSkipped) {
    const Bytes opts = cat(Bytes{30, 4, 0x00, 0x81},               // MPTCP
                           Bytes{34, 10, 1, 2, 3, 4, 5, 6, 7, 8},  // TFO cookie
                           Bytes{254, 2},                          // experimental
                           opt::wscale(14));
    const auto [r, v] = run(frame4({}, tcp_with_options(opts)));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.flags, view_flag::l4_parsed | view_flag::tcp_wscale);
    EXPECT_EQ(v.tcp_wscale, 14);
}

TEST(ParseTcp, EndOfOptionListStopsTheWalk) {
    // 0xff 0xff would be an overrunning option if it were walked.
    const auto [r, v] =
        run(frame4({}, tcp_with_options(cat(opt::mss(1400), opt::eol(), Bytes{0xff, 0xff, 0xff}))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.tcp_mss, 1400);
    EXPECT_EQ(v.flags, view_flag::l4_parsed | view_flag::tcp_mss);
}

TEST(ParseTcp, NopPadding) {
    const auto [r, v] = run(frame4({}, tcp_with_options(Bytes(8, 1))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.payload_off, 34 + 28);
}

TEST(ParseTcp, TimestampsOnIpv6) {
    const Bytes f =
        frame6({}, tcp_with_options(
                       cat(opt::nop(), opt::nop(), opt::timestamps(0xa1b2c3d4, 0x01020304)), ack));
    const auto [r, v] = run(f);
    ASSERT_EQ(r, Malformed::none);
    EXPECT_TRUE(v.has(view_flag::tcp_timestamps));
    EXPECT_EQ(v.tcp_ts_off, 54 + 20 + 4);
    EXPECT_EQ(get32(f, v.tcp_ts_off), 0xa1b2c3d4u);
    EXPECT_EQ(get32(f, v.tcp_ts_off + 4u), 0x01020304u);
}

// ---------------------------------------------------------------- UDP, ICMP

TEST(ParseUdp, ShorterUdpLengthThanIpPayloadIsAccepted) {
    const auto [r, v] = run(frame4({.proto = kUdp}, udp({.length = 8}, filler(6))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_len, 14);
    EXPECT_EQ(v.payload_off, 42);
}

TEST(ParseUdp, Fields) {
    const auto [r, v] =
        run(frame4({.proto = kUdp}, udp({.sport = 123, .dport = 4500}, filler(48))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.l4_proto, kUdp);
    EXPECT_EQ(v.sport, 123);
    EXPECT_EQ(v.dport, 4500);
    EXPECT_EQ(v.l4_len, 56);
    EXPECT_EQ(v.flags, view_flag::l4_parsed);
}

TEST(ParseIcmp, TypeAndCode) {
    const std::pair<uint8_t, uint8_t> msgs[] = {{8, 0}, {0, 0}, {3, 3}, {11, 0}, {5, 1}};
    for (const auto& [type, code] : msgs) {
        const auto [r, v] = run(frame4({.proto = kIcmp}, icmp(type, code, filler(28))));
        ASSERT_EQ(r, Malformed::none);
        EXPECT_EQ(v.icmp_type, type);
        EXPECT_EQ(v.icmp_code, code);
        EXPECT_EQ(v.payload_off, 42);
        EXPECT_EQ(v.sport, 0);
    }
    EXPECT_EQ(run(frame4({.proto = kIcmp}, icmp(8, 0))).result, Malformed::none);
}

TEST(ParseIcmp, Icmpv6Codes) {
    const auto [r, v] = run(frame6({.next = kIcmp6}, icmp(1, 4, filler(48))));
    ASSERT_EQ(r, Malformed::none);
    EXPECT_EQ(v.icmp_type, 1);
    EXPECT_EQ(v.icmp_code, 4);
}

// -------------------------------------------------------------- view reuse

TEST(ParseView, IsResetOnEveryCall) {
    const Bytes tcp_frame = frame4({}, tcp_with_options(opt::mss(1460)));
    const Bytes arp_frame = cat(eth(ether_type::arp), arp_request());
    auto buf_tcp = tcp_frame;
    auto buf_arp = arp_frame;
    PacketView v;
    ASSERT_EQ(parse(buf_tcp.data(), size16(buf_tcp), v), Malformed::none);
    ASSERT_EQ(parse(buf_arp.data(), size16(buf_arp), v), Malformed::none);
    PacketView expected;
    std::memset(&expected, 0, sizeof expected);
    expected.ether_type = ether_type::arp;
    EXPECT_EQ(std::memcmp(&v, &expected, sizeof v), 0);
}

// ------------------------------------------------------ sweeps over good frames

std::vector<Bytes> good_frames() {
    return {
        frame4({}, tcp_with_options(cat(opt::mss(1460), opt::sack_ok(), opt::timestamps(1, 0),
                                        opt::nop(), opt::wscale(7)))),
        frame4({.proto = kUdp, .options = {0x94, 4, 0, 0}}, udp({}, filler(12))),
        frame4({.proto = kIcmp}, icmp(8, 0, filler(16)), {Vlan{}}),
        frame4({.proto = kUdp}, udp({}, filler(8)), {{ether_type::qinq, 1}, {ether_type::vlan, 2}}),
        frame4({.proto = kUdp, .frag = kMF}, udp({.length = 3000}, filler(16))),
        frame4({.proto = kUdp, .frag = 3}, filler(9)),
        frame6({.next = kHbh},
               cat(ipv6_ext(kRouting, {5, 2, 0, 0, 1, 0}), ipv6_routing(kDestOpts, 4),
                   ipv6_ext(kTcp, {}), tcp_with_options(opt::timestamps(7, 8), ack))),
        frame6({.next = kFrag}, cat(ipv6_frag(kUdp, 0, true), udp({.length = 900}, filler(16))),
               {{ether_type::qinq_old, 5}, {ether_type::vlan, 6}}),
        frame6({.next = kFrag}, cat(ipv6_frag(kTcp, 9, false), filler(11))),
        frame6({.next = kIcmp6}, icmp(128, 0, filler(8))),
        frame6({.next = kNoNext}, {}),
        cat(eth(ether_type::arp), arp_request()),
    };
}

TEST(ParseSweep, GoodFramesParse) {
    for (const Bytes& f : good_frames()) {
        const auto [r, v] = run(f);
        EXPECT_EQ(r, Malformed::none) << ::testing::PrintToString(f);
        EXPECT_EQ(view_violation(v, size16(f)), nullptr);
    }
}

// Every prefix and every single-bit flip of a good frame must either be
// rejected or give a view whose offsets stay inside the (shorter) frame.
TEST(ParseSweep, PrefixesKeepTheViewInBounds) {
    for (const Bytes& f : good_frames()) {
        for (size_t n = 0; n <= f.size(); ++n) {
            for (const bool verify : {true, false}) {
                const auto [r, v] = run(head(f, n), {.verify_ipv4_checksum = verify});
                if (r != Malformed::none) continue;
                const char* why = view_violation(v, static_cast<uint32_t>(n));
                EXPECT_EQ(why, nullptr) << why << " at prefix " << n;
            }
        }
    }
}

TEST(ParseSweep, BitFlipsKeepTheViewInBounds) {
    for (const Bytes& f : good_frames()) {
        for (size_t bit = 0; bit < f.size() * 8; ++bit) {
            Bytes g = f;
            g[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
            const auto [r, v] = run(g, {.verify_ipv4_checksum = false});
            if (r != Malformed::none) continue;
            const char* why = view_violation(v, size16(g));
            EXPECT_EQ(why, nullptr) << why << " flipping bit " << bit;
        }
    }
}

// --------------------------------------------------------------- checksums

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 section 3: these bytes sum to 0xddf2.
    const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ones_complement_sum(b, sizeof b), 0xddf2);
    EXPECT_EQ(internet_checksum(b, sizeof b), 0x220d);
}

TEST(Checksum, OddLengthPadsWithZero) {
    const uint8_t b[] = {0x01, 0x02, 0x03};
    EXPECT_EQ(ones_complement_sum(b, sizeof b), 0x0402);
}

TEST(Checksum, SeedAndCarryFold) {
    const uint8_t b[] = {0xff, 0xff};
    EXPECT_EQ(ones_complement_sum(b, sizeof b), 0xffff);
    EXPECT_EQ(ones_complement_sum(b, sizeof b, 1), 0x0001);  // 0x10000 folds to 1
    EXPECT_EQ(ones_complement_sum(b, 0, 0x1234), 0x1234);
    EXPECT_EQ(ones_complement_sum(b, 0), 0);
    EXPECT_EQ(internet_checksum(b, 0), 0xffff);
}

// The word-at-a-time sum against the RFC 1071 byte-pair definition: every
// length 0..96 (odd tails), every alignment 0..7, seeds up to 32 bits, and
// data that makes the carries fold (runs of 0xff).
TEST(Checksum, WordSumMatchesBytePairDefinition) {
    const auto reference = [](const uint8_t* p, size_t n, uint32_t seed) {
        uint64_t sum = seed;
        size_t i = 0;
        for (; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
        if (i < n) sum += static_cast<uint32_t>(p[i] << 8);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        return static_cast<uint16_t>(sum);
    };
    std::mt19937 rng(7);
    std::vector<uint8_t> buf(128);
    for (int trial = 0; trial < 4; ++trial) {
        for (auto& b : buf) b = trial == 3 ? 0xff : trial == 2 ? 0 : static_cast<uint8_t>(rng());
        for (size_t off = 0; off < 8; ++off) {
            for (size_t n = 0; n <= 96; ++n) {
                for (uint32_t seed : {0u, 1u, 0xffffu, 0x10000u, static_cast<uint32_t>(rng() & 0xfffff), 0xffffffffu}) {
                    ASSERT_EQ(ones_complement_sum(buf.data() + off, n, seed), reference(buf.data() + off, n, seed))
                        << "trial " << trial << " offset " << off << " length " << n << " seed " << seed;
                }
            }
        }
    }
}

TEST(Checksum, KnownIpv4Header) {
    // 198.51.100.1 -> 203.0.113.2, TTL 64, UDP, total length 0x73, DF.
    uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                   0x00, 0x00, 198,  51,   100,  1,    203,  0,    113,  2};
    // 0x4500+0x0073+0x4000+0x4011+0xc633+0x6401+0xcb00+0x7102 = 0x32bba,
    // folded 0x2bbd, inverted 0xd442.
    EXPECT_EQ(internet_checksum(h, sizeof h), 0xd442);
    h[10] = 0xd4;
    h[11] = 0x42;
    EXPECT_EQ(ones_complement_sum(h, sizeof h), 0xffff);
}

TEST(Checksum, BuilderHeadersVerify) {
    const Bytes f = frame4({.options = {0x94, 4, 0, 0}}, tcp({}));
    EXPECT_EQ(ones_complement_sum(f.data() + 14, 24), 0xffff);
}

// -------------------------------------------------------------- flow hash

PacketView view_of(const Bytes& f) {
    const auto [r, v] = run(f);
    EXPECT_EQ(r, Malformed::none);
    return v;
}

TEST(FlowHash, SymmetricV4) {
    const PacketView ab = view_of(frame4({.src = kHostA4, .dst = kHostB4}, tcp({})));
    const PacketView ba = view_of(frame4({.src = kHostB4, .dst = kHostA4},
                                         tcp({.sport = 80, .dport = 40000, .flags = syn | ack})));
    EXPECT_EQ(symmetric_ip_hash(ab), symmetric_ip_hash(ba));
}

TEST(FlowHash, SymmetricV6) {
    const PacketView ab = view_of(frame6({.src = kHostA6, .dst = kHostC6}, tcp({})));
    const PacketView ba = view_of(frame6({.src = kHostC6, .dst = kHostA6}, tcp({.flags = ack})));
    EXPECT_EQ(symmetric_ip_hash(ab), symmetric_ip_hash(ba));
}

TEST(FlowHash, IgnoresPortsAndProtocol) {
    const PacketView t = view_of(frame4({}, tcp({.sport = 1111})));
    const PacketView u = view_of(frame4({.proto = kUdp}, udp({.sport = 2222})));
    EXPECT_EQ(symmetric_ip_hash(t), symmetric_ip_hash(u));
}

TEST(FlowHash, DifferentPairsDiffer) {
    std::set<uint32_t> seen;
    unsigned pairs = 0;
    // One host talking to a /24, both families: the steering case that matters.
    for (unsigned i = 1; i < 255; ++i) {
        const Addr4 peer{203, 0, 113, static_cast<uint8_t>(i)};
        seen.insert(symmetric_ip_hash(view_of(frame4({.src = kHostA4, .dst = peer}, tcp({})))));
        Addr6 peer6 = kHostC6;
        peer6[15] = static_cast<uint8_t>(i);
        peer6[14] = static_cast<uint8_t>(i * 7);
        seen.insert(symmetric_ip_hash(view_of(frame6({.src = kHostA6, .dst = peer6}, tcp({})))));
        pairs += 2;
    }
    EXPECT_EQ(seen.size(), pairs);
    const PacketView ab = view_of(frame4({.src = kHostA4, .dst = kHostB4}, tcp({})));
    const PacketView ac = view_of(frame4({.src = kHostA4, .dst = kHostC4}, tcp({})));
    EXPECT_NE(symmetric_ip_hash(ab), symmetric_ip_hash(ac));
}

// A spoofer must not be able to pick sources that collide with another
// pair just because src ^ dst is equal (the hash orders the pair instead).
TEST(FlowHash, EqualXorPairsDiffer) {
    const PacketView p1 = view_of(frame4({.src = Addr4{198, 18, 0, 1}, .dst = Addr4{203, 0, 113, 9}}, tcp({})));
    const PacketView p2 = view_of(frame4({.src = Addr4{203, 0, 113, 1}, .dst = Addr4{198, 18, 0, 9}}, tcp({})));
    EXPECT_NE(symmetric_ip_hash(p1), symmetric_ip_hash(p2));
}

TEST(FlowHash, OwnerIsInRangeAndSharedByBothDirections) {
    const PacketView ab = view_of(frame4({.src = kHostA4, .dst = kHostC4}, tcp({})));
    const PacketView ba = view_of(frame4({.src = kHostC4, .dst = kHostA4}, tcp({.flags = ack})));
    for (unsigned n = 1; n <= 16; ++n) {
        EXPECT_LT(owner_of(symmetric_ip_hash(ab), n), n);
        EXPECT_EQ(owner_of(symmetric_ip_hash(ab), n), owner_of(symmetric_ip_hash(ba), n));
    }
    EXPECT_EQ(owner_of(0, 4), 0u);
    EXPECT_EQ(owner_of(0xffffffffu, 4), 3u);
}

}  // namespace

namespace {
// The 32-bit-word verifier the parser uses must agree with the byte-pair
// reference sum on every header length (5..15 words) and on good and bad
// checksums alike.
TEST(Checksum, WordVerifierAgreesWithReference) {
    uint32_t x = 12345;
    auto rnd = [&x] { return x = x * 1103515245u + 12345u, static_cast<uint8_t>(x >> 16); };
    for (unsigned ihl = 20; ihl <= 60; ihl += 4) {
        for (int round = 0; round < 200; ++round) {
            std::vector<uint8_t> h(ihl);
            for (auto& b : h) b = rnd();
            h[10] = h[11] = 0;
            const uint16_t c = triage::net::internet_checksum(h.data(), h.size());
            h[10] = static_cast<uint8_t>(c >> 8);
            h[11] = static_cast<uint8_t>(c);
            EXPECT_TRUE(triage::net::ipv4_header_checksum_ok(h.data(), ihl));
            h[rnd() % ihl] ^= static_cast<uint8_t>(1u << (rnd() % 8));
            EXPECT_EQ(triage::net::ipv4_header_checksum_ok(h.data(), ihl),
                      triage::net::ones_complement_sum(h.data(), h.size()) == 0xffff);
        }
    }
}
}  // namespace

// lib/gen's fill_l4_checksum: the checksum it writes verifies by the RFC 1071
// sum over pseudo-header + L4 (the byte-pair definition, not the code under
// test), for each protocol and family; fragments and non-IP are refused.
TEST(GenChecksum, FillsEveryTransport) {
    const auto verify = [](const Bytes& f, bool pseudo) {
        PacketView v;
        if (parse(f.data(), size16(f), v) != Malformed::none) return false;
        uint64_t sum = 0;
        const auto add = [&sum](const uint8_t* p, size_t n) {
            for (size_t i = 0; i < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
        };
        if (pseudo) {
            const size_t alen = v.ip_version == 4 ? 4 : 16;
            add(v.src, alen);
            add(v.dst, alen);
            sum += v.l4_proto + v.l4_len;
        }
        add(f.data() + v.l4_off, v.l4_len);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        return sum == 0xffff;
    };
    std::vector<std::pair<Bytes, bool>> frames = {
        {frame4({.proto = ip_proto::tcp}, tcp({.flags = tcp_flag::ack}, filler(33))), true},
        {frame4({.proto = ip_proto::udp}, udp({}, filler(17))), true},
        {frame4({.proto = ip_proto::icmp}, icmp(8, 0, filler(9))), false},
        {frame6({.next = ip_proto::tcp}, tcp({}, filler(40))), true},
        {frame6({.next = ip_proto::udp}, udp({}, filler(3))), true},
        {frame6({.next = ip_proto::icmpv6}, icmp(128, 0, filler(11))), true},
    };
    for (size_t i = 0; i < frames.size(); ++i) {
        Bytes& f = frames[i].first;
        EXPECT_FALSE(verify(f, frames[i].second)) << "frame " << i << " verifies before the fill";
        ASSERT_TRUE(triage::gen::fill_l4_checksum(f)) << "frame " << i;
        EXPECT_TRUE(verify(f, frames[i].second)) << "frame " << i;
    }
    Bytes frag = frame4({.proto = ip_proto::udp, .frag = kMF}, udp({}, filler(16)));
    EXPECT_FALSE(triage::gen::fill_l4_checksum(frag));
    Bytes arp = cat(eth(ether_type::arp), arp_request());
    EXPECT_FALSE(triage::gen::fill_l4_checksum(arp));
}
