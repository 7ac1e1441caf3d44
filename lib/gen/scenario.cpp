#include "scenario.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "classify.h"

namespace triage::gen {

namespace {

struct KindInfo {
    const char* name;
    bool legit;
    const char* desc;
};
constexpr KindInfo kKinds[] = {
#define TRIAGE_X(e, name, legit, desc) {name, legit, desc},
    TRIAGE_GEN_KINDS(TRIAGE_X)
#undef TRIAGE_X
};

struct VectorInfo {
    const char* name;
    uint16_t port;
    uint32_t size;
};
constexpr VectorInfo kVectors[] = {
#define TRIAGE_X(e, name, port, size) {name, port, size},
    TRIAGE_GEN_VECTORS(TRIAGE_X)
#undef TRIAGE_X
};

// Splits on blanks; "double quoted" words keep their blanks; '#' outside
// quotes starts a comment.
bool tokenize(std::string_view line, std::vector<std::string>& out, std::string& err) {
    out.clear();
    size_t i = 0;
    while (i < line.size()) {
        const char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (c == '#') {
            break;
        } else if (c == '"') {
            const size_t end = line.find('"', i + 1);
            if (end == std::string_view::npos) {
                err = "unterminated quote";
                return false;
            }
            out.emplace_back(line.substr(i + 1, end - i - 1));
            i = end + 1;
        } else {
            size_t end = i;
            while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\r') ++end;
            out.emplace_back(line.substr(i, end - i));
            i = end;
        }
    }
    return true;
}

bool parse_number(std::string_view s, double& v) {
    if (s.empty()) return false;
    const char* b = s.data();
    const char* e = b + s.size();
    auto [p, ec] = std::from_chars(b, e, v);
    return ec == std::errc() && p == e && std::isfinite(v);
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t& v) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v <= max;
}

bool parse_block(std::string_view s, Block& out, std::string& err) {
    classify::Prefix p;
    if (!classify::parse_prefix(s, p, err)) return false;
    out.family = p.family;
    out.len = p.len;
    out.addr = p.addr;
    return true;
}

const char* const kStreamKeys = "src, dst, sources, port, rate, start, duration, size, path, vector";

}  // namespace

const char* kind_name(Kind k) noexcept {
    return kKinds[static_cast<unsigned>(k)].name;
}
const char* kind_description(Kind k) noexcept {
    return kKinds[static_cast<unsigned>(k)].desc;
}
bool kind_is_legit(Kind k) noexcept {
    return kKinds[static_cast<unsigned>(k)].legit;
}
bool kind_is_session(Kind k) noexcept {
    return k == Kind::web_clients || k == Kind::dns_clients || k == Kind::ping_clients ||
           k == Kind::http_get_flood;
}
const char* vector_name(Vector v) noexcept {
    return kVectors[static_cast<unsigned>(v)].name;
}
uint16_t vector_port(Vector v) noexcept {
    return kVectors[static_cast<unsigned>(v)].port;
}

uint64_t Block::size() const noexcept {
    const unsigned bits = (family == 4 ? 32u : 128u) - len;
    if (bits >= 63) return uint64_t{1} << 63;
    const uint64_t n = uint64_t{1} << bits;
    return family == 4 && len < 31 ? n - 2 : n;
}

void Block::nth(uint64_t i, uint8_t* out) const noexcept {
    const unsigned alen = family == 4 ? 4 : 16;
    std::memcpy(out, addr.data(), 16);
    if (family == 4 && len < 31) ++i;  // skip the network address
    // Add i into the host bits, least significant byte last.
    unsigned carry = 0;
    for (int b = static_cast<int>(alen) - 1; b >= 0; --b) {
        const unsigned sum = out[b] + static_cast<unsigned>(i & 0xff) + carry;
        out[b] = static_cast<uint8_t>(sum);
        carry = sum >> 8;
        i >>= 8;
        if (i == 0 && carry == 0) break;
    }
}

uint64_t Stream::events(uint64_t scenario_ns) const noexcept {
    const uint64_t end = end_ns(scenario_ns);
    if (end <= start_ns || rate <= 0) return 0;
    return static_cast<uint64_t>(std::ceil(static_cast<double>(end - start_ns) * rate / 1e9 - 1e-9));
}

