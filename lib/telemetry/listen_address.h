// Where the metrics endpoint listens, as an operator writes it on the command
// line. Parsed without the EAL so a bad value is refused before any device is
// probed, and so the rules are unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace triage::telemetry {

struct ListenAddress {
    std::string host;  // numeric, without brackets: "127.0.0.1", "::1"
    uint16_t port = 0;
    bool ipv6 = false;

    std::string str() const;  // "127.0.0.1:9100" / "[::1]:9100"
};

// Accepts PORT (listens on 127.0.0.1: never every interface by accident),
// IPV4:PORT and [IPV6]:PORT; numeric addresses only, so what is written is
// what gets bound. Throws std::invalid_argument with a one-line message that
// names the bad part (without the option name; the caller adds that).
ListenAddress parse_listen_address(std::string_view text);

}  // namespace triage::telemetry
