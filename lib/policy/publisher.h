// The hand-over of policy snapshots from the control core to the workers:
// one atomic pointer store to publish; workers report a quiescent state and
// load the pointer once per loop; a replaced snapshot is freed only after an
// rte_rcu_qsbr grace period shows that no worker can still hold it.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>

#include <rte_rcu_qsbr.h>

#include "policy.h"

namespace triage::policy {

class Publisher {
public:
    // Readers are numbered 0..max_readers-1 (the worker index).
    explicit Publisher(unsigned max_readers);
    ~Publisher();  // frees every snapshot: call after the readers have stopped
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    // --- reader side (a worker, once before its loop / once per loop) ---
    void reader_online(unsigned id);
    void reader_offline(unsigned id);
    // Marks everything this reader loaded before as released and returns the
    // snapshot to use until its next call.
    [[gnu::always_inline]] const Snapshot* enter(unsigned id) noexcept {
        rte_rcu_qsbr_quiescent(qs_, id);
        return cur_.load(std::memory_order_acquire);
    }

    // --- writer side (the control core only) ---
    // Publishes s; the previous snapshot is retired. Returns the RCU token of
    // the grace period that frees it.
    uint64_t publish(std::unique_ptr<const Snapshot> s);
    // Frees retired snapshots whose grace period has ended; never blocks.
    // Returns how many are still waiting.
    size_t reclaim();
    // Whether every online reader has passed a quiescent state since the
    // publish that returned token (i.e. none can still see the older snapshot).
    bool seen_by_all(uint64_t token) const noexcept;
    // Blocks until every retired snapshot can be freed, then frees them.
    void synchronize();

    const Snapshot* current() const noexcept { return cur_.load(std::memory_order_acquire); }
    uint64_t publications() const noexcept { return publications_; }
    size_t pending() const noexcept { return retired_.size(); }

private:
    struct Retired {
        uint64_t token;
        std::unique_ptr<const Snapshot> snap;
    };

    rte_rcu_qsbr* qs_ = nullptr;
    std::atomic<const Snapshot*> cur_{nullptr};
    std::unique_ptr<const Snapshot> owned_;  // what cur_ points at
    std::deque<Retired> retired_;
    uint64_t publications_ = 0;
};

}  // namespace triage::policy
