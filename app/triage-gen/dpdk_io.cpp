#include "dpdk_io.h"

#include <rte_eal.h>
#include <rte_errno.h>

#include <cstring>
#include <chrono>
#include <thread>

namespace triage::gen {

bool eal_init(const std::vector<std::string>& args, std::string& err) {
    std::vector<std::string> copy = args;  // the EAL may keep pointers into argv
    static std::vector<std::string> keep;
    keep = std::move(copy);
    std::vector<char*> argv;
    for (std::string& a : keep) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(keep.size()), argv.data()) < 0) {
        err = std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno);
        return false;
    }
    return true;
}

bool start_ports(const std::vector<uint16_t>& ids, unsigned mbufs, Ports& out, std::string& err) {
    out.pool = rte_pktmbuf_pool_create("gen_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                       static_cast<int>(rte_socket_id()));
    if (!out.pool) {
        err = std::string("cannot create the mbuf pool: ") + rte_strerror(rte_errno);
        return false;
    }
    for (uint16_t id : ids) {
        if (!rte_eth_dev_is_valid_port(id)) {
            err = "port " + std::to_string(id) + " does not exist (" + std::to_string(rte_eth_dev_count_avail()) +
                  " ports: give --vdev ports (with --no-pci on a development machine) or a NIC with -a)";
            return false;
        }
        bool already = false;
        for (uint16_t o : out.ids) already |= o == id;
        if (already) continue;
        rte_eth_conf conf{};
        int rc = rte_eth_dev_configure(id, 1, 1, &conf);
        uint16_t rxd = 1024, txd = 1024;
        if (rc == 0) rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
        if (rc == 0) rc = rte_eth_rx_queue_setup(id, 0, rxd, rte_eth_dev_socket_id(id), nullptr, out.pool);
        if (rc == 0) rc = rte_eth_tx_queue_setup(id, 0, txd, rte_eth_dev_socket_id(id), nullptr);
        if (rc == 0) rc = rte_eth_dev_start(id);
        if (rc != 0) {
            err = "port " + std::to_string(id) + ": cannot start: " + rte_strerror(-rc);
            return false;
        }
        rte_eth_promiscuous_enable(id);  // not every PMD has it; ignore the answer
        out.ids.push_back(id);
    }
    return true;
}

bool wait_links(const std::vector<uint16_t>& ids, double timeout_s, std::string& err) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
        std::string down;
        for (uint16_t id : ids) {
            rte_eth_link l{};
            if (rte_eth_link_get_nowait(id, &l) != 0 || l.link_status != RTE_ETH_LINK_UP)
                down += (down.empty() ? "" : ", ") + std::to_string(id);
        }
        if (down.empty()) return true;
        if (std::chrono::steady_clock::now() > until) {
            err = "link still down after " + std::to_string(static_cast<int>(timeout_s)) + " s on port(s) " + down;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void stop_ports(Ports& p) {
    for (uint16_t id : p.ids) rte_eth_dev_stop(id);  // all stopped before any closes (memif pairs)
    for (uint16_t id : p.ids) rte_eth_dev_close(id);
    p.ids.clear();
}

unsigned fill_mbufs(rte_mempool* pool, const uint8_t* const* data, const uint32_t* lens, unsigned n,
                    rte_mbuf** out) {
    if (n == 0) return 0;
    if (rte_pktmbuf_alloc_bulk(pool, out, n) != 0) {
        // Fewer free than asked: take them one by one.
        unsigned k = 0;
        while (k < n && (out[k] = rte_pktmbuf_alloc(pool)) != nullptr) ++k;
        n = k;
    }
    for (unsigned i = 0; i < n; ++i) {
        const uint32_t len = std::min<uint32_t>(lens[i], rte_pktmbuf_tailroom(out[i]));
        std::memcpy(rte_pktmbuf_mtod(out[i], uint8_t*), data[i], len);
        out[i]->data_len = static_cast<uint16_t>(len);
        out[i]->pkt_len = len;
    }
    return n;
}

}  // namespace triage::gen
