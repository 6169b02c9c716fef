// keel build: a system definition to bootable outputs.
//   evaluate system.lua -> Plan -> system.lock (resolved once, then pinned)
//   -> .debs fetched and checked -> Tree (base skeleton, packages, host files
//   with their libraries, kernel modules, the definition's files, manifest)
//   -> OUT/initramfs.img, OUT/vmlinuz, OUT/system.json, OUT/size.txt [, OUT/rootfs/]
// A build whose Tree digest equals the last one's leaves the outputs alone.
#pragma once

#include <string>

#include "base/result.h"
#include "image/definition.h"
#include "image/progress.h"
#include "image/writers.h"

namespace keel::image {

struct BuildOptions {
    std::string definition;    // system.lua
    std::string out_dir;       // created when missing
    std::string cache_dir;     // packages and unpacked files; default_cache_dir() when empty
    bool update_lock = false;  // resolve again and rewrite system.lock
    bool rootfs = false;       // also write OUT/rootfs/ (what keel run boots)
    Compression compression = Compression::zstd;
    DefinitionOptions definition_options;
};

struct BuildResult {
    std::string initramfs;    // OUT/initramfs.img
    std::string kernel;       // OUT/vmlinuz
    std::string rootfs;       // OUT/rootfs or ""
    std::string lock;         // the system.lock used
    std::string digest;       // of the Tree and options: equal digests, equal outputs
    bool up_to_date = false;  // nothing was written: the last build's outputs stand
    SizeReport size;
};

Result<BuildResult> build_system(const BuildOptions& options, Progress& progress);

}  // namespace keel::image
