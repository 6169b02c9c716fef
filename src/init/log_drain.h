// LogDrain: keel init's own log lines that its stderr (the console, a pipe) did not
// take at once go out when it is writable again, from the event loop: the line
// writer (base/line_writer.h) never waits, and this watch is what empties it.
#pragma once

#include <cstddef>

#include "base/result.h"
#include "loop/fd_watch.h"

namespace keel::init {

class LogDrain {
  public:
    // What waits for the console at most; beyond it lines are dropped and counted.
    static constexpr size_t kCapacity = 64 * 1024;

    // Switches stderr to the line writer (again: the mode may change once /proc is
    // mounted) and watches it from `loop`, which must outlive the drain.
    Status start(loop::EventLoop& loop);
    ~LogDrain();

  private:
    void arm();
    void on_writable();

    loop::EventLoop* loop_ = nullptr;
    loop::FdWatch watch_;
};

}  // namespace keel::init
