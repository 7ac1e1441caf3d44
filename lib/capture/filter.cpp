#include "filter.h"

#include <charconv>
#include <cstring>

namespace triage::capture {

namespace {

bool to_u32(std::string_view s, uint32_t max, uint32_t& out) {
    if (s.empty()) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && out <= max;
}

bool in_prefix(const classify::Prefix& p, const uint8_t* addr, uint8_t family) noexcept {
    if (p.family != family) return false;
    const unsigned full = p.len / 8, rest = p.len % 8;
    if (std::memcmp(p.addr.data(), addr, full) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
    return (addr[full] & mask) == p.addr[full];
}

}  // namespace

bool parse_filter(std::string_view text, Filter& out, std::string& err) {
    Filter f;
    if (text == "any") {
        out = f;
        return true;
    }
    if (text.empty()) {
        err = "empty capture filter (use 'any')";
        return false;
    }
    size_t b = 0;
    while (b <= text.size()) {
        size_t e = text.find(',', b);
        if (e == std::string_view::npos) e = text.size();
        const std::string_view term = text.substr(b, e - b);
        const auto bad = [&](const std::string& why) {
            err = "capture filter term '" + std::string(term) + "': " + why;
            return false;
        };
        if (term.empty()) {
            err = "capture filter '" + std::string(text) + "': empty term (terms are separated by single commas)";
            return false;
        }
        const size_t eq = term.find('=');
        const std::string_view key = term.substr(0, eq);
        const std::string_view val = eq == std::string_view::npos ? std::string_view() : term.substr(eq + 1);
        const bool has_val = eq != std::string_view::npos;
        if (key == "src" || key == "dst" || key == "host") {
            if (!has_val) return bad("expected " + std::string(key) + "=PREFIX");
            classify::Prefix p;
            std::string why;
            if (!classify::parse_prefix(val, p, why)) return bad(why);
            bool& has = key == "src" ? f.has_src : key == "dst" ? f.has_dst : f.has_host;
            if (has) return bad("given twice");
            has = true;
            (key == "src" ? f.src : key == "dst" ? f.dst : f.host) = p;
        } else if (!has_val && (key == "tcp" || key == "udp" || key == "icmp")) {
            if (f.proto >= 0) return bad("a protocol is already given");
            f.proto = key == "tcp" ? 6 : key == "udp" ? 17 : 1;
        } else if (key == "proto") {
            uint32_t n;
            if (!has_val || !to_u32(val, 255, n)) return bad("expected proto=N with N 0-255");
            if (f.proto >= 0) return bad("a protocol is already given");
            f.proto = static_cast<int>(n);
        } else if (key == "port") {
            if (!has_val) return bad("expected port=N or port=N-M");
            if (f.has_port) return bad("given twice");
            const size_t dash = val.find('-');
            uint32_t lo, hi;
            if (!to_u32(val.substr(0, dash), 65535, lo)) return bad("not a port 0-65535");
            hi = lo;
            if (dash != std::string_view::npos && !to_u32(val.substr(dash + 1), 65535, hi))
                return bad("not a port range N-M");
            if (hi < lo) return bad("range runs backwards");
            f.has_port = true;
            f.port_lo = static_cast<uint16_t>(lo);
            f.port_hi = static_cast<uint16_t>(hi);
        } else if (!has_val && (key == "in" || key == "out")) {
            if (f.direction != 0) return bad("a direction is already given");
            f.direction = key == "in" ? 1 : 2;
        } else {
            return bad("unknown; terms are src=, dst=, host=PREFIX, tcp, udp, icmp, proto=N, port=N[-M], in, out");
        }
        b = e + 1;
        if (e == text.size()) break;
    }
    if (f.has_port && f.proto >= 0 && f.proto != 6 && f.proto != 17) {
        err = "capture filter '" + std::string(text) + "': port= needs tcp or udp (or no protocol)";
        return false;
    }
    out = f;
    return true;
}

std::string to_string(const Filter& f) {
    if (f.any()) return "any";
    std::string s;
    const auto add = [&](const std::string& t) { s += (s.empty() ? "" : ",") + t; };
    if (f.has_src) add("src=" + classify::to_string(f.src));
    if (f.has_dst) add("dst=" + classify::to_string(f.dst));
    if (f.has_host) add("host=" + classify::to_string(f.host));
    if (f.proto == 6) add("tcp");
    else if (f.proto == 17) add("udp");
    else if (f.proto == 1) add("icmp");
    else if (f.proto >= 0) add("proto=" + std::to_string(f.proto));
    if (f.has_port)
        add("port=" + std::to_string(f.port_lo) + (f.port_hi != f.port_lo ? "-" + std::to_string(f.port_hi) : ""));
    if (f.direction == 1) add("in");
    else if (f.direction == 2) add("out");
    return s;
}

bool matches(const Filter& f, const net::PacketView& v, bool inbound) noexcept {
    if (f.direction == 1 && !inbound) return false;
    if (f.direction == 2 && inbound) return false;
    if (!v.is_ip()) return !f.has_src && !f.has_dst && !f.has_host && f.proto < 0 && !f.has_port;
    if (f.has_src && !in_prefix(f.src, v.src, v.ip_version)) return false;
    if (f.has_dst && !in_prefix(f.dst, v.dst, v.ip_version)) return false;
    if (f.has_host && !in_prefix(f.host, v.src, v.ip_version) && !in_prefix(f.host, v.dst, v.ip_version))
        return false;
    if (f.proto >= 0) {
        const bool icmp = f.proto == 1 && v.l4_proto == 58;
        if (v.l4_proto != f.proto && !icmp) return false;
    }
    if (f.has_port) {
        if ((v.l4_proto != 6 && v.l4_proto != 17) || !v.has(net::view_flag::l4_parsed)) return false;
        const bool s = v.sport >= f.port_lo && v.sport <= f.port_hi;
        const bool d = v.dport >= f.port_lo && v.dport <= f.port_hi;
        if (!s && !d) return false;
    }
    return true;
}

uint32_t header_length(const net::PacketView& v, bool parsed, uint32_t len, uint32_t payload) noexcept {
    uint32_t h;
    if (!parsed || !v.is_ip()) h = 64;
    else if (v.has(net::view_flag::l4_parsed) && v.payload_off != 0) h = v.payload_off;
    else h = v.l4_off != 0 ? v.l4_off : v.l3_off + 20u;
    h += payload;
    return h < len ? h : len;
}

}  // namespace triage::capture