const Stream* Scenario::find(std::string_view n) const noexcept {
    for (const Stream& s : streams)
        if (s.name == n) return &s;
    return nullptr;
}

bool parse_time_ns(std::string_view s, uint64_t& ns, std::string& err) {
    double mult = 0;
    std::string_view num = s;
    if (s.ends_with("ms")) {
        mult = 1e6;
        num.remove_suffix(2);
    } else if (s.ends_with("us")) {
        mult = 1e3;
        num.remove_suffix(2);
    } else if (s.ends_with("s")) {
        mult = 1e9;
        num.remove_suffix(1);
    } else if (s.ends_with("m")) {
        mult = 60e9;
        num.remove_suffix(1);
    }
    double v;
    if (mult == 0 || !parse_number(num, v) || v < 0 || v * mult > 86400e9) {
        err = "'" + std::string(s) + "' is not a time like 250ms, 2s, 1.5s or 2m (at most a day)";
        return false;
    }
    ns = static_cast<uint64_t>(std::llround(v * mult));
    return true;
}

bool parse_rate(std::string_view s, double& v, std::string& err) {
    double mult = 1;
    std::string_view num = s;
    if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) {
        mult = 1e3;
        num.remove_suffix(1);
    } else if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) {
        mult = 1e6;
        num.remove_suffix(1);
    }
    if (!parse_number(num, v) || v <= 0 || v * mult > 1e9) {
        err = "'" + std::string(s) + "' is not a rate like 500, 20k or 1.5m (per second, more than 0)";
        return false;
    }
    v *= mult;
    return true;
}

