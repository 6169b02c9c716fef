#include "init/supervisor/cgroups.h"

#include <fcntl.h>
#include <linux/magic.h>

#include <sstream>

#include "base/log.h"
#include "base/sys.h"
#include "base/sys_fs.h"

namespace keel::init {

namespace {

bool is_cgroup2(const std::string& path) {
    auto t = sys::filesystem_type(path);
    return t && *t == CGROUP2_SUPER_MAGIC;
}

std::set<std::string> words(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;)
        out.insert(w);
    return out;
}

// Enables what it can of `wanted` for the children of `dir`.
std::set<std::string> enable_controllers(const std::string& dir,
                                         const std::set<std::string>& wanted) {
    auto available = sys::read_file(dir + "/cgroup.controllers");
    std::set<std::string> enabled;
    if (!available) return enabled;
    for (const auto& c : words(*available)) {
        if (!wanted.count(c)) continue;
        if (sys::write_existing(dir + "/cgroup.subtree_control", "+" + c)) enabled.insert(c);
    }
    return enabled;
}

}  // namespace

std::unique_ptr<Cgroups> Cgroups::open(loop::EventLoop& loop, const std::string& root_hint,
                                       const std::string& base) {
    std::string root;
    if (!root_hint.empty()) {
        if (!is_cgroup2(root_hint)) {
            log::warning("%s is not a cgroup v2 mount: services run without cgroups",
                         root_hint.c_str());
            return nullptr;
        }
        root = root_hint;
    } else if (is_cgroup2("/sys/fs/cgroup")) {
        root = "/sys/fs/cgroup";
    } else if (is_cgroup2("/sys/fs/cgroup/unified")) {
        root = "/sys/fs/cgroup/unified";
    } else {
        log::info(
            "no cgroup v2 hierarchy (cgroup v1 or hybrid host): services run without cgroups, "
            "memory_max and pids_max are not enforced");
        return nullptr;
    }
    std::string dir = root + "/" + base;
    if (auto st = sys::make_dirs(dir, 0755); !st) {
        log::warning("cannot create cgroup %s: %s: services run without cgroups", dir.c_str(),
                     st.error().message().c_str());
        return nullptr;
    }
    const std::set<std::string> wanted = {"memory", "pids"};
    enable_controllers(root, wanted);
    auto enabled = enable_controllers(dir, wanted);
    return std::unique_ptr<Cgroups>(new Cgroups(loop, dir, enabled));
}

void Cgroups::warn_missing(const std::string& controller, const std::string& service) {
    if (!warned_.insert(controller).second) return;
    log::warning(
        "cgroup v2 %s controller unavailable (bound to cgroup v1?): %s limits of %s and others "
        "are not enforced",
        controller.c_str(), controller.c_str(), service.c_str());
}

Result<Fd> Cgroups::prepare(const std::string& service, std::optional<uint64_t> memory_max,
                            std::optional<uint64_t> pids_max) {
    std::string dir = dir_ + "/" + service;
    KEEL_TRY_STATUS(sys::make_dirs(dir, 0755));
    if (memory_max) {
        if (has_controller("memory"))
            KEEL_TRY_STATUS(sys::write_existing(dir + "/memory.max", std::to_string(*memory_max)));
        else
            warn_missing("memory", service);
    }
    if (pids_max) {
        if (has_controller("pids"))
            KEEL_TRY_STATUS(sys::write_existing(dir + "/pids.max", std::to_string(*pids_max)));
        else
            warn_missing("pids", service);
    }
    return sys::open(dir, O_RDONLY | O_DIRECTORY);
}

bool Cgroups::kill(const std::string& service) {
    return sys::write_existing(dir_ + "/" + service + "/cgroup.kill", "1").ok();
}

void Cgroups::remove(const std::string& service) {
    std::string dir = dir_ + "/" + service;
    auto st = sys::rmdir(dir);
    if (st || st.error().code() != EBUSY || pending_.count(service)) return;
    // Leftover processes are still dying: cgroup.events changes (EPOLLPRI) once it is empty.
    auto fd = sys::open(dir + "/cgroup.events", O_RDONLY);
    if (!fd) return;
    auto p = std::make_unique<Pending>();
    p->events = std::move(fd).value();
    if (!p->watch.start(loop_, p->events.get(), EPOLLPRI,
                        [this, service](uint32_t) { on_events(service); }))
        return;
    pending_[service] = std::move(p);
    on_events(service);  // it may have emptied meanwhile
}

void Cgroups::on_events(const std::string& service) {
    if (!sys::rmdir(dir_ + "/" + service)) return;
    pending_.erase(service);
    maybe_done();
}

void Cgroups::maybe_done() {
    if (!all_removed_ || !pending_.empty()) return;
    (void)sys::rmdir(dir_);
    auto done = std::move(all_removed_);
    all_removed_ = nullptr;
    done();
}

void Cgroups::remove_all(std::function<void()> done) {
    all_removed_ = std::move(done);
    for (const auto& [service, p] : pending_)
        kill(service);
    maybe_done();
}

}  // namespace keel::init
