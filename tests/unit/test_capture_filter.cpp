// lib/capture's filter: the console's `capture start ... match FILTER` and
// the header-only snap length of incident captures.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "filter.h"
#include "gen.h"
#include "parse.h"

using namespace triage;

namespace {

capture::Filter parse_ok(const std::string& text) {
    capture::Filter f;
    std::string err;
    EXPECT_TRUE(capture::parse_filter(text, f, err)) << text << ": " << err;
    return f;
}

std::string parse_err(const std::string& text) {
    capture::Filter f;
    std::string err;
    EXPECT_FALSE(capture::parse_filter(text, f, err)) << text;
    return err;
}

using gen::Addr4;
using gen::Addr6;
constexpr Addr4 kClient{203, 0, 113, 7}, kPortal{198, 51, 100, 10}, kResolver{192, 0, 2, 53}, kPc{198, 51, 100, 20};
constexpr Addr6 kClient6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
constexpr Addr6 kPortal6{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

gen::Bytes syn4(std::initializer_list<gen::Bytes> opts = {}) {
    gen::Tcp t;
    t.sport = 40000;
    t.dport = 443;
    for (const auto& o : opts) t.options.insert(t.options.end(), o.begin(), o.end());
    gen::Ipv4 h;
    h.src = kClient;
    h.dst = kPortal;
    return gen::frame4(h, gen::tcp(t));
}

gen::Bytes dns4(size_t payload) {
    gen::Udp u;
    u.sport = 53;
    u.dport = 3333;
    gen::Ipv4 h;
    h.src = kResolver;
    h.dst = kPc;
    h.proto = net::ip_proto::udp;
    return gen::frame4(h, gen::udp(u, gen::filler(payload)));
}

gen::Bytes syn6() {
    gen::Tcp t;
    t.sport = 40000;
    t.dport = 443;
    gen::Ipv6 h;
    h.src = kClient6;
    h.dst = kPortal6;
    return gen::frame6(h, gen::tcp(t));
}

net::PacketView view(const std::vector<uint8_t>& frame) {
    net::PacketView v{};
    EXPECT_EQ(net::parse(frame.data(), static_cast<uint32_t>(frame.size()), v), net::Malformed::none);
    return v;
}

}  // namespace

TEST(CaptureFilter, ParsesAndPrintsCanonically) {
    EXPECT_TRUE(parse_ok("any").any());
    EXPECT_EQ(capture::to_string(parse_ok("any")), "any");
    EXPECT_EQ(capture::to_string(parse_ok("port=443,tcp,dst=198.51.100.10,in")), "dst=198.51.100.10/32,tcp,port=443,in");
    EXPECT_EQ(capture::to_string(parse_ok("src=203.0.113.0/24,udp,port=53-54,out")),
              "src=203.0.113.0/24,udp,port=53-54,out");
    EXPECT_EQ(capture::to_string(parse_ok("host=2001:db8::/32,icmp")), "host=2001:db8::/32,icmp");
    EXPECT_EQ(capture::to_string(parse_ok("proto=47")), "proto=47");
}

TEST(CaptureFilter, RefusesBadTermsNamingThem) {
    EXPECT_NE(parse_err("").find("empty"), std::string::npos);
    EXPECT_NE(parse_err("tcp,,port=1").find("empty term"), std::string::npos);
    EXPECT_NE(parse_err("dst=198.51.100.1/24").find("dst=198.51.100.1/24"), std::string::npos);
    EXPECT_NE(parse_err("port=70000").find("port=70000"), std::string::npos);
    EXPECT_NE(parse_err("port=443-80").find("backwards"), std::string::npos);
    EXPECT_NE(parse_err("tcp,udp").find("already"), std::string::npos);
    EXPECT_NE(parse_err("in,out").find("already"), std::string::npos);
    EXPECT_NE(parse_err("dst=198.51.100.1,dst=198.51.100.2").find("twice"), std::string::npos);
    EXPECT_NE(parse_err("icmp,port=1").find("needs tcp or udp"), std::string::npos);
    EXPECT_NE(parse_err("vlan=3").find("unknown"), std::string::npos);
    EXPECT_NE(parse_err("tcp=1").find("unknown"), std::string::npos);
    EXPECT_NE(parse_err("proto=256").find("proto=N"), std::string::npos);
    EXPECT_NE(parse_err("dst").find("dst=PREFIX"), std::string::npos);
}

TEST(CaptureFilter, Matches) {
    const auto syn = view(syn4());
    const auto dns = view(dns4(40));
    const auto syn6 = view(::syn6());
    EXPECT_TRUE(capture::matches(parse_ok("any"), syn, true));
    EXPECT_TRUE(capture::matches(parse_ok("dst=198.51.100.10,tcp,port=443,in"), syn, true));
    EXPECT_FALSE(capture::matches(parse_ok("dst=198.51.100.10,tcp,port=443,in"), syn, false));
    EXPECT_FALSE(capture::matches(parse_ok("dst=198.51.100.11"), syn, true));
    EXPECT_TRUE(capture::matches(parse_ok("dst=198.51.100.0/24"), syn, true));
    EXPECT_TRUE(capture::matches(parse_ok("host=203.0.113.0/24"), syn, true));   // the source
    EXPECT_TRUE(capture::matches(parse_ok("port=40000"), syn, true));            // either port
    EXPECT_FALSE(capture::matches(parse_ok("udp"), syn, true));
    EXPECT_TRUE(capture::matches(parse_ok("udp,port=53"), dns, true));
    EXPECT_FALSE(capture::matches(parse_ok("src=198.51.100.0/24"), dns, true));
    EXPECT_TRUE(capture::matches(parse_ok("dst=2001:db8:10::/48,tcp"), syn6, true));
    EXPECT_FALSE(capture::matches(parse_ok("dst=198.51.100.0/24"), syn6, true));  // other family
    // Non-IP frames match only filters without IP terms.
    net::PacketView arp{};
    EXPECT_TRUE(capture::matches(parse_ok("in"), arp, true));
    EXPECT_FALSE(capture::matches(parse_ok("tcp"), arp, true));
}

TEST(CaptureFilter, HeaderLengthStopsAtTheTransportHeader) {
    const auto frame = dns4(400);
    const auto v = view(frame);
    const auto len = static_cast<uint32_t>(frame.size());
    EXPECT_EQ(capture::header_length(v, true, len, 0), 14u + 20u + 8u);
    EXPECT_EQ(capture::header_length(v, true, len, 16), 14u + 20u + 8u + 16u);
    EXPECT_EQ(capture::header_length(v, true, len, 5000), len);
    EXPECT_EQ(capture::header_length(v, false, len, 0), 64u);  // unparsed: a fixed head
    const auto syn = syn4({gen::opt::mss(1460), gen::opt::nop(), gen::opt::wscale(7)});
    const auto sv = view(syn);
    EXPECT_EQ(sv.payload_off, 14u + 20u + 20u + 8u);
    EXPECT_EQ(capture::header_length(sv, true, static_cast<uint32_t>(syn.size()), 0), sv.payload_off);
}
