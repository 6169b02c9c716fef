#include "dev/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/fd.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "dev/uevent_parser.h"

namespace keel::dev {

namespace {

std::string trim_right(std::string s) {
    while (!s.empty() &&
           (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\0'))
        s.pop_back();
    return s;
}

std::optional<std::string> basename_of_link(int dirfd, const char* name) {
    char buf[4096];
    auto n = sys::readlinkat(dirfd, name, buf, sizeof buf);
    if (!n) return std::nullopt;
    std::string_view target(buf, *n);
    auto slash = target.rfind('/');
    return std::string(slash == std::string_view::npos ? target : target.substr(slash + 1));
}

// Every device the kernel announces has a bus or a class: it is listed, as a
// symlink, in /sys/bus/<subsystem>/devices or /sys/class/<subsystem> (the same
// enumeration as `udevadm trigger`; far fewer directories to open than a walk of
// /sys/devices). Appends (devpath, subsystem) pairs.
void list_links(const std::string& dir, const std::string& subsystem,
                std::vector<std::pair<std::string, std::string>>* out) {
    auto fd = sys::openat_dir(AT_FDCWD, dir.c_str());
    if (!fd) return;
    char buf[4096];
    (void)sys::for_each_entry(fd->get(), [&](std::string_view name, unsigned char type) {
        if (type != DT_LNK) return;
        auto len = sys::readlinkat(fd->get(), name.data(), buf, sizeof buf);
        if (!len) return;
        std::string_view target(buf, *len);
        auto at = target.find("/devices/");
        if (at != std::string_view::npos)
            out->emplace_back(std::string(target.substr(at)), subsystem);
    });
}

void list_subsystems(const std::string& dir, std::vector<std::string>* out) {
    auto fd = sys::openat_dir(AT_FDCWD, dir.c_str());
    if (!fd) return;
    (void)sys::for_each_entry(fd->get(), [&](std::string_view name, unsigned char type) {
        if (type == DT_DIR || type == DT_LNK) out->emplace_back(name);
    });
}

}  // namespace

std::string Sysfs::path(std::string_view devpath, std::string_view name) const {
    std::string p = root_;
    p += devpath;
    if (!name.empty()) {
        p += '/';
        p += name;
    }
    return p;
}

std::optional<std::string> Sysfs::attr(std::string_view devpath, std::string_view name) const {
    std::string value;
    if (!sys::read_attribute(path(devpath, name).c_str(), &value)) return std::nullopt;
    return trim_right(std::move(value));
}

std::optional<std::string> Sysfs::link_name(std::string_view devpath, std::string_view link) const {
    return basename_of_link(AT_FDCWD, path(devpath, link).c_str());
}

Result<Device> Sysfs::read_device(std::string_view devpath, std::string_view action) const {
    if (!safe_devpath(devpath)) return Error("invalid DEVPATH '" + std::string(devpath) + "'");
    auto subsystem = link_name(devpath, "subsystem");
    if (!subsystem) return Error("no device " + std::string(devpath) + " in " + root_, ENOENT);
    auto text = KEEL_TRY(sys::read_file(path(devpath, "uevent")));
    std::vector<Field> env;
    if (auto st = parse_uevent_file(text, &env); !st)
        return Error(path(devpath, "uevent") + ": " + st.error().what());
    return Device::from_sysfs(action, devpath, *subsystem, env);
}

Status Sysfs::scan(const std::function<void(Device&&)>& fn) const {
    std::vector<std::pair<std::string, std::string>> devices;  // (devpath, subsystem)
    std::vector<std::string> names;
    list_subsystems(root_ + "/bus", &names);
    if (names.empty()) return Error("cannot scan " + root_ + "/bus: no subsystems", ENOENT);
    for (const auto& bus : names)
        list_links(root_ + "/bus/" + bus + "/devices", bus, &devices);
    names.clear();
    list_subsystems(root_ + "/class", &names);
    for (const auto& cls : names)
        list_links(root_ + "/class/" + cls, cls, &devices);
    // Parents sort before their children, as the kernel announced them.
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  devices.end());
    // Opened relative to <root>: each open walks two path components fewer, which
    // on kernfs is a good part of coldplug's cost.
    auto root = sys::openat_dir(AT_FDCWD, root_.c_str());
    if (!root) return Error("cannot scan " + root_, root.error().code());
    std::string text, file;
    std::vector<Field> env;
    for (const auto& [devpath, subsystem] : devices) {
        if (!safe_devpath(devpath)) continue;
        file.assign(devpath, 1);  // "devices/..."
        file += "/uevent";
        if (!sys::read_attribute_at(root->get(), file.c_str(), &text)) continue;  // gone meanwhile
        env.clear();
        if (!parse_uevent_file(text, &env)) continue;
        fn(Device::from_sysfs("add", devpath, subsystem, env));
    }
    return {};
}

Status Sysfs::trigger(std::string_view devpath, std::string_view action) const {
    if (!safe_devpath(devpath)) return Error("invalid DEVPATH '" + std::string(devpath) + "'");
    std::string p = path(devpath, "uevent");
    auto fd = sys::open(p.c_str(), O_WRONLY);
    if (!fd) return Error("cannot trigger " + std::string(action) + " on " + p, fd.error().code());
    auto n = sys::write(fd->get(), action.data(), action.size());
    if (!n) return Error("cannot trigger " + std::string(action) + " on " + p, n.error().code());
    return {};
}

}  // namespace keel::dev
