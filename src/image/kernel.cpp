// The kernel's module subset. The index files are derived from the host's
// depmod output rather than by running depmod -b on a staging copy: every line
// of modules.dep/alias/softdep/devname/order concerns one module, and the
// subset is closed under modules.dep, so keeping the lines of the modules
// present is exactly what depmod would write for them, with no copy of the
// modules on disk and no dependency on kmod at build time.
#include "image/kernel.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "base/text_lines.h"
#include "dev/decompress.h"
#include "dev/module_index.h"
#include "dev/text.h"

namespace keel::image {
namespace {

// Debian kernel releases compare as versions: "6.1.0-10-amd64" < "6.1.0-9-amd64"
// is wrong as strings, so runs of digits compare by value.
bool release_less(const std::string& a, const std::string& b) {
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) &&
            std::isdigit(static_cast<unsigned char>(b[j]))) {
            size_t i2 = i, j2 = j;
            while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2])))
                ++i2;
            while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2])))
                ++j2;
            unsigned long long x = std::stoull(a.substr(i, std::min<size_t>(i2 - i, 18)));
            unsigned long long y = std::stoull(b.substr(j, std::min<size_t>(j2 - j, 18)));
            if (x != y) return x < y;
            i = i2;
            j = j2;
        } else {
            if (a[i] != b[j]) return a[i] < b[j];
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

struct HostIndex {
    std::string dir;
    std::string dep_text, alias_text, softdep_text;
    std::map<std::string, std::pair<std::string, std::vector<std::string>>>
        deps;  // name -> (path, dep paths)
    std::set<std::string> builtin;
};

Result<HostIndex> load_host_index(const std::string& dir) {
    HostIndex ix;
    ix.dir = dir;
    ix.dep_text = KEEL_TRY(sys::read_file(dir + "/modules.dep"));
    ix.alias_text = KEEL_TRY(sys::read_file(dir + "/modules.alias"));
    if (auto s = sys::read_file(dir + "/modules.softdep")) ix.softdep_text = std::move(*s);
    for_each_line(ix.dep_text, [&](std::string_view line) {
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return;
        auto& entry = ix.deps[dev::module_name(line.substr(0, colon))];
        entry.first = std::string(line.substr(0, colon));
        for (auto w : dev::split_words(line.substr(colon + 1)))
            entry.second.emplace_back(w);
    });
    if (auto b = sys::read_file(dir + "/modules.builtin"))
        for_each_line(*b, [&](std::string_view line) {
            if (!line.empty()) ix.builtin.insert(dev::module_name(line));
        });
    return ix;
}

// Loadable modules an alias (or a module name) stands for, as modprobe resolves it.
std::vector<std::string> resolve_name(const HostIndex& ix, const std::string& name) {
    std::string n = dev::module_name(name);
    if (ix.deps.count(n)) return {n};
    std::vector<std::string> out;
    std::string alias = dev::normalize_alias(name);
    for_each_line(ix.alias_text, [&](std::string_view line) {
        auto w = dev::split_words(line);
        if (w.size() >= 3 && w[0] == "alias" &&
            ::fnmatch(dev::normalize_alias(w[1]).c_str(), alias.c_str(), 0) == 0)
            out.push_back(dev::module_name(w[2]));
    });
    return out;
}

// Keeps the lines whose module (found by `module_of`) is in `present`.
std::string filter_lines(std::string_view text, const std::set<std::string>& present,
                         const std::function<std::string(std::string_view)>& module_of) {
    std::string out;
    for_each_line(text, [&](std::string_view line) {
        std::string m = module_of(line);
        if (!m.empty() && present.count(m)) {
            out += line;
            out += '\n';
        }
    });
    return out;
}

std::string word(std::string_view line, size_t i, std::string_view first = "") {
    auto w = dev::split_words(line);
    if (w.size() <= i || (!first.empty() && w[0] != first)) return "";
    return dev::module_name(w[i]);
}

}  // namespace

Result<Kernel> find_kernel(const std::string& release) {
    auto usable = [](const std::string& r) {
        return sys::stat_path("/boot/vmlinuz-" + r, true).ok() &&
               sys::stat_path("/lib/modules/" + r + "/modules.dep", true).ok();
    };
    if (!release.empty()) {
        if (!usable(release))
            return Error("kernel " + release + " is not installed (need /boot/vmlinuz-" + release +
                         " and /lib/modules/" + release + "/modules.dep)");
        return Kernel{release, "/boot/vmlinuz-" + release};
    }
    std::vector<std::string> found;
    auto boot = KEEL_TRY(sys::open("/boot", O_RDONLY | O_DIRECTORY));
    KEEL_TRY_STATUS(sys::for_each_entry(boot.get(), [&](std::string_view name, unsigned char) {
        if (!name.starts_with("vmlinuz-") || !name.ends_with("-amd64")) return;
        std::string r(name.substr(8));
        if (usable(r)) found.push_back(r);
    }));
    if (found.empty())
        return Error(
            "no Debian kernel installed: no /boot/vmlinuz-*-amd64 with /lib/modules "
            "(apt-get install linux-image-amd64)");
    std::string newest = *std::max_element(found.begin(), found.end(), release_less);
    return Kernel{newest, "/boot/vmlinuz-" + newest};
}

