// The pure half of lib/alert: what an alert says and how each sink spells it
// (CEF, the RFC 5424 syslog header, the notify command's argv and
// environment), and the parsers for the operator's destinations. No sockets,
// no threads, no clock: unit tests and the option parser use it as is.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detect.h"

namespace triage::alert {

// Every event a sink can receive, declared once:
// X(enum, event name (JSON "event", notify EVENT, TRIAGE_EVENT), CEF signature id (and syslog MSGID),
//   CEF name, CEF severity 0..10)
#define TRIAGE_ALERT_EVENTS(X)                                                         \
    X(open, "open", "incident-open", "DDoS incident opened", 8)                        \
    X(vector_added, "vector-added", "incident-vector-added", "DDoS attack vector added to incident", 7) \
    X(mitigation_on, "mitigation-on", "mitigation-on", "DDoS mitigation switched on", 7) \
    X(mitigation_off, "mitigation-off", "mitigation-off", "DDoS mitigation switched off", 4) \
    X(close, "close", "incident-close", "DDoS incident closed", 3)                     \
    X(exit, "exit", "incident-exit", "DDoS incident still open at shutdown", 5)

enum class Kind : uint8_t {
#define TRIAGE_X(e, ev, sig, name, sev) e,
    TRIAGE_ALERT_EVENTS(TRIAGE_X)
#undef TRIAGE_X
};
inline constexpr unsigned kKinds = 0
#define TRIAGE_X(e, ev, sig, name, sev) +1
    TRIAGE_ALERT_EVENTS(TRIAGE_X)
#undef TRIAGE_X
    ;

const char* event_name(Kind k) noexcept;
const char* signature_id(Kind k) noexcept;
const char* cef_name(Kind k) noexcept;
int cef_severity(Kind k) noexcept;
// "open" -> Kind::open, ...; false for an unknown name.
bool kind_from_event(std::string_view event, Kind& out) noexcept;

// One alert, self-contained: built on the control core from the incident as
// it stands, then handed to the sender thread (which never reads the
// detector).
struct Alert {
    Kind kind = Kind::open;
    int64_t time_ms = 0;  // when the event happened, ms since the epoch
    uint32_t incident = 0;
    std::string target;   // the protected entry's name
    std::string prefix;   // its prefix, "198.51.100.10/32"
    std::string host;     // the address when the prefix is one host (/32, /128), else empty
    bool host_v6 = false;
    std::string mode;     // monitor|auto|enforce
    std::vector<std::string> vectors;  // "syn-flood", ...
    double confidence = 0;             // the highest of the vectors'
    int64_t start_ms = 0, end_ms = 0;  // end_ms 0 while open
    double peak_pps = 0, peak_bps = 0;
    uint64_t packets = 0, bytes = 0, dropped = 0;
    std::string reason;  // one line; the detector's text for vector and mitigation events
    std::string json;    // detect::incident_json with "event" = event_name(kind)

    std::string vector_list() const;  // "syn-flood,udp-flood", "" when none
};

Alert make_alert(Kind k, const detect::Incident& i, const std::vector<std::string>& class_names, int64_t now_ms,
                 std::string reason = {});

// CEF (ArcSight Common Event Format, rev. 25). Header fields escape | and \;
// a CR or LF there becomes a space. Extension values escape = and \ and
// spell CR/LF as \r and \n; | is legal there as is.
std::string cef_escape_header(std::string_view s);
std::string cef_escape_extension(std::string_view s);
// CEF:0|Triage|Triage|VERSION|SIGNATURE|NAME|SEVERITY|ext... (one line, no LF).
std::string cef_line(const Alert& a, std::string_view version);

// RFC 5424: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - " (the MSG
// follows the final space). Facility local0 (16). Fields are cut to their
// RFC lengths and to printable US-ASCII; an empty one is "-".
inline constexpr int kFacility = 16;
std::string syslog_header(int severity, int64_t time_ms, std::string_view hostname, std::string_view app,
                          long procid, std::string_view msgid);
// CEF severity to syslog severity: 7..10 warning (4), 4..6 notice (5), 0..3 informational (6).
int syslog_severity(int cef_sev) noexcept;

enum class Format : uint8_t { cef, json };
// One complete syslog message (header and MSG), without framing.
std::string syslog_message(const Alert& a, Format f, std::string_view hostname, long procid,
                           std::string_view version);
// TCP framing: non-transparent framing (RFC 6587 3.4.2), one message per line:
// the message with a trailing LF. CEF and JSON messages never hold a LF of
// their own; one that did would be cut, so any CR/LF left is made a space.
std::string frame_tcp(std::string_view message);

// Where --syslog-cef / --syslog-json send: udp://HOST:PORT or tcp://HOST:PORT,
// HOST an IPv4 address, a DNS name or [IPv6]. PORT defaults to 514.
enum class Transport : uint8_t { udp, tcp };
struct Destination {
    Transport transport = Transport::udp;
    std::string host;  // without brackets
    uint16_t port = 514;
    std::string str() const;  // "udp://192.0.2.1:514", "tcp://[2001:db8::1]:6514"
};
// Throws std::invalid_argument with a one-line message naming the bad part
// (without the option name: the caller adds that).
Destination parse_destination(std::string_view text);

// --webhook: http://HOST[:PORT][/PATH[?QUERY]] or https://... (verified
// against the system CA store). No user:password@ (use --webhook-header
// 'Authorization: ...'), no #fragment.
struct WebhookUrl {
    bool https = false;
    std::string host;  // without brackets
    uint16_t port = 80;
    std::string path = "/";  // with the query
    std::string str() const;
};
WebhookUrl parse_webhook_url(std::string_view text);  // throws std::invalid_argument
// --webhook-header 'Name: value'. The name is an RFC 9110 token; the value has
// no CR, LF or NUL. Host, Content-Length, Content-Type and Transfer-Encoding
// are the sender's and refused.
std::pair<std::string, std::string> parse_header(std::string_view text);  // throws std::invalid_argument

// The notify command's arguments after PATH: EVENT INCIDENT_ID TARGET VECTORS
// (VECTORS comma-separated, "-" when none) and its TRIAGE_* environment
// variables ("NAME=value"), added to triage's own environment.
std::vector<std::string> notify_args(const Alert& a);
std::vector<std::string> notify_env(const Alert& a, std::string_view version);

}  // namespace triage::alert
