// Fuzzer for the QMP stream reader: whatever QEMU (or anything on its socket)
// sends, no crash; every message returned is a JSON object; and splitting the
// stream anywhere yields the same messages as feeding it whole.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "image/qmp_client.h"

using keel::image::QmpReader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view buf(reinterpret_cast<const char*>(data), size);
    QmpReader whole;
    auto all = whole.feed(buf);
    if (all)
        for (const auto& m : *all)
            if (!m.is_object()) std::abort();
    size_t cut = size ? data[0] % (size + 1) : 0;
    QmpReader split;
    auto a = split.feed(buf.substr(0, cut));
    if (!a) return 0;  // an error in the first part: the whole stream has it too
    auto b = split.feed(buf.substr(cut));
    if (static_cast<bool>(b) != static_cast<bool>(all)) std::abort();
    if (b && a->size() + b->size() != all->size()) std::abort();
    return 0;
}