std::string format_ns(uint64_t ns) {
    char buf[32];
    if (ns % 1'000'000'000 == 0)
        std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(ns / 1'000'000'000));
    else if (ns >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ns) / 1e9);
    else
        std::snprintf(buf, sizeof buf, "%.4gms", static_cast<double>(ns) / 1e6);
    return buf;
}

namespace {

bool parse_stream(const std::vector<std::string>& w, unsigned line, Stream& s, std::string& err) {
    // stream NAME KIND key value ...
    if (w.size() < 3) {
        err = "'stream' needs a name and a kind: stream NAME KIND key value ...";
        return false;
    }
    s.name = w[1];
    s.line = line;
    if (s.name.empty() || s.name.size() > 32 ||
        s.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            std::string::npos) {
        err = "stream name '" + s.name + "' must be 1-32 letters, digits, '-', '_' or '.'";
        return false;
    }
    bool found = false;
    for (unsigned k = 0; k < static_cast<unsigned>(Kind::count_); ++k)
        if (w[2] == kKinds[k].name) {
            s.kind = static_cast<Kind>(k);
            found = true;
        }
    if (!found) {
        err = "unknown stream kind '" + w[2] + "' (kinds: ";
        for (unsigned k = 0; k < static_cast<unsigned>(Kind::count_); ++k)
            err += std::string(k ? ", " : "") + kKinds[k].name;
        err += ")";
        return false;
    }
    if ((w.size() - 3) % 2 != 0) {
        err = "stream " + s.name + ": '" + w.back() + "' has no value (stream NAME KIND key value ...)";
        return false;
    }
    bool have_src = false, have_dst = false, have_vector = false;
    std::set<std::string> seen;
    for (size_t i = 3; i + 1 < w.size(); i += 2) {
        const std::string& key = w[i];
        const std::string& val = w[i + 1];
        std::string why;
        const std::string what = "stream " + s.name + ": " + key + ": ";
        if (!seen.insert(key).second) {
            err = "stream " + s.name + ": '" + key + "' given twice";
            return false;
        }
        uint64_t u;
        if (key == "src") {
            if (!parse_block(val, s.src, why)) return err = what + why, false;
            have_src = true;
        } else if (key == "dst") {
            if (!parse_block(val, s.dst, why)) return err = what + why, false;
            have_dst = true;
        } else if (key == "sources") {
            if (val == "random") {
                s.sources = 0;
            } else if (!parse_uint(val, uint64_t{1} << 32, u) || u == 0) {
                return err = what + "'" + val + "' is not a count of sources (1..2^32) or 'random'", false;
            } else {
                s.sources = u;
            }
        } else if (key == "port") {
            if (!parse_uint(val, 65535, u) || u == 0)
                return err = what + "'" + val + "' is not a port (1..65535)", false;
            s.port = static_cast<uint16_t>(u);
        } else if (key == "rate") {
            if (!parse_rate(val, s.rate, why)) return err = what + why, false;
        } else if (key == "start") {
            if (!parse_time_ns(val, s.start_ns, why)) return err = what + why, false;
        } else if (key == "duration") {
            if (!parse_time_ns(val, s.duration_ns, why)) return err = what + why, false;
            if (s.duration_ns == 0) return err = what + "must be more than 0", false;
        } else if (key == "size") {
            if (!parse_uint(val, 9000, u) || u < 60)
                return err = what + "'" + val + "' is not a frame size in bytes (60..9000, without FCS)", false;
            s.size = static_cast<uint32_t>(u);
        } else if (key == "path") {
            if (val.empty() || val[0] != '/' || val.find_first_of(" \r\n") != std::string::npos || val.size() > 512)
                return err = what + "'" + val + "' is not a request path (starts with '/', no blanks)", false;
            s.path = val;
        } else if (key == "vector") {
            bool ok = false;
            for (unsigned v = 0; v < static_cast<unsigned>(Vector::count_); ++v)
                if (val == kVectors[v].name) {
                    s.vector = static_cast<Vector>(v);
                    ok = true;
                }
            if (!ok) return err = what + "unknown vector '" + val + "' (dns, ntp, memcached, ssdp, cldap)", false;
            have_vector = true;
        } else {
            err = "stream " + s.name + ": unknown key '" + key + "' (keys: " + kStreamKeys + ")";
            return false;
        }
    }
    if (!have_src || !have_dst) {
        err = "stream " + s.name + ": needs both 'src' and 'dst' address blocks";
        return false;
    }
    if (s.src.family != s.dst.family) {
        err = "stream " + s.name + ": src and dst must both be IPv4 or both IPv6";
        return false;
    }
    if (s.rate <= 0) {
        err = "stream " + s.name + ": needs a 'rate' (" +
              (kind_is_session(s.kind) ? std::string("sessions") : std::string("packets")) + " per second)";
        return false;
    }
    if (s.kind == Kind::reflection && !have_vector) {
        err = "stream " + s.name + ": a reflection stream needs 'vector dns|ntp|memcached|ssdp|cldap'";
        return false;
    }
    if (have_vector && s.kind != Kind::reflection) {
        err = "stream " + s.name + ": 'vector' applies to reflection streams only";
        return false;
    }
    if (!s.path.empty() && s.kind != Kind::web_clients && s.kind != Kind::http_get_flood) {
        err = "stream " + s.name + ": 'path' applies to web-clients and http-get-flood only";
        return false;
    }
    if (s.size && kind_is_session(s.kind)) {
        err = "stream " + s.name + ": 'size' applies to flood kinds only (a session's packets are sized by the exchange)";
        return false;
    }
    if (s.sources > s.src.size()) {
        err = "stream " + s.name + ": " + std::to_string(s.sources) + " sources do not fit in src (" +
              std::to_string(s.src.size()) + " usable addresses)";
        return false;
    }
    if (s.port && (s.kind == Kind::ping_clients || s.kind == Kind::icmp_flood || s.kind == Kind::fragment_flood)) {
        err = "stream " + s.name + ": 'port' does not apply to " + kind_name(s.kind);
        return false;
    }
    // Defaults by kind.
    if (!s.port) {
        switch (s.kind) {
        case Kind::web_clients: s.port = 443; break;
        case Kind::dns_clients: s.port = 53; break;
        case Kind::syn_flood:
        case Kind::ack_flood:
        case Kind::rst_flood:
        case Kind::http_get_flood: s.port = 80; break;
        default: break;  // udp-flood: random; reflection: random client ports
        }
    }
    if (s.path.empty()) {
        if (s.kind == Kind::web_clients) s.path = "/portal/appointments";
        if (s.kind == Kind::http_get_flood) s.path = "/wp-login.php";
    }
    if (!s.size) {
        switch (s.kind) {
        case Kind::syn_flood: s.size = s.src.family == 4 ? 58 : 78; break;
        case Kind::ack_flood:
        case Kind::rst_flood: s.size = s.src.family == 4 ? 60 : 74; break;
        case Kind::udp_flood: s.size = 512; break;
        case Kind::reflection: s.size = kVectors[static_cast<unsigned>(s.vector)].size; break;
        case Kind::icmp_flood: s.size = s.src.family == 4 ? 98 : 118; break;
        case Kind::fragment_flood: s.size = s.src.family == 4 ? 1034 : 1030; break;  // 1000 / 968 bytes of data
        default: break;
        }
    }
    // The headers must fit: eth 14 + IPv6 40 (+ 8 fragment) + UDP 8 + a 4-byte serial.
    const uint32_t min = s.src.family == 4 ? 14 + 20 + 8 + 4 : 14 + 40 + 8 + 8 + 4;
    if (s.size && s.size < min && s.kind != Kind::syn_flood && s.kind != Kind::ack_flood &&
        s.kind != Kind::rst_flood) {
        err = "stream " + s.name + ": size " + std::to_string(s.size) + " is too small for " + kind_name(s.kind) +
              " (at least " + std::to_string(min) + ")";
        return false;
    }
    return true;
}

bool parse_compare(const std::string& op, Expect& e, bool allow_equal, std::string& err) {
    if (op == ">=")
        e.at_least = true;
    else if (op == "<=")
        e.at_least = false;
    else if (op == "==" && allow_equal)
        e.equal = true;
    else
        return err = "expect: '" + op + "' is not " + (allow_equal ? ">=, <= or ==" : ">= or <="), false;
    return true;
}

const char* const kExpectForms =
    "expect TARGET delivered|dropped|handshakes >=|<= N%, expect TARGET first-drop|detected <= TIME, "
    "expect STREAM classified VECTOR [confidence >= X], expect incidents|mitigations ==|<=|>= N";

bool parse_expect(const std::vector<std::string>& w, unsigned line, Expect& e, std::string& err) {
    e.line = line;
    // expect incidents|mitigations ==|<=|>= N
    if (w.size() == 4 && (w[1] == "incidents" || w[1] == "mitigations")) {
        e.what = w[1] == "incidents" ? Expect::What::incidents : Expect::What::mitigations;
        if (!parse_compare(w[2], e, true, err)) return false;
        uint64_t n;
        if (!parse_uint(w[3], 1'000'000, n))
            return err = "expect: '" + w[3] + "' is not a count of " + w[1] + " (a whole number)", false;
        e.value = static_cast<double>(n);
        return true;
    }
    // expect STREAM classified VECTOR [confidence >=|<= X]
    if (w.size() >= 3 && w[2] == "classified") {
        if (w.size() != 4 && w.size() != 7)
            return err = "expect classified needs: expect STREAM classified VECTOR [confidence >=|<= X]", false;
        e.target = w[1];
        e.what = Expect::What::classified;
        e.vector = w[3];
        if (!valid_vector_name(e.vector))
            return err = "expect: '" + e.vector +
                         "' is not a detection vector (syn-flood, tcp-flood, udp-flood, icmp-flood, fragment-flood, "
                         "NAME-reflection)",
                   false;
        e.at_least = true;
        e.value = 0.5;  // what lib/detect counts as a vector
        if (w.size() == 7) {
            if (w[4] != "confidence")
                return err = "expect: '" + w[4] + "' after the vector must be 'confidence'", false;
            if (!parse_compare(w[5], e, false, err)) return false;
            if (!parse_number(w[6], e.value) || e.value < 0 || e.value > 1)
                return err = "expect: '" + w[6] + "' is not a confidence from 0 to 1", false;
        }
        return true;
    }
    // expect TARGET delivered|dropped|handshakes >=|<= N%   |   expect TARGET first-drop|detected <= TIME
    if (w.size() != 5) return err = "expect needs one of: " + std::string(kExpectForms), false;
    e.target = w[1];
    if (w[2] == "first-drop" || w[2] == "detected") {
        if (!parse_compare(w[3], e, false, err)) return false;
        e.what = w[2] == "detected" ? Expect::What::detected_ms : Expect::What::first_drop_ms;
        uint64_t ns;
        if (!parse_time_ns(w[4], ns, err)) return err = "expect: " + err, false;
        e.value = static_cast<double>(ns) / 1e6;
        return true;
    }
    if (w[2] == "delivered")
        e.what = Expect::What::delivered;
    else if (w[2] == "dropped")
        e.what = Expect::What::dropped;
    else if (w[2] == "handshakes")
        e.what = Expect::What::handshakes;
    else
        return err = "expect: '" + w[2] +
                     "' is not delivered, dropped, handshakes, first-drop, detected or classified",
               false;
    if (!parse_compare(w[3], e, false, err)) return false;
    std::string_view v = w[4];
    if (!v.ends_with("%") || !parse_number(v.substr(0, v.size() - 1), e.value) || e.value < 0 || e.value > 100)
        return err = "expect: '" + w[4] + "' is not a percentage like 99.5%", false;
    return true;
}

}  // namespace

bool parse_scenario(std::string_view text, std::string_view origin, std::string_view base_dir, Scenario& out,
                    std::string& err) {
    out = Scenario{};
    out.origin = std::string(origin);
    std::vector<std::string> w;
    unsigned line = 0;
    bool have_duration = false;
    size_t pos = 0;
    auto fail = [&](const std::string& why) {
        err = std::string(origin) + ":" + std::to_string(line) + ": " + why;
        return false;
    };
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view l = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line;
        std::string why;
        if (!tokenize(l, w, why)) return fail(why);
        if (w.empty()) continue;
        const std::string& cmd = w[0];
        if (cmd == "name" || cmd == "description") {
            if (w.size() != 2) return fail(cmd + " takes one value (quote it if it has blanks)");
            (cmd == "name" ? out.name : out.description) = w[1];
        } else if (cmd == "duration" || cmd == "rtt") {
            uint64_t ns;
            if (w.size() != 2) return fail(cmd + " takes one time, e.g. " + cmd + " 10s");
            if (!parse_time_ns(w[1], ns, why)) return fail(cmd + ": " + why);
            if (ns == 0) return fail(cmd + " must be more than 0");
            if (cmd == "duration") {
                out.duration_ns = ns;
                have_duration = true;
            } else {
                out.rtt_ns = ns;
            }
        } else if (cmd == "seed") {
            if (w.size() != 2 || !parse_uint(w[1], UINT64_MAX, out.seed))
                return fail("seed takes a whole number");
        } else if (cmd == "config") {
            if (w.size() != 2) return fail("config takes one file name (a triage console script)");
            out.config = (!w[1].empty() && w[1][0] == '/') || base_dir.empty()
                             ? w[1]
                             : std::string(base_dir) + "/" + w[1];
        } else if (cmd == "stream") {
            Stream s;
            if (!parse_stream(w, line, s, why)) return fail(why);
            if (out.find(s.name)) return fail("stream " + s.name + " is defined twice");
            if (out.streams.size() == kMaxStreams) return fail("at most 256 streams");
            if (s.name == "legit" || s.name == "attack" || s.name == "incidents" || s.name == "mitigations")
                return fail("'" + s.name + "' is a reserved name ('legit', 'attack', 'incidents', 'mitigations')");
            out.streams.push_back(std::move(s));
        } else if (cmd == "expect") {
            Expect e;
            if (!parse_expect(w, line, e, why)) return fail(why);
            out.expects.push_back(std::move(e));
        } else {
            return fail("unknown statement '" + cmd +
                        "' (statements: name, description, duration, seed, rtt, config, stream, expect)");
        }
    }
    if (text.ends_with('\n') && line > 0) --line;  // no line after the last newline: messages name the last
    if (out.streams.empty()) return fail("no streams (add: stream NAME KIND key value ...)");
    uint64_t last = 0;
    for (const Stream& s : out.streams)
        if (s.duration_ns) last = std::max(last, s.start_ns + s.duration_ns);
    if (!have_duration) {
        if (!last) return fail("no 'duration' and a stream without one: say how long the scenario runs");
        out.duration_ns = last;
    }
    for (const Stream& s : out.streams) {
        line = s.line;
        if (s.start_ns >= out.duration_ns)
            return fail("stream " + s.name + " starts at " + format_ns(s.start_ns) + ", after the scenario's end (" +
                        format_ns(out.duration_ns) + ")");
    }
    for (const Expect& e : out.expects) {
        line = e.line;
        if (e.what == Expect::What::incidents || e.what == Expect::What::mitigations) continue;
        const Stream* st = out.find(e.target);
        if (e.what == Expect::What::classified) {
            if (!st) return fail("expect: no stream named '" + e.target + "' (classified takes one stream)");
            continue;
        }
        if (e.target != "legit" && e.target != "attack" && !st)
            return fail("expect: no stream named '" + e.target + "' (or say legit / attack)");
        if (e.what == Expect::What::detected_ms) {
            if (e.target == "legit") return fail("expect: detected applies to attack floods, not to legit");
            if (st && detect_vector(*st).empty())
                return fail("expect: stream " + st->name + " is " + kind_name(st->kind) +
                            ", which detection sees as no vector: detected applies to attack floods");
        }
    }
    if (out.name.empty()) {
        std::string_view base = origin.substr(origin.find_last_of('/') + 1);
        if (base.ends_with(".scn")) base.remove_suffix(4);
        out.name = std::string(base);
    }
    return true;
}

