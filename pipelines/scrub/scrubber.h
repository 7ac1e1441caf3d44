// The scrubbing stages for one worker: what happens to an inbound frame
// toward a protected prefix once the policy decision (verdict.h) has said
// "protected", and what outbound frames teach the worker. EAL-free: bytes,
// a parsed view, the snapshot and a TSC timestamp in; an outcome out. The
// worker (scrub.cpp) turns outcomes into mbuf actions.
//
// Order of the stages (docs/scrubbing.md):
//   fragment rule -> service ACL -> per-source limit -> SYN authentication
//   -> per-destination limit -> payload signatures -> forward
// The per-source limit comes before SYN authentication so a single source
// cannot make the box send it (or a victim it spoofs) unlimited SYN-ACKs; the
// per-destination limit comes after it so a spoofed flood, answered with
// cookies, does not use up the budget of the real clients' SYNs.
#pragma once

#include <cstdint>
#include <cstring>

#include "build.h"
#include "counters.h"
#include "meter.h"
#include "packet_view.h"
#include "policy.h"
#include "signature.h"
#include "syncookie.h"
#include "verdict.h"

namespace triage::scrub {

struct TableSizes {
    size_t sources = size_t{1} << 20;  // per-source buckets (all classes together)
    size_t destinations = 65536;       // per-destination aggregate buckets
    size_t authenticated = 262144;     // authenticated sources
    size_t solicited = 262144;         // outbound UDP flows awaiting answers
};

struct Outcome {
    enum Kind : uint8_t { forward, drop, reply } kind;
    telemetry::Drop reason;  // for drop and reply (the frame itself ends here)
};

class Scrubber {
public:
    static constexpr uint8_t kNoClass = 0xff;

    Scrubber(const TableSizes& t, const net::SipKey& key, unsigned worker, telemetry::WorkerCounters& k)
        : src_(t.sources, key),
          dst_(t.destinations, mix(key, 1)),
          auth_(t.authenticated, mix(key, 2)),
          solicit_(t.solicited, mix(key, 3)),
          worker_(worker),
          k_(k) {}

    // What inbound() needs to know before it runs, worked out for a whole
    // burst first so the table sets the burst will touch are already on
    // their way into the cache (a lookup in a table of millions of sources
    // is a cache miss; a burst of them overlapped is one miss' time).
    struct Prepared {
        uint8_t cls = kNoClass;  // traffic class before the solicited check
        bool exempt = false;     // ICMP PTB / ND: passes every stage
        bool src_hashed = false; // src_key/src_hash: the source bucket of cls
        bool dst_hashed = false; // dst_key/dst_hash: the destination bucket of cls
        bool auth_hashed = false;
        uint64_t src_hash = 0;
        uint64_t dst_hash = 0;
        uint64_t auth_hash = 0;
        meter::Key src_key;
        meter::Key dst_key;
    };

    // Fills `p` in place (a copy of a just-built struct would reload it over
    // its piecemeal stores: a store-forwarding stall per packet).
    [[gnu::always_inline]] void prepare(const policy::Snapshot& s, uint32_t pi, const net::PacketView& v, Prepared& p) {
        using namespace net;
        const policy::Snapshot::ProtectedRt& pr = s.protect[pi];
        const policy::PolicyRt& pol = s.policies[pr.policy];
        const bool later = v.has(view_flag::later_fragment);
        p.cls = kNoClass;
        p.exempt = p.src_hashed = p.dst_hashed = p.auth_hashed = false;
        if (v.has(view_flag::fragment)) {
            // The first fragment of an amplified answer (big DNS responses
            // are fragmented) still counts against its reflection vector;
            // everything else fragmented is the fragment class.
            const uint8_t r = !later && v.l4_proto == ip_proto::udp ? (*s.reflector_class)[v.sport] : 0;
            p.cls = r ? r : policy::kClassFragment;
        }
        if (!later) {
            switch (v.l4_proto) {
            case ip_proto::tcp:
                if (p.cls == kNoClass)
                    p.cls = (v.tcp_flags & (tcp_flag::syn | tcp_flag::ack)) == tcp_flag::syn ? policy::kClassSyn
                                                                                            : policy::kClassTcp;
                if (pr.syn_auth) {
                    p.auth_hash = auth_.hash(addr_key(v.src, v.ip_version));
                    p.auth_hashed = true;
                    auth_.prefetch(p.auth_hash);
                }
                break;
            case ip_proto::udp:
                if (p.cls == kNoClass) {
                    const uint8_t r = (*s.reflector_class)[v.sport];
                    p.cls = r ? r : policy::kClassUdp;
                }
                break;
            case ip_proto::icmp:
            case ip_proto::icmpv6:
                // Path-MTU discovery and neighbour discovery never meet a
                // limit or the ACL: dropping them breaks connections.
                if (icmp_exempt(v)) p.exempt = true;
                else if (p.cls == kNoClass) p.cls = policy::kClassIcmp;
                break;
            default:
                break;
            }
        }
        if (p.cls != kNoClass && (pol.src_on >> p.cls & 1u)) {
            const meter::Key k = source_key(v, pol, p.cls, pr.policy);
            p.src_hash = src_.hash(k);
            p.src_key = k;
            p.src_hashed = true;
            src_.prefetch(p.src_hash);
        }
        if (p.cls != kNoClass && (pol.dst_on >> p.cls & 1u)) {
            const meter::Key k = dest_key(v, p.cls, pr.policy);
            p.dst_hash = dst_.hash(k);
            p.dst_key = k;
            p.dst_hashed = true;
            dst_.prefetch(p.dst_hash);
        }
    }

