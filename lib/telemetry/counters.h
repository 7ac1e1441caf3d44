// Per-worker counters: written by one worker with plain loads and stores,
// read concurrently by the control core. Relaxed atomics compile to ordinary
// moves on x86 (no lock prefix) and keep the concurrent read well-defined.
#pragma once

#include <atomic>
#include <cstdint>

#include "drop_reason.h"
#include "signature.h"

namespace triage::telemetry {

class Counter {
public:
    void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};
static_assert(sizeof(Counter) == 8);

// Direction of travel through the box. Inbound is scrubbed; outbound is
// forwarded and observed.
enum class Dir : uint8_t { inbound = 0, outbound = 1 };
inline constexpr unsigned kDirs = 2;

// How the policy classified inbound IP frames that it let through (drops are
// counted by reason instead). X(enumerator, "name", "description")
#define TRIAGE_INBOUND_CLASSES(X)                                                          \
    X(protected_, "protected", "destination is a protected prefix")                        \
    X(transit, "transit", "destination is not protected; forwarded by the transit rule")   \
    X(allowed, "allowed", "source is on the allow list (forwarded without scrubbing)")

enum class Class : uint8_t {
#define TRIAGE_X(e, name, desc) e,
    TRIAGE_INBOUND_CLASSES(TRIAGE_X)
#undef TRIAGE_X
        count_
};
inline constexpr unsigned kClassCount = static_cast<unsigned>(Class::count_);
const char* class_name(Class c) noexcept;
const char* class_description(Class c) noexcept;

// Scrubbing events that are not drops. X(enumerator, "name", "description")
#define TRIAGE_SCRUB_EVENTS(X)                                                                         \
    X(cookies_sent, "syn_cookies_sent", "cookie SYN-ACKs the box sent to unauthenticated sources")      \
    X(cookies_unsent, "syn_cookies_unsent", "cookie SYN-ACKs the outside port's TX queue refused")        \
    X(auth_by_cookie, "sources_authenticated", "sources authenticated by answering a cookie correctly")  \
    X(auth_by_outbound, "sources_learned", "remote sources authenticated because a protected host talked to them") \
    X(auth_passed, "authenticated_tcp", "TCP segments from authenticated sources let through under syn-auth") \
    X(solicited, "solicited_responses", "UDP from a reflector port answering an outbound request, let through") \
    X(exempt_icmp, "icmp_exempt", "ICMP packet-too-big / fragmentation-needed and neighbour discovery, never limited") \
    X(signature_counted, "signature_counted", "payloads matching a count-only signature (forwarded)")      \
    X(meter_evictions, "meter_evictions", "active per-source/destination buckets evicted for a new key (table too small)") \
    X(auth_evictions, "auth_evictions", "authenticated sources evicted before their TTL (table too small)") \
    X(solicit_evictions, "solicit_evictions", "solicited-flow entries evicted before expiry (table too small)")

enum class Scrub : uint8_t {
#define TRIAGE_X(e, name, desc) e,
    TRIAGE_SCRUB_EVENTS(TRIAGE_X)
#undef TRIAGE_X
        count_
};
inline constexpr unsigned kScrubCount = static_cast<unsigned>(Scrub::count_);
const char* scrub_name(Scrub s) noexcept;
const char* scrub_description(Scrub s) noexcept;

// Traffic classes of scrubbed inbound packets (lib/policy: syn, tcp, udp,
// icmp, fragment, then one per reflection vector); names come with the policy.
inline constexpr unsigned kMeterClasses = 21;
// Signature rule counter slots (lib/signature).
inline constexpr unsigned kSignatureSlots = signature::kMaxRules;

struct alignas(64) WorkerCounters {
    Counter rx_packets[kDirs];
    Counter rx_bytes[kDirs];
    Counter fwd_packets[kDirs];  // handed to the other port and accepted by it
    Counter fwd_bytes[kDirs];
    Counter drops[kDropCount];   // index Drop; drops[0] unused
    Counter drops_by_dir[kDirs];
    Counter outbound_malformed;  // malformed frames from the clinic, forwarded anyway
    Counter steered_out;         // handed to another worker (software steering)
    Counter steered_in;
    Counter inbound_class[kClassCount];  // index Class
    Counter scrub[kScrubCount];          // index Scrub
    Counter class_packets[kMeterClasses];  // scrubbed inbound packets by traffic class
    Counter class_dropped[kMeterClasses];  // of which dropped by a limit
    signature::Hits signature_hits;      // by rule slot, counted by signature::scan
};

// Sums over workers, read by the control core.
struct Totals {
    uint64_t rx_packets[kDirs]{}, rx_bytes[kDirs]{};
    uint64_t fwd_packets[kDirs]{}, fwd_bytes[kDirs]{};
    uint64_t drops[kDropCount]{};
    uint64_t drops_by_dir[kDirs]{};
    uint64_t outbound_malformed = 0, steered_out = 0, steered_in = 0;
    uint64_t inbound_class[kClassCount]{};
    uint64_t scrub[kScrubCount]{};
    uint64_t class_packets[kMeterClasses]{}, class_dropped[kMeterClasses]{};
    uint64_t signature_hits[kSignatureSlots]{};

    void add(const WorkerCounters& w) noexcept;
    uint64_t dropped() const noexcept { return drops_by_dir[0] + drops_by_dir[1]; }
};

}  // namespace triage::telemetry
