#include "base/line_writer.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/sys.h"
#include "base/sys_fs.h"

namespace keel {

LineWriter::LineWriter(Fd fd, Mode mode, size_t capacity, std::string program)
    : fd_(std::move(fd)), mode_(mode), capacity_(capacity), program_(std::move(program)) {}

Result<LineWriter> LineWriter::for_fd(int fd, size_t capacity, std::string program) {
    auto st = KEEL_TRY(sys::stat_fd(fd));
    Mode mode = Mode::kDirect;
    Fd own;
    if (S_ISSOCK(st.st_mode)) {
        mode = Mode::kSocket;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        // A new open file description of the same pipe or terminal: its O_NONBLOCK
        // is ours alone. O_NOCTTY: PID 1 must not make the console its terminal.
        auto r = sys::open("/proc/self/fd/" + std::to_string(fd),
                           O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (r) {
            own = std::move(r).value();
            mode = Mode::kNonBlocking;
        } else {
            mode = Mode::kPollFirst;
        }
    }
    if (!own) {
        int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (d < 0) return errno_error("cannot duplicate fd " + std::to_string(fd));
        own.reset(d);
    }
    return LineWriter(std::move(own), mode, capacity, std::move(program));
}

long LineWriter::write_some(const char* p, size_t len) {
    Result<size_t> n = size_t{0};
    switch (mode_) {
        case Mode::kSocket:
            n = sys::send(fd_.get(), p, len, MSG_DONTWAIT);
            break;
        case Mode::kPollFirst: {
            // With room for one more write (POLLOUT), at most PIPE_BUF bytes go into a
            // pipe, or a terminal's buffer, without the writer sleeping.
            auto w = sys::wait_writable(fd_.get(), 0);
            if (w && !*w) return 0;
            n = sys::write(fd_.get(), p, std::min<size_t>(len, PIPE_BUF));
            break;
        }
        case Mode::kNonBlocking:
        case Mode::kDirect:
            n = sys::write(fd_.get(), p, len);
            break;
    }
    if (n) return static_cast<long>(*n);
    if (n.error().code() == EAGAIN || n.error().code() == EWOULDBLOCK) return 0;
    return -1;  // EPIPE, EIO...: nobody will read these bytes
}

void LineWriter::append(std::string_view bytes) {
    if (!pending()) {
        buf_.clear();
        head_ = 0;
    } else if (head_ > capacity_) {
        buf_.erase(0, head_);  // the written head, once it outweighs what waits
        head_ = 0;
    }
    bool was_idle = !pending();
    buf_.append(bytes);
    if (was_idle && on_pending_) on_pending_();
}

void LineWriter::write_line(std::string_view line) {
    if (pending()) flush();  // keeps the order; the fd may have room again
    if (pending()) {
        if (buffered_bytes() + line.size() > capacity_) {
            ++dropped_lines_;
            ++unreported_;
            return;
        }
        return append(line);
    }
    long n = write_some(line.data(), line.size());
    if (n < 0) {
        ++dropped_lines_;
        ++unreported_;
        return;
    }
    // A line cut by a terminal's short write keeps its rest: the buffer is empty,
    // and a log line is far smaller than any capacity.
    if (static_cast<size_t>(n) < line.size()) append(line.substr(static_cast<size_t>(n)));
    if (!pending() && unreported_ > 0) report_drops();
}

void LineWriter::drop_buffer() {
    auto lines = std::count(buf_.begin() + static_cast<long>(head_), buf_.end(), '\n');
    dropped_lines_ += static_cast<uint64_t>(lines);
    unreported_ += static_cast<uint64_t>(lines);
    buf_.clear();
    head_ = 0;
}

bool LineWriter::flush() {
    while (pending()) {
        // Whole lines of at most PIPE_BUF bytes per write: a pipe takes such a write
        // entirely or not at all, so no other writer's line lands inside one of ours.
        std::string_view rest(buf_.data() + head_, buf_.size() - head_);
        size_t len = std::min<size_t>(rest.size(), PIPE_BUF);
        if (len < rest.size()) {
            size_t nl = rest.rfind('\n', len - 1);
            if (nl != std::string_view::npos) len = nl + 1;
        }
        long n = write_some(rest.data(), len);
        if (n < 0) {
            drop_buffer();
            break;
        }
        if (n == 0) return false;
        head_ += static_cast<size_t>(n);
    }
    buf_.clear();
    head_ = 0;
    if (unreported_ > 0) report_drops();
    return !pending();
}

bool LineWriter::flush_within(std::chrono::milliseconds timeout) {
    auto deadline = sys::monotonic_now() + timeout;
    while (!flush()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - sys::monotonic_now());
        if (left.count() <= 0) return false;
        auto w = sys::wait_writable(fd_.get(), static_cast<int>(left.count()));
        if (!w) return false;
    }
    return true;
}

void LineWriter::report_drops() {
    std::string note = program_ + ": warning: " + std::to_string(unreported_) +
                       " log lines dropped: the output was not being read\n";
    long n = write_some(note.data(), note.size());
    if (n < 0) return;  // still nobody there: said once someone is
    unreported_ = 0;
    if (static_cast<size_t>(n) < note.size()) append(std::string_view(note).substr(n));
}

void LineWriter::take_over(LineWriter& from) {
    dropped_lines_ += from.dropped_lines_;
    unreported_ += from.unreported_;
    if (from.pending()) append(std::string_view(from.buf_).substr(from.head_));
    from.buf_.clear();
    from.head_ = 0;
    from.dropped_lines_ = from.unreported_ = 0;
}

}  // namespace keel
