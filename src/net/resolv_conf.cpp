#include "net/resolv_conf.h"

#include <algorithm>

#include "base/durable.h"
#include "base/sys.h"

namespace keel::net {

void DnsSettings::merge(const DnsSettings& more) {
    for (const auto& s : more.servers)
        if (std::find(servers.begin(), servers.end(), s) == servers.end()) servers.push_back(s);
    for (const auto& d : more.search)
        if (std::find(search.begin(), search.end(), d) == search.end()) search.push_back(d);
}

std::string render_resolv_conf(const DnsSettings& dns) {
    std::string s = "# Written by keel net; changes here are overwritten.\n";
    // The resolver reads at most three (MAXNS).
    for (size_t i = 0; i < dns.servers.size() && i < 3; ++i)
        s += "nameserver " + dns.servers[i].to_string() + "\n";
    if (!dns.search.empty()) {
        s += "search";
        for (const auto& d : dns.search)
            s += " " + d;
        s += "\n";
    }
    return s;
}

Result<bool> write_file_if_changed(const std::string& path, const std::string& text) {
    if (auto old = sys::read_file(path); old && *old == text) return false;
    KEEL_TRY_STATUS(sys::write_file_atomic(path, text, 0644));
    return true;
}

}  // namespace keel::net
