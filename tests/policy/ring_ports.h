// Shared by tests/policy/policy_under_traffic.cpp and perf/bench_publish.cpp:
// the EAL as these programs bring it up (two lcores, never the PCI bus: the
// host's own NIC sits there) and ethdevs backed by rte_rings the program
// owns, so it decides exactly what a port receives and sees exactly what it
// transmits.
#pragma once

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace triage::test {

// rte_eal_init(-l 0,1 --no-pci --no-huge -m 512 --file-prefix <name>_<pid>);
// the destructor runs rte_eal_cleanup and removes the runtime directory the
// prefix made (and only that one).
class Eal {
public:
    explicit Eal(const std::string& name) : prefix_(name + "_" + std::to_string(getpid())) {
        std::vector<std::string> args = {name,     "-l",   "0,1",           "--no-pci",
                                         "--no-huge", "-m", "512",          "--file-prefix",
                                         prefix_,  "--log-level=lib.eal:error"};
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
            throw std::runtime_error("EAL initialisation failed: " + std::string(rte_strerror(rte_errno)));
        dir_ = rte_eal_get_runtime_dir();
    }
    ~Eal() {
        rte_eal_cleanup();
        if (dir_.filename() == prefix_) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }
    Eal(const Eal&) = delete;
    Eal& operator=(const Eal&) = delete;

    const std::string& prefix() const noexcept { return prefix_; }

private:
    std::string prefix_;
    std::filesystem::path dir_;
};

// Single producer, single consumer: every ring here has one thread per end.
inline rte_ring* make_ring(const std::string& name, unsigned size) {
    rte_ring* r = rte_ring_create(name.c_str(), size, static_cast<int>(rte_socket_id()),
                                  RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) throw std::runtime_error("cannot create ring " + name + ": " + rte_strerror(rte_errno));
    return r;
}

// A started port whose RX queue 0 reads rx and whose TX queue 0 writes tx.
inline uint16_t ring_port(const std::string& name, rte_ring* rx, rte_ring* tx, rte_mempool* pool) {
    rte_ring* rxq[] = {rx};
    rte_ring* txq[] = {tx};
    const int id = rte_eth_from_rings(name.c_str(), rxq, 1, txq, 1, rte_socket_id());
    if (id < 0) throw std::runtime_error("rte_eth_from_rings " + name + ": " + rte_strerror(rte_errno));
    const auto port = static_cast<uint16_t>(id);
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    // The ring PMD ignores the descriptor counts: the rings' sizes rule.
    if (rc == 0) rc = rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), nullptr, pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), nullptr);
    if (rc == 0) rc = rte_eth_dev_start(port);
    if (rc != 0) throw std::runtime_error("port " + name + " bring-up: " + rte_strerror(-rc));
    return port;
}

// The ring PMD leaves rings it did not create to their owner.
inline void close_port(uint16_t port) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
}

}  // namespace triage::test
