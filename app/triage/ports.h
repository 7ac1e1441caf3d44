// Port bring-up: one mempool sized from ports, queues and descriptors; each
// worker gets queue q on both ports; symmetric RSS where the port has it,
// software steering where it does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.h"
#include "telemetry.h"

struct rte_mempool;
struct rte_ring;

namespace triage::app {

struct Ports {
    uint16_t nqueues = 0;
    bool steering = false;             // software steering rings in use
    std::vector<rte_ring*> rings;      // one per worker when steering
    rte_mempool* pool = nullptr;
    std::string summary;               // one line for the start-up log
};

// Throws std::runtime_error with a message naming the port and the problem.
Ports setup_ports(const Options& o, unsigned nworkers);
void stop_ports(const Options& o, Ports& p);
telemetry::PortReport read_port(uint16_t port, const char* role);

}  // namespace triage::app
