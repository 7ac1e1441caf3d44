// The little DPDK triage-gen needs: the EAL, ports with one queue pair each,
// frames copied into mbufs, and a TSC clock.
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace triage::gen {

// rte_eal_init on a copy of args (args[0] is the program name). False with a reason.
bool eal_init(const std::vector<std::string>& args, std::string& err);

struct Ports {
    rte_mempool* pool = nullptr;
    std::vector<uint16_t> ids;  // configured and started
};
// Configures and starts every listed port with one RX and one TX queue.
bool start_ports(const std::vector<uint16_t>& ids, unsigned mbufs, Ports& out, std::string& err);
// Waits up to timeout_s for every port's link; false with the ones still down.
bool wait_links(const std::vector<uint16_t>& ids, double timeout_s, std::string& err);
void stop_ports(Ports& p);

// Copies frames into mbufs (up to n); returns how many it could allocate.
unsigned fill_mbufs(rte_mempool* pool, const uint8_t* const* data, const uint32_t* lens, unsigned n,
                    rte_mbuf** out);

inline uint64_t tsc_ns(uint64_t tsc, uint64_t tsc0, uint64_t hz) noexcept {
    const uint64_t d = tsc - tsc0;
    return d / hz * 1'000'000'000 + d % hz * 1'000'000'000 / hz;
}

}  // namespace triage::gen
