// Host files in an image with everything they need to run: the ELF
// interpreter and the DT_NEEDED libraries, searched through DT_RUNPATH/RPATH,
// the host's ld.so.conf dirs and the default dirs, read from the ELF headers
// (no ldd, which would run the file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/plan.h"
#include "image/tree.h"

namespace keel::image {

// Debian's multiarch triplet for an ELF machine ("x86_64-linux-gnu"), or nullptr.
const char* multiarch(uint16_t machine);
// The dirs ld.so searches by itself (no ld.so.conf, no cache): /lib/TRIPLET,
// /usr/lib/TRIPLET, /lib64, /usr/lib64, /lib, /usr/lib.
std::vector<std::string> builtin_library_dirs(uint16_t machine);

// Where ld.so would find `soname` on this host for `machine` (ld.so.conf dirs, then
// the built-in ones): for libraries a program dlopen()s.
Result<std::string> find_host_library(const std::string& soname, uint16_t machine);

// Puts `file` into `tree` at file.dest and every library it needs, recursively,
// at the path it has on the host (origin "host"). Non-ELF files are copied alone.
Status add_with_closure(Tree& tree, const HostFile& file);

// The shared-library paths `path` needs (transitively), resolved on this host.
Result<std::vector<std::string>> elf_closure(const std::string& path);

}  // namespace keel::image
