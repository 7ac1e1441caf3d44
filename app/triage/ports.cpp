#include "ports.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "scrub.h"

namespace triage::app {

namespace {

[[noreturn]] void fail(uint16_t port, const std::string& what, int rc = 0) {
    std::string msg = "port " + std::to_string(port) + ": " + what;
    if (rc < 0) msg += ": " + std::string(rte_strerror(-rc));
    throw std::runtime_error(msg);
}

std::string port_name(uint16_t port) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(port, name) != 0) return "?";
    return name;
}

// 0x6d5a repeated makes Toeplitz symmetric: hash(a,b) == hash(b,a), so
// both directions of an IP pair land on the same queue, hence worker.
std::vector<uint8_t> symmetric_rss_key(size_t n) {
    std::vector<uint8_t> k(n);
    for (size_t i = 0; i < n; ++i) k[i] = i % 2 ? 0x5a : 0x6d;
    return k;
}

bool port_has_rss(const rte_eth_dev_info& info) {
    return (info.flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0;
}

void configure_port(uint16_t port, const Options& o, uint16_t nq, bool use_rss, rte_mempool* pool,
                    std::vector<uint8_t>& key_storage) {
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0) fail(port, "cannot read device info", rc);
    rte_eth_conf conf{};
    // A transparent box must carry full-size frames with two VLAN tags
    // (1500 + 14 + 8 bytes): take the largest MTU one mbuf holds, where the
    // port allows it. Jumbo frames would need scatter RX (not configured).
    // ethdev checks MTU + L2 overhead against max_rx_pktlen, so both limits apply.
    constexpr uint32_t kMtu = RTE_MBUF_DEFAULT_DATAROOM - RTE_ETHER_HDR_LEN - 2 * 4 - RTE_ETHER_CRC_LEN;
    const uint32_t overhead = info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu
                                  ? info.max_rx_pktlen - info.max_mtu
                                  : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
    const uint32_t by_pktlen = info.max_rx_pktlen > overhead ? info.max_rx_pktlen - overhead : 0;
    const uint32_t mtu = std::min<uint32_t>({kMtu, info.max_mtu, by_pktlen});
    if (mtu > RTE_ETHER_MTU) conf.rxmode.mtu = mtu;
    if (use_rss) {
        key_storage = symmetric_rss_key(info.hash_key_size ? info.hash_key_size : 40);
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = key_storage.data();
        conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key_storage.size());
        conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
    }
    // Let the NIC check IPv4 header checksums where it can; the parser
    // verifies in software whatever the NIC did not mark good.
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    rc = rte_eth_dev_configure(port, nq, nq, &conf);
    if (rc != 0) fail(port, "configure with " + std::to_string(nq) + " queue pair(s) failed", rc);
    uint16_t rxd = o.rx_desc, txd = o.tx_desc;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
    if (rc != 0) fail(port, "descriptor counts rejected", rc);
    const int socket = rte_eth_dev_socket_id(port);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    for (uint16_t q = 0; q < nq; ++q) {
        rte_eth_rxconf rxc = info.default_rxconf;
        rxc.offloads = conf.rxmode.offloads;
        rc = rte_eth_rx_queue_setup(port, q, rxd, sock, &rxc, pool);
        if (rc != 0) fail(port, "RX queue " + std::to_string(q) + " setup failed", rc);
        rte_eth_txconf txc = info.default_txconf;
        txc.offloads = conf.txmode.offloads;
        rc = rte_eth_tx_queue_setup(port, q, txd, sock, &txc);
        if (rc != 0) fail(port, "TX queue " + std::to_string(q) + " setup failed", rc);
    }
    // A bump in the wire forwards frames for every MAC on the segment.
    rc = rte_eth_promiscuous_enable(port);
    if (rc != 0 && rc != -ENOTSUP) fail(port, "cannot enable promiscuous mode", rc);
    rc = rte_eth_dev_start(port);
    if (rc != 0) fail(port, "start failed", rc);
    // DPDK 22.11's af_packet PMD opens its socket for every interface and
    // binds it to its own only afterwards: frames from other interfaces can
    // already sit in the ring. Forwarding them would leak traffic between
    // segments, so discard what arrived before the workers start.
    if (std::string_view(info.driver_name) == "net_af_packet") {
        rte_mbuf* junk[32];
        for (uint16_t q = 0; q < nq; ++q)
            for (uint16_t n; (n = rte_eth_rx_burst(port, q, junk, 32)) != 0;)
                rte_pktmbuf_free_bulk(junk, n);
    }
}

}  // namespace

