// lib/syncookie: stateless TCP source authentication.
//
// Triage answers an unauthenticated source's SYN itself, with a SYN-ACK
// whose ACK number is a cookie rather than client_isn + 1. A real client in
// SYN-SENT finds that ACK unacceptable (RFC 9293 3.10.7.3) and answers with
// an RST whose SEQ is the cookie, then retransmits its SYN after its initial
// RTO. The box checks the RST's SEQ with check(), marks the source
// authenticated, and lets the retransmitted SYN through to the server. A
// spoofed source never sees the SYN-ACK, so it cannot answer.
//
// The cookie therefore depends only on what that RST carries: the 4-tuple
// and the SEQ itself. The RST has the same orientation as the SYN (src =
// client), so the Tuple taken from the SYN makes the cookie and the Tuple
// taken from the RST checks it. The library also serves a classic cookie
// handshake, where the client's final ACK carries ack = cookie + 1
// (check_ack()); Triage's pipeline does not use it (docs/scrubbing.md says
// why), so such an ACK from an unauthenticated source is dropped.
//
// Cookie layout (32 bits, most significant first):
//
//   [ hash : 28 ][ window mod 4 : 2 ][ MSS index : 2 ]
//
//   hash    the top 28 bits of SipHash-2-4, keyed by the window's key, over
//           (src, dst, sport, dport, family, window, MSS index).
//   window  the low two bits of the window number the cookie was made in.
//           Only the current and the previous window are accepted; the other
//           two values are refused without hashing (wrong_window). Two bits
//           rather than one parity bit tell a stale cookie (two windows old)
//           or one from a peer box whose clock runs a window ahead apart from
//           a forgery (bad_hash), at no cost in forgery odds (below).
//   MSS     index into the Linux-compatible MSS table (mss_index()), so a
//           cookie-ACK handshake can recover the client's MSS.
//
// A blind guess is accepted with probability 8 / 2^32 = 2^-29 (two windows
// times four MSS values each have exactly one valid hash), however the bits
// are split between hash and in-band fields.
//
// EAL-free: workers, unit tests and fuzzers share this code. The hot path
// (make, check) is inline, allocation-free and hashes whole words.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "packet_view.h"
#include "siphash.h"

namespace triage::syncookie {

// ------------------------------------------------------------------ windows

// Keys rotate every kWindowSeconds; a cookie lives one to two windows
// (64-128 s), ample for an RST that follows the SYN-ACK within one RTT.
inline constexpr uint32_t kWindowSeconds = 64;

// The window a Unix time falls in (times before 1970 map to window 0).
inline uint32_t window_of(int64_t unix_seconds) noexcept {
    return unix_seconds <= 0 ? 0u : static_cast<uint32_t>(unix_seconds / kWindowSeconds);
}

// The keys a worker needs: `current` belongs to window `window`, `previous`
// to window - 1. The control core builds a new Secrets when the window
// changes (rotate()) and publishes it to the workers; workers only read.
struct Secrets {
    uint32_t window = 0;
    net::SipKey current;
    net::SipKey previous;
};

// ------------------------------------------------------------------ secrets

// A 128-bit secret shared by every box behind the same ECMP group, so that a
// cookie made by one box is accepted by another: each window's key is
// derived from it (derive_key()) instead of drawn at random.
struct SharedSecret {
    net::SipKey key;
    bool operator==(const SharedSecret&) const = default;
};

// 128 bits from getrandom(2). Throws std::runtime_error (with strerror) if
// the kernel cannot supply them.
net::SipKey random_key();

// The key of `window` under a shared secret: two SipHash-2-4 values keyed by
// the secret over (window, domain constant). Deterministic, so boxes with the
// same secret and clocks within a window of each other agree; one window's
// key reveals nothing about the secret or the other windows' keys.
net::SipKey derive_key(const SharedSecret& secret, uint32_t window) noexcept;

// Accepts exactly 32 hex digits (either case), the first 16 forming k0 and
// the last 16 k1, as format_secret() writes them. Refuses an all-zero secret
// (a placeholder left in a config file would let anyone forge cookies). On
// failure returns false and sets err to one line naming the problem.
bool parse_secret(std::string_view hex, SharedSecret& out, std::string& err);
// 32 lowercase hex digits.
std::string format_secret(const SharedSecret& s);

// Secrets for `window` from scratch: derived keys for both windows with a
// shared secret (so peers' cookies from the previous window validate at
// once); otherwise random keys (a random `previous` validates nothing,
// which is right: no cookie was made with it).
Secrets initial_secrets(uint32_t window, const SharedSecret* shared);

// Secrets for `new_window`, given the ones in use. When new_window follows
// old.window directly, old.current becomes previous and only the new current
// key is made, so the cookies of the window just ended stay valid. The same
// window returns old unchanged; any other jump (a window skipped, the clock
// stepped back) starts over as initial_secrets(). shared == nullptr means
// random keys.
Secrets rotate(const Secrets& old, uint32_t new_window, const SharedSecret* shared);

// ---------------------------------------------------------------------- MSS

// The MSS values a cookie can carry, as Linux encodes them
// (net/ipv4/syncookies.c, net/ipv6/syncookies.c).
inline constexpr uint16_t kMss4[4] = {536, 1300, 1440, 1460};
inline constexpr uint16_t kMss6[4] = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};

