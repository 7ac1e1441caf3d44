// Scenarios: named streams of legitimate and attack traffic with rates,
// start times and durations, read from a line-based file (docs/scenarios.md).
// EAL-free, so the builder and its tests need no DPDK.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace triage::gen {

// X(enumerator, "name", legit, "what it sends")
#define TRIAGE_GEN_KINDS(X)                                                                                 \
    X(web_clients, "web-clients", true, "TCP clients: handshake, an HTTP request, the server's answer, close") \
    X(dns_clients, "dns-clients", true, "clinic hosts asking outside resolvers over UDP; the answers come back") \
    X(ping_clients, "ping-clients", true, "ICMP echo requests toward protected hosts, and their replies")     \
    X(syn_flood, "syn-flood", false, "TCP SYNs (with an MSS option), usually from spoofed sources")            \
    X(ack_flood, "ack-flood", false, "TCP ACKs that belong to no connection")                                 \
    X(rst_flood, "rst-flood", false, "TCP RSTs that belong to no connection")                                 \
    X(udp_flood, "udp-flood", false, "UDP datagrams to random (or one) destination ports")                    \
    X(reflection, "reflection", false, "amplified UDP answers from reflectors (vector dns|ntp|memcached|ssdp|cldap)") \
    X(icmp_flood, "icmp-flood", false, "ICMP / ICMPv6 echo requests")                                         \
    X(fragment_flood, "fragment-flood", false, "non-first IP fragments of UDP datagrams")                     \
    X(http_get_flood, "http-get-flood", false, "TCP clients that complete handshakes and send a GET a signature can catch")

enum class Kind : uint8_t {
#define TRIAGE_X(e, name, legit, desc) e,
    TRIAGE_GEN_KINDS(TRIAGE_X)
#undef TRIAGE_X
        count_
};

const char* kind_name(Kind k) noexcept;
const char* kind_description(Kind k) noexcept;
bool kind_is_legit(Kind k) noexcept;
// Kinds whose unit is a session (a conversation with the other side), not a
// packet: their rate is sessions per second.
bool kind_is_session(Kind k) noexcept;

// Reflection vectors: the reflector's UDP port and a typical answer size.
#define TRIAGE_GEN_VECTORS(X)      \
    X(dns, "dns", 53, 1200)        \
    X(ntp, "ntp", 123, 482)        \
    X(memcached, "memcached", 11211, 1400) \
    X(ssdp, "ssdp", 1900, 330)     \
    X(cldap, "cldap", 389, 1400)

enum class Vector : uint8_t {
#define TRIAGE_X(e, name, port, size) e,
    TRIAGE_GEN_VECTORS(TRIAGE_X)
#undef TRIAGE_X
        count_
};
const char* vector_name(Vector v) noexcept;
uint16_t vector_port(Vector v) noexcept;

// An address block; addr in network byte order (IPv4 in addr[0..3]).
struct Block {
    uint8_t family = 4;
    uint8_t len = 32;
    std::array<uint8_t, 16> addr{};
    // Usable addresses: hosts of an IPv4 block shorter than /31 skip the
    // network and broadcast addresses. Saturates at 2^63 for big IPv6 blocks.
    uint64_t size() const noexcept;
    // The i-th usable address (i < size()), written to out (16 bytes).
    void nth(uint64_t i, uint8_t* out) const noexcept;
};

struct Stream {
    std::string name;
    Kind kind = Kind::web_clients;
    Vector vector = Vector::dns;
    Block src;                // where its packets (or sessions) come from
    Block dst;                // where they go
    uint64_t sources = 0;     // distinct sources drawn in turn from src; 0 = a random one per packet
    uint16_t port = 0;        // destination port (0 = the kind's default, random for udp-flood)
    double rate = 0;          // packets/s, or sessions/s for session kinds
    uint64_t start_ns = 0;
    uint64_t duration_ns = 0; // 0 = until the scenario ends
    uint32_t size = 0;        // frame bytes without FCS (0 = the kind's default)
    std::string path;         // HTTP request path (web-clients, http-get-flood)
    unsigned line = 0;        // where it was defined, for messages

    uint64_t end_ns(uint64_t scenario_ns) const noexcept {
        return duration_ns ? start_ns + duration_ns : scenario_ns;
    }
    // Events (packets or sessions) the stream starts in a scenario of that length.
    uint64_t events(uint64_t scenario_ns) const noexcept;
    // When event i starts, from the scenario's start.
    uint64_t event_ns(uint64_t i) const noexcept {
        return start_ns + static_cast<uint64_t>(static_cast<double>(i) * 1e9 / rate);
    }
    bool legit() const noexcept { return kind_is_legit(kind); }
};

// A pass/fail condition of a drill: "expect legit delivered >= 99%",
// "expect synflood detected <= 100ms", "expect incidents == 1".
struct Expect {
    enum class What : uint8_t {
        delivered, dropped, handshakes, first_drop_ms,
        incidents,    // incidents triage's detection opened (no target)
        mitigations,  // automatic "mitigation on" switches, over every incident (no target)
        detected_ms,  // from the stream's first packet to its vector showing in an incident
        classified,   // the highest confidence of `vector` in the incidents on the stream's target
    };
    std::string target;  // "legit", "attack" or a stream name; empty for incidents and mitigations
    What what = What::delivered;
    bool at_least = true;  // >= (else <=)
    bool equal = false;    // == (incidents and mitigations only; at_least is then ignored)
    double value = 0;      // percent; ms (first_drop_ms, detected_ms); a count; a confidence 0..1
    std::string vector;    // classified: "syn-flood", "tcp-flood", ..., "dns-reflection"
    unsigned line = 0;
};
const char* expect_what_name(Expect::What w) noexcept;  // "delivered", ..., "detected", "classified"