    // An inbound IP frame toward protected prefix `pi` (not allow-listed),
    // with what prepare() found. frame/len: the bytes as parsed. On
    // Outcome::reply, `reply` holds a frame of `reply_len` bytes to send out
    // of the outside port instead (the cookie SYN-ACK); it needs
    // net::kMaxTcpReplyLen bytes of room.
    [[gnu::always_inline]] Outcome inbound(const policy::Snapshot& s, uint32_t pi, const net::PacketView& v,
                                           const Prepared& p, const uint8_t* frame, uint32_t len, uint64_t now,
                                           uint8_t* reply, size_t& reply_len) {
        using namespace net;
        using telemetry::Drop;
        const policy::Snapshot::ProtectedRt& pr = s.protect[pi];
        const policy::PolicyRt& pol = s.policies[pr.policy];
        const bool later = v.has(view_flag::later_fragment);
        uint8_t cls = p.cls;

        if (v.has(view_flag::fragment) && pol.frag_drop) return {Outcome::drop, Drop::fragment_policy};
        if (p.exempt) {
            k_.scrub[static_cast<unsigned>(telemetry::Scrub::exempt_icmp)].add();
            return {Outcome::forward, Drop::none};
        }
        const bool tcp = v.l4_proto == ip_proto::tcp && !later;
        const bool pure_syn = tcp && (v.tcp_flags & (tcp_flag::syn | tcp_flag::ack)) == tcp_flag::syn;
        if (!later && pol.acl && !acl_open(s, pol, v, tcp, pure_syn, now)) return {Outcome::drop, Drop::service_acl};
        // A response to a request a protected host sent is not reflection.
        if (cls >= policy::kFirstReflectorClass && cls != kNoClass &&
            (pol.solicit_on >> cls & 1u) && solicited(v, now)) {
            k_.scrub[static_cast<unsigned>(telemetry::Scrub::solicited)].add();
            cls = policy::kClassUdp;
            reclassed_ = true;
        }
        if (cls != kNoClass) {
            k_.class_packets[cls].add();
            if (pol.src_on >> cls & 1u) {
                const bool ready = p.src_hashed && cls == p.cls;
                const meter::Key key = ready ? p.src_key : source_key(v, pol, cls, pr.policy);
                if (!src_.admit(key, ready ? p.src_hash : src_.hash(key), pol.src[cls], now, len)) {
                    k_.class_dropped[cls].add();
                    return {Outcome::drop, Drop::rate_source};
                }
            }
        }
        if (pr.syn_auth && tcp) {
            const meter::Key akey = addr_key(v.src, v.ip_version);
            if (!auth_.alive(akey, p.auth_hashed ? p.auth_hash : auth_.hash(akey), now)) {
                if (pure_syn) {
                    reply_len = cookie_reply(s, v, frame, reply);
                    return {reply_len ? Outcome::reply : Outcome::drop, Drop::syn_cookie};
                }
                // The RST a client's TCP sends to our out-of-window SYN-ACK
                // carries the cookie as its sequence number.
                if ((v.tcp_flags & (tcp_flag::rst | tcp_flag::ack)) == tcp_flag::rst &&
                    syncookie::check(s.cookies, syncookie::tuple_of(v), tcp_seq(frame, v)).ok) {
                    authenticate(v, now + pol.auth_ttl_cycles, now);
                    k_.scrub[static_cast<unsigned>(telemetry::Scrub::auth_by_cookie)].add();
                    return {Outcome::drop, Drop::syn_auth_answer};
                }
                return {Outcome::drop, Drop::tcp_unauthenticated};
            }
            k_.scrub[static_cast<unsigned>(telemetry::Scrub::auth_passed)].add();
        }
        if (cls != kNoClass && (pol.dst_on >> cls & 1u)) {
            const bool ready = p.dst_hashed && cls == p.cls;
            const meter::Key key = ready ? p.dst_key : dest_key(v, cls, pr.policy);
            if (!dst_.admit(key, ready ? p.dst_hash : dst_.hash(key), pol.dst[cls], now, len)) {
                k_.class_dropped[cls].add();
                return {Outcome::drop, Drop::rate_destination};
            }
        }
        if (pol.signatures && s.signatures && !later && v.payload_off < v.l4_off + v.l4_len) {
            const uint32_t end = v.l4_off + v.l4_len;
            const signature::Result r =
                signature::scan(*s.signatures, worker_, v.l4_proto, v.dport, frame + v.payload_off,
                                end - v.payload_off, &k_.signature_hits);
            if (r.drop >= 0) return {Outcome::drop, Drop::signature};
            if (r.matched) k_.scrub[static_cast<unsigned>(telemetry::Scrub::signature_counted)].add();
        }
        return {Outcome::forward, Drop::none};
    }

