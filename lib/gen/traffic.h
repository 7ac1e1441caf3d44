// Frames of a scenario: flood packets, the scripted conversations of session
// kinds (for pcaps), the live endpoints that answer what comes through the box
// (for drills), and a receiver's view of which stream a frame belongs to.
// Everything is built with gen.h, the same builder the tests use.
#pragma once

#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "gen.h"
#include "scenario.h"

namespace triage::gen {

// The port a frame enters the box on: outside (from the Internet, port 0) or
// inside (from the clinic, port 1).
enum class Side : uint8_t { outside = 0, inside = 1 };

struct Frame {
    uint64_t t_ns = 0;  // from the scenario's start
    Side side = Side::outside;
    uint16_t stream = 0;
    Bytes bytes;
};

inline uint64_t mix64(uint64_t x) noexcept {  // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
inline uint64_t mix64(uint64_t seed, uint64_t stream, uint64_t i) noexcept {
    return mix64(seed * 0x100000001b3ull ^ mix64(stream << 48 ^ i));
}

// One packet of a flood stream: event i of stream s (its serial is i).
Bytes flood_frame(const Scenario& sc, unsigned s, uint64_t i);

// The two ends of session i of a session-kind stream. The client is on the
// outside for web-clients, ping-clients and http-get-flood, on the inside
// for dns-clients.
struct Session {
    uint16_t stream = 0;
    uint64_t index = 0;
    uint8_t family = 4;
    uint8_t client[16]{};
    uint8_t server[16]{};
    uint16_t cport = 0;  // TCP/UDP client port, ICMP echo identifier
    uint16_t sport = 0;  // server port
    uint32_t cisn = 0;   // client ISN / DNS id
};
Session session_of(const Scenario& sc, unsigned s, uint64_t i);
Side client_side(Kind k) noexcept;
inline Side other(Side s) noexcept {
    return s == Side::outside ? Side::inside : Side::outside;
}

// Server ISN of a TCP session: a keyed function of the 4-tuple, so the
// server end can stay stateless.
uint32_t server_isn(const uint8_t* client, uint16_t cport, uint16_t sport, unsigned family) noexcept;

// A tagged TCP frame between the two ends of a session.
Bytes tcp_frame(const Session& ss, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
                const Bytes& payload = {}, bool mss = false);
Bytes http_request(const Scenario& sc, const Session& ss);
Bytes http_response();
Bytes dns_query(const Session& ss);
Bytes dns_answer(const Session& ss);
Bytes echo(const Session& ss, bool request);

// Every frame of a scenario in time order, both sides: floods as scheduled,
// sessions as scripted conversations (one round trip = the scenario's rtt)
// that meet no SYN authentication. What `triage-gen build` writes.
class Builder {
public:
    explicit Builder(const Scenario& sc);
    bool next(Frame& f);
    uint64_t produced() const noexcept { return produced_; }

private:
    struct Item {
        uint64_t t;
        uint64_t order;
        uint16_t stream;
        bool is_event;
        uint64_t index;
        size_t frame;  // into frames_ when !is_event
        bool operator>(const Item& o) const noexcept { return t != o.t ? t > o.t : order > o.order; }
    };
    void push_event(unsigned s, uint64_t i);
    void push_frame(uint64_t t, unsigned s, Side side, Bytes&& b);
    void expand_session(unsigned s, uint64_t i, uint64_t t);

    const Scenario& sc_;
    std::vector<uint64_t> events_;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap_;
    std::vector<Frame> frames_;  // pending scripted frames, slots reused
    std::vector<size_t> free_;
    uint64_t order_ = 0;
    uint64_t produced_ = 0;
};

// What a receiver can tell about a frame.
struct Seen {
    int stream = -1;  // from the tag, -1 when untagged (or not IP)
    bool has_serial = false;
    uint32_t serial = 0;
    net::PacketView v{};
    bool parsed = false;  // v is valid (the frame parsed as well-formed)
};
void identify(const Scenario* sc, const uint8_t* p, uint32_t len, Seen& out);

// A coarse traffic class for frames of unknown origin (replayed captures,
// the box's own answers).
#define TRIAGE_GEN_CLASSES(X) \
    X("tcp-syn") X("tcp-synack") X("tcp-rst") X("tcp") X("udp-dns") X("udp-ntp") X("udp-memcached") \
    X("udp-ssdp") X("udp-cldap") X("udp") X("icmp") X("fragment") X("other-ip") X("non-ip") X("malformed")
inline constexpr unsigned kClasses = 15;
unsigned traffic_class(const uint8_t* p, uint32_t len);
const char* class_name(unsigned c) noexcept;

// ------------------------------------------------------------------ live

// Per-stream results of a live run.
struct StreamResult {
    uint64_t sent_packets = 0, sent_bytes = 0;           // from the stream's origin side
    uint64_t delivered_packets = 0, delivered_bytes = 0;  // arrived at the other side
    // Session kinds.
    uint64_t sessions = 0;       // started
    uint64_t handshakes = 0;     // TCP: the client got the server's SYN-ACK
    uint64_t requests = 0;       // requests (web), queries (dns), echoes (ping) that reached the server
    uint64_t completed = 0;      // answers the client got
    uint64_t auth_challenges = 0;  // cookie SYN-ACKs a client answered with an RST
    uint64_t failed = 0;         // sessions given up after retries
    uint64_t handshake_ns_sum = 0;  // SYN sent -> server's SYN-ACK received
    uint64_t handshake_ns_max = 0;
    // Floods: send time of each serial (ns from the start) and which arrived.
    std::vector<uint64_t> sent_ns;
    std::vector<uint8_t> arrived;
    // Earliest serial sent that never arrived, or -1.
    int64_t first_lost() const noexcept;
};

struct Out {
    Side side;  // the port to send it out of (toward the box)
    uint16_t stream;
    Bytes bytes;
};

// Both ends of a scenario around the box: attackers and clients on the
// outside, servers and clinic hosts on the inside, answering what the box
// lets through the way real stacks do (a cookie SYN-ACK gets an RST and a
// quick SYN retry, like Linux; lost segments are retransmitted after 1 s,
// 2 s, 4 s). Single-threaded; the caller owns the ports and the clock.
class Live {
public:
    explicit Live(const Scenario& sc);
    // Appends what is due by now_ns (at most max frames; the rest stays due).
    void tick(uint64_t now_ns, std::vector<Out>& out, size_t max);
    // A frame that came out of the box on that side.
    void receive(Side side, const uint8_t* p, uint32_t len, uint64_t now_ns, std::vector<Out>& out);
    // Whether every stream has started all its events and no session is open.
    bool done(uint64_t now_ns) const noexcept;
    const std::vector<StreamResult>& results() const noexcept { return res_; }
    uint64_t untagged_outside() const noexcept { return untagged_[0]; }
    uint64_t untagged_inside() const noexcept { return untagged_[1]; }
    uint64_t cookie_synacks() const noexcept { return cookie_synacks_; }
    // The first time each stream's first event went out (ns), or 0.
    uint64_t stream_started_ns(unsigned s) const noexcept { return started_[s]; }

private:
    enum class St : uint8_t { syn_sent, established, closing };
    struct Sess {
        Session ss;
        St st = St::syn_sent;
        uint8_t tries = 0;          // retransmissions so far
        bool cookie_retry = false;  // the next timer resends a SYN after a cookie
        bool request_seen = false;  // the server end counted this session's request
        uint64_t syn_ns = 0;    // first SYN / query / echo
        uint64_t retx_ns = 0;   // next retransmission
        uint32_t server_seq = 0;
        bool completed = false;
    };
    struct Key {
        uint8_t addr[16];
        uint16_t port;
        bool operator==(const Key& o) const noexcept {
            return port == o.port && std::equal(addr, addr + 16, o.addr);
        }
    };
    struct KeyHash {
        size_t operator()(const Key& k) const noexcept;
    };
    void start_session(unsigned s, uint64_t i, uint64_t now, std::vector<Out>& out);
    void send_first(Sess& x, std::vector<Out>& out);
    void emit(Side side, unsigned s, Bytes&& b, std::vector<Out>& out);
    void server_end(Seen& sn, const uint8_t* p, std::vector<Out>& out);
    void client_end(Seen& sn, const uint8_t* p, uint64_t now, std::vector<Out>& out);

    const Scenario& sc_;
    std::vector<uint64_t> events_, next_;
    std::vector<uint64_t> started_;
    std::vector<StreamResult> res_;
    std::unordered_map<Key, Sess, KeyHash> sess_;
    std::multimap<uint64_t, Key> timers_;  // due -> session: retransmissions, cookie retries
    uint64_t untagged_[2]{};
    uint64_t cookie_synacks_ = 0;
};

}  // namespace triage::gen
