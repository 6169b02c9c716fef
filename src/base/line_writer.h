// LineWriter: whole lines to an fd that may stop being read (a serial console
// nobody drains, a pipe nobody reads) without ever blocking the writer. What the
// fd does not take at once waits in a buffer of at most `capacity` bytes; a line
// that does not fit there is dropped and counted, never waited for. keel init
// (PID 1) logs through one: a PID 1 stuck in write(2) reaps nothing and answers
// nobody.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace keel {

class LineWriter {
  public:
    // How lines reach the fd without blocking, by what it is.
    enum class Mode {
        kNonBlocking,  // a description of our own with O_NONBLOCK (pipes, FIFOs, terminals)
        kSocket,       // send(MSG_DONTWAIT): no flag changed on a description others share
        kPollFirst,    // poll(POLLOUT) first, then at most PIPE_BUF bytes of whole lines
        kDirect,       // regular files: write(2) never waits for a reader
    };

    // Over `fd` (owned; see for_fd for the mode that suits it). `program` names the
    // writer in the line that reports drops ("keel init").
    LineWriter(Fd fd, Mode mode, size_t capacity, std::string program);
    // A writer for what `fd` is: a pipe, FIFO or terminal is reopened through
    // /proc/self/fd (O_NONBLOCK on the shared description would also change it for
    // every process sharing it: the emergency shell reading the console, the parent's
    // terminal); without /proc it falls back to kPollFirst.
    static Result<LineWriter> for_fd(int fd, size_t capacity, std::string program);

    // `line` must end with '\n'. Goes out at once when the fd takes it (one write per
    // line, so lines from other processes do not interleave with it); else waits in
    // the buffer, or is dropped when the buffer has no room for all of it.
    void write_line(std::string_view line);
    // Writes what the fd takes now; true once nothing waits. When lines were dropped,
    // the buffer's emptying is followed by a line saying how many.
    bool flush();
    // flush(), waiting up to `timeout` for the fd to take everything (a program's
    // last lines before it exits).
    bool flush_within(std::chrono::milliseconds timeout);

    bool pending() const { return head_ < buf_.size(); }
    size_t buffered_bytes() const { return buf_.size() - head_; }
    uint64_t dropped_lines() const { return dropped_lines_; }
    int fd() const { return fd_.get(); }
    Mode mode() const { return mode_; }
    // Called each time lines start waiting (the buffer was empty): arm a watch for
    // writability then, and call flush() when the fd is writable.
    void on_pending(std::function<void()> fn) { on_pending_ = std::move(fn); }
    // Moves what `from` holds (waiting lines, counts) behind this writer's own.
    void take_over(LineWriter& from);

  private:
    // One write of at most `len` bytes: bytes written, 0 when the fd is full, -1 on
    // an error that will not go away (the reader is gone: EPIPE).
    long write_some(const char* p, size_t len);
    void append(std::string_view bytes);
    void drop_buffer();
    void report_drops();

    Fd fd_;
    Mode mode_;
    size_t capacity_;
    std::string program_;
    std::string buf_;  // waiting lines from head_ on
    size_t head_ = 0;
    uint64_t dropped_lines_ = 0;
    uint64_t unreported_ = 0;  // dropped since the last "N lines dropped" line
    std::function<void()> on_pending_;
};

}  // namespace keel
