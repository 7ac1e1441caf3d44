// lib/syncookie: the control-side parts (keys, secrets, rotation). The hot
// path (make, check) is inline in syncookie.h.
#include "syncookie.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace triage::syncookie {

net::SipKey random_key() {
    uint8_t buf[16];
    size_t got = 0;
    while (got < sizeof buf) {
        // getrandom() blocks only until the kernel's pool is first seeded
        // (early boot), and may return fewer bytes or EINTR when a signal
        // arrives: keep asking until all 16 bytes are there.
        const ssize_t n = getrandom(buf + got, sizeof buf - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("syncookie: getrandom: ") + std::strerror(errno));
        }
        got += static_cast<size_t>(n);
    }
    net::SipKey k;
    std::memcpy(&k.k0, buf, 8);
    std::memcpy(&k.k1, buf + 8, 8);
    return k;
}

net::SipKey derive_key(const SharedSecret& secret, uint32_t window) noexcept {
    // Two outputs under distinct domain constants make the 128-bit key; the
    // constants also keep these values apart from any other use of the
    // secret. SipHash is a PRF, so a window's key tells nothing about the
    // secret or about other windows' keys.
    constexpr uint64_t kDomain0 = 0x747269616765636bull;  // "triageck"
    constexpr uint64_t kDomain1 = 0x6b65792d77696e31ull;  // "key-win1"
    const uint64_t w0[2] = {window, kDomain0};
    const uint64_t w1[2] = {window, kDomain1};
    return {net::siphash24_words(secret.key, w0), net::siphash24_words(secret.key, w1)};
}

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool parse_secret(std::string_view hex, SharedSecret& out, std::string& err) {
    if (hex.size() != 32) {
        err = "secret must be 32 hex digits (128 bits), got " + std::to_string(hex.size()) +
              " characters";
        return false;
    }
    uint64_t k[2] = {0, 0};
    for (size_t i = 0; i < 32; ++i) {
        const int d = hex_value(hex[i]);
        if (d < 0) {
            err = "secret: character " + std::to_string(i + 1) + " ('" + std::string(1, hex[i]) +
                  "') is not a hex digit";
            return false;
        }
        k[i / 16] = k[i / 16] << 4 | static_cast<uint64_t>(d);
    }
    if ((k[0] | k[1]) == 0) {
        err = "secret must not be all zeros (generate one, e.g. `openssl rand -hex 16`)";
        return false;
    }
    out.key = {k[0], k[1]};
    return true;
}

std::string format_secret(const SharedSecret& s) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string r(32, '0');
    const uint64_t k[2] = {s.key.k0, s.key.k1};
    for (size_t i = 0; i < 32; ++i) r[i] = kDigits[(k[i / 16] >> (60 - 4 * (i % 16))) & 0xf];
    return r;
}

Secrets initial_secrets(uint32_t window, const SharedSecret* shared) {
    Secrets s;
    s.window = window;
    if (shared != nullptr) {
        s.current = derive_key(*shared, window);
        s.previous = derive_key(*shared, window - 1);
    } else {
        s.current = random_key();
        s.previous = random_key();
    }
    return s;
}

Secrets rotate(const Secrets& old, uint32_t new_window, const SharedSecret* shared) {
    if (new_window == old.window) return old;
    if (new_window != old.window + 1) return initial_secrets(new_window, shared);
    Secrets s;
    s.window = new_window;
    s.previous = old.current;
    s.current = shared != nullptr ? derive_key(*shared, new_window) : random_key();
    return s;
}

const char* to_string(Why w) noexcept {
    switch (w) {
    case Why::ok: return "ok";
    case Why::bad_hash: return "bad_hash";
    case Why::wrong_window: return "wrong_window";
    }
    return "invalid";
}

}  // namespace triage::syncookie