bool load_scenario(const std::string& path, Scenario& out, std::string& err) {
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        err = path + ": cannot read the scenario file: not a regular file";
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = path + ": cannot open the scenario file: " + std::strerror(errno);
        return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    return parse_scenario(ss.str(), path, dir, out, err);
}

const char* expect_what_name(Expect::What w) noexcept {
    switch (w) {
    case Expect::What::delivered: return "delivered";
    case Expect::What::dropped: return "dropped";
    case Expect::What::handshakes: return "handshakes";
    case Expect::What::first_drop_ms: return "first-drop";
    case Expect::What::incidents: return "incidents";
    case Expect::What::mitigations: return "mitigations";
    case Expect::What::detected_ms: return "detected";
    case Expect::What::classified: return "classified";
    }
    return "?";
}

std::string detect_vector(const Stream& s) {
    switch (s.kind) {
    case Kind::syn_flood: return "syn-flood";
    case Kind::ack_flood:
    case Kind::rst_flood: return "tcp-flood";
    case Kind::udp_flood: return "udp-flood";
    case Kind::reflection: return std::string(vector_name(s.vector)) + "-reflection";
    case Kind::icmp_flood: return "icmp-flood";
    case Kind::fragment_flood: return "fragment-flood";
    default: return {};
    }
}

