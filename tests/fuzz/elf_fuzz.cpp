// ELF headers of host files (keel build's shared-library closure).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "image/elf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = keel::image::parse_elf(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    if (r.ok()) (void)r->needed.size();
    return 0;
}