Ports setup_ports(const Options& o, unsigned nworkers) {
    const uint16_t nports = rte_eth_dev_count_avail();
    for (uint16_t p : {o.outside_port, o.inside_port})
        if (!rte_eth_dev_is_valid_port(p))
            throw std::runtime_error("port " + std::to_string(p) + " does not exist (" +
                                     std::to_string(nports) +
                                     " port(s) found: bind a NIC, or use virtual ports: --no-pci --vdev ...)");
    if (nworkers > 128) throw std::runtime_error("at most 128 worker lcores are supported");

    Ports out;
    out.nqueues = static_cast<uint16_t>(nworkers);
    bool rss = nworkers > 1 && o.distribution != "software";
    for (uint16_t p : {o.outside_port, o.inside_port}) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(p, &info) != 0) fail(p, "cannot read device info");
        if (info.max_rx_queues < nworkers || info.max_tx_queues < nworkers)
            fail(p, "(" + port_name(p) + ") has " + std::to_string(info.max_rx_queues) + " RX / " +
                        std::to_string(info.max_tx_queues) + " TX queues but there are " +
                        std::to_string(nworkers) +
                        " worker lcores; each worker needs its own queue pair (use fewer lcores)");
        rss = rss && port_has_rss(info);
    }
    if (nworkers > 1 && o.distribution == "rss" && !rss)
        throw std::runtime_error("--distribution rss: a port has no RSS on IP addresses; "
                                 "use --distribution auto or software");
    // Without symmetric RSS on both ports, workers hand each IP pair to the
    // worker its symmetric hash names, so both directions meet on one core.
    out.steering = nworkers > 1 && !rss;

    const unsigned ring_size = rte_align32pow2(std::max<unsigned>(o.rx_desc, 256));
    const unsigned cache = 256;
    unsigned nb_mbufs = 2u * nworkers * (o.rx_desc + o.tx_desc)   // descriptors
                        + nworkers * 4u * scrub::kMaxBurst           // in-flight batches
                        + (out.steering ? nworkers * ring_size : 0)  // hand-off rings
                        + (nworkers + 1) * cache + 1024;             // per-lcore caches, slack
    out.pool = rte_pktmbuf_pool_create("triage_mbufs", nb_mbufs, cache, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    if (!out.pool)
        throw std::runtime_error("cannot create a pool of " + std::to_string(nb_mbufs) +
                                 " mbufs: " + rte_strerror(rte_errno) +
                                 " (give the EAL more memory with -m, or fewer --rxd/--txd)");
    if (out.steering) {
        for (unsigned w = 0; w < nworkers; ++w) {
            const std::string name = "triage_steer" + std::to_string(w);
            rte_ring* r = rte_ring_create(name.c_str(), ring_size, static_cast<int>(rte_socket_id()),
                                          RING_F_SC_DEQ);
            if (!r) throw std::runtime_error("cannot create steering ring " + name + ": " + rte_strerror(rte_errno));
            out.rings.push_back(r);
        }
    }
    std::vector<uint8_t> keys[2];
    try {
        configure_port(o.outside_port, o, out.nqueues, rss, out.pool, keys[0]);
        configure_port(o.inside_port, o, out.nqueues, rss, out.pool, keys[1]);
    } catch (...) {
        // Leave no port running (a NIC would keep DMA-ing into the pool).
        stop_ports(o, out);
        throw;
    }
    out.summary = "outside=port " + std::to_string(o.outside_port) + " (" + port_name(o.outside_port) +
                  "), inside=port " + std::to_string(o.inside_port) + " (" + port_name(o.inside_port) +
                  "), " + std::to_string(nworkers) + " worker(s), " + std::to_string(nb_mbufs) +
                  " mbufs, distribution: " +
                  (nworkers == 1 ? "single worker" : rss ? "symmetric RSS" : "software steering");
    return out;
}

void stop_ports(const Options& o, Ports& p) {
    for (uint16_t port : {o.outside_port, o.inside_port}) {
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);  // net_pcap flushes its tx_pcap here
    }
    for (rte_ring* r : p.rings) rte_ring_free(r);
    p.rings.clear();
    rte_mempool_free(p.pool);
    p.pool = nullptr;
}

telemetry::PortReport read_port(uint16_t port, const char* role) {
    telemetry::PortReport r;
    r.role = role;
    r.port_id = port;
    rte_eth_stats s{};
    if (rte_eth_stats_get(port, &s) == 0) {
        r.rx_packets = s.ipackets;
        r.tx_packets = s.opackets;
        r.rx_bytes = s.ibytes;
        r.tx_bytes = s.obytes;
        r.rx_missed = s.imissed;
        r.rx_errors = s.ierrors;
        r.tx_errors = s.oerrors;
        r.rx_nombuf = s.rx_nombuf;
    }
    return r;
}

}  // namespace triage::app
