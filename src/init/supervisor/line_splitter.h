// LineSplitter: turns a byte stream (a service's stdout/stderr) into lines, however
// the reads split it. Pure: fed bytes, calls back once per line (without the
// newline; a trailing '\r' is dropped). A line longer than `max_line` is cut into
// pieces of that size so one runaway writer cannot grow memory without bound.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace keel::init {

class LineSplitter {
  public:
    using LineFn = std::function<void(std::string_view line)>;

    explicit LineSplitter(size_t max_line = 4096) : max_line_(max_line) {}

    void feed(std::string_view bytes, const LineFn& fn);
    // End of stream: a last line without a newline is delivered.
    void finish(const LineFn& fn);
    size_t pending() const { return partial_.size(); }

  private:
    size_t max_line_;
    std::string partial_;
};

}  // namespace keel::init
