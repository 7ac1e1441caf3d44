#include "publisher.h"

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

namespace triage::policy {

Publisher::Publisher(unsigned max_readers) {
    const size_t sz = rte_rcu_qsbr_get_memsize(max_readers);
    // Plain aligned heap memory: the QSBR variable needs no EAL memory, so
    // unit tests and tools can use the publisher without hugepages.
    void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE, (sz + RTE_CACHE_LINE_SIZE - 1) & ~size_t{RTE_CACHE_LINE_SIZE - 1});
    if (!mem) throw std::bad_alloc();
    qs_ = static_cast<rte_rcu_qsbr*>(mem);
    if (rte_rcu_qsbr_init(qs_, max_readers) != 0) {
        std::free(mem);
        throw std::runtime_error("rte_rcu_qsbr_init failed for " + std::to_string(max_readers) + " readers");
    }
}

Publisher::~Publisher() {
    retired_.clear();
    cur_.store(nullptr);
    owned_.reset();
    std::free(qs_);
}

void Publisher::reader_online(unsigned id) {
    rte_rcu_qsbr_thread_register(qs_, id);
    rte_rcu_qsbr_thread_online(qs_, id);
}

void Publisher::reader_offline(unsigned id) {
    rte_rcu_qsbr_thread_offline(qs_, id);
    rte_rcu_qsbr_thread_unregister(qs_, id);
}

uint64_t Publisher::publish(std::unique_ptr<const Snapshot> s) {
    const Snapshot* next = s.get();
    std::unique_ptr<const Snapshot> old = std::move(owned_);
    owned_ = std::move(s);
    cur_.store(next, std::memory_order_release);
    ++publications_;
    // The token is taken after the store: a reader that reports it has
    // loaded the pointer after the store, so it cannot hold `old` any more.
    const uint64_t token = rte_rcu_qsbr_start(qs_);
    if (old) retired_.push_back({token, std::move(old)});
    reclaim();
    return token;
}

bool Publisher::seen_by_all(uint64_t token) const noexcept {
    return rte_rcu_qsbr_check(qs_, token, false) == 1;
}

size_t Publisher::reclaim() {
    while (!retired_.empty() && seen_by_all(retired_.front().token)) retired_.pop_front();
    return retired_.size();
}

void Publisher::synchronize() {
    if (retired_.empty()) return;
    rte_rcu_qsbr_check(qs_, retired_.back().token, true);
    retired_.clear();
}

}  // namespace triage::policy
