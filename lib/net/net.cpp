#include "net.h"

namespace triage::net {

namespace {
constexpr const char* kNames[] = {
    "ok",
#define TRIAGE_X(e, name, desc) name,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X)
#undef TRIAGE_X
};
constexpr const char* kDescriptions[] = {
    "well-formed",
#define TRIAGE_X(e, name, desc) desc,
    TRIAGE_MALFORMED_REASONS(TRIAGE_X)
#undef TRIAGE_X
};
static_assert(sizeof kNames / sizeof kNames[0] == kMalformedCount);
}  // namespace

const char* malformed_name(Malformed m) noexcept {
    const auto i = static_cast<unsigned>(m);
    return i < kMalformedCount ? kNames[i] : "invalid";
}

const char* malformed_description(Malformed m) noexcept {
    const auto i = static_cast<unsigned>(m);
    return i < kMalformedCount ? kDescriptions[i] : "invalid";
}

}  // namespace triage::net
