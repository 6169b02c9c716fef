#include "image/rootfs_base.h"

#include <set>
#include <string>

#include "image/busybox_applets.h"

namespace keel::image {

Status put_base_skeleton(Tree& tree) {
    static constexpr const char* kOrigin = "base";
    struct Dir {
        const char* path;
        uint32_t mode;
    };
    static constexpr Dir kDirs[] = {
        {"/usr/bin", 0755}, {"/usr/sbin", 0755}, {"/usr/lib", 0755},  {"/usr/lib64", 0755},
        {"/etc", 0755},     {"/dev", 0755},      {"/proc", 0555},     {"/sys", 0555},
        {"/run", 0755},     {"/tmp", 01777},     {"/root", 0700},     {"/home", 0755},
        {"/var/log", 0755}, {"/var/lib", 0755},  {"/var/tmp", 01777}, {"/mnt", 0755},
        {"/media", 0755},   {"/srv", 0755},
    };
    for (const auto& d : kDirs)
        KEEL_TRY(tree.put_dir(d.path, d.mode, kOrigin));
    for (const char* name : {"bin", "sbin", "lib", "lib64"})
        KEEL_TRY(tree.put_symlink(std::string("/") + name, std::string("usr/") + name, kOrigin));
    KEEL_TRY(tree.put_symlink("/init", "usr/bin/keel", kOrigin));
    return {};
}

Result<size_t> put_finishing_links(Tree& tree, bool applets) {
    // The kernel runs /sbin/modprobe for what it needs on its own (a file
    // system type on mount, a codepage, a protocol): keel's, unless a package
    // brought one.
    if (!tree.lookup("/usr/sbin/modprobe"))
        KEEL_TRY(tree.put_symlink("/usr/sbin/modprobe", "../bin/keel", "base"));
    const Node* busybox = tree.lookup("/usr/bin/busybox");
    if (!busybox || busybox->kind != Node::Kind::file) return 0;
    if (!tree.lookup("/usr/bin/sh", false))
        KEEL_TRY(tree.put_symlink("/usr/bin/sh", "busybox", "base"));
    if (!applets) return 0;
    std::string binary = KEEL_TRY(Tree::content(*busybox));
    static const std::set<std::string> kSkipped = {"busybox", "init", "linuxrc", "halt",
                                                   "reboot",  ".",    ".."};
    size_t added = 0;
    for (const auto& name : busybox_applets(binary)) {
        if (kSkipped.count(name) || name.find('/') != std::string::npos) continue;
        bool taken = false;
        for (const char* dir : {"/usr/bin/", "/usr/sbin/"})
            taken = taken || tree.lookup(dir + name, false) != nullptr;
        if (taken) continue;
        KEEL_TRY(tree.put_symlink("/usr/bin/" + name, "busybox", "base"));
        ++added;
    }
    return added;
}

}  // namespace keel::image
