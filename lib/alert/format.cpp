#include "format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace triage::alert {

namespace {

struct KindInfo {
    const char* event;
    const char* signature;
    const char* name;
    int severity;
};
constexpr KindInfo kInfo[] = {
#define TRIAGE_X(e, ev, sig, name, sev) {ev, sig, name, sev},
    TRIAGE_ALERT_EVENTS(TRIAGE_X)
#undef TRIAGE_X
};
static_assert(sizeof kInfo / sizeof kInfo[0] == kKinds);

const KindInfo& info(Kind k) noexcept { return kInfo[static_cast<unsigned>(k) < kKinds ? static_cast<unsigned>(k) : 0]; }

std::string num(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool iequal_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

// HOST, [IPV6] or HOST:PORT / [IPV6]:PORT, as one authority. Hostnames are
// checked for shape only: they are resolved when sending, so a DNS outage at
// start-up does not stop the box.
void parse_authority(std::string_view auth, std::string& host, uint16_t& port) {
    if (auth.empty()) throw std::invalid_argument("no host");
    std::string_view port_text;
    bool bracketed = false;
    if (auth.front() == '[') {
        const size_t close = auth.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("'[' without a closing ']'");
        host = std::string(auth.substr(1, close - 1));
        bracketed = true;
        const std::string_view rest = auth.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') throw std::invalid_argument("expected ':PORT' after ']', got '" + std::string(rest) + "'");
            port_text = rest.substr(1);
            if (port_text.empty()) throw std::invalid_argument("empty port after ':'");
        }
    } else {
        const size_t colon = auth.find(':');
        if (colon != std::string_view::npos && auth.find(':', colon + 1) != std::string_view::npos)
            throw std::invalid_argument("an IPv6 address goes in brackets, e.g. [2001:db8::1]:514");
        host = std::string(auth.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = auth.substr(colon + 1);
            if (port_text.empty()) throw std::invalid_argument("empty port after ':'");
        }
    }
    if (host.empty()) throw std::invalid_argument("no host");
    if (bracketed) {
        if (!is_ipv6(host)) throw std::invalid_argument("'" + host + "' is not an IPv6 address");
    } else if (std::all_of(host.begin(), host.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; })) {
        if (!is_ipv4(host)) throw std::invalid_argument("'" + host + "' is not an IPv4 address");
    } else {
        if (host.size() > 253) throw std::invalid_argument("host name longer than 253 characters");
        size_t label = 0;
        for (size_t i = 0; i <= host.size(); ++i) {
            const char c = i < host.size() ? host[i] : '.';
            if (c == '.') {
                if (label == 0 || label > 63 || host[i - label] == '-' || host[i - 1] == '-')
                    throw std::invalid_argument("'" + host + "' is not a host name, IPv4 address or [IPv6] address");
                label = 0;
            } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
                ++label;
            } else {
                throw std::invalid_argument("'" + host + "' is not a host name, IPv4 address or [IPv6] address");
            }
        }
    }
    if (!port_text.empty()) {
        unsigned long v = 0;
        for (char c : port_text) {
            if (!std::isdigit(static_cast<unsigned char>(c)) || v > 65535)
                throw std::invalid_argument("port '" + std::string(port_text) + "' is not a number in 1..65535");
            v = v * 10 + static_cast<unsigned long>(c - '0');
        }
        if (v < 1 || v > 65535)
            throw std::invalid_argument("port '" + std::string(port_text) + "' is not a number in 1..65535");
        port = static_cast<uint16_t>(v);
    }
}

std::string bracket(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

// RFC 5424 header fields: printable US-ASCII, cut to length, "-" when empty.
std::string field(std::string_view s, size_t max) {
    std::string o;
    for (char c : s) {
        if (o.size() == max) break;
        if (c > 32 && c < 127) o += c;
    }
    return o.empty() ? "-" : o;
}

}  // namespace

const char* event_name(Kind k) noexcept { return info(k).event; }
const char* signature_id(Kind k) noexcept { return info(k).signature; }
const char* cef_name(Kind k) noexcept { return info(k).name; }
int cef_severity(Kind k) noexcept { return info(k).severity; }

bool kind_from_event(std::string_view event, Kind& out) noexcept {
    for (unsigned i = 0; i < kKinds; ++i)
        if (event == kInfo[i].event) {
            out = static_cast<Kind>(i);
            return true;
        }
    return false;
}

std::string Alert::vector_list() const {
    std::string o;
    for (const std::string& v : vectors) o += (o.empty() ? "" : ",") + v;
    return o;
}

