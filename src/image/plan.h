// Plan: what evaluating a system definition yields, before any package is
// fetched. `keel build` turns it into a Tree (packages + host files + kernel
// modules + `files`) and writes the outputs. The definition renders every
// generated file (passwd, group, shadow, hostname, hosts, resolv.conf, service
// configs, scripts) into `files`; the manifest is kept apart because other
// steps add to it (kernel module list, the dev/net sections) before it is
// written to /etc/keel/system.json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/tree.h"

namespace keel::image {

struct HostFile {
    std::string source;  // absolute host path
    std::string dest;    // absolute path in the image
    uint32_t mode = 0;   // 0: the host file's mode
};

// What keel build leaves out of the packages' files (docs/image.md, "Pruning").
struct PruneRules {
    bool enabled = true;            // false: the packages' files as they are, host files unstripped
    std::vector<std::string> keep;  // globs never pruned (dpkg's path-include)
    std::vector<std::string> remove;  // globs pruned besides the defaults (dpkg's path-exclude)
    bool libraries = true;            // package libraries nothing in the image links
    bool strip = true;                // symbols and debug sections of host ELF files
};

struct Plan {
    std::string definition;           // absolute path of the system.lua evaluated
    std::vector<std::string> inputs;  // every file the evaluation read (for incremental rebuilds)
    std::string hostname;
    std::vector<std::string> packages;  // Debian package names, closure not yet resolved
    std::vector<std::string> exclude;   // Debian packages the closure goes without
    PruneRules prune;
    bool busybox_links = true;         // /usr/bin/APPLET -> busybox for the image's busybox
    std::vector<HostFile> host_files;  // copied with their ELF shared-library closure
    Tree files;                        // rendered by the definition and the catalog
    nlohmann::json manifest;           // /etc/keel/system.json (init, dev, net, lua sections)
    std::vector<std::string> kernel_modules;  // as modprobe names them ("usb-storage", "vfat")
};

}  // namespace keel::image
