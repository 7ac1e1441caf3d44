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
