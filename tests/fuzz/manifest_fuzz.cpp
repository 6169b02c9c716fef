// libFuzzer target: the init part of the manifest (whole documents and the
// services section) and the output line splitter, fed arbitrary bytes. Neither may
// crash, and the splitter must never deliver a line longer than its limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "init/manifest/manifest.h"
#include "init/supervisor/line_splitter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto m = keel::init::parse_manifest(text, "fuzz.json");
    if (m) {
        for (const auto& s : m->services)
            for (const auto& d : s.depends)  // dependencies come first
                if (d == s.name) std::abort();
    }
    (void)keel::init::parse_services_section(text, "fuzz.json");

    keel::init::LineSplitter splitter(64);
    auto check = [](std::string_view line) {
        if (line.size() > 64) std::abort();
    };
    size_t cut = size ? data[0] % (size + 1) : 0;
    splitter.feed(text.substr(0, cut), check);
    splitter.feed(text.substr(cut), check);
    splitter.finish(check);
    return 0;
}
