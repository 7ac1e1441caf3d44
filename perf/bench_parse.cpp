// Micro-benchmarks of triage::net::parse(): cost per frame for the shapes a
// scrubber sees most, with and without the software IPv4 header checksum.
//
// Each benchmark cycles through a small set of frames of one shape (different
// source addresses and ports, so branch predictors and the compiler cannot
// settle on one constant input) that stays in L1: this is the parser's own
// cost, not the memory system's. One iteration parses one frame, so items/s is
// frames per second on one core. Names: parse/<shape>/csum_sw (IPv4 header
// checksum verified in software) or csum_offloaded (skipped, as when the NIC
// marked it good); ipv4_header_sum/* times the header checksum alone.
//
//   build/perf/bench_parse                          everything
//   build/perf/bench_parse --benchmark_filter=v6    one family
// See docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "net.h"

namespace {

using triage::net::Malformed;
using triage::net::PacketView;
using Bytes = std::vector<uint8_t>;
namespace et = triage::net::ether_type;
namespace ipp = triage::net::ip_proto;

// Frames per set; 64 frames of <= 128 bytes stay well inside L1.
constexpr unsigned kFrames = 64;

void put16(Bytes& b, uint16_t x) {
    b.push_back(static_cast<uint8_t>(x >> 8));
    b.push_back(static_cast<uint8_t>(x));
}
void put32(Bytes& b, uint32_t x) {
    put16(b, static_cast<uint16_t>(x >> 16));
    put16(b, static_cast<uint16_t>(x));
}
void set16(Bytes& b, size_t at, uint16_t x) {
    b[at] = static_cast<uint8_t>(x >> 8);
    b[at + 1] = static_cast<uint8_t>(x);
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// Ethernet with 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) tags.
Bytes ethernet(uint16_t type, unsigned tags = 0) {
    Bytes b{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    if (tags == 2) {
        put16(b, et::qinq);
        put16(b, 100);
    }
    if (tags >= 1) {
        put16(b, et::vlan);
        put16(b, 200);
    }
    put16(b, type);
    return b;
}

// L4 checksum over the pseudo-header; the parser does not read it, but the
// frames should be what a wire would carry.
void fill_l4_checksum(Bytes& l4, size_t csum_at, const uint8_t* src, const uint8_t* dst,
                      unsigned alen, uint8_t proto) {
    Bytes pseudo(src, src + alen);
    pseudo.insert(pseudo.end(), dst, dst + alen);
    if (alen == 4) {
        pseudo.push_back(0);
        pseudo.push_back(proto);
        put16(pseudo, static_cast<uint16_t>(l4.size()));
    } else {
        put32(pseudo, static_cast<uint32_t>(l4.size()));
        put32(pseudo, proto);
    }
    set16(l4, csum_at, 0);
    const uint32_t seed = triage::net::ones_complement_sum(pseudo.data(), pseudo.size());
    uint16_t c = triage::net::internet_checksum(l4.data(), l4.size(), seed);
    if (c == 0 && proto == ipp::udp) c = 0xffff;
    set16(l4, csum_at, c);
}

// TCP SYN; opts must be a multiple of 4 bytes.
Bytes tcp_syn(uint16_t sport, uint16_t dport, const Bytes& opts = {}) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 0x12345678u + sport);  // seq
    put32(b, 0);                    // ack
    b.push_back(static_cast<uint8_t>((5 + opts.size() / 4) << 4));
    b.push_back(triage::net::tcp_flag::syn);
    put16(b, 64240);  // window
    put16(b, 0);      // checksum
    put16(b, 0);      // urgent
    append(b, opts);
    return b;
}

Bytes udp(uint16_t sport, uint16_t dport, unsigned payload, unsigned length_field = 0) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, static_cast<uint16_t>(length_field ? length_field : 8 + payload));
    put16(b, 0);
    for (unsigned i = 0; i < payload; ++i) b.push_back(static_cast<uint8_t>(i * 7 + sport));
    return b;
}

// IPv4 header + l4, checksums filled.
Bytes ipv4(uint32_t src, uint32_t dst, uint8_t proto, Bytes l4, uint16_t id) {
    Bytes h;
    h.push_back(0x45);
    h.push_back(0);
    put16(h, static_cast<uint16_t>(20 + l4.size()));
    put16(h, id);
    put16(h, 0x4000);  // DF
    h.push_back(64);
    h.push_back(proto);
    put16(h, 0);
    put32(h, src);
    put32(h, dst);
    set16(h, 10, triage::net::internet_checksum(h.data(), h.size()));
    if (proto == ipp::tcp) fill_l4_checksum(l4, 16, h.data() + 12, h.data() + 16, 4, proto);
    if (proto == ipp::udp) fill_l4_checksum(l4, 6, h.data() + 12, h.data() + 16, 4, proto);
    append(h, l4);
    return h;
}

