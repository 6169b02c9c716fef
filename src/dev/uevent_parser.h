// Uevent parsing: pure functions over a buffer, no sockets, no sysfs.
//
// A kernel uevent datagram is "ACTION@DEVPATH\0KEY=VALUE\0...SEQNUM=N\0": every
// field is NUL-terminated and the kernel always adds SEQNUM last, so a message cut
// anywhere is missing either its final NUL or its SEQNUM and is rejected. A sysfs
// `uevent` file is "KEY=VALUE\n" lines (coldplug reads those).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace keel::dev {

// Limits: the kernel's environment buffer is 2 KiB with at most 64 variables
// (UEVENT_BUFFER_SIZE, UEVENT_NUM_ENVP); the header adds ACTION@DEVPATH.
inline constexpr size_t kMaxUeventBytes = 8192;
inline constexpr size_t kMaxUeventFields = 128;

using Field = std::pair<std::string_view, std::string_view>;

// A parsed uevent; every view points into the buffer that was parsed.
struct UeventView {
    std::string_view action, devpath, subsystem;
    uint64_t seqnum = 0;
    std::vector<Field> env;  // in message order, ACTION/DEVPATH/SUBSYSTEM/SEQNUM included

    std::string_view get(std::string_view key) const;
};

// Parses one kernel datagram. `out->env` is reused (cleared, capacity kept). The
// error says what is wrong and at which byte offset.
Status parse_uevent(std::string_view buf, UeventView* out);

// Parses a sysfs uevent file into `out` (appended). Keys are checked as above.
Status parse_uevent_file(std::string_view text, std::vector<Field>* out);

// True for the actions the kernel sends (add, remove, change, move, online,
// offline, bind, unbind).
bool known_action(std::string_view action);
// A DEVPATH that is safe to append to /sys: absolute, no empty, "." or ".." parts.
bool safe_devpath(std::string_view devpath);
// An environment key as the kernel writes them: [A-Za-z0-9_]+.
bool valid_key(std::string_view key);

}  // namespace keel::dev
