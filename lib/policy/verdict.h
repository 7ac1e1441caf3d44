// The per-packet policy decision for inbound IP frames: one or two lookups in
// the current snapshot, inline in the worker's burst loop.
//   1. source on the deny list            -> drop (deny_list)
//   2. destination not protected           -> transit rule: forward or drop (transit_drop)
//   3. protected, source on the allow list -> forward, unscrubbed (class allowed)
//   4. protected                           -> scrubbed (class protected)
// Within a list the longest matching prefix decides; a prefix on the allow
// list inside a denied one therefore punches a hole in the block.
#pragma once

#include <cstdint>

#include "packet_view.h"
#include "policy.h"

namespace triage::policy {

enum class Verdict : uint8_t { protected_, transit, allowed, deny, transit_drop };

struct Decision {
    Verdict verdict;
    uint32_t protect;  // index into Snapshot::protect (protected_/allowed), else kNoMatch
};

inline uint32_t be32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// v must be an IP frame (v.ip_version 4 or 6).
[[gnu::always_inline]] inline Decision decide(const Snapshot& s, const net::PacketView& v) noexcept {
    const bool v4 = v.ip_version == 4;
    // Empty lists (the common case) cost one branch, not a lookup.
    const bool lists = v4 ? !s.src4.empty() : !s.src6.empty();
    uint32_t src = classify::kNoMatch;
    if (lists) {
        src = v4 ? s.src4.lookup(be32(v.src)) : s.src6.lookup(v.src);
        if (src != classify::kNoMatch && (src & 1u) == static_cast<uint32_t>(ListKind::deny))
            return {Verdict::deny, classify::kNoMatch};
    }
    const uint32_t dst = v4 ? s.dst4.lookup(be32(v.dst)) : s.dst6.lookup(v.dst);
    if (dst == classify::kNoMatch)
        return {s.transit == TransitRule::forward ? Verdict::transit : Verdict::transit_drop,
                classify::kNoMatch};
    return {src != classify::kNoMatch ? Verdict::allowed : Verdict::protected_, dst};
}

}  // namespace triage::policy