bool valid_vector_name(std::string_view v) noexcept {
    for (const char* f : {"syn-flood", "tcp-flood", "udp-flood", "icmp-flood", "fragment-flood"})
        if (v == f) return true;
    constexpr std::string_view suffix = "-reflection";
    if (!v.ends_with(suffix) || v.size() == suffix.size()) return false;
    const std::string_view name = v.substr(0, v.size() - suffix.size());
    return name.size() <= 32 && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string_view::npos;
}

namespace {

// Just enough JSON for triage's incident lines: objects, arrays, strings
// (with the escapes triage writes), numbers, true, false, null.
struct Json {
    enum class T : uint8_t { null, boolean, number, string, array, object } t = T::null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    // An object's members as two parallel vectors: a pair holding Json
    // would need Json complete here (clang with libstdc++ refuses it).
    std::vector<std::string> keys;
    std::vector<Json> vals;
    const Json* get(std::string_view k) const noexcept {
        for (size_t n = 0; n < keys.size(); ++n)
            if (keys[n] == k) return &vals[n];
        return nullptr;
    }
};

struct JsonReader {
    std::string_view s;
    size_t i = 0;
    unsigned depth = 0;
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    }
    bool lit(std::string_view w) {
        if (s.substr(i, w.size()) != w) return false;
        i += w.size();
        return true;
    }
    bool string(std::string& out) {
        if (i >= s.size() || s[i] != '"') return false;
        ++i;
        out.clear();
        while (i < s.size() && s[i] != '"') {
            char c = s[i++];
            if (c == '\\') {
                if (i >= s.size()) return false;
                c = s[i++];
                switch (c) {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'u': {
                    uint64_t cp;
                    if (i + 4 > s.size()) return false;
                    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 4, cp, 16);
                    if (ec != std::errc() || p != s.data() + i + 4) return false;
                    i += 4;
                    c = cp < 0x80 ? static_cast<char>(cp) : '?';
                    break;
                }
                default: break;  // \" \\ \/
                }
            }
            out += c;
        }
        if (i >= s.size()) return false;
        ++i;
        return true;
    }
    bool value(Json& v) {
        if (++depth > 32) return false;
        ws();
        bool ok = false;
        if (i >= s.size()) {
            ok = false;
        } else if (s[i] == '{') {
            v.t = Json::T::object;
            ++i;
            ws();
            if (i < s.size() && s[i] == '}') {
                ++i;
                ok = true;
            } else {
                for (;;) {
                    ws();
                    std::string k;
                    Json x;
                    if (!string(k)) break;
                    ws();
                    if (i >= s.size() || s[i] != ':') break;
                    ++i;
                    if (!value(x)) break;
                    v.keys.push_back(std::move(k));
                    v.vals.push_back(std::move(x));
                    ws();
                    if (i < s.size() && s[i] == ',') {
                        ++i;
                        continue;
                    }
                    ok = i < s.size() && s[i] == '}';
                    if (ok) ++i;
                    break;
                }
            }
        } else if (s[i] == '[') {
            v.t = Json::T::array;
            ++i;
            ws();
            if (i < s.size() && s[i] == ']') {
                ++i;
                ok = true;
            } else {
                for (;;) {
                    Json x;
                    if (!value(x)) break;
                    v.arr.push_back(std::move(x));
                    ws();
                    if (i < s.size() && s[i] == ',') {
                        ++i;
                        continue;
                    }
                    ok = i < s.size() && s[i] == ']';
                    if (ok) ++i;
                    break;
                }
            }
        } else if (s[i] == '"') {
            v.t = Json::T::string;
            ok = string(v.str);
        } else if (lit("true") || lit("false")) {
            v.t = Json::T::boolean;
            v.b = s[i - 1] == 'e' && s[i - 2] == 'u';
            ok = true;
        } else if (lit("null")) {
            ok = true;
        } else {
            size_t e = i;
            while (e < s.size() && std::strchr("+-0123456789.eE", s[e])) ++e;
            v.t = Json::T::number;
            ok = e > i && parse_number(s.substr(i, e - i), v.num);
            i = e;
        }
        --depth;
        return ok;
    }
};

}  // namespace