    // An outbound frame (inside -> outside). A protected host talking TCP to
    // a remote address authenticates it (its handshake completed, or the
    // host opened the connection); a UDP request makes the answer to it
    // solicited. SYN-ACKs and RSTs teach nothing: a spoofed SYN or ACK that
    // reached the host before mitigation would otherwise vouch for itself.
    [[gnu::always_inline]] void outbound(const policy::Snapshot& s, const net::PacketView& v, uint64_t now) {
        using namespace net;
        if (!s.learn_outbound || !v.is_ip() || v.has(view_flag::later_fragment)) return;
        if (v.l4_proto != ip_proto::tcp && v.l4_proto != ip_proto::udp) return;
        const uint32_t pi = v.ip_version == 4 ? s.dst4.lookup(policy::be32(v.src)) : s.dst6.lookup(v.src);
        if (pi == classify::kNoMatch) return;
        if (v.l4_proto == ip_proto::tcp) {
            if (v.tcp_flags & tcp_flag::rst) return;
            if ((v.tcp_flags & (tcp_flag::syn | tcp_flag::ack)) == (tcp_flag::syn | tcp_flag::ack)) return;
            const policy::PolicyRt& pol = s.policies[s.protect[pi].policy];
            if (learn(auth_, addr_key(v.dst, v.ip_version), now + pol.auth_ttl_cycles, now, pol.auth_ttl_cycles))
                k_.scrub[static_cast<unsigned>(telemetry::Scrub::auth_by_outbound)].add();
        } else {
            learn(solicit_, flow_key(v.dst, v.dport, v.src, v.sport, v.ip_version), now + s.solicit_cycles, now,
                  s.solicit_cycles);
        }
    }

    // Evictions of live entries so far, per table (for the counters).
    uint64_t meter_evictions() const noexcept { return src_.evictions() + dst_.evictions(); }
    uint64_t auth_evictions() const noexcept { return auth_.evictions(); }
    // Whether the last inbound() counted a solicited response as plain UDP
    // rather than its reflection class (detection counts it the same way).
    bool take_reclassed() noexcept {
        if (__builtin_expect(!reclassed_, 1)) return false;
        reclassed_ = false;
        return true;
    }
    uint64_t solicit_evictions() const noexcept { return solicit_.evictions(); }

private:

    static net::SipKey mix(const net::SipKey& k, uint64_t n) noexcept {
        return {k.k0 ^ (0x9e3779b97f4a7c15ull * n), k.k1 + n};
    }

    static bool icmp_exempt(const net::PacketView& v) noexcept {
        if (v.l4_proto == net::ip_proto::icmp) return v.icmp_type == 3 && v.icmp_code == 4;  // fragmentation needed
        // ICMPv6 packet too big, and router/neighbour solicitation/advertisement, redirect.
        return v.icmp_type == 2 || (v.icmp_type >= 133 && v.icmp_type <= 137);
    }

