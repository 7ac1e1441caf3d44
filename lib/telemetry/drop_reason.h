// Every reason a worker drops a packet, declared once: the parser's
// malformed reasons first (same numbering as net::Malformed), then the
// pipeline's own. Names feed logs, the JSON dump and (later) metrics.
#pragma once

#include <cstdint>

#include "malformed.h"

namespace triage::telemetry {

// X(enumerator, "name", "description")
#define TRIAGE_PIPELINE_DROP_REASONS(X)                                         \
    X(deny_list, "deny_list", "source is on the deny list")                                  \
    X(transit_drop, "transit_drop", "destination is not protected and the transit rule is drop") \
    X(service_acl, "service_acl", "protocol or port not open under the policy's service ACL")              \
    X(fragment_policy, "fragment_policy", "IP fragment toward a policy that drops fragments")              \
    X(rate_source, "rate_source", "over the policy's per-source limit for its traffic class")             \
    X(rate_destination, "rate_destination", "over the policy's per-destination limit for its traffic class") \
    X(syn_cookie, "syn_cookie", "SYN from an unauthenticated source, answered by the box with a cookie SYN-ACK") \
    X(syn_auth_answer, "syn_auth_answer", "a client's RST answering a cookie SYN-ACK: authenticated the source, ends here") \
    X(tcp_unauthenticated, "tcp_unauthenticated", "TCP from a source not authenticated while syn-auth is on (ACK/RST/FIN floods, bad cookies)") \
    X(signature, "signature", "payload matched a signature rule whose action is drop")                   \
    X(tx_full, "tx_full", "transmit queue full (the other port is not keeping up)") \
    X(steer_full, "steer_full", "hand-off ring to the flow's owning worker full")              \
    X(shutdown, "shutdown", "between two workers when the box stopped")

enum class Drop : uint16_t {
    none = 0,
#define TRIAGE_X(e, name, desc) e,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X) TRIAGE_PIPELINE_DROP_REASONS(TRIAGE_X)
#undef TRIAGE_X
        count_
};

inline constexpr unsigned kDropCount = static_cast<unsigned>(Drop::count_);
static_assert(static_cast<unsigned>(Drop::deny_list) == net::kMalformedCount,
              "pipeline reasons must follow the malformed reasons");

inline constexpr Drop drop_from(net::Malformed m) noexcept { return static_cast<Drop>(m); }

const char* drop_name(Drop d) noexcept;
const char* drop_description(Drop d) noexcept;

}  // namespace triage::telemetry
