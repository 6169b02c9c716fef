// Enrichment: what a subscriber wants to know about a device beyond the kernel's
// environment, read from sysfs and the device node, with udev's property names.
//   block: libblkid identity (block_probe.h)
//   anything on USB: ID_BUS=usb, ID_VENDOR_ID, ID_MODEL_ID, ID_VENDOR, ID_MODEL,
//     ID_REVISION, ID_SERIAL_SHORT, ID_SERIAL, ID_USB_INTERFACE_NUM
//   net: ID_NET_ADDRESS (the MAC), INTERFACE already comes from the kernel
#pragma once

#include <string>
#include <string_view>

#include "dev/device.h"
#include "dev/sysfs.h"

namespace keel::dev {

// Adds the properties for an add/change/move/bind/online event; a remove has no
// sysfs left to read, so it gets nothing here.
void enrich(Device& dev, const Sysfs& sysfs, const std::string& dev_root);

// udev's rule for identity strings: whitespace runs become one "_", and anything
// outside [A-Za-z0-9#+-.:=@_] (and valid UTF-8) becomes "_".
std::string id_safe(std::string_view s);

}  // namespace keel::dev