// IPv6 header + extension headers + l4 (L4 checksum over l4 alone).
Bytes ipv6(unsigned host, uint8_t next, const Bytes& ext, uint8_t l4_proto, Bytes l4) {
    Bytes h;
    put32(h, 0x60000000u);
    put16(h, static_cast<uint16_t>(ext.size() + l4.size()));
    h.push_back(next);
    h.push_back(64);
    const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0,
                             static_cast<uint8_t>(host >> 8), static_cast<uint8_t>(host | 1)};
    const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0x51, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
    h.insert(h.end(), src, src + 16);
    h.insert(h.end(), dst, dst + 16);
    if (l4_proto == ipp::tcp) fill_l4_checksum(l4, 16, src, dst, 16, l4_proto);
    if (l4_proto == ipp::udp) fill_l4_checksum(l4, 6, src, dst, 16, l4_proto);
    append(h, ext);
    append(h, l4);
    return h;
}

Bytes arp_request(unsigned i) {
    Bytes b;
    put16(b, 1);       // Ethernet
    put16(b, et::ipv4);
    b.push_back(6);
    b.push_back(4);
    put16(b, 1);  // request
    const Bytes sha{0x02, 0, 0, 0, 0, 0x01};
    append(b, sha);
    put32(b, 0xc6120000u + i);  // 198.18.x.x
    append(b, Bytes(6, 0));
    put32(b, 0xc6336401u);  // 198.51.100.1
    return b;
}

// Pad to the 60-byte Ethernet minimum (64 on the wire with the FCS).
Bytes frame(Bytes l2, const Bytes& l3) {
    append(l2, l3);
    if (l2.size() < 60) l2.resize(60, 0);
    return l2;
}

uint32_t src4(unsigned i) { return 0xc6120000u + i * 2654435761u % 131072u; }  // 198.18.0.0/15
uint32_t dst4(unsigned i) { return 0xc6336400u + 1 + i % 254; }                // 198.51.100.0/24
uint16_t sport(unsigned i) { return static_cast<uint16_t>(1024 + i * 977 % 60000); }

// Linux-style SYN options: MSS, SACK permitted, timestamps, NOP, window scale.
Bytes syn_options() {
    return {2, 4, 0x05, 0xb4,               // MSS 1460
            4, 2,                           // SACK permitted
            8, 10, 0, 0, 0, 1, 0, 0, 0, 0,  // TSval 1, TSecr 0
            1,                              // NOP
            3, 3, 7};                       // window scale 7
}

struct Shape {
    const char* name;
    Bytes (*make)(unsigned i);
    uint8_t ip_version;
    uint8_t l4_proto;
};

const Shape kShapes[] = {
    {"ipv4_tcp_syn_64B", [](unsigned i) {
         return frame(ethernet(et::ipv4), ipv4(src4(i), dst4(i), ipp::tcp, tcp_syn(sport(i), 443), i));
     }, 4, ipp::tcp},
    {"ipv4_tcp_syn_opts", [](unsigned i) {
         return frame(ethernet(et::ipv4),
                      ipv4(src4(i), dst4(i), ipp::tcp, tcp_syn(sport(i), 443, syn_options()), i));
     }, 4, ipp::tcp},
    {"ipv4_udp_64B", [](unsigned i) {
         return frame(ethernet(et::ipv4), ipv4(src4(i), dst4(i), ipp::udp, udp(sport(i), 5001, 18), i));
     }, 4, ipp::udp},
    // A typical DNS query (one question, EDNS0): ~50 bytes of UDP payload.
    {"ipv4_udp_dns", [](unsigned i) {
         return frame(ethernet(et::ipv4), ipv4(src4(i), dst4(i), ipp::udp, udp(sport(i), 53, 51), i));
     }, 4, ipp::udp},
    {"qinq_ipv4_udp", [](unsigned i) {
         return frame(ethernet(et::ipv4, 2), ipv4(src4(i), dst4(i), ipp::udp, udp(sport(i), 5001, 18), i));
     }, 4, ipp::udp},
    {"ipv6_tcp_syn", [](unsigned i) {
         return frame(ethernet(et::ipv6), ipv6(i, ipp::tcp, {}, ipp::tcp, tcp_syn(sport(i), 443)));
     }, 6, ipp::tcp},
    // Hop-by-hop (PadN) -> destination options (PadN) -> fragment (first
    // fragment, more follow) -> UDP carrying the start of a 48-byte datagram.
    {"ipv6_hbh_dst_frag_udp", [](unsigned i) {
         Bytes ext{ipp::ipv6_dest_opts, 0, 1, 4, 0, 0, 0, 0,   // hop-by-hop, PadN(4)
                   ipp::ipv6_fragment, 0, 1, 4, 0, 0, 0, 0,    // destination options, PadN(4)
                   ipp::udp, 0, 0x00, 0x01};                   // fragment: offset 0, M=1
         put32(ext, 0x1000u + i);                              // identification
         return frame(ethernet(et::ipv6), ipv6(i, ipp::hop_by_hop, ext, ipp::udp,
                                               udp(sport(i), 5001, 16, 48)));
     }, 6, ipp::udp},
    {"arp", [](unsigned i) { return frame(ethernet(et::arp), arp_request(i)); }, 0, 0},
};

