// The evdev protocol, as pure functions over bytes: no devices, no ioctls.
//
// An evdev node (/dev/input/eventN) reads as a stream of `struct input_event`
// records (linux/input.h). The kernel hands out whole records, but the reader
// keeps a record split over two reads, so any chunking gives the same events.
// After SYN_DROPPED (the client's buffer overflowed) the events up to the next
// SYN_REPORT are an incomplete packet: they are skipped, as the evdev
// documentation asks. The capability bitmaps of sysfs
// (/sys/class/input/inputN/capabilities/key) are hex words, most significant
// first, each one `unsigned long` of the kernel wide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace keel::dev {

struct InputEvent {
    int64_t sec = 0, usec = 0;  // the kernel's timestamp (CLOCK_REALTIME unless changed)
    uint16_t type = 0, code = 0;
    int32_t value = 0;
};

// Bytes of one record on this machine (24 on 64-bit).
size_t input_event_size();
// One record's bytes, as the kernel writes them (tests and the fuzzer build streams).
std::string encode_input_event(const InputEvent& e);

class InputEventReader {
  public:
    // Calls `fn` for every complete event of the stream so far that is not part
    // of a dropped packet; a trailing partial record waits for the next call.
    void feed(std::string_view bytes, const std::function<void(const InputEvent&)>& fn);
    // SYN_DROPPED records seen: events were lost.
    uint64_t drops() const { return drops_; }
    size_t partial() const { return partial_.size(); }

  private:
    std::string partial_;
    bool skipping_ = false;  // after SYN_DROPPED, until SYN_REPORT
    uint64_t drops_ = 0;
};

// Bit i of a bitmap is word i/64, bit i%64.
using Bitmap = std::vector<uint64_t>;

// Parses a sysfs capability bitmap ("10000000000000 0\n"; "0" when empty).
// `word_bits` is the kernel's unsigned long (64, or 32 on 32-bit kernels).
// Errors name the offending word.
Result<Bitmap> parse_bitmap(std::string_view text, unsigned word_bits = 64);
bool bitmap_has(const Bitmap& bits, unsigned bit);

}  // namespace keel::dev
