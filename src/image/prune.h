// Pruning: what packages install that an appliance never reads, left out of
// the image as Buildroot's target-finalize, mkosi's CleanPackageMetadata and
// dpkg's path-exclude do (documentation, translations, other init systems'
// files, glibc's gconv modules), package libraries nothing in the image links
// (Debian-installer's mklibs), and the symbols of host ELF files (strip).
// Only packages' files are pruned; host files are only stripped; the
// definition's own files are never touched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/plan.h"
#include "image/tree.h"
#include "image/writers.h"

namespace keel::image {

// Paths pruned by default (globs, matched as dpkg matches path-exclude: fnmatch(3)
// on the whole path, `*` crossing `/`; a match on a directory covers what is below).
const std::vector<std::string>& default_prune_patterns();

struct PruneResult {
    // Per rule in order (the pattern, "unused libraries", "symbols and debug
    // sections (host files)"): files removed or stripped, bytes saved.
    std::vector<SizeLine> lines;
    std::vector<std::string> warnings;  // libraries an ELF file needs that the image lacks
};

// Applies `rules` to `tree` (a no-op when !rules.enabled).
Result<PruneResult> prune_tree(Tree& tree, const PruneRules& rules);

}  // namespace keel::image
