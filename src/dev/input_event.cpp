#include "dev/input_event.h"

#include <linux/input.h>

#include <cstring>

namespace keel::dev {

namespace {

// KEY_MAX is 0x2ff: no capability bitmap of the kernel is longer than this.
constexpr unsigned kMaxBitmapBits = 1024;

InputEvent decode(const char* p) {
    ::input_event raw;
    std::memcpy(&raw, p, sizeof raw);
    InputEvent e;
    e.sec = static_cast<int64_t>(raw.input_event_sec);
    e.usec = static_cast<int64_t>(raw.input_event_usec);
    e.type = raw.type;
    e.code = raw.code;
    e.value = raw.value;
    return e;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

size_t input_event_size() {
    return sizeof(::input_event);
}

std::string encode_input_event(const InputEvent& e) {
    ::input_event raw{};
    raw.input_event_sec = static_cast<decltype(raw.input_event_sec)>(e.sec);
    raw.input_event_usec = static_cast<decltype(raw.input_event_usec)>(e.usec);
    raw.type = e.type;
    raw.code = e.code;
    raw.value = e.value;
    return std::string(reinterpret_cast<const char*>(&raw), sizeof raw);
}

void InputEventReader::feed(std::string_view bytes,
                            const std::function<void(const InputEvent&)>& fn) {
    const size_t size = sizeof(::input_event);
    auto one = [&](const char* p) {
        InputEvent e = decode(p);
        if (e.type == EV_SYN && e.code == SYN_DROPPED) {
            ++drops_;
            skipping_ = true;
            return;
        }
        if (skipping_) {
            if (e.type == EV_SYN && e.code == SYN_REPORT) skipping_ = false;
            return;
        }
        fn(e);
    };
    if (!partial_.empty()) {
        size_t take = std::min(size - partial_.size(), bytes.size());
        partial_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (partial_.size() < size) return;
        one(partial_.data());
        partial_.clear();
    }
    while (bytes.size() >= size) {
        one(bytes.data());
        bytes.remove_prefix(size);
    }
    partial_.assign(bytes);
}

Result<Bitmap> parse_bitmap(std::string_view text, unsigned word_bits) {
    if (word_bits != 32 && word_bits != 64) return Error("bitmap words must be 32 or 64 bits");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    if (text.empty()) return Error("empty capability bitmap");
    // Words as written: most significant first.
    std::vector<uint64_t> words;
    size_t at = 0;
    while (at <= text.size()) {
        size_t end = text.find(' ', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view w = text.substr(at, end - at);
        const std::string where = "capability bitmap word " + std::to_string(words.size() + 1);
        if (w.empty()) return Error(where + ": empty (two spaces?)");
        if (w.size() > word_bits / 4)
            return Error(where + ": '" + std::string(w.substr(0, 32)) + "' is wider than " +
                         std::to_string(word_bits) + " bits");
        uint64_t v = 0;
        for (char c : w) {
            int d = hex_digit(c);
            if (d < 0) return Error(where + ": '" + std::string(w) + "' is not hexadecimal");
            v = v << 4 | static_cast<uint64_t>(d);
        }
        words.push_back(v);
        if (words.size() * word_bits > kMaxBitmapBits)
            return Error("capability bitmap longer than " + std::to_string(kMaxBitmapBits) +
                         " bits");
        at = end + 1;
    }
    Bitmap bits((words.size() * word_bits + 63) / 64, 0);
    for (size_t i = 0; i < words.size(); ++i) {
        size_t low = (words.size() - 1 - i) * word_bits;  // the bit number of this word's bit 0
        bits[low / 64] |= words[i] << (low % 64);
    }
    return bits;
}

bool bitmap_has(const Bitmap& bits, unsigned bit) {
    return bit / 64 < bits.size() && (bits[bit / 64] >> (bit % 64) & 1) != 0;
}

}  // namespace keel::dev
