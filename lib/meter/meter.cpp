// lib/meter: profile compilation and table memory; nothing here runs per
// packet.
#include "meter.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace triage::meter {

namespace {

using detail::u128;

constexpr uint64_t kMaxHz = uint64_t{1} << 40;

// Coarse time units per token, 2^-32 fixed point, rounded up: the inverse
// of the rate as stored (2^-56 tokens per cycle, units of 2^22 cycles), so
// full_at is never earlier than the clock says.
uint64_t wait_per_token(uint64_t rate) noexcept {
    constexpr u128 kNum = u128{1} << (detail::kRateShift + 32 - detail::kTimeShift);
    return static_cast<uint64_t>((kNum + rate - 1) / rate);
}

struct Dim {
    uint64_t rate = 0, burst = 0, wait = 0;
};

// rate_scaled: tokens per second times 2^56 (bits per second times 2^53 for
// bytes); rounded down so the bucket never runs faster than configured.
Dim compile(u128 rate_scaled, uint64_t hz, uint64_t burst, uint64_t max_rate, uint64_t max_burst) noexcept {
    const u128 rate = rate_scaled / hz;
    if (rate == 0 || rate > max_rate) return {};  // zero: unlimited; too fast to matter: unlimited
    Dim d;
    d.rate = static_cast<uint64_t>(rate);
    // Tokens issued in kMaxBurstCycles: rate * 2^43 / 2^56.
    const uint64_t tau_cap = d.rate >> (detail::kRateShift - std::countr_zero(kMaxBurstCycles));
    d.burst = std::clamp<uint64_t>(burst, 1, std::max<uint64_t>(1, std::min(max_burst, tau_cap)));
    d.wait = wait_per_token(d.rate);
    return d;
}

uint32_t fingerprint(const Profile& p) noexcept {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (const uint64_t v : {p.pkt_rate, p.byte_rate, p.pkt_burst, p.byte_burst}) {
        h ^= v;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return static_cast<uint32_t>(h >> 60);
}

}  // namespace

Profile make_profile(const Rate& r, uint64_t hz) noexcept {
    Profile p;
    if (hz == 0) return p;
    hz = std::min(hz, kMaxHz);
    if (r.pps) {
        const Dim d = compile(u128{r.pps} << detail::kRateShift, hz, r.burst_packets ? r.burst_packets : r.pps,
                              uint64_t{1} << detail::kRateShift, kMaxBurstPackets);
        p.pkt_rate = d.rate;
        p.pkt_burst = d.burst;
        p.pkt_wait = d.wait;
    }
    if (r.bps) {
        const uint64_t second = r.bps / 8 + (r.bps % 8 != 0);
        const Dim d = compile(u128{r.bps} << (detail::kRateShift - 3), hz, r.burst_bytes ? r.burst_bytes : second,
                              ~uint64_t{0}, kMaxBurstBytes);
        p.byte_rate = d.rate;
        p.byte_burst = d.burst;
        p.byte_wait = d.wait;
    }
    p.gen = fingerprint(p);
    return p;
}

namespace detail {

void* map_zeroed(size_t bytes) {
    // Huge pages cut the TLB misses of random lookups over hundreds of MiB;
    // the kernel only backs 2 MiB-aligned ranges with them, so a large table
    // is mapped with slack and trimmed to an aligned start.
    constexpr size_t kHuge = size_t{2} << 20;
    const bool huge = bytes >= kHuge;
    const size_t len = huge ? bytes + kHuge : bytes;
    void* raw = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto* p = static_cast<char*>(raw);
    if (huge) {
        const uintptr_t at = reinterpret_cast<uintptr_t>(p);
        const size_t head = (kHuge - at % kHuge) % kHuge;
        if (head) munmap(p, head);
        if (kHuge - head) munmap(p + head + bytes, kHuge - head);
        p += head;
        madvise(p, bytes, MADV_HUGEPAGE);  // advice: without THP, 4 KiB pages work too
    }
    // Touch every page now: a flood must not pay page faults (or meet the
    // OOM killer) the first time it reaches a set, and the operator learns at
    // start whether the memory is there.
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    for (size_t off = 0; off < bytes; off += page) static_cast<volatile char*>(p)[off] = 0;
    return p;
}

void unmap(void* p, size_t bytes) noexcept {
    if (p) munmap(p, bytes);
}

}  // namespace detail

}  // namespace triage::meter
