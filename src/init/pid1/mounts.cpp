#include "init/pid1/mounts.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/sys.h"

namespace keel::init {

namespace {

struct EarlyMount {
    const char* target;
    const char* fstype;
    unsigned long flags;
    const char* data;
    unsigned mode;
};

constexpr EarlyMount kMounts[] = {
    {"/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", 0555},
    {"/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", 0555},
    {"/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755},
    {"/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755},
    {"/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
    {"/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755},
    {"/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
};

// PROC_PID_INIT_INO: the inode of the machine's first PID namespace.
constexpr ino_t kInitialPidNamespaceInode = 0xEFFFFFFCU;

// /proc shows the PID namespace it was mounted in: ours if /proc/self is our pid.
bool proc_is_ours() {
    char buf[32];
    ssize_t n = ::readlink("/proc/self", buf, sizeof buf - 1);
    if (n <= 0) return false;
    buf[n] = 0;
    return std::to_string(::getpid()) == buf;
}

}  // namespace

bool in_initial_pid_namespace() {
    struct stat st;
    return ::stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == kInitialPidNamespaceInode;
}

void mount_early() {
    for (const auto& m : kMounts) {
        (void)sys::make_dirs(m.target, m.mode);
        auto mounted = sys::is_mount_point(m.target);
        bool stale_proc =
            std::string_view(m.target) == "/proc" && mounted && *mounted && !proc_is_ours();
        if (mounted && *mounted && !stale_proc) continue;
        if (auto st = sys::mount(m.fstype, m.target, m.fstype, m.flags, m.data); !st)
            log::warning("%s", st.error().message().c_str());
        else
            log::debug("mounted %s on %s", m.fstype, m.target);
    }
}

void unmount_all() {
    auto info = sys::read_file("/proc/self/mountinfo");
    if (!info) {
        log::warning("%s", info.error().message().c_str());
        return;
    }
    std::vector<std::string> targets;
    std::istringstream lines(*info);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream f(line);
        std::string id, parent, dev, root, target;
        if (!(f >> id >> parent >> dev >> root >> target)) continue;
        if (target != "/") targets.push_back(target);
    }
    // Later mounts sit on earlier ones: undo them first.
    std::reverse(targets.begin(), targets.end());
    for (const auto& t : targets)
        (void)sys::umount_lazy(t);
    // Read-only on the superblock is what makes the root filesystem clean, but it is
    // shared with every other mount namespace: only the machine's own init does it.
    if (in_initial_pid_namespace()) {
        if (auto st = sys::mount("", "/", "", MS_REMOUNT | MS_RDONLY, ""); !st)
            log::warning("%s", st.error().message().c_str());
    }
}

}  // namespace keel::init
