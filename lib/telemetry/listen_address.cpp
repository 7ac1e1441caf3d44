#include "listen_address.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace triage::telemetry {

namespace {

const char* const kForms = "write PORT, ADDR:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9100";

uint16_t parse_port(std::string_view s) {
    unsigned long v = 0;
    bool ok = !s.empty() && s.size() <= 5;
    for (char c : s) {
        if (c < '0' || c > '9')
            ok = false;
        else
            v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!ok || v < 1 || v > 65535)
        throw std::invalid_argument("port '" + std::string(s) + "' is not a number in 1..65535");
    return static_cast<uint16_t>(v);
}

}  // namespace

std::string ListenAddress::str() const {
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(std::string_view text) {
    if (text.empty()) throw std::invalid_argument(std::string("empty address; ") + kForms);
    ListenAddress a;
    if (text.find_first_not_of("0123456789") == std::string_view::npos) {
        a.host = "127.0.0.1";
        a.port = parse_port(text);
        return a;
    }
    std::string_view host, port;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos)
            throw std::invalid_argument("missing ']' after the IPv6 address; " +
                                        std::string(kForms));
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':')
            throw std::invalid_argument("missing ':PORT' after '" +
                                        std::string(text.substr(0, close + 1)) + "'");
        port = rest.substr(1);
        a.ipv6 = true;
    } else {
        const auto colon = text.find(':');
        if (colon == std::string_view::npos)
            throw std::invalid_argument("'" + std::string(text) + "' has no port; " + kForms);
        if (text.find(':', colon + 1) != std::string_view::npos)
            throw std::invalid_argument(
                "an IPv6 address goes in brackets: [ADDR]:PORT, e.g. [::1]:9100");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty())
        throw std::invalid_argument("missing address before ':" + std::string(port) +
                                    "' (write the port alone for 127.0.0.1)");
    a.host = std::string(host);
    unsigned char buf[16];
    if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, a.host.c_str(), buf) != 1)
        throw std::invalid_argument("'" + a.host + "' is not a numeric " +
                                    (a.ipv6 ? "IPv6" : "IPv4") + " address" +
                                    (a.ipv6 ? "" : " (host names are not accepted)"));
    a.port = parse_port(port);
    return a;
}

}  // namespace triage::telemetry