bool parse_wall_ms(std::string_view s, int64_t& ms) noexcept {
    // YYYY-MM-DDTHH:MM:SS.mmmZ
    if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[23] != 'Z')
        return false;
    auto num = [&](size_t at, size_t n, int& out) {
        auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + n, out);
        return ec == std::errc() && p == s.data() + at + n;
    };
    std::tm tm{};
    int msec = 0;
    if (!num(0, 4, tm.tm_year) || !num(5, 2, tm.tm_mon) || !num(8, 2, tm.tm_mday) || !num(11, 2, tm.tm_hour) ||
        !num(14, 2, tm.tm_min) || !num(17, 2, tm.tm_sec) || !num(20, 3, msec))
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const time_t t = timegm(&tm);
    if (t == static_cast<time_t>(-1)) return false;
    ms = static_cast<int64_t>(t) * 1000 + msec;
    return true;
}

bool block_overlaps(const Block& b, std::string_view prefix) noexcept {
    classify::Prefix p;
    std::string err;
    if (!classify::parse_prefix(prefix, p, err) || p.family != b.family) return false;
    classify::Prefix q;
    q.family = b.family;
    q.len = b.len;
    q.addr = b.addr;
    return classify::contains(p, q) || classify::contains(q, p);
}

const IncidentRecord::Vec* IncidentRecord::find_vector(std::string_view v) const noexcept {
    for (const Vec& x : vectors)
        if (x.vector == v) return &x;
    return nullptr;
}

