// Device: one device's properties — the uevent environment in kernel order, then
// what Keel adds (ID_* enrichment, DEVLINKS) — and its JSON and subject forms.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dev/uevent_parser.h"

namespace keel::dev {

class Device {
  public:
    Device() = default;
    // From a kernel event or a sysfs scan.
    static Device from_uevent(const UeventView& ev);
    // ACTION=add, DEVPATH, SUBSYSTEM, then the lines of the device's uevent file.
    static Device from_sysfs(std::string_view action, std::string_view devpath,
                             std::string_view subsystem, const std::vector<Field>& file_env);

    std::string_view get(std::string_view key) const;
    bool has(std::string_view key) const;
    // Replaces the value if the key exists, otherwise appends.
    void set(std::string_view key, std::string value);
    void erase(std::string_view key);
    const std::vector<std::pair<std::string, std::string>>& properties() const { return props_; }

    std::string_view action() const { return get("ACTION"); }
    std::string_view devpath() const { return get("DEVPATH"); }
    std::string_view subsystem() const { return get("SUBSYSTEM"); }
    // Kernel name: the last DEVPATH component ("sda1", "null", "0000:00:01.0").
    std::string_view kernel() const;
    // "/dev/" + DEVNAME, or empty when the device has no node.
    std::string node(std::string_view dev_root) const;

    // {"ACTION":"add",...} in property order; invalid UTF-8 becomes U+FFFD.
    std::string to_json() const;

  private:
    std::vector<std::pair<std::string, std::string>> props_;
};

// "hardware.<subsystem>.<action>" with each token made subject-safe.
std::string hardware_subject(std::string_view subsystem, std::string_view action);
// Lowercase [a-z0-9_-]; anything else (".", " ", "*", ">", control bytes) becomes "_".
std::string subject_token(std::string_view s);

}  // namespace keel::dev
