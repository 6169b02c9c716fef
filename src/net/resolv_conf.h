// resolv.conf: rendered from the configured and leased DNS servers and written
// atomically (temporary file, fsync, rename), and only when its text changes.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "net/ip_address.h"

namespace keel::net {

struct DnsSettings {
    std::vector<IpAddress> servers;
    std::vector<std::string> search;
    // Adds servers and domains not already present, keeping order.
    void merge(const DnsSettings& more);
    bool operator==(const DnsSettings&) const = default;
};

std::string render_resolv_conf(const DnsSettings& dns);
// True when the file was (re)written; false when it already held `text`.
Result<bool> write_file_if_changed(const std::string& path, const std::string& text);

}  // namespace keel::net
