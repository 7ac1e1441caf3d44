#include "sketch.h"

#include <arpa/inet.h>

#include <cstdio>

namespace triage::detect {

std::string to_string(const SourceKey& k) {
    char b[INET6_ADDRSTRLEN + 8];
    if (k.family == 6) {
        if (!inet_ntop(AF_INET6, k.addr, b, sizeof b)) return "?";
    } else {
        std::snprintf(b, sizeof b, "%u.%u.%u.%u", k.addr[0], k.addr[1], k.addr[2], k.addr[3]);
    }
    return std::string(b) + "/" + std::to_string(k.len);
}

std::vector<TopSource> top_sources(const SketchEntry* begin, const SketchEntry* end, uint16_t entry, size_t n,
                                   uint64_t target_packets) {
    std::vector<SketchEntry> mine;
    for (const SketchEntry* e = begin; e != end; ++e)
        if (e->key.entry == entry) mine.push_back(*e);
    n = std::min(n, mine.size());
    std::partial_sort(mine.begin(), mine.begin() + static_cast<ptrdiff_t>(n), mine.end(),
                      [](const SketchEntry& a, const SketchEntry& b) {
                          if (a.count != b.count) return a.count > b.count;
                          return std::memcmp(&a.key, &b.key, sizeof a.key) < 0;
                      });
    std::vector<TopSource> out;
    out.reserve(n);
    for (size_t k = 0; k < n; ++k) {
        const SketchEntry& e = mine[k];
        TopSource t;
        t.prefix = to_string(e.key);
        t.packets = e.count;
        t.bytes = e.bytes;
        t.error = e.error;
        t.share = target_packets ? std::min(1.0, static_cast<double>(e.count) / static_cast<double>(target_packets)) : 0;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace triage::detect