int64_t IncidentRecord::vector_ms(std::string_view v) const {
    if (!find_vector(v)) return -1;
    // A vector that came later has its "vector added" action ("udp-flood at
    // 9000 packets/s (confidence 0.98)"); the others were there at the opening.
    const std::string lead = std::string(v) + " at ";
    for (const Act& a : actions)
        if (a.what == "vector added" && a.reason.rfind(lead, 0) == 0) return a.ms;
    return start_ms;
}

unsigned IncidentRecord::count(std::string_view action) const noexcept {
    unsigned n = 0;
    for (const Act& a : actions) n += a.what == action;
    return n;
}

bool parse_incident_log(std::string_view text, std::vector<IncidentRecord>& out, std::string& err) {
    out.clear();
    unsigned line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view l = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line;
        if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        auto bad = [&](const std::string& why) {
            err = "line " + std::to_string(line) + ": " + why;
            return false;
        };
        JsonReader rd{l};
        Json j;
        if (!rd.value(j) || j.t != Json::T::object) return bad("not a JSON object");
        rd.ws();
        if (rd.i != l.size()) return bad("text after the JSON object");
        IncidentRecord r;
        r.line = std::string(l);
        const Json *id = j.get("id"), *ev = j.get("event"), *target = j.get("target"), *prefix = j.get("prefix"),
                   *start = j.get("start"), *end = j.get("end"), *vecs = j.get("vectors"), *acts = j.get("actions");
        if (!id || id->t != Json::T::number || id->num < 0 || !ev || ev->t != Json::T::string || !target ||
            !prefix || !start || start->t != Json::T::string || !vecs || vecs->t != Json::T::array || !acts ||
            acts->t != Json::T::array)
            return bad("not an incident record (id, event, target, prefix, start, vectors, actions)");
        r.id = static_cast<uint32_t>(id->num);
        r.event = ev->str;
        r.target = target->str;
        r.prefix = prefix->str;
        if (!parse_wall_ms(start->str, r.start_ms)) return bad("start '" + start->str + "' is not a UTC time");
        if (end && end->t == Json::T::string && !parse_wall_ms(end->str, r.end_ms))
            return bad("end '" + end->str + "' is not a UTC time");
        for (const Json& v : vecs->arr) {
            const Json *n = v.get("vector"), *c = v.get("confidence"), *pk = v.get("peak_pps");
            if (!n || n->t != Json::T::string || !c || c->t != Json::T::number) return bad("a vector without name or confidence");
            r.vectors.push_back({n->str, c->num, pk && pk->t == Json::T::number ? pk->num : 0});
        }
        for (const Json& a : acts->arr) {
            const Json *t = a.get("time"), *w = a.get("action"), *why = a.get("reason");
            IncidentRecord::Act x;
            if (!t || t->t != Json::T::string || !w || w->t != Json::T::string || !parse_wall_ms(t->str, x.ms))
                return bad("an action without time or name");
            x.what = w->str;
            if (why && why->t == Json::T::string) x.reason = why->str;
            r.actions.push_back(std::move(x));
        }
        auto it = std::find_if(out.begin(), out.end(), [&](const IncidentRecord& o) { return o.id == r.id; });
        if (it != out.end())
            *it = std::move(r);
        else
            out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const IncidentRecord& a, const IncidentRecord& b) { return a.id < b.id; });
    return true;
}

