#include "net/resolv_conf.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
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
    for (size_t i = 0; i < dns.servers.size() && i < 3; ++i) s += "nameserver " + dns.servers[i].to_string() + "\n";
    if (!dns.search.empty()) {
        s += "search";
        for (const auto& d : dns.search) s += " " + d;
        s += "\n";
    }
    return s;
}

Result<bool> write_file_if_changed(const std::string& path, const std::string& text) {
    if (auto old = sys::read_file(path); old && *old == text) return false;
    const std::string tmp = path + ".keel-tmp";
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error("cannot create " + tmp);
    size_t off = 0;
    while (off < text.size()) {
        auto n = sys::write(fd.get(), text.data() + off, text.size() - off);
        if (!n) {
            (void)sys::unlink_if_exists(tmp);
            return Error("cannot write " + tmp, n.error().code());
        }
        off += *n;
    }
    if (::fsync(fd.get()) < 0) {
        Error e = errno_error("cannot fsync " + tmp);
        (void)sys::unlink_if_exists(tmp);
        return e;
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        Error e = errno_error("cannot rename " + tmp + " to " + path);
        (void)sys::unlink_if_exists(tmp);
        return e;
    }
    return true;
}

}  // namespace keel::net
