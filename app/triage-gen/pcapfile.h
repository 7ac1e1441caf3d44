// pcap files for triage-gen: nanosecond-resolution writing and reading
// through libpcap, so what it writes opens in tcpdump, tshark and Wireshark.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace triage::gen {

class PcapWriter {
public:
    PcapWriter() = default;
    PcapWriter(const PcapWriter&) = delete;
    PcapWriter& operator=(const PcapWriter&) = delete;
    ~PcapWriter() { close(); }
    // Opens (truncates) path; false with a reason naming the file.
    bool open(const std::string& path, std::string& err);
    // t_ns: absolute time in nanoseconds since the Unix epoch.
    void write(uint64_t t_ns, const uint8_t* p, uint32_t len);
    bool close();  // flushes; false on a write error
    bool is_open() const noexcept { return dumper_ != nullptr; }
    uint64_t frames() const noexcept { return frames_; }

private:
    pcap_t* dead_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    uint64_t frames_ = 0;
};

struct PcapFrame {
    uint64_t t_ns;  // from the capture's first frame
    std::vector<uint8_t> bytes;
};

// Reads a whole Ethernet capture (pcap or pcapng) into memory. False with a
// reason (naming the file) when it cannot be opened, is not Ethernet, or is
// empty.
bool read_pcap(const std::string& path, std::vector<PcapFrame>& out, std::string& err);

}  // namespace triage::gen
