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

// A pass/fail condition of a drill: "expect legit delivered >= 99%".
struct Expect {
    enum class What : uint8_t { delivered, dropped, handshakes, first_drop_ms };
    std::string target;  // "legit", "attack" or a stream name
    What what = What::delivered;
    bool at_least = true;  // >= (else <=)
    double value = 0;      // percent, or milliseconds for first_drop_ms
    unsigned line = 0;
};

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

// Stream tags: every generated IPv4 packet carries 0xa500 | stream index in
// its identification field, every IPv6 packet (stream index | 0xa5000) as its
// flow label, so a receiver can tell which stream a frame belongs to after it
// went through the box.
inline constexpr unsigned kMaxStreams = 256;
inline constexpr uint16_t kTag4 = 0xa500;
inline constexpr uint32_t kTag6 = 0xa5000;

}  // namespace triage::gen
