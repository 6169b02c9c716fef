// LogRing: the last lines a service printed, bounded in bytes; the oldest go first.
// Each line has a sequence number so a reader that also follows live lines
// (`keel svc logs -f`) can tell what it already has.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace keel::init {

class LogRing {
  public:
    struct Line {
        uint64_t seq;
        double time;  // unix seconds
        std::string text;
    };

    explicit LogRing(size_t max_bytes) : max_bytes_(max_bytes) {}

    // Returns the line's sequence number.
    uint64_t append(std::string_view text, double time);
    const std::deque<Line>& lines() const { return lines_; }
    uint64_t next_seq() const { return next_seq_; }
    uint64_t dropped() const { return dropped_; }
    size_t bytes() const { return bytes_; }

  private:
    static constexpr size_t kOverhead = sizeof(Line);
    size_t max_bytes_;
    size_t bytes_ = 0;
    uint64_t next_seq_ = 1;
    uint64_t dropped_ = 0;
    std::deque<Line> lines_;
};

}  // namespace keel::init