struct Scenario {
    std::string name;
    std::string description;
    std::string origin;       // file name, for messages
    std::string config;       // triage console script for drills (resolved path), may be empty
    uint64_t duration_ns = 0; // whole run
    uint64_t seed = 1;
    uint64_t rtt_ns = 20'000'000;  // scripted round trip of session kinds in built pcaps
    std::vector<Stream> streams;
    std::vector<Expect> expects;

    const Stream* find(std::string_view name) const noexcept;
};

// Parses a scenario file's text. origin names it in errors ("FILE:LINE: ...").
// Returns false with one line in err on the first problem; out is then
// unspecified. A relative `config` path is resolved against base_dir.
bool parse_scenario(std::string_view text, std::string_view origin, std::string_view base_dir, Scenario& out,
                    std::string& err);
// Reads and parses a file (a missing file is an error naming it).
bool load_scenario(const std::string& path, Scenario& out, std::string& err);

// "250ms", "2s", "1.5s", "90s", "2m" -> nanoseconds.
bool parse_time_ns(std::string_view s, uint64_t& ns, std::string& err);
// "500", "20k", "1.5m" -> a positive rate.
bool parse_rate(std::string_view s, double& v, std::string& err);
std::string format_ns(uint64_t ns);  // "1.5s", "250ms"

// The vector name triage's detection (lib/detect) gives the traffic of a
// stream's kind: "syn-flood", "tcp-flood" (ack-flood, rst-flood),
// "udp-flood", "icmp-flood", "fragment-flood", "dns-reflection", ...; empty
// for the session kinds (legitimate traffic and http-get-flood), which are no
// volumetric vector.
std::string detect_vector(const Stream& s);
// Whether a vector name has the form triage gives: one of the five flood
// vectors or NAME-reflection.
bool valid_vector_name(std::string_view v) noexcept;

// One incident as triage's --incident-log records it (docs/detection.md):
// the latest JSON line for its id (open, then close or exit).
struct IncidentRecord {
    struct Vec {
        std::string vector;
        double confidence = 0;  // the highest seen while open
        double peak_pps = 0;
    };
    struct Act {
        int64_t ms = 0;  // wall clock, ms since the epoch
        std::string what, reason;  // "opened", "mitigation on", "vector added", "mitigation off", "closed"
    };
    uint32_t id = 0;
    std::string event, target, prefix;
    int64_t start_ms = 0;  // wall clock, ms since the epoch
    int64_t end_ms = -1;   // -1: still open
    std::vector<Vec> vectors;
    std::vector<Act> actions;
    std::string line;      // the JSON line as read

    // When `vector` joined the incident (at its opening, or a later "vector
    // added"), wall ms; -1 if it never did.
    int64_t vector_ms(std::string_view vector) const;
    const Vec* find_vector(std::string_view vector) const noexcept;
    unsigned count(std::string_view action) const noexcept;
};
// Parses triage's --incident-log text: one record per incident id, the
// latest line winning, in id order. A line that is not an incident record
// fails with err naming its line number.
bool parse_incident_log(std::string_view text, std::vector<IncidentRecord>& out, std::string& err);
// "2026-12-05T06:14:00.123Z" -> ms since the epoch.
bool parse_wall_ms(std::string_view s, int64_t& ms) noexcept;
// Whether a prefix in text ("198.51.100.10/32") and a block share an address.
bool block_overlaps(const Block& b, std::string_view prefix) noexcept;

// Where a stream was detected: the incident on a prefix overlapping the
// stream's dst that held the stream's vector earliest, among those still
// open (or not yet opened) when the stream began. first_ms and end_ms: the
// stream's first packet and its end, wall ms. delay_ms is negative when the
// vector was already in an incident before the stream began.
struct Detection {
    int incident = -1;  // index into the records; -1: not detected
    double delay_ms = 0;
    double confidence = 0;
};
Detection find_detection(const std::vector<IncidentRecord>& inc, const Stream& s, double first_ms, double end_ms);
// The highest confidence of `vector` in the incidents on a prefix
// overlapping the stream's dst that were open at some time from first_ms to
// end_ms; 0 when none held it. which: that incident's index, or -1.
double classified_confidence(const std::vector<IncidentRecord>& inc, const Stream& s, std::string_view vector,
                             double first_ms, double end_ms, int* which = nullptr);

// Stream tags: every generated IPv4 packet carries 0xa500 | stream index in
// its identification field, every IPv6 packet (stream index | 0xa5000) as its
// flow label, so a receiver can tell which stream a frame belongs to after it
// went through the box.
inline constexpr unsigned kMaxStreams = 256;
inline constexpr uint16_t kTag4 = 0xa500;
inline constexpr uint32_t kTag6 = 0xa5000;

}  // namespace triage::gen
