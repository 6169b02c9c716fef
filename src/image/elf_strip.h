// Host ELF files as an image carries them: without the symbol table and debug
// sections (strip --strip-all, and Buildroot's --remove-section=.comment), so
// keel and `host` files weigh what the device runs. A pure function of the bytes
// (fuzzed with the ELF parser): no binutils needed on the build host.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::image {

// The stripped file, or nullopt when there is nothing to remove or the file is
// not one this can strip safely (not ELF64 little-endian, no section headers,
// extended section numbering, an allocated section outside the loaded bytes, or
// a kept allocated section linking to a removed one): then the file is used as
// it is. What is removed: non-allocated sections that are symbol tables (and the
// string tables only they use), .debug*/.zdebug*, .comment, .gnu_debuglink and
// .gnu_debugaltlink. The loaded bytes keep their offsets; kept non-allocated
// sections after them are moved up, and .shstrtab is rebuilt. Malformed headers
// are an Error naming `what`.
Result<std::optional<std::string>> strip_elf(std::string_view bytes, const std::string& what);

}  // namespace keel::image
