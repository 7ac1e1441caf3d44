#include "pcap_inputs.h"

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <string_view>

namespace triage::app {

namespace {

bool count_packets(const std::string& path, bool count, uint64_t& n, std::string& err) {
    if (access(path.c_str(), R_OK) != 0) {
        err = "cannot read rx_pcap '" + path + "': " + std::strerror(errno);
        return false;
    }
    n = 0;
    if (!count) return true;
    // A FIFO or device would be consumed by the count, and a live source
    // has no end to wait for.
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        err = "--exit-on-eof: rx_pcap '" + path + "' is not a regular file, so it has no end to wait for";
        return false;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
    if (!p) {
        err = "cannot read rx_pcap '" + path + "': " + errbuf;
        return false;
    }
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc;
    n = 0;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) ++n;
    if (rc == PCAP_ERROR) {
        err = "rx_pcap '" + path + "' is damaged after " + std::to_string(n) + " packets: " + pcap_geterr(p);
        pcap_close(p);
        return false;
    }
    pcap_close(p);
    return true;
}

bool parse_vdev(std::string_view spec, bool count, PcapInputs& out, std::string& err) {
    const size_t comma = spec.find(',');
    const std::string name(spec.substr(0, comma));
    if (name.rfind("net_pcap", 0) != 0 && name.rfind("eth_pcap", 0) != 0) return true;
    uint64_t total = 0;
    std::string_view rest = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    while (!rest.empty()) {
        const size_t c = rest.find(',');
        const std::string_view kv = rest.substr(0, c);
        rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
        const size_t eq = kv.find('=');
        const std::string_view key = kv.substr(0, eq);
        const std::string val(eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1));
        if (key == "rx_pcap") {
            uint64_t n = 0;
            if (!count_packets(val, count, n, err)) return false;
            total += n;
        } else if (key == "rx_iface" || key == "rx_iface_in" || key == "iface") {
            out.unbounded[name] = "reads live interface '" + val + "'";
        } else if (key == "infinite_rx" && val != "0") {
            out.unbounded[name] = "replays its rx_pcap forever (infinite_rx)";
        }
    }
    out.packets[name] = total;
    return true;
}

}  // namespace

// Only reads the EAL's --vdev arguments; which buses the EAL scans (tests and
// labs always pass --no-pci) is the EAL's business.
bool collect_pcap_inputs(int argc, char** argv, bool count, PcapInputs& out, std::string& err) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        std::string_view spec;
        if (a == "--vdev" && i + 1 < argc) spec = argv[++i];
        else if (a.rfind("--vdev=", 0) == 0) spec = a.substr(7);
        else continue;
        if (!parse_vdev(spec, count, out, err)) return false;
    }
    return true;
}

}  // namespace triage::app
