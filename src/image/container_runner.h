// `keel run`: a root file system directory as a container. New mount, PID,
// UTS, IPC and network namespaces; the rootfs under an overlay with a tmpfs
// upper layer (the image stays as written); /proc, /sys and a small /dev; a
// veth pair to the host; the command (default /init, i.e. keel init) as PID 1.
// SIGINT/SIGTERM to the runner powers the container off through its init.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/result.h"

namespace keel::image {

struct RunOptions {
    std::string rootfs;                // a directory (write_directory's output)
    std::vector<std::string> command;  // empty: /init
    std::string hostname = "keel";
    bool writable = false;          // bind the rootfs itself, no overlay
    bool configure_network = true;  // false: eth0 left to the system's keel net
    std::string state_path;         // JSON {pid, interface, host_address, address, bus}
    std::chrono::milliseconds stop_timeout{20000};  // SIGTERM to PID 1, then SIGKILL
};

// Runs the container until its PID 1 ends; the exit status to report (0 for
// a poweroff or reboot of its init, 128+N when killed by signal N).
Result<int> run_container(const RunOptions& options);

}  // namespace keel::image