    bool acl_open(const policy::Snapshot&, const policy::PolicyRt& pol, const net::PacketView& v, bool tcp,
                  bool pure_syn, uint64_t now) {
        const policy::Acl& a = *pol.open;
        if (tcp) {
            if (policy::Acl::bit(a.tcp, v.dport)) return true;
            // Traffic of a connection a protected host opened comes back to
            // its own (closed) port: it passes once the peer is known.
            return !pure_syn && authenticated(v, now);
        }
        if (v.l4_proto == net::ip_proto::udp) return policy::Acl::bit(a.udp, v.dport) || solicited(v, now);
        const unsigned p = v.l4_proto == net::ip_proto::icmpv6 ? net::ip_proto::icmp : v.l4_proto;
        return policy::Acl::bit(a.proto, p);
    }

    static meter::Key addr_key(const uint8_t* addr, uint8_t family) noexcept {
        meter::Key k{};
        std::memcpy(k.addr, addr, family == 4 ? 4 : 16);
        k.tag = family;
        return k;
    }

    // Remote address, both ports, and the local address folded into the
    // tag: the answer must come from where the request went, to the port
    // it left from, toward the host that sent it.
    static meter::FlowKey flow_key(const uint8_t* remote, uint16_t rport, const uint8_t* local, uint16_t lport,
                                   uint8_t family) noexcept {
        meter::FlowKey k{};
        std::memcpy(k.addr, remote, family == 4 ? 4 : 16);
        k.remote_port = rport;
        k.local_port = lport;
        uint32_t fold = family;
        for (unsigned i = 0; i < (family == 4 ? 4u : 16u); i += 4) {
            uint32_t w;
            std::memcpy(&w, local + i, 4);
            fold = (fold ^ w) * 0x9e3779b1u;
        }
        k.tag = fold;
        return k;
    }

    static meter::Key source_key(const net::PacketView& v, const policy::PolicyRt& pol, uint8_t cls,
                                 uint32_t policy_index) noexcept {
        const uint8_t len = v.ip_version == 4 ? pol.aggregate4 : pol.aggregate6;
        return meter::source_key(v.src, v.ip_version, len, cls, static_cast<uint8_t>(policy_index));
    }

    static meter::Key dest_key(const net::PacketView& v, uint8_t cls, uint32_t policy_index) noexcept {
        return meter::source_key(v.dst, v.ip_version, v.ip_version == 4 ? 32 : 128, cls,
                                 static_cast<uint8_t>(policy_index));
    }

    bool authenticated(const net::PacketView& v, uint64_t now) { return auth_.alive(addr_key(v.src, v.ip_version), now); }

    void authenticate(const net::PacketView& v, uint64_t until, uint64_t now) {
        auth_.put(addr_key(v.src, v.ip_version), until, now);
    }

    bool solicited(const net::PacketView& v, uint64_t now) {
        return solicit_.alive(flow_key(v.src, v.sport, v.dst, v.dport, v.ip_version), now);
    }

    // Refreshes an entry only when less than half its lifetime is left, so
    // a busy flow writes its entry twice per lifetime, not per packet.
    // Returns true when the key was not live before.
    template <class Table, class K>
    static bool learn(Table& t, const K& key, uint64_t until, uint64_t now, uint64_t life) {
        const uint64_t left = t.remaining(key, now);
        if (left > life / 2) return false;
        t.put(key, until, now);
        return left == 0;
    }

    size_t cookie_reply(const policy::Snapshot& s, const net::PacketView& v, const uint8_t* frame, uint8_t* out) {
        const bool v6 = v.ip_version == 6;
        const uint8_t mss_idx = syncookie::mss_index(v.has(net::view_flag::tcp_mss) ? v.tcp_mss : 536, v6);
        const uint32_t cookie = syncookie::make(s.cookies, syncookie::tuple_of(v), mss_idx);
        // The SYN-ACK acknowledges the cookie, not the client's ISN + 1: the
        // client's TCP finds the ACK unacceptable and answers with an RST
        // whose sequence number is the cookie (RFC 9293 3.10.7.3), then
        // sends its SYN again. Linux resends at once (TCP_TIMEOUT_MIN) when
        // the first SYN-ACK it gets is unacceptable.
        const uint32_t isn = net::tcp_seq(frame, v);
        const uint32_t ack = cookie == isn + 1 ? cookie + 1 : cookie;  // never the acceptable value
        return net::build_tcp_reply(frame, v, cookie, ack, net::tcp_flag::syn | net::tcp_flag::ack,
                                    syncookie::mss_value(mss_idx, v6), 65535, out, net::kMaxTcpReplyLen);
    }

    meter::Meter src_, dst_;
    bool reclassed_ = false;
    meter::ExpiryTable auth_;
    meter::FlowTable solicit_;
    unsigned worker_;
    telemetry::WorkerCounters& k_;
};

}  // namespace triage::scrub
