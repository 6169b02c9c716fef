// Sysfs: reads devices from a sysfs tree (normally /sys; tests point it at a fake
// tree). DEVPATHs are "/devices/..." relative to the root.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "dev/device.h"

namespace keel::dev {

class Sysfs {
  public:
    explicit Sysfs(std::string root = "/sys") : root_(std::move(root)) {}
    const std::string& root() const { return root_; }

    // A device attribute with trailing whitespace removed; nothing if unreadable.
    std::optional<std::string> attr(std::string_view devpath, std::string_view name) const;
    // The last component of a symlink's target ("subsystem" -> "block").
    std::optional<std::string> link_name(std::string_view devpath, std::string_view link) const;
    // The device as an `action` event built from its uevent file; an Error when absent.
    Result<Device> read_device(std::string_view devpath, std::string_view action = "add") const;
    // Every device the kernel announces (listed under <root>/bus/*/devices or
    // <root>/class/*), sorted by DEVPATH so parents come first, as "add" Devices.
    Status scan(const std::function<void(Device&&)>& fn) const;
    // Writes `action` to the device's uevent file: the kernel then sends that event.
    Status trigger(std::string_view devpath, std::string_view action) const;

  private:
    std::string path(std::string_view devpath, std::string_view name) const;
    std::string root_;
};

}  // namespace keel::dev
