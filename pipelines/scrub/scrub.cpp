#include "scrub.h"

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>

#include "capture.h"
#include "net.h"
#include "ratelimit.h"
#include "verdict.h"

namespace triage::scrub {

namespace {

// Verdicts that let a frame through count it under the class of the same number.
static_assert(static_cast<unsigned>(policy::Verdict::protected_) == static_cast<unsigned>(telemetry::Class::protected_));
static_assert(telemetry::kDropCount <= 256, "capture tags hold a drop reason in 8 bits");
static_assert(static_cast<unsigned>(policy::Verdict::transit) == static_cast<unsigned>(telemetry::Class::transit));
static_assert(static_cast<unsigned>(policy::Verdict::allowed) == static_cast<unsigned>(telemetry::Class::allowed));

using telemetry::Dir;
using telemetry::Drop;

// Largest frame the parser sees linearised; segmented frames up to this size
// are copied into the worker's scratch buffer (single-segment ones are not).
constexpr uint32_t kScratchSize = 16384;

class Worker {
public:
    explicit Worker(const WorkerConfig& c)
        : c_(c), k_(*c.counters), scrub_(c.tables, c.table_key, c.index, *c.counters) {
        if (!c_.entries) {  // nobody samples them (benchmarks, tests): counted into our own
            own_entries_.reset(new detect::EntryCounters[policy::kMaxProtected]);
            c_.entries = own_entries_.get();
        }
    }

    int run() {
        Shared& sh = *c_.shared;
        policy::Publisher& pub = *c_.policy;
        pub.reader_online(c_.index);
        // Nobody polls until every worker runs: a worker started first would
        // otherwise fill the hand-off ring of one that has not begun to
        // empty it.
        sh.started.fetch_add(1, std::memory_order_acq_rel);
        while (sh.started.load(std::memory_order_acquire) != c_.nworkers &&
               sh.state.load(std::memory_order_relaxed) != RunState::stop)
            rte_pause();
        bool counted_quiesced = false;
        for (;;) {
            // One snapshot per loop: every frame of this pass, hand-offs
            // included, sees the same policy; the previous one is released.
            snap_ = pub.enter(c_.index);
            const RunState st = sh.state.load(std::memory_order_acquire);
            if (st == RunState::stop) break;
            now_ = rte_rdtsc();
            manual_ = c_.tap ? c_.tap->manual() : nullptr;
            if (c_.sketch) hand_over_sketch();
            unsigned got = poll<Dir::inbound>(c_.outside_port);
            got += poll<Dir::outbound>(c_.inside_port);
            flush();
            note_evictions();
            // Every other worker may hand us up to two bursts per loop.
            if (c_.rings)
                for (unsigned k = 0; k < 2 * c_.nworkers && drain_ring() != 0; ++k) flush();
            if (c_.tap) c_.tap->loop_done();
            if (st == RunState::draining && got == 0) {
                // Inputs are exhausted. Once every worker has seen that, no
                // one hands off frames any more: empty our ring and leave.
                if (!counted_quiesced) {
                    sh.quiesced.fetch_add(1, std::memory_order_acq_rel);
                    counted_quiesced = true;
                }
                if (sh.quiesced.load(std::memory_order_acquire) == c_.nworkers) {
                    while (c_.rings && drain_ring() != 0) flush();
                    break;
                }
            }
        }
        flush();
        pub.reader_offline(c_.index);
        snap_ = nullptr;
        return 0;
    }

private:
    // Worst case per TX batch between flushes: one RX burst plus one ring
    // burst (lossless steering drains our ring before its flush).
    struct TxBatch {
        rte_mbuf* pkts[kMaxBurst * 2];
        uint16_t n = 0;
        uint64_t bytes = 0;  // of pkts[0..n), so flush needs no second pass

        void push(rte_mbuf* m, uint32_t len) {
            pkts[n++] = m;
            bytes += len;
        }
    };

