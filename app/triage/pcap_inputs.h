// --exit-on-eof support: find the net_pcap vdevs on the EAL command line,
// count the packets in their rx_pcap files, so the control core knows when
// every input has been read.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace triage::app {

struct PcapInputs {
    // device name (e.g. "net_pcap0") -> packets in all its rx_pcap files
    std::map<std::string, uint64_t> packets;
    // device name -> why it has no finite input (live iface, infinite_rx)
    std::map<std::string, std::string> unbounded;
};

// Scans EAL arguments (before rte_eal_init). Every rx_pcap file must be
// readable (a clear message beats the PMD's probe failure); with `count`
// (for --exit-on-eof) their packets are counted. Returns false with `err`.
bool collect_pcap_inputs(int argc, char** argv, bool count, PcapInputs& out, std::string& err);

}  // namespace triage::app
