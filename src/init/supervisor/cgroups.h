// Cgroups: one cgroup v2 directory per service under <root>/<base>, with
// memory.max / pids.max when those controllers are available, and cgroup.kill for
// the final SIGKILL. Without a cgroup v2 hierarchy (e.g. a cgroup v1 host) it says
// so once and everything goes on without cgroups.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace keel::init {

class Cgroups {
public:
    // `root`: a cgroup2 mount, or empty to look at /sys/fs/cgroup and /sys/fs/cgroup/unified.
    // Returns null (after logging why, once) when there is no usable cgroup v2 hierarchy.
    static std::unique_ptr<Cgroups> open(const std::string& root, const std::string& base);

    // Creates (or reuses) the service's cgroup, applies the limits, and returns its
    // cgroup.procs opened for writing.
    Result<Fd> prepare(const std::string& service, std::optional<uint64_t> memory_max,
                       std::optional<uint64_t> pids_max);
    // SIGKILLs every process in the service's cgroup; false when cgroup.kill is missing.
    bool kill(const std::string& service);
    // Removes the service's cgroup once it is empty (busy ones are left alone).
    void remove(const std::string& service);
    // Removes the base cgroup (at exit); services' cgroups must be gone.
    void remove_base();

    const std::string& dir() const { return dir_; }
    bool has_controller(const std::string& c) const { return controllers_.count(c) > 0; }

private:
    Cgroups(std::string dir, std::set<std::string> controllers)
        : dir_(std::move(dir)), controllers_(std::move(controllers)) {}
    void warn_missing(const std::string& controller, const std::string& service);

    std::string dir_;
    std::set<std::string> controllers_;  // enabled for the services' cgroups
    std::set<std::string> warned_;
};

}  // namespace keel::init