// The largest table entry <= mss (index 0 when mss is below all of them,
// including mss == 0 for a SYN without the option: 536 / 1220 are the
// RFC 9293 / RFC 8200 defaults anyway).
inline uint8_t mss_index(uint16_t mss, bool v6) noexcept {
    const uint16_t* t = v6 ? kMss6 : kMss4;
    return static_cast<uint8_t>((mss >= t[1]) + (mss >= t[2]) + (mss >= t[3]));
}
inline uint16_t mss_value(uint8_t idx, bool v6) noexcept { return (v6 ? kMss6 : kMss4)[idx & 3]; }

// ------------------------------------------------------------------- cookie

// The connection a cookie is bound to, as seen in the client's packets (SYN,
// RST, ACK): src = client, dst = protected server. IPv4 uses src[0..3] and
// dst[0..3]; the other bytes are ignored (tuple_of() zeroes them).
struct Tuple {
    uint8_t family = 0;  // 4 or 6
    uint8_t src[16] = {};
    uint8_t dst[16] = {};
    uint16_t sport = 0;
    uint16_t dport = 0;
};

inline Tuple tuple_of(const net::PacketView& v) noexcept {
    Tuple t;
    t.family = v.ip_version;
    std::memcpy(t.src, v.src, 16);
    std::memcpy(t.dst, v.dst, 16);
    t.sport = v.sport;
    t.dport = v.dport;
    return t;
}

inline constexpr uint32_t kMssMask = 0x3;
inline constexpr unsigned kWindowShift = 2;
inline constexpr uint32_t kWindowMask = 0x3 << kWindowShift;
inline constexpr uint32_t kHashMask = ~uint32_t{0xf};

enum class Why : uint8_t {
    ok,
    bad_hash,      // forged, tampered, or made for another tuple / key
    wrong_window,  // names neither the current nor the previous window
};
const char* to_string(Why w) noexcept;

struct Check {
    bool ok = false;
    uint8_t mss_idx = 0;  // the cookie's MSS index (meaningful when ok)
    Why why = Why::bad_hash;
};

namespace detail {

// The cookie's hash bits. IPv4 packs into two words (addresses; then
// sport:16 dport:16 window:22 family:8 mss_idx:2), IPv6 into five. The
// window goes in as 22 bits: keys already differ per window, so it is
// defence in depth and its wrap (every 8.5 years) costs nothing.
inline uint32_t hash_bits(const net::SipKey& key, const Tuple& t, uint32_t window,
                          uint8_t mss_idx) noexcept {
    const uint64_t tail = uint64_t{t.sport} << 48 | uint64_t{t.dport} << 32 |
                          uint64_t{window & 0x3fffff} << 10 | uint64_t{t.family} << 2 |
                          (mss_idx & kMssMask);
    uint64_t h;
    if (t.family == 4) {
        uint32_t s, d;
        std::memcpy(&s, t.src, 4);
        std::memcpy(&d, t.dst, 4);
        const uint64_t w[2] = {uint64_t{s} << 32 | d, tail};
        h = net::siphash24_words(key, w);
    } else {
        uint64_t w[5];
        std::memcpy(&w[0], t.src, 16);
        std::memcpy(&w[2], t.dst, 16);
        w[4] = tail;
        h = net::siphash24_words(key, w);
    }
    return static_cast<uint32_t>(h >> 32) & kHashMask;
}

}  // namespace detail

// The cookie for a SYN of `t` in the current window. Called once per SYN
// answered during a flood: one SipHash-2-4 over 2 (IPv4) or 5 (IPv6) words.
inline uint32_t make(const Secrets& s, const Tuple& t, uint8_t mss_idx) noexcept {
    return detail::hash_bits(s.current, t, s.window, mss_idx) | (s.window & 3) << kWindowShift |
           (mss_idx & kMssMask);
}

// Whether `cookie` was made for `t` by make() in the current or the previous
// window. For the RST answer: cookie = the RST's SEQ.
inline Check check(const Secrets& s, const Tuple& t, uint32_t cookie) noexcept {
    const uint32_t wbits = (cookie & kWindowMask) >> kWindowShift;
    const uint8_t idx = static_cast<uint8_t>(cookie & kMssMask);
    const net::SipKey* key;
    uint32_t window;
    if (wbits == (s.window & 3)) {
        key = &s.current;
        window = s.window;
    } else if (wbits == ((s.window - 1) & 3)) {
        key = &s.previous;
        window = s.window - 1;
    } else {
        return {false, idx, Why::wrong_window};
    }
    if (detail::hash_bits(*key, t, window, idx) != (cookie & kHashMask))
        return {false, idx, Why::bad_hash};
    return {true, idx, Why::ok};
}

// For a classic handshake: the client's ACK acknowledges cookie + 1.
inline Check check_ack(const Secrets& s, const Tuple& t, uint32_t ack) noexcept {
    return check(s, t, ack - 1);
}

}  // namespace triage::syncookie
