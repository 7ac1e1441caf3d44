#include "capture.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>
#include <cstring>
#include <stdexcept>

#include "drop_reason.h"

namespace triage::capture {

namespace {

// Room past rte_pcapng_mbuf_size for the comment File::write adds.
constexpr uint32_t kCommentRoom = 128;
// Largest frame copied by any capture (a manual one with a snap length).
constexpr uint32_t kMaxCopy = 2048;

// hash.usr of a captured mbuf: entry (16 bits), drop reason (8), inbound (1),
// decided (1).
uint32_t pack(Tag t) noexcept {
    return uint32_t{t.entry} | uint32_t{t.drop} << 16 | uint32_t{t.inbound} << 24 | uint32_t{t.decided} << 25;
}

rte_ring* make_ring(const std::string& name, uint32_t size, int socket, unsigned flags) {
    // Exactly `size` usable slots: the pool is sized from the rings, and a
    // ring that could hold more than the pool would drain it instead of
    // evicting its oldest frame.
    rte_ring* r = rte_ring_create(name.c_str(), size, socket, flags | RING_F_EXACT_SZ);
    if (!r) throw std::runtime_error("capture: cannot create ring " + name + ": " + rte_strerror(rte_errno));
    return r;
}

void free_all(rte_mbuf** p, unsigned n) {
    for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(p[i]);
}

}  // namespace

uint64_t Tap::wall_ns(uint64_t tsc) const noexcept {
    // A double holds the product exactly enough: 53 bits of nanoseconds
    // are 104 days, and the TSC never runs backwards past base_tsc_.
    return base_ns_ + static_cast<uint64_t>(static_cast<double>(tsc - base_tsc_) * ns_per_tsc_);
}

Tap::Tap(unsigned worker, int socket, const Settings& s)
    : payload_(s.payload) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    base_tsc_ = rte_rdtsc();
    base_ns_ = static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
    ns_per_tsc_ = 1e9 / static_cast<double>(rte_get_tsc_hz() ? rte_get_tsc_hz() : 1);
    const std::string w = std::to_string(worker);
    // Both rings full, plus the mempool caches of the worker and the control
    // core and the frames in flight between them.
    const uint32_t n = s.ring + s.manual_ring + 1024;
    pool_ = rte_pktmbuf_pool_create(("cap_pool_" + w).c_str(), n, 64, 0,
                                    static_cast<uint16_t>(rte_pcapng_mbuf_size(kMaxCopy) + kCommentRoom), socket);
    if (!pool_) throw std::runtime_error("capture: cannot create the mbuf pool of worker " + w + ": " + rte_strerror(rte_errno));
    // The worker enqueues, and dequeues the oldest when full; the control
    // core dequeues too.
    ring_ = make_ring("cap_ring_" + w, s.ring, socket, RING_F_SP_ENQ);
    manual_ring_ = make_ring("cap_manual_" + w, s.manual_ring, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

Tap::~Tap() {
    rte_mbuf* p[64];
    unsigned n;
    if (ring_) {
        while ((n = rte_ring_dequeue_burst(ring_, reinterpret_cast<void**>(p), 64, nullptr)) != 0) free_all(p, n);
        rte_ring_free(ring_);
    }
    if (manual_ring_) {
        while ((n = rte_ring_dequeue_burst(manual_ring_, reinterpret_cast<void**>(p), 64, nullptr)) != 0) free_all(p, n);
        rte_ring_free(manual_ring_);
    }
    if (pool_) rte_mempool_free(pool_);
}

rte_mbuf* Tap::copy(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept {
    if (caplen > kMaxCopy) caplen = kMaxCopy;
    rte_mbuf* c = rte_pcapng_copy(port, queue, m, pool_, caplen, tsc,
                                  t.inbound ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT);
    if (!c) return nullptr;
    c->hash.usr = pack(t);
    // DPDK 22.11 converts the TSC to nanoseconds with a 64-bit product that
    // wraps a few seconds after start; the block's timestamp is rewritten
    // from our own calibration (epb: type, length, interface, ts high, ts low).
    const uint64_t ns = wall_ns(tsc);
    const uint32_t hi = static_cast<uint32_t>(ns >> 32), lo = static_cast<uint32_t>(ns);
    uint8_t* b = rte_pktmbuf_mtod(c, uint8_t*);
    if (rte_pktmbuf_data_len(c) >= 20) {
        std::memcpy(b + 12, &hi, 4);
        std::memcpy(b + 16, &lo, 4);
    }
    return c;
}

void Tap::sample(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept {
    rte_mbuf* c = copy(m, caplen, t, port, queue, tsc);
    if (!c) {
        bump(nombuf_);
        return;
    }
    bump(sampled_);
    while (rte_ring_sp_enqueue(ring_, c) != 0) {
        rte_mbuf* old;
        if (rte_ring_mc_dequeue(ring_, reinterpret_cast<void**>(&old)) == 0) {
            rte_pktmbuf_free(old);
            bump(evicted_);
        }
    }
}

void Tap::take(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept {
    rte_mbuf* c = copy(m, caplen, t, port, queue, tsc);
    if (!c || rte_ring_sp_enqueue(manual_ring_, c) != 0) {
        if (c) rte_pktmbuf_free(c);
        bump(lost_);
        return;
    }
    bump(taken_);
}

unsigned Tap::drain(rte_mbuf** out, unsigned n) noexcept {
    return rte_ring_mc_dequeue_burst(ring_, reinterpret_cast<void**>(out), n, nullptr);
}

unsigned Tap::drain_manual(rte_mbuf** out, unsigned n) noexcept {
    return rte_ring_sc_dequeue_burst(manual_ring_, reinterpret_cast<void**>(out), n, nullptr);
}

unsigned Tap::held() const noexcept { return rte_ring_count(ring_); }

Tag Tap::tag_of(const rte_mbuf* m) noexcept {
    Tag t;
    t.entry = static_cast<uint16_t>(m->hash.usr & 0xffff);
    t.drop = static_cast<uint8_t>(m->hash.usr >> 16);
    t.inbound = static_cast<uint8_t>(m->hash.usr >> 24 & 1);
    t.decided = static_cast<uint8_t>(m->hash.usr >> 25 & 1);
    return t;
}

// ---------------------------------------------------------------- File

File::File(const std::string& path, const std::string& comment) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd_ < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
    utsname u{};
    uname(&u);
    const std::string os = std::string(u.sysname) + " " + u.release;
    w_ = rte_pcapng_fdopen(fd_, os.c_str(), u.machine, "triage", comment.c_str());
    if (!w_) {
        const std::string why = rte_strerror(rte_errno);
        ::close(fd_);
        ::unlink(path.c_str());
        throw std::runtime_error(path + ": cannot start a pcapng file: " + why);
    }
}

File::~File() {
    if (w_) rte_pcapng_close(w_);  // closes fd_
}

namespace {

// Appends an opt_comment to a pcapng Enhanced Packet Block built by
// rte_pcapng_copy. Its options are walked from after the packet data up to
// an opt_endofopt or the block's trailing length (DPDK 22.11 writes none);
// the comment goes there, followed by opt_endofopt. A block that does not
// walk cleanly, or a full mbuf, is left alone.
void add_comment(rte_mbuf* m, const std::string& text) {
    if (!rte_pktmbuf_is_contiguous(m)) return;
    uint8_t* b = rte_pktmbuf_mtod(m, uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    uint32_t type, blen, tail, caplen;
    if (len < 32) return;
    std::memcpy(&type, b, 4);
    std::memcpy(&blen, b + 4, 4);
    std::memcpy(&tail, b + len - 4, 4);
    std::memcpy(&caplen, b + 20, 4);
    if (type != 6 || blen != len || tail != len) return;
    uint32_t at = 28 + ((caplen + 3u) & ~3u);
    while (at + 4 <= len - 4) {
        uint16_t code, olen;
        std::memcpy(&code, b + at, 2);
        std::memcpy(&olen, b + at + 2, 2);
        if (code == 0) break;  // opt_endofopt
        at += 4 + ((olen + 3u) & ~3u);
    }
    if (at > len - 4) return;
    const uint16_t n = static_cast<uint16_t>(text.size() > 100 ? 100 : text.size());
    const uint32_t opt = 4 + ((n + 3u) & ~3u);
    const uint32_t nlen = at + opt + 4 + 4;  // comment, opt_endofopt, trailing length
    if (nlen < len) return;
    if (nlen > len && !rte_pktmbuf_append(m, static_cast<uint16_t>(nlen - len))) return;
    uint8_t* o = b + at;
    const uint16_t code = 1;  // opt_comment
    std::memcpy(o, &code, 2);
    std::memcpy(o + 2, &n, 2);
    std::memset(o + 4, 0, opt - 4);
    std::memcpy(o + 4, text.data(), n);
    std::memset(o + opt, 0, 4);  // opt_endofopt
    std::memcpy(b + 4, &nlen, 4);
    std::memcpy(b + nlen - 4, &nlen, 4);
}

}  // namespace

void File::write(rte_mbuf** pkts, unsigned n, const std::vector<std::string>& names) {
    if (n == 0) return;
    if (!failed_) {
        for (unsigned i = 0; i < n; ++i) {
            const Tag t = Tap::tag_of(pkts[i]);
            std::string c = t.inbound ? "inbound" : "outbound";
            if (t.inbound && t.entry < names.size() && !names[t.entry].empty()) c += " to " + names[t.entry];
            if (t.decided && t.drop)
                c += std::string(": dropped (") + telemetry::drop_name(static_cast<telemetry::Drop>(t.drop)) + ")";
            else if (t.decided) c += ": forwarded";
            add_comment(pkts[i], c);
        }
        const ssize_t w = rte_pcapng_write_packets(w_, pkts, static_cast<uint16_t>(n));
        if (w < 0) {
            failed_ = true;
            spdlog::error("capture {}: write failed: {}; no more packets go to it", path_, std::strerror(errno));
        } else {
            packets_ += n;
            bytes_ += static_cast<uint64_t>(w);
        }
    }
    free_all(pkts, n);
}

// ---------------------------------------------------------------- Recorder

Recorder::~Recorder() {
    // Workers are gone by now (finish() ran); drop anything left.
    for (auto& r : retired_) r.m.reset();
}

void Recorder::open_incident(uint32_t id, uint16_t entry, const std::string& path, const std::string& comment) {
    IncidentFile f{entry, std::make_unique<File>(path, comment)};
    incidents_.emplace(id, std::move(f));
    // Write the history the rings hold for this target now (and the rest
    // of their contents to any other open incident).
    drain_incidents();
}

void Recorder::retarget(uint32_t id, uint16_t entry) {
    if (auto it = incidents_.find(id); it != incidents_.end()) it->second.entry = entry;
}

uint64_t Recorder::close_incident(uint32_t id) {
    auto it = incidents_.find(id);
    if (it == incidents_.end()) return 0;
    drain_incidents();
    const uint64_t n = it->second.file->packets();
    incidents_.erase(it);
    return n;
}

void Recorder::drain_incidents() {
    if (incidents_.empty()) return;
    rte_mbuf* in[64];
    for (Tap* t : taps_) {
        // Bounded per call: a worker refilling as fast as we drain must not
        // keep the control core here.
        for (unsigned round = 0; round < 256; ++round) {
            const unsigned n = t->drain(in, 64);
            if (n == 0) break;
            // Group by destination file, keeping order.
            for (auto& [id, f] : incidents_) {
                rte_mbuf* mine[64];
                unsigned k = 0;
                for (unsigned i = 0; i < n; ++i)
                    if (in[i] && Tap::tag_of(in[i]).entry == f.entry) {
                        mine[k++] = in[i];
                        in[i] = nullptr;
                    }
                if (k == 0) continue;
                if (f.file->packets() + k > s_.max_file_packets) {
                    if (!f.full) spdlog::warn("capture {}: {} packets written, the limit; sampling stops for this incident",
                                              f.file->path(), f.file->packets());
                    f.full = true;
                    free_all(mine, k);
                } else {
                    f.file->write(mine, k, names_);
                }
            }
            for (unsigned i = 0; i < n; ++i)
                if (in[i]) rte_pktmbuf_free(in[i]);
        }
    }
}

void Recorder::start_manual(const std::string& path, const Filter& f, uint64_t packets, double seconds, uint32_t snap) {
    if (manual_file_)
        throw std::runtime_error("a capture is already running to " + manual_file_->path() + " (capture stop ends it)");
    auto file = std::make_unique<File>(path, "triage manual capture, filter " + to_string(f));
    // Frames the rings still hold from an earlier capture are not this one's.
    rte_mbuf* p[64];
    for (Tap* t : taps_)
        for (unsigned n; (n = t->drain_manual(p, 64)) != 0;) free_all(p, n);
    manual_filter_ = to_string(f);
    manual_ = std::make_unique<Manual>();
    manual_->filter = f;
    manual_->snap = snap;
    manual_file_ = std::move(file);
    manual_limit_ = packets;
    manual_duration_ = seconds;
    manual_started_ = now_;
    last_ = {};
    for (Tap* t : taps_) t->set_manual(manual_.get());
    spdlog::info("capture started: {} filter {}{}{}", path, to_string(f),
                 packets ? ", up to " + std::to_string(packets) + " packets" : "",
                 seconds > 0 ? fmt::format(", for {:.0f} s", seconds) : "");
}

void Recorder::retire_manual() {
    if (!manual_) return;
    for (Tap* t : taps_) t->set_manual(nullptr);
    // The withdrawal is visible before the loop counts are read (the two
    // loops of grace cover a worker that read the filter just before).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Retired r;
    for (Tap* t : taps_) r.loops.push_back(t->loops());
    r.m = std::move(manual_);
    retired_.push_back(std::move(r));
}

ManualStatus Recorder::manual_status() const {
    if (!manual_file_) return last_;
    ManualStatus s;
    s.running = true;
    s.path = manual_file_->path();
    s.filter = manual_filter_;
    s.packets = manual_file_->packets();
    s.bytes = manual_file_->bytes();
    for (const Tap* t : taps_) s.lost += t->manual_lost();
    s.limit = manual_limit_;
    s.seconds = now_ - manual_started_;
    s.duration = manual_duration_;
    return s;
}

ManualStatus Recorder::stop_manual(const std::string& why) {
    if (!manual_file_) throw std::runtime_error("no capture is running (show capture)");
    retire_manual();
    // What the workers enqueued before they saw the withdrawal.
    drain_manual();
    ManualStatus s = manual_status();
    s.running = false;
    s.ended = why;
    manual_file_.reset();
    last_ = s;
    spdlog::info("capture stopped ({}): {} packets in {}", why, s.packets, s.path);
    return s;
}

void Recorder::drain_manual() {
    if (!manual_file_) return;
    rte_mbuf* p[64];
    for (Tap* t : taps_)
        for (unsigned round = 0; round < 256; ++round) {
            unsigned n = t->drain_manual(p, 64);
            if (n == 0) break;
            if (manual_limit_) {
                const uint64_t room = manual_limit_ > manual_file_->packets() ? manual_limit_ - manual_file_->packets() : 0;
                if (n > room) {
                    free_all(p + room, static_cast<unsigned>(n - room));
                    n = static_cast<unsigned>(room);
                }
            }
            manual_file_->write(p, n, names_);
        }
}

void Recorder::tick(double now_s) {
    now_ = now_s;
    drain_incidents();
    if (manual_file_) {
        drain_manual();
        if (manual_limit_ && manual_file_->packets() >= manual_limit_) stop_manual("packet count reached");
        else if (manual_duration_ > 0 && now_s - manual_started_ >= manual_duration_) stop_manual("duration reached");
        else if (manual_file_->failed()) stop_manual("write failed");
    }
    for (auto it = retired_.begin(); it != retired_.end();) {
        bool passed = true;
        for (size_t k = 0; k < taps_.size(); ++k)
            // Two loops on: a worker that loaded the filter just before it
            // was withdrawn has finished the loop that used it.
            if (taps_[k]->loops() < it->loops[k] + 2) passed = false;
        it = passed ? retired_.erase(it) : it + 1;
    }
}

void Recorder::finish() {
    drain_incidents();
    if (manual_file_) stop_manual("triage stopped");
    incidents_.clear();
    retired_.clear();
}

}  // namespace triage::capture