Alert make_alert(Kind k, const detect::Incident& i, const std::vector<std::string>& class_names, int64_t now_ms,
                 std::string reason) {
    Alert a;
    a.kind = k;
    a.time_ms = now_ms;
    a.incident = i.id;
    a.target = i.target;
    a.prefix = i.prefix;
    if (const size_t slash = i.prefix.find('/'); slash != std::string::npos) {
        const std::string addr = i.prefix.substr(0, slash), len = i.prefix.substr(slash + 1);
        const bool v6 = addr.find(':') != std::string::npos;
        if (len == (v6 ? "128" : "32")) {
            a.host = addr;
            a.host_v6 = v6;
        }
    }
    a.mode = detect::mode_name(i.mode);
    for (const detect::VectorSeen& v : i.vectors) {
        a.vectors.push_back(detect::vector_name(v.cls, v.cls < class_names.size() ? class_names[v.cls] : std::string()));
        a.confidence = std::max(a.confidence, v.confidence);
    }
    a.start_ms = i.start_wall_ms;
    a.end_ms = i.open ? 0 : i.end_wall_ms;
    a.peak_pps = i.peak_pps;
    a.peak_bps = i.peak_bps;
    a.packets = i.packets;
    a.bytes = i.bytes;
    a.dropped = i.dropped;
    a.reason = std::move(reason);
    a.json = detect::incident_json(i, class_names, event_name(k));
    return a;
}

std::string cef_escape_header(std::string_view s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        if (c == '|' || c == '\\') o += '\\';
        o += c == '\r' || c == '\n' ? ' ' : c;
    }
    return o;
}

std::string cef_escape_extension(std::string_view s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        if (c == '\\' || c == '=') {
            o += '\\';
            o += c;
        } else if (c == '\n') {
            o += "\\n";
        } else if (c == '\r') {
            o += "\\r";
        } else {
            o += c;
        }
    }
    return o;
}

std::string cef_line(const Alert& a, std::string_view version) {
    std::string o = "CEF:0|Triage|Triage|" + cef_escape_header(version) + "|" + cef_escape_header(signature_id(a.kind)) +
                    "|" + cef_escape_header(cef_name(a.kind)) + "|" + std::to_string(cef_severity(a.kind)) + "|";
    bool first = true;
    auto kv = [&](const char* key, std::string_view value) {
        o += first ? "" : " ";
        first = false;
        o += key;
        o += '=';
        o += cef_escape_extension(value);
    };
    kv("rt", std::to_string(a.time_ms));
    kv("externalId", std::to_string(a.incident));
    kv("cat", "DDoS");
    kv("act", a.kind == Kind::open             ? "detected"
              : a.kind == Kind::vector_added   ? "vector added"
              : a.kind == Kind::mitigation_on  ? "mitigation on"
              : a.kind == Kind::mitigation_off ? "mitigation off"
              : a.kind == Kind::close          ? "closed"
                                               : "open at shutdown");
    if (!a.host.empty() && !a.host_v6) kv("dst", a.host);
    if (!a.host.empty() && a.host_v6) {
        kv("c6a3Label", "Destination IPv6 Address");
        kv("c6a3", a.host);
    }
    kv("cs1Label", "target");
    kv("cs1", a.target);
    kv("cs2Label", "vectors");
    kv("cs2", a.vector_list());
    kv("cs3Label", "prefix");
    kv("cs3", a.prefix);
    kv("cs4Label", "mode");
    kv("cs4", a.mode);
    kv("cfp1Label", "confidence");
    kv("cfp1", num("%.2f", a.confidence));
    kv("cnt", std::to_string(a.packets));
    kv("in", std::to_string(a.bytes));
    kv("cn1Label", "peakPps");
    kv("cn1", num("%.0f", a.peak_pps));
    kv("cn2Label", "peakBps");
    kv("cn2", num("%.0f", a.peak_bps));
    kv("cn3Label", "droppedPackets");
    kv("cn3", std::to_string(a.dropped));
    kv("start", std::to_string(a.start_ms));
    if (a.end_ms) kv("end", std::to_string(a.end_ms));
    if (!a.reason.empty()) kv("msg", a.reason);
    return o;
}

int syslog_severity(int cef_sev) noexcept { return cef_sev >= 7 ? 4 : cef_sev >= 4 ? 5 : 6; }

std::string syslog_header(int severity, int64_t time_ms, std::string_view hostname, std::string_view app,
                          long procid, std::string_view msgid) {
    const int pri = kFacility * 8 + std::clamp(severity, 0, 7);
    return "<" + std::to_string(pri) + ">1 " + detect::format_wall(time_ms) + " " + field(hostname, 255) + " " +
           field(app, 48) + " " + field(std::to_string(procid), 128) + " " + field(msgid, 32) + " - ";
}

std::string syslog_message(const Alert& a, Format f, std::string_view hostname, long procid,
                           std::string_view version) {
    return syslog_header(syslog_severity(cef_severity(a.kind)), a.time_ms, hostname, "triage", procid,
                         signature_id(a.kind)) +
           (f == Format::cef ? cef_line(a, version) : a.json);
}

