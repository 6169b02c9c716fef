// The keel-run request parser: arbitrary bytes, fed whole and split in two at a
// point taken from the input. It must never crash, must consume only what it
// parses, and must parse the same way however the bytes are split.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lua/luad/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t cut = data[0] % (size);
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    keel::luad::RequestParser whole(64 * 1024);
    size_t used = whole.feed(in);
    keel::luad::RequestParser split(64 * 1024);
    cut = cut > in.size() ? in.size() : cut;
    size_t used2 = split.feed(in.substr(0, cut));
    if (split.state() == keel::luad::RequestParser::State::kNeedMore)
        used2 += split.feed(in.substr(cut));
    if (used > in.size() || whole.state() != split.state() || used != used2) __builtin_trap();
    if (whole.state() == keel::luad::RequestParser::State::kDone) {
        // What was parsed encodes back to exactly the bytes consumed.
        if (keel::luad::encode_request(whole.request()) != in.substr(0, used)) __builtin_trap();
    }
    return 0;
}
