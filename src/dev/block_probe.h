// Block-device probing with libblkid: file system and partition identity.
#pragma once

#include <string>

#include "dev/device.h"

namespace keel::dev {

// Probes the block device node `node` and adds what libblkid finds as udev-style
// properties: ID_FS_TYPE, ID_FS_USAGE, ID_FS_VERSION, ID_FS_LABEL, ID_FS_UUID,
// ID_FS_UUID_SUB, ID_PART_TABLE_TYPE, ID_PART_TABLE_UUID, ID_PART_ENTRY_UUID
// (PARTUUID), ID_PART_ENTRY_NAME, ID_PART_ENTRY_TYPE, ID_PART_ENTRY_NUMBER.
// A device that cannot be opened or holds nothing recognisable adds nothing.
void probe_block(const std::string& node, Device& dev);

}  // namespace keel::dev
