// Host files in an image with everything they need to run: the ELF
// interpreter and the DT_NEEDED libraries, searched through DT_RUNPATH/RPATH,
// the host's ld.so.conf dirs and the default dirs, read from the ELF headers
// (no ldd, which would run the file).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "image/plan.h"
#include "image/tree.h"

namespace keel::image {

// Puts `file` into `tree` at file.dest and every library it needs, recursively,
// at the path it has on the host (origin "host"). Non-ELF files are copied alone.
Status add_with_closure(Tree& tree, const HostFile& file);

// The shared-library paths `path` needs (transitively), resolved on this host.
Result<std::vector<std::string>> elf_closure(const std::string& path);

}  // namespace keel::image