    template <Dir D>
    unsigned poll(uint16_t port) {
        rte_mbuf* pkts[kMaxBurst];
        const uint16_t n = rte_eth_rx_burst(port, c_.queue, pkts, c_.burst);
        if (n == 0) return 0;
        constexpr unsigned d = static_cast<unsigned>(D);
        // Steering is decided once per burst, not per packet.
        const uint64_t bytes = c_.rings ? burst<D, true>(pkts, n) : burst<D, false>(pkts, n);
        k_.rx_packets[d].add(n);
        k_.rx_bytes[d].add(bytes);
        if (c_.rings) send_steered();
        return n;
    }

    // What the first pass over a burst learns of one frame, for the second.
    struct Slot {
        net::PacketView v;
        const uint8_t* bytes;
        uint32_t len;
        net::Malformed why;
        bool owned;      // this worker handles it (no steering, or it is ours)
        uint16_t owner;  // the worker that does, under steering
        policy::Decision dec;
        Scrubber::Prepared prep;
    };

    // Two passes: the first parses every frame, takes the policy decision
    // and starts the scrubbing tables' cache lines on their way; the second
    // acts. A burst of lookups in tables of millions of sources then costs
    // about one cache miss, not one per frame.
    template <Dir D, bool Steer>
    uint64_t burst(rte_mbuf** pkts, uint16_t n) {
        uint64_t bytes = 0;
        for (uint16_t i = 0; i < n; ++i) {
            if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
            bytes += examine<D, Steer>(pkts[i], slots_[i], scratch_[i]);
        }
        for (uint16_t i = 0; i < n; ++i) act<D, Steer>(pkts[i], slots_[i]);
        return bytes;
    }

    // Frames handed over by other workers; their RX was counted there.
    unsigned drain_ring() {
        rte_mbuf* pkts[kMaxBurst];
        const unsigned n = rte_ring_dequeue_burst(c_.rings[c_.index], reinterpret_cast<void**>(pkts),
                                                  c_.burst, nullptr);
        k_.steered_in.add(n);
        for (unsigned i = 0; i < n; ++i) {
            if (pkts[i]->port == c_.outside_port) {
                examine<Dir::inbound, false>(pkts[i], slots_[0], scratch_[0]);
                act<Dir::inbound, false>(pkts[i], slots_[0]);
            } else {
                examine<Dir::outbound, false>(pkts[i], slots_[0], scratch_[0]);
                act<Dir::outbound, false>(pkts[i], slots_[0]);
            }
        }
        return n;
    }

    // Pass one: parse, decide, prepare. Returns the frame's length.
    // Inlined into the burst loops: a call per packet costs more than the
    // parse of a plain IPv4 frame saves (measured with callgrind).
    template <Dir D, bool Steer>
    [[gnu::always_inline]] uint32_t examine(rte_mbuf* m, Slot& s, uint8_t* scratch) {
        s.len = rte_pktmbuf_pkt_len(m);
        const uint32_t seen = s.len < kScratchSize ? s.len : kScratchSize;
        s.bytes = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, seen, scratch));
        net::ParseOptions opt;
        opt.verify_ipv4_checksum =
            (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD;
        s.why = net::parse(s.bytes, seen, s.v, opt);
        s.owned = true;
        if (s.why != net::Malformed::none || !s.v.is_ip()) return s.len;
        if (Steer) {
            s.owner = static_cast<uint16_t>(net::owner_of(net::symmetric_ip_hash(s.v), c_.nworkers));
            s.owned = s.owner == c_.index;
        }
        if (D == Dir::inbound && s.owned) {
            s.dec = policy::decide(*snap_, s.v);
            if (s.dec.verdict == policy::Verdict::protected_) scrub_.prepare(*snap_, s.dec.protect, s.v, s.prep);
        }
        return s.len;
    }

