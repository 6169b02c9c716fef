// keel init: the supervisor over a manifest, and PID 1 when it is process 1.
#pragma once

#include <string>

namespace keel::init {

struct InitOptions {
    std::string manifest = "/etc/keel/system.json";
    bool services_only = false;  // the file holds just the "services" array (--config)
    std::string state_dir = "/run/keel/init";
    std::string server;       // bus URLs for init's own client; empty: the defaults
    std::string cgroup_root;  // a cgroup2 mount; empty: look in /sys/fs/cgroup
    std::string cgroup_name;  // empty: "keel" for the machine's init, else keel-init-RANDOM
    int ready_fd = -1;        // newline once every service is ready or failed
    std::string emergency_shell = "/bin/sh";
    bool pid1 = false;
};

// Runs until shutdown. As PID 1 it never returns (the end is reboot(2)).
int run_init(const InitOptions& options);

}  // namespace keel::init
