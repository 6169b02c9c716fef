// The dynamic-linking facts of an ELF64 file, read from its headers: what
// ld.so would read to load it. A pure function of the bytes (fuzzed: any
// truncation or garbage gives an Error, never a read out of bounds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace keel::image {

struct ElfInfo {
    bool is_elf = false;              // false: not ELF at all (a script, data): nothing else is set
    uint16_t machine = 0;             // e_machine (EM_X86_64...)
    std::string interp;               // PT_INTERP, "" for static files and libraries
    std::vector<std::string> needed;  // DT_NEEDED in order
    std::vector<std::string> rpath;   // DT_RPATH entries (split at ':')
    std::vector<std::string> runpath;  // DT_RUNPATH entries
};

// `what` names the file in errors.
Result<ElfInfo> parse_elf(std::string_view bytes, const std::string& what);

}  // namespace keel::image