struct FrameSet {
    std::vector<Bytes> frames;
    std::string error;  // empty when every frame parses as intended
};

FrameSet build(const Shape& s, bool verify) {
    FrameSet fs;
    triage::net::ParseOptions opt;
    opt.verify_ipv4_checksum = verify;
    for (unsigned i = 0; i < kFrames; ++i) {
        Bytes f = s.make(i);
        PacketView v;
        const Malformed m = triage::net::parse(f.data(), static_cast<uint32_t>(f.size()), v, opt);
        char buf[160];
        if (m != Malformed::none) {
            std::snprintf(buf, sizeof buf, "frame %u of %s parses as %s", i, s.name,
                          triage::net::malformed_name(m));
            fs.error = buf;
        } else if (v.ip_version != s.ip_version || (s.ip_version && v.l4_proto != s.l4_proto)) {
            std::snprintf(buf, sizeof buf, "frame %u of %s: ip_version %u l4_proto %u", i, s.name,
                          v.ip_version, v.l4_proto);
            fs.error = buf;
        }
        if (!fs.error.empty()) break;
        fs.frames.push_back(std::move(f));
    }
    return fs;
}

void BM_parse(benchmark::State& state, const Shape& shape, bool verify) {
    const FrameSet fs = build(shape, verify);
    if (!fs.error.empty()) {
        state.SkipWithError(fs.error.c_str());
        return;
    }
    struct Ref {
        const uint8_t* p;
        uint32_t len;
    };
    std::vector<Ref> refs;
    uint64_t bytes_per_set = 0;
    for (const Bytes& f : fs.frames) {
        refs.push_back({f.data(), static_cast<uint32_t>(f.size())});
        bytes_per_set += f.size();
    }
    triage::net::ParseOptions opt;
    opt.verify_ipv4_checksum = verify;
    PacketView v;
    unsigned i = 0;
    unsigned bad = 0;
    for (auto _ : state) {
        const Ref r = refs[i];
        i = (i + 1) % kFrames;
        const Malformed m = triage::net::parse(r.p, r.len, v, opt);
        bad += m != Malformed::none;
        benchmark::DoNotOptimize(v);
        benchmark::DoNotOptimize(m);
    }
    if (bad) state.SkipWithError("a frame stopped parsing cleanly during the run");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_set / kFrames));
    state.counters["frame_B"] = static_cast<double>(bytes_per_set) / kFrames;
}

// Where the IPv4 checksum time goes. "verify" is net::ipv4_header_checksum_ok()
// as parse() calls it (native 32-bit words); "bytepairs" is the generic
// net::ones_complement_sum() byte-pair loop it replaced. Both are checked to
// agree on every header, good and bad.
void BM_ipv4_header_sum(benchmark::State& state, bool words) {
    std::vector<Bytes> hdrs;
    for (unsigned i = 0; i < kFrames; ++i) {
        Bytes f = kShapes[0].make(i);
        hdrs.emplace_back(f.begin() + 14, f.begin() + 34);
        // Odd sums too, not only headers that verify.
        Bytes g = hdrs.back();
        g[12] ^= static_cast<uint8_t>(i * 37);
        g[19] ^= static_cast<uint8_t>(i * 11 + 1);
        hdrs.push_back(g);
    }
    for (const Bytes& h : hdrs)
        if (triage::net::ipv4_header_checksum_ok(h.data(), 20) !=
            (triage::net::ones_complement_sum(h.data(), h.size()) == 0xffff)) {
            state.SkipWithError("ipv4_header_checksum_ok disagrees with ones_complement_sum");
            return;
        }
    std::vector<const uint8_t*> ptrs;
    for (const Bytes& h : hdrs) ptrs.push_back(h.data());
    const size_t n = ptrs.size();
    size_t i = 0;
    // The header length is a run-time value in parse() (IHL), so it is here.
    unsigned ihl = 20;
    benchmark::DoNotOptimize(ihl);
    for (auto _ : state) {
        const uint8_t* p = ptrs[i];
        i = i + 1 == n ? 0 : i + 1;
        bool ok = words ? triage::net::ipv4_header_checksum_ok(p, ihl)
                        : triage::net::ones_complement_sum(p, ihl) == 0xffff;
        benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

const int registered = [] {
    for (const Shape& s : kShapes)
        for (bool verify : {true, false})
            benchmark::RegisterBenchmark(
                (std::string("parse/") + s.name + (verify ? "/csum_sw" : "/csum_offloaded")).c_str(),
                BM_parse, s, verify);
    benchmark::RegisterBenchmark("ipv4_header_sum/verify", BM_ipv4_header_sum, true);
    benchmark::RegisterBenchmark("ipv4_header_sum/bytepairs", BM_ipv4_header_sum, false);
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