std::string frame_tcp(std::string_view message) {
    std::string o(message);
    std::replace_if(o.begin(), o.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    o += '\n';
    return o;
}

std::string Destination::str() const {
    return std::string(transport == Transport::udp ? "udp://" : "tcp://") + bracket(host) + ":" + std::to_string(port);
}

Destination parse_destination(std::string_view text) {
    Destination d;
    if (text.substr(0, 6) == "udp://") {
        d.transport = Transport::udp;
    } else if (text.substr(0, 6) == "tcp://") {
        d.transport = Transport::tcp;
    } else {
        throw std::invalid_argument("not udp://HOST:PORT or tcp://HOST:PORT");
    }
    const std::string_view auth = text.substr(6);
    if (const size_t bad = auth.find_first_of("/?#@"); bad != std::string_view::npos)
        throw std::invalid_argument("unexpected '" + std::string(1, auth[bad]) + "': give only HOST:PORT after " +
                                    std::string(text.substr(0, 6)));
    parse_authority(auth, d.host, d.port);
    return d;
}

std::string WebhookUrl::str() const {
    const bool dflt = port == (https ? 443 : 80);
    return std::string(https ? "https://" : "http://") + bracket(host) + (dflt ? "" : ":" + std::to_string(port)) + path;
}

WebhookUrl parse_webhook_url(std::string_view text) {
    WebhookUrl u;
    std::string_view rest;
    if (iequal_prefix(text, "https://")) {
        u.https = true;
        u.port = 443;
        rest = text.substr(8);
    } else if (iequal_prefix(text, "http://")) {
        rest = text.substr(7);
    } else {
        throw std::invalid_argument("not an http:// or https:// URL");
    }
    for (char c : rest)
        if (static_cast<unsigned char>(c) <= 32 || c == 127)
            throw std::invalid_argument("a space or control character in the URL (percent-encode it)");
    if (rest.find('#') != std::string_view::npos) throw std::invalid_argument("a #fragment has no place in a webhook URL");
    const size_t end = rest.find_first_of("/?");
    const std::string_view auth = rest.substr(0, end);
    if (auth.find('@') != std::string_view::npos)
        throw std::invalid_argument("no user:password@ in the URL; use --webhook-header 'Authorization: ...'");
    parse_authority(auth, u.host, u.port);
    if (end != std::string_view::npos) {
        u.path = std::string(rest.substr(end));
        if (u.path.front() == '?') u.path = "/" + u.path;
    }
    return u;
}

std::pair<std::string, std::string> parse_header(std::string_view text) {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0)
        throw std::invalid_argument("not 'Name: value'");
    const std::string name(text.substr(0, colon));
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("!#$%&'*+-.^_`|~", c))
            throw std::invalid_argument("header name '" + name + "' has a character not allowed in a name");
    std::string_view v = text.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0') throw std::invalid_argument("header value has a CR, LF or NUL");
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* own : {"host", "content-length", "content-type", "transfer-encoding", "user-agent"})
        if (lower == own) throw std::invalid_argument("header " + name + " is set by triage itself");
    return {name, std::string(v)};
}

std::vector<std::string> notify_args(const Alert& a) {
    const std::string v = a.vector_list();
    return {event_name(a.kind), std::to_string(a.incident), a.target, v.empty() ? "-" : v};
}

std::vector<std::string> notify_env(const Alert& a, std::string_view version) {
    std::vector<std::string> e{
        "TRIAGE_EVENT=" + std::string(event_name(a.kind)),
        "TRIAGE_SIGNATURE=" + std::string(signature_id(a.kind)),
        "TRIAGE_SEVERITY=" + std::to_string(cef_severity(a.kind)),
        "TRIAGE_INCIDENT_ID=" + std::to_string(a.incident),
        "TRIAGE_TARGET=" + a.target,
        "TRIAGE_PREFIX=" + a.prefix,
        "TRIAGE_HOST=" + a.host,
        "TRIAGE_MODE=" + a.mode,
        "TRIAGE_VECTORS=" + a.vector_list(),
        "TRIAGE_CONFIDENCE=" + num("%.2f", a.confidence),
        "TRIAGE_TIME=" + detect::format_wall(a.time_ms),
        "TRIAGE_START=" + detect::format_wall(a.start_ms),
        "TRIAGE_END=" + (a.end_ms ? detect::format_wall(a.end_ms) : std::string()),
        "TRIAGE_PEAK_PPS=" + num("%.0f", a.peak_pps),
        "TRIAGE_PEAK_BPS=" + num("%.0f", a.peak_bps),
        "TRIAGE_PACKETS=" + std::to_string(a.packets),
        "TRIAGE_BYTES=" + std::to_string(a.bytes),
        "TRIAGE_DROPPED=" + std::to_string(a.dropped),
        "TRIAGE_REASON=" + a.reason,
        "TRIAGE_VERSION=" + std::string(version),
    };
    for (std::string& s : e) std::replace(s.begin(), s.end(), '\0', ' ');
    return e;
}

}  // namespace triage::alert
