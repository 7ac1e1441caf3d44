#include "pcapfile.h"

namespace triage::gen {

bool PcapWriter::open(const std::string& path, std::string& err) {
    close();
    dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (!dead_) {
        err = path + ": libpcap could not set up a capture";
        return false;
    }
    dumper_ = pcap_dump_open(dead_, path.c_str());
    if (!dumper_) {
        err = path + ": cannot write the capture: " + pcap_geterr(dead_);
        pcap_close(dead_);
        dead_ = nullptr;
        return false;
    }
    return true;
}

void PcapWriter::write(uint64_t t_ns, const uint8_t* p, uint32_t len) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(t_ns / 1'000'000'000);
    h.ts.tv_usec = static_cast<suseconds_t>(t_ns % 1'000'000'000);  // nanoseconds in a nano file
    h.caplen = len;
    h.len = len;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, p);
    ++frames_;
}

bool PcapWriter::close() {
    bool ok = true;
    if (dumper_) {
        ok = pcap_dump_flush(dumper_) == 0;
        pcap_dump_close(dumper_);
        dumper_ = nullptr;
    }
    if (dead_) {
        pcap_close(dead_);
        dead_ = nullptr;
    }
    return ok;
}

bool read_pcap(const std::string& path, std::vector<PcapFrame>& out, std::string& err) {
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!p) {
        err = path + ": cannot read the capture: " + ebuf;
        return false;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        err = path + ": not an Ethernet capture (link type " + std::to_string(pcap_datalink(p)) + ")";
        pcap_close(p);
        return false;
    }
    out.clear();
    pcap_pkthdr* h;
    const u_char* data;
    uint64_t first = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        const uint64_t t = static_cast<uint64_t>(h->ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(h->ts.tv_usec);
        if (out.empty()) first = t;
        out.push_back(PcapFrame{t >= first ? t - first : 0, std::vector<uint8_t>(data, data + h->caplen)});
    }
    if (rc == -1) {
        err = path + ": after " + std::to_string(out.size()) + " frames: " + pcap_geterr(p);
        pcap_close(p);
        return false;
    }
    pcap_close(p);
    if (out.empty()) {
        err = path + ": the capture holds no frames";
        return false;
    }
    return true;
}

}  // namespace triage::gen