const std::vector<std::string>& platform_modules() {
    static const std::vector<std::string> kModules = {
        // virtio devices QEMU gives (virtio_net loads failover and net_failover by modules.dep)
        "virtio_pci",
        "virtio_net",
        "virtio_blk",
        "virtio_rng",
        "virtio_console",
        // USB storage behind xhci/ehci, through SCSI disks
        "xhci_pci",
        "ehci_pci",
        "usb-storage",
        "uas",
        "sd_mod",
        // file systems; vfat mounts need the default codepage (437) and iocharset (ascii,
        // or utf8/iso8859-1 when asked for)
        "ext4",
        "vfat",
        "nls_cp437",
        "nls_ascii",
        "nls_utf8",
        "nls_iso8859-1",
        "erofs",
        "squashfs",
        "overlay",
        "loop",
        "9p",
        "9pnet_virtio",
        // The ACPI power button (what QEMU's system_powerdown and a VM manager
        // press; modalias acpi:LNXPWRBN:) as an input device, and evdev for its
        // /dev/input/eventN node, which keel dev reads
        "button",
        "evdev",
    };
    return kModules;
}

Status add_kernel_modules(Tree& tree, const Kernel& kernel,
                          const std::vector<std::string>& modules) {
    const std::string host = "/lib/modules/" + kernel.release;
    HostIndex ix = KEEL_TRY(load_host_index(host));

    std::set<std::string> present;
    std::vector<std::string> unknown;
    std::vector<std::string> todo;
    for (const auto& m : modules) {
        std::string n = dev::module_name(m);
        if (ix.deps.count(n))
            todo.push_back(n);
        else if (!ix.builtin.count(n))
            unknown.push_back(m);
    }
    if (!unknown.empty()) {
        std::string list;
        for (const auto& u : unknown)
            list += (list.empty() ? "" : ", ") + u;
        return Error("kernel " + kernel.release + " has no module" +
                     (unknown.size() > 1 ? "s " : " ") + list);
    }
    std::map<std::string, dev::Softdep> softdeps;
    for_each_line(ix.softdep_text, [&](std::string_view line) {
        if (auto sd = dev::parse_softdep(dev::split_words(line))) {
            auto& s = softdeps[dev::module_name(sd->module)];
            s.pre.insert(s.pre.end(), sd->pre.begin(), sd->pre.end());
            s.post.insert(s.post.end(), sd->post.begin(), sd->post.end());
        }
    });
    // modules.dep closure; softdeps (ext4 pre: crypto-crc32c) come along when they
    // name loadable modules, since modprobe would try them; built-in or absent
    // ones are skipped as modprobe skips them.
    while (!todo.empty()) {
        std::string n = todo.back();
        todo.pop_back();
        if (!present.insert(n).second) continue;
        for (const auto& d : ix.deps[n].second)
            todo.push_back(dev::module_name(d));
        if (auto sd = softdeps.find(n); sd != softdeps.end())
            for (const auto* list : {&sd->second.pre, &sd->second.post})
                for (const auto& target : *list)
                    for (auto& r : resolve_name(ix, target))
                        todo.push_back(r);
    }

    const std::string dest = "/lib/modules/" + kernel.release;
    for (const auto& n : present) {
        const std::string& rel = ix.deps[n].first;
        KEEL_TRY(tree.put_host_file(dest + "/" + rel, host + "/" + rel, 0644, "kernel"));
    }
    auto dep_module = [](std::string_view line) {
        size_t colon = line.find(':');
        return colon == std::string_view::npos || colon == 0
                   ? std::string()
                   : dev::module_name(line.substr(0, colon));
    };
    KEEL_TRY(tree.put_file(dest + "/modules.dep", filter_lines(ix.dep_text, present, dep_module),
                           0644, "kernel"));
    KEEL_TRY(tree.put_file(
        dest + "/modules.alias",
        filter_lines(ix.alias_text, present, [](auto l) { return word(l, 2, "alias"); }), 0644,
        "kernel"));
    KEEL_TRY(tree.put_file(
        dest + "/modules.softdep",
        filter_lines(ix.softdep_text, present, [](auto l) { return word(l, 1, "softdep"); }), 0644,
        "kernel"));
    if (auto order = sys::read_file(host + "/modules.order"))
        KEEL_TRY(
            tree.put_file(dest + "/modules.order",
                          filter_lines(*order, present, [](auto l) { return dev::module_name(l); }),
                          0644, "kernel"));
    if (auto devname = sys::read_file(host + "/modules.devname"))
        KEEL_TRY(
            tree.put_file(dest + "/modules.devname",
                          filter_lines(*devname, present,
                                       [](auto l) { return l.starts_with("#") ? "" : word(l, 0); }),
                          0644, "kernel"));
    // Built-in modules are in the kernel image itself: their lists stay whole.
    for (const char* f : {"modules.builtin", "modules.builtin.modinfo"})
        if (sys::stat_path(host + "/" + f).ok())
            KEEL_TRY(tree.put_host_file(dest + "/" + f, host + "/" + f, 0644, "kernel"));
    return {};
}

std::vector<const char*> module_decompressors(const Tree& tree, std::string_view kernel_config) {
    constexpr std::string_view kDecompress = "CONFIG_MODULE_DECOMPRESS=y";
    for (size_t at = 0; (at = kernel_config.find(kDecompress, at)) != std::string_view::npos;
         ++at) {
        size_t end = at + kDecompress.size();
        if ((at == 0 || kernel_config[at - 1] == '\n') &&
            (end == kernel_config.size() || kernel_config[end] == '\n'))
            return {};
    }
    bool xz = false, zstd = false;
    for (auto it = tree.nodes().lower_bound("/usr/lib/modules/"); it != tree.nodes().end(); ++it) {
        if (!it->first.starts_with("/usr/lib/modules/")) break;
        xz = xz || it->first.ends_with(".ko.xz");
        zstd = zstd || it->first.ends_with(".ko.zst");
    }
    std::vector<const char*> libs;
    if (xz) libs.push_back(dev::kXzLibrary);
    if (zstd) libs.push_back(dev::kZstdLibrary);
    return libs;
}

}  // namespace keel::image
