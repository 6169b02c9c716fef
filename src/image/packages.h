// Debian packages for an image: the dependency closure resolved by apt as if
// nothing were installed (empty dpkg status, own lists and cache dirs, as
// mmdebstrap does), pinned in system.lock (name, version, sha256), fetched into
// a cache and checked, and unpacked into a Tree without maintainer scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/progress.h"
#include "image/tree.h"

namespace keel::image {

// $KEEL_CACHE, else $XDG_CACHE_HOME/keel, else ~/.cache/keel: shared by every
// build (and test) on this machine so packages are downloaded once.
std::string default_cache_dir();

struct PackageSource {
    std::string cache_dir;  // apt state, lists and downloaded .debs live below it
    std::string arch = "amd64";
    std::string sources_list;  // sources.list(5) or deb822 text; "" = the host's apt sources
};

struct LockedPackage {
    std::string name;
    std::string version;
    std::string arch;
    std::string sha256;
    uint64_t size = 0;
    std::string filename;  // pool path in the archive (pool/main/b/busybox/...deb)
};
using Lock = std::vector<LockedPackage>;  // sorted by name

// The closure of `names` (Depends and Pre-Depends; not Recommends), nothing assumed installed.
// `exclude` names packages the image goes without: apt counts them as installed (a
// status file of their own, as if dpkg had them), so neither they nor what only they
// depend on enter the closure.
Result<Lock> resolve_packages(const std::vector<std::string>& names, const PackageSource& source,
                              Progress& progress, const std::vector<std::string>& exclude = {});

// system.lock: JSON, one object per package, stable order and formatting, and the
// exclusions the closure was resolved with.
struct LockFile {
    Lock packages;
    std::vector<std::string> exclude;  // sorted
};
Result<LockFile> read_lock(const std::string& path);
Status write_lock(const std::string& path, const LockFile& lock);
// Every locked .deb in the cache with its sha256 checked (downloaded when missing);
// returns their paths in lock order.
Result<std::vector<std::string>> fetch_packages(const Lock& lock, const PackageSource& source,
                                                Progress& progress);
// Unpacks data.tar.* of a .deb into `tree` (origin "pkg:NAME"); no maintainer scripts.
// File content is unpacked once, beside the .deb (NAME_VERSION_ARCH.unpacked/),
// and the tree's file nodes point at it, so extracting again is cheap.
Status extract_deb(const std::string& deb_path, Tree& tree, const std::string& origin);

}  // namespace keel::image
