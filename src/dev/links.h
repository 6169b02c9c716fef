// Device links under the device directory: udev's default ones
// (disk/by-label, by-uuid, by-partuuid, by-partlabel, by-id for USB disks,
// serial/by-id for USB serial ports) plus what rules add. Links are relative
// ("../../sdb1"), created atomically, removed with the device (only if they still
// point at it), and handed to another device that wants the same name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dev/device.h"

namespace keel::dev {

// The default links for a device, from its (enriched) properties.
std::vector<std::string> default_links(const Device& dev);
// udev's link-name encoding: [A-Za-z0-9#+-.:=@_] and UTF-8 kept, other bytes
// (including "/" and space) written as \xNN.
std::string encode_link_name(std::string_view s);

class LinkManager {
  public:
    explicit LinkManager(std::string dev_root) : root_(std::move(dev_root)) {}

    // Makes `links` (relative to the device directory) point at the device's node
    // `devname`; links it had before and no longer wants are removed. Errors are
    // logged, one per link, and do not stop the others.
    void update(const std::string& devpath, const std::string& devname,
                std::vector<std::string> links);
    // Removes the device's links.
    void remove(const std::string& devpath);
    const std::vector<std::string>* links_of(const std::string& devpath) const;
    size_t devices() const { return by_dev_.size(); }

  private:
    struct Entry {
        std::string devname;
        std::vector<std::string> links;
    };
    void make(const std::string& link, const std::string& devname);
    void drop(const std::string& link, const std::string& devname, const std::string& devpath);

    std::string root_;
    std::map<std::string, Entry> by_dev_;
};

}  // namespace keel::dev
