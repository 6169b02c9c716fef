// ELF bytes of host files: the headers keel build reads for the shared-library
// closure, the stripping it does, and the busybox applet table it reads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "image/busybox_applets.h"
#include "image/elf_file.h"
#include "image/elf_strip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto r = keel::image::parse_elf(bytes, "fuzz");
    if (r.ok()) (void)r->needed.size();
    auto s = keel::image::strip_elf(bytes, "fuzz");
    // Stripping keeps the loaded bytes: what parsed before parses after.
    if (s.ok() && s->has_value()) {
        if (r.ok() && !keel::image::parse_elf(**s, "stripped").ok()) __builtin_trap();
        (void)keel::image::strip_elf(**s, "stripped");
    }
    (void)keel::image::busybox_applets(bytes);
    return 0;
}
