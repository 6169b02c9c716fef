// Firmware for the kernel's user-space fallback loader: when a driver's request is
// not met from /lib/firmware by the kernel itself and the kernel was built with
// CONFIG_FW_LOADER_USER_HELPER, it sends a "firmware" add event and waits for user
// space to write the file into /sys/<DEVPATH>/data between "1" and "0" written to
// /sys/<DEVPATH>/loading ("-1" when there is none).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "dev/device.h"
#include "dev/sysfs.h"

namespace keel::dev {

// The kernel's own search order for `release`: updates/<release>, updates,
// <release>, then the base directory (/lib/firmware).
std::vector<std::string> firmware_dirs(const std::string& base, const std::string& release);

// Serves FIRMWARE=<name> for a firmware add event. Returns the file it loaded, or
// an Error after telling the kernel there is none (a missing file, an unsafe name).
Result<std::string> serve_firmware(const Device& dev, const Sysfs& sysfs,
                                   const std::vector<std::string>& dirs);

}  // namespace keel::dev
