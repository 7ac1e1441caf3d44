// pipelines/scrub: the inline worker. Run-to-completion: each worker polls
// its own RX queue on both ports, scrubs inbound (outside -> inside) frames,
// observes outbound ones, and transmits on its own TX queue of the other port.
#pragma once

#include <atomic>
#include <cstdint>

#include "publisher.h"
#include "scrubber.h"
#include "telemetry.h"
#include "detect.h"
#include "sketch.h"

namespace triage::capture {
class Tap;
}

struct rte_ring;

namespace triage::scrub {

// Written by the control core, read by workers once per loop.
enum class RunState : int { running = 0, draining = 1, stop = 2 };

struct Shared {
    std::atomic<RunState> state{RunState::running};
    // Workers that have seen their inputs run dry while draining.
    std::atomic<unsigned> quiesced{0};
    // Workers that have started; none polls before all have.
    std::atomic<unsigned> started{0};
};

// Top source prefixes (docs/detection.md): each worker counts its sampled
// frames in a Space-Saving summary and hands it over when asked. The
// control core bumps `request`; the worker, at the top of its next loop,
// saves its summary into `snap`, starts a new one and sets `served`.
inline constexpr unsigned kWorkerSketch = 64;
struct alignas(64) SketchSlot {
    std::atomic<uint32_t> request{0};
    std::atomic<uint32_t> served{0};
    alignas(64) detect::SketchSnapshot<kWorkerSketch> snap;
};

struct WorkerConfig {
    uint16_t outside_port = 0;
    uint16_t inside_port = 1;
    uint16_t queue = 0;  // this worker's RX/TX queue on both ports
    uint16_t burst = 32;
    unsigned index = 0;     // 0..nworkers-1
    unsigned nworkers = 1;
    // Software steering (ports without symmetric RSS and several workers):
    // rings[i] receives frames owned by worker i. nullptr when off.
    rte_ring* const* rings = nullptr;
    Shared* shared = nullptr;
    telemetry::WorkerCounters* counters = nullptr;
    // Per protected prefix (snapshot index, policy::kMaxProtected of them):
    // inbound packets and bytes by traffic class, for detection.
    detect::EntryCounters* entries = nullptr;
    // Packet capture (lib/capture): the always-on sample ring and the
    // manual capture. nullptr: none.
    capture::Tap* tap = nullptr;
    // 1 in sample_every inbound frames toward protected prefixes feeds the
    // top-sources sketch and the capture ring.
    uint32_t sample_every = 32;
    // Of those, at most this many a second go to the capture ring (0: no
    // cap), so a line-rate flood neither costs a copy per 32 frames nor
    // flushes the ring's pre-attack history in milliseconds.
    uint32_t capture_rate = 10000;
    SketchSlot* sketch = nullptr;  // nullptr: no top sources
    // Policy snapshots; this worker is reader `index`.
    policy::Publisher* policy = nullptr;
    // Replay/test runs (--exit-on-eof): a full hand-off ring waits for room
    // instead of dropping, so every frame is accounted as forwarded or as
    // its real drop reason.
    bool lossless = false;
    // Per-worker scrubbing tables and the per-boot key of their hashing.
    TableSizes tables;
    net::SipKey table_key;
};

inline constexpr uint16_t kMaxBurst = 64;

// rte_eal_remote_launch entry point; arg is a WorkerConfig*.
int worker_main(void* arg);

// After the worker has stopped (main lcore, rte_eal_mp_wait_lcore done):
// free the frames still in its hand-off ring, counted as dropped at shutdown.
void release_in_flight(const WorkerConfig& c);

}  // namespace triage::scrub
