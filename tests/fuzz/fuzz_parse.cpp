// libFuzzer target for triage::net::parse. Any input must parse without a
// sanitizer report, and a frame the parser accepts must give a view whose
// offsets stay inside the input (see tests/unit/view_invariants.h).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net.h"
#include "view_invariants.h"

namespace {

using triage::net::Malformed;
using triage::net::PacketView;

void check(const PacketView& v, Malformed r, uint32_t len) {
    if (static_cast<unsigned>(r) >= triage::net::kMalformedCount) __builtin_trap();
    if (r == Malformed::none && triage::test::view_violation(v, len) != nullptr) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto len = static_cast<uint32_t>(size);
    PacketView checked, unchecked;
    const Malformed r1 = triage::net::parse(data, len, checked, {.verify_ipv4_checksum = true});
    const Malformed r2 = triage::net::parse(data, len, unchecked, {.verify_ipv4_checksum = false});
    check(checked, r1, len);
    check(unchecked, r2, len);
    if (r2 == Malformed::ipv4_bad_checksum) __builtin_trap();
    // The software checksum is the only thing the option changes: when it did
    // not reject the frame, both runs must agree to the byte.
    if (r1 != Malformed::ipv4_bad_checksum &&
        (r1 != r2 || std::memcmp(&checked, &unchecked, sizeof checked) != 0))
        __builtin_trap();
    return 0;
}
