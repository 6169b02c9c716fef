// Cgroups: one cgroup v2 directory per service under <root>/<base>, with
// memory.max / pids.max when those controllers are available, and cgroup.kill for
// the final SIGKILL. Without a cgroup v2 hierarchy (e.g. a cgroup v1 host) it says
// so once and everything goes on without cgroups.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "loop/fd_watch.h"

namespace keel::init {

class Cgroups {
  public:
    // `root`: a cgroup2 mount, or empty to look at /sys/fs/cgroup and /sys/fs/cgroup/unified.
    // Returns null (after logging why, once) when there is no usable cgroup v2 hierarchy.
    // `loop` must outlive the object.
    static std::unique_ptr<Cgroups> open(loop::EventLoop& loop, const std::string& root,
                                         const std::string& base);

    // Creates (or reuses) the service's cgroup, applies the limits, and returns its
    // directory opened for clone3(CLONE_INTO_CGROUP).
    Result<Fd> prepare(const std::string& service, std::optional<uint64_t> memory_max,
                       std::optional<uint64_t> pids_max);
    // SIGKILLs every process in the service's cgroup; false when cgroup.kill is missing.
    bool kill(const std::string& service);
    // Removes the service's cgroup now, or as soon as its last process is gone
    // (cgroup.events tells; nothing polls).
    void remove(const std::string& service);
    // At exit: kills what is left in services' cgroups, and once they are removed
    // removes the base cgroup and calls `done` (at once when nothing is pending).
    void remove_all(std::function<void()> done);

    const std::string& dir() const { return dir_; }
    bool has_controller(const std::string& c) const { return controllers_.count(c) > 0; }

  private:
    Cgroups(loop::EventLoop& loop, std::string dir, std::set<std::string> controllers)
        : loop_(loop), dir_(std::move(dir)), controllers_(std::move(controllers)) {}
    void warn_missing(const std::string& controller, const std::string& service);
    void on_events(const std::string& service);
    void maybe_done();

    struct Pending {
        Fd events;
        loop::FdWatch watch;
    };
    loop::EventLoop& loop_;
    std::map<std::string, std::unique_ptr<Pending>> pending_;  // busy cgroups waiting to be removed
    std::function<void()> all_removed_;
    std::string dir_;
    std::set<std::string> controllers_;  // enabled for the services' cgroups
    std::set<std::string> warned_;
};

}  // namespace keel::init
