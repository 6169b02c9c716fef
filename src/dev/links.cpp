#include "dev/links.h"

#include <algorithm>

#include "base/durable.h"
#include "base/log.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "dev/text.h"

namespace keel::dev {

namespace {

std::string relative_target(const std::string& link, const std::string& devname) {
    std::string t;
    for (char c : link)
        if (c == '/') t += "../";
    return t + devname;
}

std::string parent_of(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

}  // namespace

std::string encode_link_name(std::string_view s) {
    std::string out = replace_unsafe(s, /*hex=*/true);
    // "." and ".." are names of directories, not of devices.
    if (out == "." || out == "..") return "\\x2e" + out.substr(1);
    return out;
}

std::vector<std::string> default_links(const Device& dev) {
    std::vector<std::string> links;
    if (!dev.has("DEVNAME")) return links;
    auto add = [&](std::string_view dir, std::string_view key, std::string suffix = {}) {
        std::string_view v = dev.get(key);
        if (!v.empty()) links.push_back(std::string(dir) + encode_link_name(v) + suffix);
    };
    std::string_view subsystem = dev.subsystem();
    bool usb = dev.get("ID_BUS") == "usb";
    if (subsystem == "block") {
        add("disk/by-label/", "ID_FS_LABEL");
        add("disk/by-uuid/", "ID_FS_UUID");
        add("disk/by-partuuid/", "ID_PART_ENTRY_UUID");
        add("disk/by-partlabel/", "ID_PART_ENTRY_NAME");
        if (usb && dev.has("ID_SERIAL")) {
            std::string part = dev.get("DEVTYPE") == "partition" && dev.has("PARTN")
                                   ? "-part" + std::string(dev.get("PARTN"))
                                   : std::string();
            links.push_back("disk/by-id/usb-" + encode_link_name(dev.get("ID_SERIAL")) + part);
        }
    } else if (subsystem == "tty" && usb && dev.has("ID_SERIAL")) {
        std::string link = "serial/by-id/usb-" + encode_link_name(dev.get("ID_SERIAL"));
        if (dev.has("ID_USB_INTERFACE_NUM"))
            link += "-if" + encode_link_name(dev.get("ID_USB_INTERFACE_NUM"));
        links.push_back(std::move(link));
    }
    return links;
}

const std::vector<std::string>* LinkManager::links_of(const std::string& devpath) const {
    auto it = by_dev_.find(devpath);
    return it == by_dev_.end() ? nullptr : &it->second.links;
}

void LinkManager::make(const std::string& link, const std::string& devname) {
    std::string path = root_ + "/" + link;
    std::string target = relative_target(link, devname);
    if (auto cur = sys::read_link(path); cur && *cur == target) return;
    if (auto st = sys::make_dirs(parent_of(path), 0755); !st) {
        log::error("%s", st.error().message().c_str());
        return;
    }
    if (auto st = sys::replace_symlink(target, path); !st)
        log::error("%s", st.error().message().c_str());
}

void LinkManager::drop(const std::string& link, const std::string& devname,
                       const std::string& devpath) {
    // Another device that wants the same name gets it.
    for (const auto& [other, e] : by_dev_) {
        if (other == devpath) continue;
        if (std::find(e.links.begin(), e.links.end(), link) != e.links.end()) {
            make(link, e.devname);
            return;
        }
    }
    std::string path = root_ + "/" + link;
    auto cur = sys::read_link(path);
    if (!cur || *cur != relative_target(link, devname)) return;  // not ours any more
    (void)sys::unlink_if_exists(path);
    for (std::string dir = parent_of(path); dir.size() > root_.size(); dir = parent_of(dir))
        sys::remove_dir_if_empty(dir);
}

void LinkManager::update(const std::string& devpath, const std::string& devname,
                         std::vector<std::string> links) {
    std::sort(links.begin(), links.end());
    links.erase(std::unique(links.begin(), links.end()), links.end());
    auto it = by_dev_.find(devpath);
    std::vector<std::string> stale;
    if (it != by_dev_.end()) {
        for (const auto& l : it->second.links)
            if (!std::binary_search(links.begin(), links.end(), l) || it->second.devname != devname)
                stale.push_back(l);
    }
    std::string old_name = it != by_dev_.end() ? it->second.devname : devname;
    if (links.empty()) {
        if (it != by_dev_.end()) by_dev_.erase(it);
    } else {
        by_dev_[devpath] = Entry{devname, links};
    }
    for (const auto& l : stale)
        drop(l, old_name, devpath);
    for (const auto& l : links)
        make(l, devname);
}

void LinkManager::remove(const std::string& devpath) {
    auto it = by_dev_.find(devpath);
    if (it == by_dev_.end()) return;
    Entry e = std::move(it->second);
    by_dev_.erase(it);
    for (const auto& l : e.links)
        drop(l, e.devname, devpath);
}

}  // namespace keel::dev