    // Pass two. Steer: hand frames owned by another worker to its ring
    // (first hop only).
    template <Dir D, bool Steer>
    [[gnu::always_inline]] void act(rte_mbuf* m, const Slot& s) {
        const uint32_t len = s.len;
        constexpr unsigned d = static_cast<unsigned>(D);
        // The operator's capture sees every frame once, as it arrived.
        if (unlikely(manual_ != nullptr) && (!Steer || s.owned)) take_manual<D>(m, s);
        // Malformed inbound frames die where they arrive: a flood of them
        // must not take ring slots and a second parse on another worker.
        if (D == Dir::inbound && unlikely(s.why != net::Malformed::none)) {
            drop(m, telemetry::drop_from(s.why), d);
            return;
        }
        if (Steer && !s.owned) {
            steer_[s.owner].push(m, len);
            return;
        }
        if constexpr (D == Dir::inbound) {
            if (likely(s.v.is_ip())) {
                const policy::Decision dec = s.dec;
                if (unlikely(dec.verdict == policy::Verdict::deny)) {
                    drop(m, Drop::deny_list, d);
                    return;
                }
                if (unlikely(dec.verdict == policy::Verdict::transit_drop)) {
                    drop(m, Drop::transit_drop, d);
                    return;
                }
                if (dec.verdict == policy::Verdict::protected_) {
                    uint8_t reply[net::kMaxTcpReplyLen];
                    size_t reply_len = 0;
                    const Outcome o =
                        scrub_.inbound(*snap_, dec.protect, s.v, s.prep, s.bytes, len, now_, reply, reply_len);
                    // What detection samples: every packet toward the
                    // prefix by class, whatever the stages below decided;
                    // solicited responses count as UDP, as the scrubber saw them.
                    detect::EntryCounters& e = c_.entries[dec.protect];
                    unsigned slot = s.prep.cls < detect::kClasses ? s.prep.cls : detect::kUnclassified;
                    if (unlikely(scrub_.take_reclassed())) slot = policy::kClassUdp;
                    e.packets[slot].add();
                    e.bytes[slot].add(len);
                    // The sample, before a cookie reply reuses the mbuf.
                    if (unlikely(--sample_left_ == 0)) sample(m, s, dec.protect, o);
                    if (o.kind != Outcome::forward) {
                        e.drops[static_cast<unsigned>(o.reason)].add();
                        if (o.kind == Outcome::reply) send_reply(m, reply, reply_len);
                        drop(m, o.reason, d, o.kind != Outcome::reply);
                        return;
                    }
                }
                k_.inbound_class[static_cast<unsigned>(dec.verdict)].add();
            }
            tx_[1].push(m, len);  // toward the clinic
        } else {
            // Outbound frames are the clinic's own: forward even odd ones,
            // but let the operator see them.
            if (unlikely(s.why != net::Malformed::none)) k_.outbound_malformed.add();
            else scrub_.outbound(*snap_, s.v, now_);
            tx_[0].push(m, len);  // toward the uplink
        }
    }

    [[gnu::cold]] void sample(rte_mbuf* m, const Slot& s, uint16_t entry, const Outcome& o) {
        sample_left_ = sample_every_;
        // Each sample stands for sample_every frames.
        sketch_.add(detect::source_key(entry, s.v.ip_version, s.v.src), sample_every_,
                    uint64_t{s.len} * sample_every_);
        if (!c_.tap || now_ - last_capture_ < capture_gap_) return;
        last_capture_ = now_;
        capture::Tag t;
        t.entry = entry;
        t.drop = o.kind == Outcome::forward ? 0 : static_cast<uint8_t>(o.reason);
        t.decided = 1;
        c_.tap->sample(m, capture::header_length(s.v, true, s.len, c_.tap->payload()), t, c_.outside_port, c_.queue,
                       rte_rdtsc());
    }

    // The control core asked for this worker's top sources.
    void hand_over_sketch() {
        const uint32_t r = c_.sketch->request.load(std::memory_order_acquire);
        if (likely(r == sketch_served_)) return;
        sketch_.save(c_.sketch->snap);
        sketch_.clear();
        sketch_served_ = r;
        c_.sketch->served.store(r, std::memory_order_release);
    }