Detection find_detection(const std::vector<IncidentRecord>& inc, const Stream& s, double first_ms, double end_ms) {
    Detection d;
    const std::string v = detect_vector(s);
    if (v.empty()) return d;
    double best = INFINITY;
    for (size_t k = 0; k < inc.size(); ++k) {
        const IncidentRecord& r = inc[k];
        if (!block_overlaps(s.dst, r.prefix)) continue;
        // Closed before the stream began (a ms of slack: triage's times are whole ms).
        if (r.end_ms >= 0 && static_cast<double>(r.end_ms) < first_ms - 1) continue;
        const int64_t at = r.vector_ms(v);
        if (at < 0 || static_cast<double>(at) > end_ms + 60'000) continue;
        if (static_cast<double>(at) < best) {
            best = static_cast<double>(at);
            d.incident = static_cast<int>(k);
            d.delay_ms = best - first_ms;
            d.confidence = r.find_vector(v)->confidence;
        }
    }
    return d;
}

double classified_confidence(const std::vector<IncidentRecord>& inc, const Stream& s, std::string_view vector,
                             double first_ms, double end_ms, int* which) {
    double best = 0;
    if (which) *which = -1;
    for (size_t k = 0; k < inc.size(); ++k) {
        const IncidentRecord& r = inc[k];
        if (!block_overlaps(s.dst, r.prefix)) continue;
        if (static_cast<double>(r.start_ms) > end_ms + 500) continue;  // opened after the stream (and its detection)
        if (r.end_ms >= 0 && static_cast<double>(r.end_ms) < first_ms - 1) continue;   // closed before it
        if (const IncidentRecord::Vec* x = r.find_vector(vector); x && x->confidence > best) {
            best = x->confidence;
            if (which) *which = static_cast<int>(k);
        }
    }
    return best;
}

}  // namespace triage::gen
