// lib/capture: packet capture in pcapng (rte_pcapng) for incidents and for
// the operator (docs/capture.md).
//
// Every worker owns a Tap. Always on, the worker copies one in `sample_every`
// of the inbound frames toward protected prefixes, header only, into a ring that
// keeps the most recent ones (the worker evicts the oldest). When an
// incident opens, the control core's Recorder writes what the ring holds for
// the incident's target into the incident's file, so the capture starts
// before the attack did, and goes on writing the target's samples until the
// incident closes. A manual capture (`capture start`) copies every frame
// matching a filter into a second ring the Recorder drains into its file.
//
// Hot path cost: a countdown per frame toward a protected prefix, and one
// pointer test per burst for the manual capture; a sampled frame costs an
// mbuf allocation and a copy of its headers.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "filter.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_pcapng;

namespace triage::capture {

struct Settings {
    uint32_t sample_every = 32;   // always-on ring: 1 in N frames toward protected prefixes
    uint32_t payload = 0;         // bytes kept past the transport header (0: headers only)
    uint32_t ring = 8192;         // always-on ring size per worker (frames)
    uint32_t manual_ring = 4096;  // manual capture ring per worker (frames)
    uint64_t max_file_packets = 1000000;  // per incident file
};

// What the worker knew of a sampled frame; written as the frame's comment.
struct Tag {
    uint16_t entry = 0;     // protected prefix (snapshot index)
    uint8_t drop = 0;       // telemetry::Drop, 0 when forwarded
    uint8_t inbound = 1;
    uint8_t decided = 0;    // sampled after triage acted on it (drop is meaningful)
};

// The manual capture the workers apply (published by the Recorder).
struct Manual {
    Filter filter;
    uint32_t snap = 0;  // 0: headers only (+ Settings::payload)
};

class Tap {
public:
    Tap(unsigned worker, int socket, const Settings& s);
    ~Tap();
    Tap(const Tap&) = delete;
    Tap& operator=(const Tap&) = delete;

    // Worker side (the worker decides which frames are sampled: 1 in
    // Settings::sample_every toward protected prefixes).
    // Copies caplen bytes of m into the always-on ring.
    void sample(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept;
    uint32_t payload() const noexcept { return payload_; }
    // The manual capture in force, if any (read once per loop).
    const Manual* manual() const noexcept { return manual_.load(std::memory_order_acquire); }
    void take(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept;
    // Loop count: the Recorder knows a worker no longer holds an old Manual
    // once this has moved on.
    void loop_done() noexcept { loops_.store(loops_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    // Control side.
    unsigned drain(rte_mbuf** out, unsigned n) noexcept;         // always-on ring, oldest first
    unsigned drain_manual(rte_mbuf** out, unsigned n) noexcept;  // manual ring
    void set_manual(const Manual* m) noexcept { manual_.store(m, std::memory_order_release); }
    uint64_t loops() const noexcept { return loops_.load(std::memory_order_acquire); }
    unsigned held() const noexcept;
    uint64_t sampled() const noexcept { return sampled_.load(std::memory_order_relaxed); }
    uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }
    uint64_t no_mbuf() const noexcept { return nombuf_.load(std::memory_order_relaxed); }
    uint64_t manual_taken() const noexcept { return taken_.load(std::memory_order_relaxed); }
    uint64_t manual_lost() const noexcept { return lost_.load(std::memory_order_relaxed); }

    static Tag tag_of(const rte_mbuf* m) noexcept;

private:
    rte_mbuf* copy(const rte_mbuf* m, uint32_t caplen, Tag t, uint16_t port, uint16_t queue, uint64_t tsc) noexcept;
    static void bump(std::atomic<uint64_t>& c) noexcept {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    uint64_t wall_ns(uint64_t tsc) const noexcept;  // TSC to ns since the epoch

    uint32_t payload_;
    uint64_t base_tsc_ = 0, base_ns_ = 0;
    double ns_per_tsc_ = 1;
    rte_mempool* pool_ = nullptr;
    rte_ring* ring_ = nullptr;
    rte_ring* manual_ring_ = nullptr;
    std::atomic<const Manual*> manual_{nullptr};
    std::atomic<uint64_t> loops_{0}, sampled_{0}, evicted_{0}, nombuf_{0}, taken_{0}, lost_{0};
};

// One pcapng file being written.
class File {
public:
    // Opens path for writing (refuses to overwrite); throws with the reason.
    File(const std::string& path, const std::string& comment);
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    // Writes and frees the frames; comments each with what triage did.
    void write(rte_mbuf** pkts, unsigned n, const std::vector<std::string>& entry_names);
    const std::string& path() const noexcept { return path_; }
    uint64_t packets() const noexcept { return packets_; }
    uint64_t bytes() const noexcept { return bytes_; }
    bool failed() const noexcept { return failed_; }

private:
    std::string path_;
    int fd_ = -1;
    rte_pcapng* w_ = nullptr;
    uint64_t packets_ = 0, bytes_ = 0;
    bool failed_ = false;
};

struct ManualStatus {
    bool running = false;
    std::string path, filter;
    uint64_t packets = 0, bytes = 0, lost = 0, limit = 0;
    double seconds = 0, duration = 0;
    std::string ended;  // why the last one stopped
};

// The control core's side: incident files and the manual capture.
class Recorder {
public:
    Recorder(std::vector<Tap*> taps, Settings s) : taps_(std::move(taps)), s_(s) {}
    ~Recorder();

    // Incident capture toward one protected prefix (snapshot index entry):
    // writes the ring's history for it now. Throws on a file error.
    void open_incident(uint32_t id, uint16_t entry, const std::string& path, const std::string& comment);
    // Stops writing an incident's file; returns the packets written.
    uint64_t close_incident(uint32_t id);
    // The snapshot index of an open incident's target changed (config edit).
    void retarget(uint32_t id, uint16_t entry);

    // Manual capture. Throws cli-worthy errors (file exists, one running).
    void start_manual(const std::string& path, const Filter& f, uint64_t packets, double seconds, uint32_t snap);
    ManualStatus stop_manual(const std::string& why);
    ManualStatus manual_status() const;

    // Protected prefix names by snapshot index (the packets' comments).
    void set_names(std::vector<std::string> names) { names_ = std::move(names); }
    // Control loop: drains the rings into the open files, ends a manual
    // capture at its limit, frees a retired filter.
    void tick(double now_s);
    void finish();

    const Settings& settings() const noexcept { return s_; }
    const std::vector<Tap*>& taps() const noexcept { return taps_; }
    size_t open_incidents() const noexcept { return incidents_.size(); }

private:
    struct IncidentFile {
        uint16_t entry;
        std::unique_ptr<File> file;
        bool full = false;
    };
    void drain_incidents();
    void drain_manual();
    void retire_manual();

    std::vector<Tap*> taps_;
    Settings s_;
    std::vector<std::string> names_;
    std::map<uint32_t, IncidentFile> incidents_;
    // Manual capture state.
    std::unique_ptr<Manual> manual_;
    std::unique_ptr<File> manual_file_;
    std::string manual_filter_;
    uint64_t manual_limit_ = 0;
    double manual_duration_ = 0, manual_started_ = 0, now_ = 0;
    ManualStatus last_;
    // Filters withdrawn but perhaps still read by a worker: freed once every
    // worker has looped past the withdrawal.
    struct Retired {
        std::unique_ptr<Manual> m;
        std::vector<uint64_t> loops;
    };
    std::vector<Retired> retired_;
};

}  // namespace triage::capture