    template <Dir D>
    [[gnu::cold]] void take_manual(rte_mbuf* m, const Slot& s) {
        constexpr bool in = D == Dir::inbound;
        const bool parsed = s.why == net::Malformed::none;
        if (!capture::matches(manual_->filter, parsed ? s.v : net::PacketView{}, in)) return;
        capture::Tag t;
        t.inbound = in;
        t.entry = in && parsed && s.v.is_ip() && s.dec.verdict == policy::Verdict::protected_ ? s.dec.protect : 0xffff;
        const uint32_t caplen = manual_->snap ? std::min(s.len, manual_->snap)
                                              : capture::header_length(s.v, parsed, s.len, c_.tap->payload());
        c_.tap->take(m, caplen, t, in ? c_.outside_port : c_.inside_port, c_.queue, rte_rdtsc());
    }

    // The frame becomes the box's answer (the cookie SYN-ACK), sent out of
    // the outside port from the same mbuf: no allocation on the hot path.
    // It is counted as dropped (reason syn_cookie) in the inbound balance
    // and as sent in syn_cookies_sent, never as forwarded traffic.
    void send_reply(rte_mbuf* m, const uint8_t* reply, size_t n) {
        if (!rte_pktmbuf_is_contiguous(m) || rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m) < n) {
            k_.scrub[static_cast<unsigned>(telemetry::Scrub::cookies_unsent)].add();
            rte_pktmbuf_free(m);
            return;
        }
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), reply, n);
        m->data_len = static_cast<uint16_t>(n);
        m->pkt_len = static_cast<uint32_t>(n);
        m->ol_flags = 0;
        replies_.push(m, static_cast<uint32_t>(n));
    }

    void note_evictions() {
        auto bump = [this](telemetry::Scrub e, uint64_t now, uint64_t& seen) {
            if (now != seen) k_.scrub[static_cast<unsigned>(e)].add(now - seen);
            seen = now;
        };
        bump(telemetry::Scrub::meter_evictions, scrub_.meter_evictions(), seen_evict_[0]);
        bump(telemetry::Scrub::auth_evictions, scrub_.auth_evictions(), seen_evict_[1]);
        bump(telemetry::Scrub::solicit_evictions, scrub_.solicit_evictions(), seen_evict_[2]);
    }

    // free = false: the mbuf lives on (as a reply), only the count is taken.
    void drop(rte_mbuf* m, Drop why, unsigned d, bool free = true) {
        k_.drops[static_cast<unsigned>(why)].add();
        k_.drops_by_dir[d].add();
        if (free) rte_pktmbuf_free(m);
    }

    void send_steered() {
        for (unsigned w = 0; w < c_.nworkers; ++w) {
            TxBatch& b = steer_[w];
            if (b.n == 0) continue;
            unsigned sent = 0;
            for (;;) {
                sent += rte_ring_enqueue_burst(c_.rings[w], reinterpret_cast<void**>(b.pkts + sent),
                                               b.n - sent, nullptr);
                if (sent == b.n || !c_.lossless ||
                    c_.shared->state.load(std::memory_order_relaxed) == RunState::stop)
                    break;
                // Lossless (replay) mode: wait for room, emptying our own
                // ring meanwhile so two workers waiting on each other both
                // make progress.
                drain_ring();
                flush();
            }
            k_.steered_out.add(sent);
            for (unsigned i = sent; i < b.n; ++i)
                drop(b.pkts[i], Drop::steer_full,
                     b.pkts[i]->port == c_.outside_port ? 0u : 1u);
            b.n = 0;
            b.bytes = 0;
        }
    }

    // tx_[0] leaves by the outside port (outbound traffic), tx_[1] by the inside.
    void flush() {
        for (unsigned side = 0; side < 2; ++side) {
            TxBatch& b = tx_[side];
            if (b.n == 0) continue;
            const unsigned d = side == 1 ? 0u : 1u;  // inside TX carries inbound traffic
            const uint16_t port = side == 0 ? c_.outside_port : c_.inside_port;
            uint64_t bytes = b.bytes;
            const uint16_t sent = rte_eth_tx_burst(port, c_.queue, b.pkts, b.n);
            if (unlikely(sent < b.n)) note_tx_full(side, b.n - sent);
            for (unsigned i = sent; i < b.n; ++i) {
                bytes -= rte_pktmbuf_pkt_len(b.pkts[i]);
                drop(b.pkts[i], Drop::tx_full, d);
            }
            k_.fwd_packets[d].add(sent);
            k_.fwd_bytes[d].add(bytes);
            b.n = 0;
            b.bytes = 0;
        }
        if (replies_.n) {
            const uint16_t sent = rte_eth_tx_burst(c_.outside_port, c_.queue, replies_.pkts, replies_.n);
            k_.scrub[static_cast<unsigned>(telemetry::Scrub::cookies_sent)].add(sent);
            if (sent < replies_.n) {
                k_.scrub[static_cast<unsigned>(telemetry::Scrub::cookies_unsent)].add(replies_.n - sent);
                rte_pktmbuf_free_bulk(replies_.pkts + sent, replies_.n - sent);
            }
            replies_.n = 0;
            replies_.bytes = 0;
        }
    }

    // A full TX queue is what an operator must hear about, but under a flood
    // it happens every burst: at most one line a second per worker, saying
    // how many were held back.
    [[gnu::cold]] void note_tx_full(unsigned side, unsigned dropped) {
        uint64_t suppressed = 0;
        if (!tx_full_log_.allow(rte_rdtsc(), rte_get_tsc_hz(), suppressed)) return;
        spdlog::warn("worker {}: {} port TX queue full, {} frame{} dropped (tx_full; {} similar message{} suppressed)",
                     c_.index, side == 0 ? "outside" : "inside", dropped, dropped == 1 ? "" : "s", suppressed,
                     suppressed == 1 ? "" : "s");
    }

    WorkerConfig c_;
    std::unique_ptr<detect::EntryCounters[]> own_entries_;
    const capture::Manual* manual_ = nullptr;  // this loop's manual capture
    const uint32_t sample_every_ = c_.sample_every ? c_.sample_every : 1;
    uint32_t sample_left_ = sample_every_;
    detect::SpaceSaving<kWorkerSketch> sketch_{c_.table_key.k0 ^ c_.index};
    uint32_t sketch_served_ = 0;
    const uint64_t capture_gap_ = c_.capture_rate ? rte_get_tsc_hz() / c_.capture_rate : 0;
    uint64_t last_capture_ = 0;
    telemetry::WorkerCounters& k_;
    telemetry::RateLimit tx_full_log_{1.0, 3};
    const policy::Snapshot* snap_ = nullptr;
    uint64_t now_ = 0;  // TSC at the start of this pass's poll
    Scrubber scrub_;
    uint64_t seen_evict_[3] = {};
    TxBatch tx_[2];
    TxBatch replies_;  // cookie SYN-ACKs, out of the outside port
    TxBatch steer_[RTE_MAX_LCORE > 128 ? 128 : RTE_MAX_LCORE];
    Slot slots_[kMaxBurst];
    // One per burst slot: a segmented frame is copied here to be parsed,
    // and stays readable until the second pass has acted on it.
    alignas(64) uint8_t scratch_[kMaxBurst][kScratchSize];
};

}  // namespace

void release_in_flight(const WorkerConfig& c) {
    if (!c.rings) return;
    rte_mbuf* m = nullptr;
    while (rte_ring_dequeue(c.rings[c.index], reinterpret_cast<void**>(&m)) == 0) {
        const unsigned d = m->port == c.outside_port ? 0u : 1u;
        c.counters->steered_in.add();
        c.counters->drops[static_cast<unsigned>(Drop::shutdown)].add();
        c.counters->drops_by_dir[d].add();
        rte_pktmbuf_free(m);
    }
}

int worker_main(void* arg) {
    auto* cfg = static_cast<const WorkerConfig*>(arg);
    // The worker's state (TX batches, scratch) lives on its own lcore's heap
    // allocation made here, once, before the loop: nothing allocates per packet.
    auto* w = new Worker(*cfg);
    const int rc = w->run();
    delete w;
    return rc;
}

}  // namespace triage::scrub
