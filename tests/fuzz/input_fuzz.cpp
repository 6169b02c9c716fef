// Fuzzer for the evdev parsers: whatever the bytes, no crash. The input_event
// stream gives the same events and drops however it is split, and never more
// events than whole records; an accepted capability bitmap stays within the
// kernel's size and answers for any bit.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "dev/buttons.h"
#include "dev/input_event.h"

using namespace keel::dev;

namespace {

struct Seen {
    std::vector<std::string> events;
    uint64_t drops = 0;
};

Seen read(std::string_view bytes, size_t cut) {
    InputEventReader r;
    Seen s;
    auto fn = [&](const InputEvent& e) { s.events.push_back(encode_input_event(e)); };
    r.feed(bytes.substr(0, cut), fn);
    r.feed(bytes.substr(cut), fn);
    if (r.partial() != bytes.size() % input_event_size()) std::abort();
    s.drops = r.drops();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view buf(reinterpret_cast<const char*>(data), size);

    Seen whole = read(buf, buf.size());
    Seen split = read(buf, size ? data[0] % (size + 1) : 0);
    if (whole.events != split.events || whole.drops != split.drops) std::abort();
    if (whole.events.size() > size / input_event_size()) std::abort();
    for (const auto& e : whole.events)
        if (e.size() != input_event_size()) std::abort();

    for (unsigned word_bits : {32u, 64u}) {
        auto bits = parse_bitmap(buf, word_bits);
        if (!bits) continue;
        if (bits->empty() || bits->size() * 64 > 1024) std::abort();
        for (unsigned b = 0; b < 1100; ++b)
            (void)bitmap_has(*bits, b);
        (void)buttons_in(*bits);
    }
    return 0;
}
