// LineBuffer: splits a byte stream (a child's output pipe) into lines, holding at
// most `max` bytes of an unfinished line; longer lines are cut there. Pure.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace keel::net {

class LineBuffer {
  public:
    explicit LineBuffer(size_t max = 16 * 1024) : max_(max) {}
    // Calls `line` for each complete line (without the newline).
    void feed(std::string_view data, const std::function<void(std::string_view)>& line);
    // The unfinished rest, at end of stream.
    void finish(const std::function<void(std::string_view)>& line);

  private:
    std::string partial_;
    size_t max_;
};

}  // namespace keel::net
