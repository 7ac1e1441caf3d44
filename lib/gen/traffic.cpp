#include "traffic.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "net.h"

namespace triage::gen {

namespace {

constexpr uint16_t kMss = 1460;
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kCookieRetryNs = 8'000'000;  // Linux: TCP_TIMEOUT_MIN at HZ=250

Bytes ip_wrap(unsigned family, const uint8_t* src, const uint8_t* dst, uint8_t proto, unsigned s,
              const Bytes& l4, uint16_t frag = 0) {
    if (family == 4) {
        Ipv4 h;
        std::memcpy(h.src.data(), src, 4);
        std::memcpy(h.dst.data(), dst, 4);
        h.proto = proto;
        h.ttl = 57;
        h.frag = frag;
        h.id = static_cast<uint16_t>(kTag4 | s);
        return frame4(h, l4);
    }
    Ipv6 h;
    std::memcpy(h.src.data(), src, 16);
    std::memcpy(h.dst.data(), dst, 16);
    h.next = proto;
    h.hop_limit = 57;
    h.flow = kTag6 | s;
    return frame6(h, l4);
}

void put_serial_last(Bytes& payload, uint32_t serial) {
    const size_t n = payload.size();
    payload[n - 4] = static_cast<uint8_t>(serial >> 24);
    payload[n - 3] = static_cast<uint8_t>(serial >> 16);
    payload[n - 2] = static_cast<uint8_t>(serial >> 8);
    payload[n - 1] = static_cast<uint8_t>(serial);
}

void append_text(Bytes& b, std::string_view t) {
    b.insert(b.end(), t.begin(), t.end());
}

// What amplifiers answer, padded to len bytes (at least the 4-byte serial).
Bytes reflection_payload(Vector v, size_t len) {
    Bytes b;
    switch (v) {
    case Vector::dns: {  // an ANY answer: header, the question, then TXT records filling it
        b = {0x5a, 0x5a, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
        append_text(b, "\x03" "isc" "\x03" "org");
        b.insert(b.end(), {0x00, 0x00, 0xff, 0x00, 0x01});
        const size_t rest = len > b.size() ? len - b.size() : 0;
        const size_t n = (rest + 267) / 268;  // records of at most 12 + 1 + 255 bytes
        if (rest < 14 || n > 0xffff) break;
        b[7] = static_cast<uint8_t>(n);
        b[6] = static_cast<uint8_t>(n >> 8);
        const size_t text = rest - 13 * n;
        for (size_t k = 0; k < n; ++k) {
            const size_t t = text / n + (k + 1 == n ? text % n : 0);
            b.insert(b.end(), {0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10});
            push16(b, static_cast<uint16_t>(t + 1));
            b.push_back(static_cast<uint8_t>(t));
            const Bytes f = filler(t, static_cast<uint8_t>(0x61 + k));
            b.insert(b.end(), f.begin(), f.end());
        }
        return b;  // exactly len bytes; the serial lands in the last record's text
    }
    case Vector::ntp: {  // mode 7 MON_GETLIST_1 response: as many 72-byte items as fit
        const size_t items = len >= 8 + 72 ? std::min<size_t>((len - 8) / 72, 0xfff) : 0;
        b = {0xd7, 0x00, 0x03, 0x2a, static_cast<uint8_t>(items >> 8), static_cast<uint8_t>(items), 0x00, 0x48};
        break;
    }
    case Vector::memcached:  // UDP frame header, then a stats/get answer
        b = {0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
        append_text(b, "VALUE a 0 1048576\r\n");
        break;
    case Vector::ssdp:
        append_text(b,
                    "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: "
                    "http://192.0.2.1:1900/rootDesc.xml\r\nSERVER: Linux UPnP/1.0\r\nST: upnp:rootdevice\r\n\r\n");
        break;
    case Vector::cldap: {  // LDAPMessage { id 1, searchResEntry { "", { "name": { value } } } }
        if (len < 51) break;   // 47 bytes of BER around a value of at least the serial
        const auto vl = static_cast<uint32_t>(len - 47);
        auto ber = [&b](uint8_t tag, uint32_t n) {
            b.push_back(tag);
            b.push_back(0x84);
            push32(b, n);
        };
        ber(0x30, vl + 41);
        b.insert(b.end(), {0x02, 0x01, 0x01});
        ber(0x64, vl + 32);
        b.insert(b.end(), {0x04, 0x00});
        ber(0x30, vl + 24);
        ber(0x30, vl + 18);
        b.insert(b.end(), {0x04, 0x04, 'n', 'a', 'm', 'e'});
        ber(0x31, vl + 6);
        ber(0x04, vl);
        break;  // the value is the filler below
    }
    case Vector::count_: break;
    }
    if (b.size() + 4 > len) b.resize(len >= 4 ? len - 4 : 0);
    const Bytes pad = filler(len - b.size(), 0x41);
    b.insert(b.end(), pad.begin(), pad.end());
    return b;
}

// gen.h's frames go from 02:00:00:00:00:01 (the uplink's router) to
// 02:00:00:00:00:02 (the clinic's side); frames entering from the clinic go
// the other way, so a switch between the boxes learns each MAC on one port.
void orient(Bytes& f, Side side) {
    if (side == Side::inside && f.size() >= 12) std::swap_ranges(f.begin(), f.begin() + 6, f.begin() + 6);
}

size_t header_bytes(unsigned family) {
    return 14 + (family == 4 ? 20u : 40u);
}

}  // namespace

Side client_side(Kind k) noexcept {
    return k == Kind::dns_clients ? Side::inside : Side::outside;
}

Bytes flood_frame(const Scenario& sc, unsigned s, uint64_t i) {
    const Stream& st = sc.streams[s];
    const uint64_t r = mix64(sc.seed, s, i);
    uint8_t src[16], dst[16];
    st.src.nth(st.sources ? i % st.sources : r % st.src.size(), src);
    st.dst.nth(i % st.dst.size(), dst);
    const unsigned fam = st.src.family;
    const uint16_t eph = static_cast<uint16_t>(1024 + (r >> 32) % 64512);
    const uint32_t serial = static_cast<uint32_t>(i);
    const size_t l3 = header_bytes(fam);
    Bytes f;
    switch (st.kind) {
    case Kind::syn_flood:
    case Kind::ack_flood:
    case Kind::rst_flood: {
        Tcp t;
        t.sport = eph;
        t.dport = st.port;
        t.seq = serial;
        if (st.kind == Kind::syn_flood) {
            t.flags = net::tcp_flag::syn;
            t.options = opt::mss(kMss);
        } else if (st.kind == Kind::ack_flood) {
            t.flags = net::tcp_flag::ack;
            t.ack = static_cast<uint32_t>(r);
        } else {
            t.flags = net::tcp_flag::rst;
            t.ack = 0;
        }
        const size_t hdr = l3 + 20 + t.options.size();
        f = ip_wrap(fam, src, dst, net::ip_proto::tcp, s, tcp(t, filler(st.size > hdr ? st.size - hdr : 0)));
        fill_l4_checksum(f);
        return f;
    }
    case Kind::udp_flood:
    case Kind::reflection: {
        Udp u;
        const size_t plen = st.size - l3 - 8;
        Bytes payload;
        if (st.kind == Kind::reflection) {
            u.sport = vector_port(st.vector);
            u.dport = eph;
            payload = reflection_payload(st.vector, plen);
        } else {
            u.sport = eph;
            u.dport = st.port ? st.port : static_cast<uint16_t>(1 + (r >> 16) % 65535);
            payload = filler(plen, static_cast<uint8_t>(r));
        }
        put_serial_last(payload, serial);
        f = ip_wrap(fam, src, dst, net::ip_proto::udp, s, udp(u, payload));
        fill_l4_checksum(f);
        return f;
    }
    case Kind::icmp_flood: {
        Bytes l4 = icmp(fam == 4 ? 8 : 128, 0, filler(st.size - l3 - 8));
        l4[4] = static_cast<uint8_t>(serial >> 24);
        l4[5] = static_cast<uint8_t>(serial >> 16);
        l4[6] = static_cast<uint8_t>(serial >> 8);
        l4[7] = static_cast<uint8_t>(serial);
        f = ip_wrap(fam, src, dst, fam == 4 ? net::ip_proto::icmp : net::ip_proto::icmpv6, s, l4);
        fill_l4_checksum(f);
        return f;
    }
    case Kind::fragment_flood: {
        // Later fragments of big UDP datagrams: no ports, nothing to reassemble.
        // Data is a multiple of 8 bytes (a fragment with more to come must be)
        // and offset * 8 + data stays within 65535.
        const size_t data = fam == 4 ? (st.size - l3) & ~size_t{7} : (st.size - l3 - 8) & ~size_t{7};
        const size_t max_units = (65535 - data) / 8;
        const uint16_t offset = static_cast<uint16_t>(1 + (r >> 8) % std::min<size_t>(max_units, 7400));
        const bool more = (r & 1) != 0;
        if (fam == 4) {
            Bytes payload = filler(data, static_cast<uint8_t>(r));
            put_serial_last(payload, serial);
            return ip_wrap(fam, src, dst, net::ip_proto::udp, s, payload,
                           static_cast<uint16_t>((more ? kMF : 0) | offset));
        }
        Bytes payload = filler(data, static_cast<uint8_t>(r));
        put_serial_last(payload, serial);
        return ip_wrap(fam, src, dst, net::ip_proto::ipv6_fragment, s,
                       cat(ipv6_frag(net::ip_proto::udp, offset, more), payload));
    }
    default: break;
    }
    return f;  // session kinds are not floods
}

Session session_of(const Scenario& sc, unsigned s, uint64_t i) {
    const Stream& st = sc.streams[s];
    const uint64_t r = mix64(sc.seed, s, i);
    Session ss;
    ss.stream = static_cast<uint16_t>(s);
    ss.index = i;
    ss.family = st.src.family;
    st.src.nth(st.sources ? i % st.sources : r % st.src.size(), ss.client);
    st.dst.nth(i % st.dst.size(), ss.server);
    // With a fixed set of sources, session i of a source uses port 1024 + i/N
    // (unique among 64512 sessions in a row); with random sources, a random port.
    ss.cport = static_cast<uint16_t>(1024 + (st.sources ? (i / st.sources) % 64512 : (r >> 20) % 64512));
    ss.sport = st.port;
    ss.cisn = static_cast<uint32_t>(r >> 7);
    return ss;
}

uint32_t server_isn(const uint8_t* client, uint16_t cport, uint16_t sport, unsigned family) noexcept {
    uint64_t h = 0x5eed ^ (uint64_t{cport} << 16 | sport);
    const unsigned n = family == 4 ? 4 : 16;
    for (unsigned k = 0; k < n; ++k) h = mix64(h ^ client[k]);
    return static_cast<uint32_t>(h);
}

Bytes tcp_frame(const Session& ss, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                const Bytes& payload, bool mss) {
    Tcp t;
    t.sport = from_client ? ss.cport : ss.sport;
    t.dport = from_client ? ss.sport : ss.cport;
    t.flags = flags;
    t.seq = seq;
    t.ack = (flags & net::tcp_flag::ack) ? int64_t{ack} : 0;
    if (mss) t.options = opt::mss(kMss);
    Bytes f = ip_wrap(ss.family, from_client ? ss.client : ss.server, from_client ? ss.server : ss.client,
                      net::ip_proto::tcp, ss.stream, tcp(t, payload));
    fill_l4_checksum(f);
    return f;
}

Bytes http_request(const Scenario& sc, const Session& ss) {
    Bytes b;
    append_text(b, "GET " + sc.streams[ss.stream].path +
                       " HTTP/1.1\r\nHost: portal.clinic.example\r\nUser-Agent: triage-gen/1\r\n"
                       "Accept: text/html\r\nX-Session: " +
                       std::to_string(ss.index) + "\r\n\r\n");
    return b;
}

Bytes http_response() {
    Bytes b;
    append_text(b, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 256\r\nCache-Control: no-store\r\n\r\n");
    const Bytes body = filler(256, 0x30);
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

namespace {
Bytes dns_message(const Session& ss, bool answer) {
    Bytes b;
    push16(b, static_cast<uint16_t>(ss.cisn));
    push16(b, answer ? 0x8180 : 0x0100);
    push16(b, 1);
    push16(b, answer ? 1 : 0);
    push16(b, 0);
    push16(b, 0);
    append_text(b, "\x06" "portal" "\x06" "clinic" "\x07" "example");
    b.insert(b.end(), {0x00, 0x00, 0x01, 0x00, 0x01});  // A IN
    if (answer) {
        b.insert(b.end(), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04});
        b.insert(b.end(), {198, 51, 100, 10});
    }
    Udp u;
    u.sport = answer ? ss.sport : ss.cport;
    u.dport = answer ? ss.cport : ss.sport;
    Bytes f = ip_wrap(ss.family, answer ? ss.server : ss.client, answer ? ss.client : ss.server,
                      net::ip_proto::udp, ss.stream, udp(u, b));
    fill_l4_checksum(f);
    return f;
}
}  // namespace

Bytes dns_query(const Session& ss) {
    return dns_message(ss, false);
}
Bytes dns_answer(const Session& ss) {
    return dns_message(ss, true);
}

Bytes echo(const Session& ss, bool request) {
    const bool v4 = ss.family == 4;
    Bytes l4 = icmp(request ? (v4 ? 8 : 128) : (v4 ? 0 : 129), 0, filler(56, 0x10));
    l4[4] = static_cast<uint8_t>(ss.cport >> 8);
    l4[5] = static_cast<uint8_t>(ss.cport);
    l4[6] = static_cast<uint8_t>(ss.index >> 8);
    l4[7] = static_cast<uint8_t>(ss.index);
    Bytes f = ip_wrap(ss.family, request ? ss.client : ss.server, request ? ss.server : ss.client,
                      v4 ? net::ip_proto::icmp : net::ip_proto::icmpv6, ss.stream, l4);
    fill_l4_checksum(f);
    return f;
}

// ------------------------------------------------------------------ Builder

Builder::Builder(const Scenario& sc) : sc_(sc) {
    events_.resize(sc.streams.size());
    for (unsigned s = 0; s < sc.streams.size(); ++s) {
        events_[s] = sc.streams[s].events(sc.duration_ns);
        if (events_[s]) push_event(s, 0);
    }
}

void Builder::push_event(unsigned s, uint64_t i) {
    heap_.push(Item{sc_.streams[s].event_ns(i), order_++, static_cast<uint16_t>(s), true, i, 0});
}

void Builder::push_frame(uint64_t t, unsigned s, Side side, Bytes&& b) {
    size_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = frames_.size();
        frames_.emplace_back();
    }
    orient(b, side);
    frames_[slot] = Frame{t, side, static_cast<uint16_t>(s), std::move(b)};
    heap_.push(Item{t, order_++, static_cast<uint16_t>(s), false, 0, slot});
}

void Builder::expand_session(unsigned s, uint64_t i, uint64_t t) {
    const Stream& st = sc_.streams[s];
    const Session ss = session_of(sc_, s, i);
    const uint64_t rtt = sc_.rtt_ns, h = rtt / 2;
    const Side cs = client_side(st.kind), ssd = other(cs);
    using namespace net::tcp_flag;
    switch (st.kind) {
    case Kind::web_clients:
    case Kind::http_get_flood: {
        const Bytes req = http_request(sc_, ss), resp = http_response();
        const uint32_t c = ss.cisn, v = server_isn(ss.client, ss.cport, ss.sport, ss.family);
        const auto rl = static_cast<uint32_t>(req.size()), pl = static_cast<uint32_t>(resp.size());
        push_frame(t, s, cs, tcp_frame(ss, true, syn, c, 0, {}, true));
        push_frame(t + h, s, ssd, tcp_frame(ss, false, syn | ack, v, c + 1, {}, true));
        push_frame(t + rtt, s, cs, tcp_frame(ss, true, ack, c + 1, v + 1));
        push_frame(t + rtt, s, cs, tcp_frame(ss, true, psh | ack, c + 1, v + 1, req));
        push_frame(t + rtt + h, s, ssd, tcp_frame(ss, false, psh | ack, v + 1, c + 1 + rl, resp));
        push_frame(t + 2 * rtt, s, cs, tcp_frame(ss, true, fin | ack, c + 1 + rl, v + 1 + pl));
        push_frame(t + 2 * rtt + h, s, ssd, tcp_frame(ss, false, fin | ack, v + 1 + pl, c + 2 + rl));
        push_frame(t + 3 * rtt, s, cs, tcp_frame(ss, true, ack, c + 2 + rl, v + 2 + pl));
        break;
    }
    case Kind::dns_clients:
        push_frame(t, s, cs, dns_query(ss));
        push_frame(t + h, s, ssd, dns_answer(ss));
        break;
    case Kind::ping_clients:
        push_frame(t, s, cs, echo(ss, true));
        push_frame(t + h, s, ssd, echo(ss, false));
        break;
    default: break;
    }
}

bool Builder::next(Frame& f) {
    while (!heap_.empty()) {
        const Item it = heap_.top();
        heap_.pop();
        if (!it.is_event) {
            f = std::move(frames_[it.frame]);
            free_.push_back(it.frame);
            ++produced_;
            return true;
        }
        const unsigned s = it.stream;
        if (it.index + 1 < events_[s]) push_event(s, it.index + 1);
        if (kind_is_session(sc_.streams[s].kind)) {
            expand_session(s, it.index, it.t);
        } else {
            f = Frame{it.t, Side::outside, it.stream, flood_frame(sc_, s, it.index)};
            ++produced_;
            return true;
        }
    }
    return false;
}

// ----------------------------------------------------------------- identify

void identify(const Scenario* sc, const uint8_t* p, uint32_t len, Seen& out) {
    out = Seen{};
    out.parsed = net::parse(p, len, out.v) == net::Malformed::none;
    const net::PacketView& v = out.v;
    if (!out.parsed || !v.is_ip()) return;
    const uint8_t* ip = p + v.l3_off;
    size_t ip_end;
    if (v.ip_version == 4) {
        const uint16_t id = static_cast<uint16_t>(ip[4] << 8 | ip[5]);
        if ((id & 0xff00) == kTag4) out.stream = id & 0xff;
        ip_end = v.l3_off + (static_cast<size_t>(ip[2]) << 8 | ip[3]);
    } else {
        const uint32_t flow = (uint32_t{ip[1]} & 0x0f) << 16 | uint32_t{ip[2]} << 8 | ip[3];
        if ((flow & 0xfff00) == kTag6) out.stream = static_cast<int>(flow & 0xff);
        ip_end = v.l3_off + 40 + (static_cast<size_t>(ip[4]) << 8 | ip[5]);
    }
    if (out.stream < 0 || !sc || static_cast<size_t>(out.stream) >= sc->streams.size()) {
        out.stream = -1;
        return;
    }
    auto rd32 = [&](size_t at) {
        return uint32_t{p[at]} << 24 | uint32_t{p[at + 1]} << 16 | uint32_t{p[at + 2]} << 8 | p[at + 3];
    };
    switch (sc->streams[static_cast<size_t>(out.stream)].kind) {
    case Kind::syn_flood:
    case Kind::ack_flood:
    case Kind::rst_flood:
        if (v.has(net::view_flag::l4_parsed) && v.l4_proto == net::ip_proto::tcp) {
            out.serial = rd32(v.l4_off + 4u);
            out.has_serial = true;
        }
        break;
    case Kind::icmp_flood:
        if (v.has(net::view_flag::l4_parsed)) {
            out.serial = rd32(v.l4_off + 4u);
            out.has_serial = true;
        }
        break;
    case Kind::udp_flood:
    case Kind::reflection:
    case Kind::fragment_flood:
        if (ip_end >= 4 && ip_end <= len) {
            out.serial = rd32(ip_end - 4);
            out.has_serial = true;
        }
        break;
    default: break;
    }
}

namespace {
constexpr const char* kClassNames[] = {
#define TRIAGE_X(n) n,
    TRIAGE_GEN_CLASSES(TRIAGE_X)
#undef TRIAGE_X
};
static_assert(std::size(kClassNames) == kClasses);
unsigned class_index(const char* n) {
    for (unsigned k = 0; k < kClasses; ++k)
        if (std::strcmp(kClassNames[k], n) == 0) return k;
    return kClasses - 1;
}
}  // namespace

const char* class_name(unsigned c) noexcept {
    return c < kClasses ? kClassNames[c] : "?";
}

unsigned traffic_class(const uint8_t* p, uint32_t len) {
    static const unsigned c_syn = class_index("tcp-syn"), c_synack = class_index("tcp-synack"),
                          c_rst = class_index("tcp-rst"), c_tcp = class_index("tcp"), c_dns = class_index("udp-dns"),
                          c_udp = class_index("udp"), c_icmp = class_index("icmp"), c_frag = class_index("fragment"),
                          c_other = class_index("other-ip"), c_nonip = class_index("non-ip"),
                          c_bad = class_index("malformed");
    net::PacketView v;
    if (net::parse(p, len, v) != net::Malformed::none) return c_bad;
    if (!v.is_ip()) return c_nonip;
    if (v.has(net::view_flag::fragment) && !v.has(net::view_flag::l4_parsed)) return c_frag;
    switch (v.l4_proto) {
    case net::ip_proto::tcp: {
        constexpr uint8_t syn = net::tcp_flag::syn, ack = net::tcp_flag::ack;
        const uint8_t f = v.tcp_flags;
        if ((f & (syn | ack)) == syn) return c_syn;
        if ((f & (syn | ack)) == (syn | ack)) return c_synack;
        if (f & net::tcp_flag::rst) return c_rst;
        return c_tcp;
    }
    case net::ip_proto::udp:
        for (unsigned k = 0; k < static_cast<unsigned>(Vector::count_); ++k)
            if (v.sport == vector_port(static_cast<Vector>(k))) return c_dns + k;  // udp-* follow Vector's order
        return c_udp;
    case net::ip_proto::icmp:
    case net::ip_proto::icmpv6: return c_icmp;
    default: return c_other;
    }
}

// --------------------------------------------------------------------- Live

int64_t StreamResult::first_lost() const noexcept {
    for (size_t k = 0; k < arrived.size(); ++k)
        if (!arrived[k]) return static_cast<int64_t>(k);
    return -1;
}

size_t Live::KeyHash::operator()(const Key& k) const noexcept {
    uint64_t a, b;
    std::memcpy(&a, k.addr, 8);
    std::memcpy(&b, k.addr + 8, 8);
    return mix64(a ^ mix64(b ^ k.port));
}

Live::Live(const Scenario& sc) : sc_(sc) {
    const size_t n = sc.streams.size();
    events_.resize(n);
    next_.assign(n, 0);
    started_.assign(n, 0);
    res_.resize(n);
    for (size_t s = 0; s < n; ++s) {
        events_[s] = sc.streams[s].events(sc.duration_ns);
        if (!kind_is_session(sc.streams[s].kind)) {
            res_[s].sent_ns.reserve(events_[s]);
            res_[s].arrived.assign(events_[s], 0);
        }
    }
}

void Live::emit(Side side, unsigned s, Bytes&& b, std::vector<Out>& out) {
    res_[s].sent_packets++;
    res_[s].sent_bytes += b.size();
    orient(b, side);
    out.push_back(Out{side, static_cast<uint16_t>(s), std::move(b)});
}

void Live::send_first(Sess& x, std::vector<Out>& out) {
    const Kind k = sc_.streams[x.ss.stream].kind;
    const Side cs = client_side(k);
    if (k == Kind::dns_clients)
        emit(cs, x.ss.stream, dns_query(x.ss), out);
    else if (k == Kind::ping_clients)
        emit(cs, x.ss.stream, echo(x.ss, true), out);
    else
        emit(cs, x.ss.stream, tcp_frame(x.ss, true, net::tcp_flag::syn, x.ss.cisn, 0, {}, true), out);
}

void Live::start_session(unsigned s, uint64_t i, uint64_t now, std::vector<Out>& out) {
    Sess x;
    x.ss = session_of(sc_, s, i);
    x.syn_ns = now;
    x.retx_ns = now + kSecond;
    Key key{};
    std::memcpy(key.addr, x.ss.client, 16);
    key.port = x.ss.cport;
    res_[s].sessions++;
    auto [it, fresh] = sess_.insert_or_assign(key, x);
    (void)fresh;
    send_first(it->second, out);
    timers_.emplace(x.retx_ns, key);
}

void Live::tick(uint64_t now, std::vector<Out>& out, size_t max) {
    // Scheduled events, in time order across streams, while due.
    while (out.size() < max) {
        int best = -1;
        uint64_t best_t = UINT64_MAX;
        for (unsigned s = 0; s < events_.size(); ++s) {
            if (next_[s] >= events_[s]) continue;
            const uint64_t t = sc_.streams[s].event_ns(next_[s]);
            if (t < best_t) {
                best_t = t;
                best = static_cast<int>(s);
            }
        }
        if (best < 0 || best_t > now) break;
        const auto s = static_cast<unsigned>(best);
        const uint64_t i = next_[s]++;
        if (i == 0) started_[s] = now;
        if (kind_is_session(sc_.streams[s].kind)) {
            start_session(s, i, now, out);
        } else {
            res_[s].sent_ns.push_back(now);
            emit(Side::outside, s, flood_frame(sc_, s, i), out);
        }
    }
    // Retransmissions and cookie retries (stale entries are skipped).
    while (!timers_.empty() && timers_.begin()->first <= now && out.size() < max) {
        const auto [due, key] = *timers_.begin();
        timers_.erase(timers_.begin());
        auto it = sess_.find(key);
        if (it == sess_.end() || it->second.retx_ns != due) continue;
        Sess& x = it->second;
        StreamResult& r = res_[x.ss.stream];
        if (x.st == St::closing) {
            sess_.erase(it);
            continue;
        }
        const bool cookie_retry = x.cookie_retry;
        x.cookie_retry = false;
        if (!cookie_retry && ++x.tries > 3) {
            r.failed++;
            sess_.erase(it);
            continue;
        }
        if (x.st == St::syn_sent) {
            send_first(x, out);
        } else {  // established: the request went unanswered
            const Bytes req = http_request(sc_, x.ss);
            emit(client_side(sc_.streams[x.ss.stream].kind), x.ss.stream,
                 tcp_frame(x.ss, true, net::tcp_flag::psh | net::tcp_flag::ack, x.ss.cisn + 1, x.server_seq, req), out);
        }
        x.retx_ns = now + (kSecond << x.tries);
        timers_.emplace(x.retx_ns, key);
    }
}

bool Live::done(uint64_t) const noexcept {
    for (size_t s = 0; s < events_.size(); ++s)
        if (next_[s] < events_[s]) return false;
    for (const auto& [k, x] : sess_)
        if (x.st != St::closing) return false;
    return true;
}

void Live::receive(Side side, const uint8_t* p, uint32_t len, uint64_t now, std::vector<Out>& out) {
    Seen sn;
    identify(&sc_, p, len, sn);
    const net::PacketView& v = sn.v;
    if (sn.stream < 0) {
        untagged_[static_cast<unsigned>(side)]++;
        // The box's own cookie SYN-ACKs come back out of the outside port, untagged.
        if (side == Side::outside && sn.parsed && v.l4_proto == net::ip_proto::tcp &&
            (v.tcp_flags & (net::tcp_flag::syn | net::tcp_flag::ack)) == (net::tcp_flag::syn | net::tcp_flag::ack)) {
            cookie_synacks_++;
            client_end(sn, p, now, out);
        }
        return;
    }
    const unsigned s = static_cast<unsigned>(sn.stream);
    StreamResult& r = res_[s];
    r.delivered_packets++;
    r.delivered_bytes += len;
    const Kind k = sc_.streams[s].kind;
    if (!kind_is_session(k)) {
        if (sn.has_serial && sn.serial < r.arrived.size()) r.arrived[sn.serial] = 1;
        return;
    }
    if (side == client_side(k))
        client_end(sn, p, now, out);
    else
        server_end(sn, p, out);
}

void Live::server_end(Seen& sn, const uint8_t* p, std::vector<Out>& out) {
    const net::PacketView& v = sn.v;
    const unsigned s = static_cast<unsigned>(sn.stream);
    const Kind k = sc_.streams[s].kind;
    const Side here = other(client_side(k));
    Session ss;
    ss.stream = static_cast<uint16_t>(s);
    ss.family = v.ip_version == 4 ? 4 : 6;
    std::memcpy(ss.client, v.src, 16);
    std::memcpy(ss.server, v.dst, 16);
    Key key{};
    std::memcpy(key.addr, v.src, 16);
    auto mark_request = [&] {
        auto it = sess_.find(key);
        if (it != sess_.end() && !it->second.request_seen) {
            it->second.request_seen = true;  // counted once, whatever the retransmissions
            res_[s].requests++;
        }
    };
    if (!sn.parsed || !v.has(net::view_flag::l4_parsed)) return;
    if (k == Kind::ping_clients) {
        if (v.icmp_type != 8 && v.icmp_type != 128) return;
        const uint8_t* l4 = p + v.l4_off;
        ss.cport = static_cast<uint16_t>(l4[4] << 8 | l4[5]);
        ss.index = static_cast<uint64_t>(l4[6] << 8 | l4[7]);
        key.port = ss.cport;
        mark_request();
        emit(here, s, echo(ss, false), out);
        return;
    }
    ss.cport = v.sport;
    ss.sport = v.dport;
    key.port = v.sport;
    if (k == Kind::dns_clients) {
        if (v.l4_proto != net::ip_proto::udp || v.l4_len < 8 + 12) return;
        const uint8_t* dns = p + v.l4_off + 8;
        ss.cisn = static_cast<uint32_t>(dns[0] << 8 | dns[1]);
        mark_request();
        emit(here, s, dns_answer(ss), out);
        return;
    }
    if (v.l4_proto != net::ip_proto::tcp) return;
    using namespace net::tcp_flag;
    const uint8_t* th = p + v.l4_off;
    const uint32_t seq = uint32_t{th[4]} << 24 | uint32_t{th[5]} << 16 | uint32_t{th[6]} << 8 | th[7];
    const uint32_t isn = server_isn(ss.client, ss.cport, ss.sport, ss.family);
    const uint32_t plen = v.l4_len - static_cast<uint32_t>(v.payload_off - v.l4_off);
    const uint8_t f = v.tcp_flags;
    if (f & rst) return;
    if ((f & (syn | ack)) == syn) {
        emit(here, s, tcp_frame(ss, false, syn | ack, isn, seq + 1, {}, true), out);
    } else if (plen > 0) {
        mark_request();
        emit(here, s, tcp_frame(ss, false, psh | ack, isn + 1, seq + plen, http_response()), out);
    } else if (f & fin) {
        emit(here, s, tcp_frame(ss, false, fin | ack, isn + 1 + static_cast<uint32_t>(http_response().size()), seq + 1),
             out);
    }
}

void Live::client_end(Seen& sn, const uint8_t* p, uint64_t now, std::vector<Out>& out) {
    const net::PacketView& v = sn.v;
    if (!sn.parsed || !v.has(net::view_flag::l4_parsed)) return;
    Key key{};
    std::memcpy(key.addr, v.dst, 16);
    const uint8_t* l4 = p + v.l4_off;
    key.port = v.l4_proto == net::ip_proto::icmp || v.l4_proto == net::ip_proto::icmpv6
                   ? static_cast<uint16_t>(l4[4] << 8 | l4[5])
                   : v.dport;
    auto it = sess_.find(key);
    if (it == sess_.end()) return;  // a spoofed source's answer, or a session already over
    Sess& x = it->second;
    const unsigned s = x.ss.stream;
    StreamResult& r = res_[s];
    const Kind k = sc_.streams[s].kind;
    const Side here = client_side(k);
    if (k == Kind::dns_clients || k == Kind::ping_clients) {
        if (!x.completed) {
            x.completed = true;
            r.completed++;
        }
        sess_.erase(it);
        return;
    }
    if (v.l4_proto != net::ip_proto::tcp) return;
    using namespace net::tcp_flag;
    const uint32_t seq = uint32_t{l4[4]} << 24 | uint32_t{l4[5]} << 16 | uint32_t{l4[6]} << 8 | l4[7];
    const uint32_t ackn = uint32_t{l4[8]} << 24 | uint32_t{l4[9]} << 16 | uint32_t{l4[10]} << 8 | l4[11];
    const uint32_t plen = v.l4_len - static_cast<uint32_t>(v.payload_off - v.l4_off);
    const uint8_t f = v.tcp_flags;
    const uint32_t rl = static_cast<uint32_t>(http_request(sc_, x.ss).size());
    if ((f & (syn | ack)) == (syn | ack)) {
        if (x.st != St::syn_sent) return;  // a duplicate
        if (ackn != x.ss.cisn + 1) {
            // Unacceptable SYN-ACK (a cookie): RST with its ACK as our sequence
            // number (RFC 9293 3.10.7.3), then SYN again soon, as Linux does.
            r.auth_challenges++;
            emit(here, s, tcp_frame(x.ss, true, rst, ackn, 0), out);
            x.retx_ns = now + kCookieRetryNs;
            x.cookie_retry = true;
            timers_.emplace(x.retx_ns, key);
            return;
        }
        x.st = St::established;
        x.server_seq = seq + 1;
        x.tries = 0;
        r.handshakes++;
        const uint64_t hs = now - x.syn_ns;
        r.handshake_ns_sum += hs;
        r.handshake_ns_max = std::max(r.handshake_ns_max, hs);
        emit(here, s, tcp_frame(x.ss, true, ack, x.ss.cisn + 1, x.server_seq), out);
        emit(here, s, tcp_frame(x.ss, true, psh | ack, x.ss.cisn + 1, x.server_seq, http_request(sc_, x.ss)), out);
        x.retx_ns = now + kSecond;
        timers_.emplace(x.retx_ns, key);
        return;
    }
    if (x.st == St::established && plen > 0) {
        if (!x.completed) {
            x.completed = true;
            r.completed++;
        }
        x.st = St::closing;
        emit(here, s, tcp_frame(x.ss, true, fin | ack, x.ss.cisn + 1 + rl, seq + plen), out);
        x.retx_ns = now + 2 * kSecond;  // then forget it
        timers_.emplace(x.retx_ns, key);
        return;
    }
    if (x.st == St::closing && (f & fin)) {
        emit(here, s, tcp_frame(x.ss, true, ack, x.ss.cisn + 2 + rl, seq + 1), out);
        sess_.erase(it);
    }
}

}  // namespace triage::gen
