// LineWriter over real pipes, sockets, terminals and files nobody reads: it never
// blocks, drops whole lines and counts them, keeps every line it lets through whole
// and in order, and leaves the shared description's flags alone.
#include "base/line_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include "base/sys.h"
#include "support/skip.h"

namespace keel {
namespace {

using namespace std::chrono_literals;

std::string numbered(int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "test: line %06d of the flood\n", i);
    return buf;
}

// Everything readable from `fd` now (non-blocking reads until EAGAIN).
std::string drain(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        auto n = sys::read(fd, buf, sizeof buf);
        if (!n || *n == 0) return out;
        out.append(buf, *n);
    }
}

// Writes `count` numbered lines on another thread; false if that did not finish
// within 10 s (a blocking writer: then `reader` is read until it can end).
bool writes_without_blocking(LineWriter& w, int count, int reader) {
    auto done = std::async(std::launch::async, [&] {
        for (int i = 0; i < count; ++i)
            w.write_line(numbered(i));
    });
    if (done.wait_for(10s) == std::future_status::ready) return true;
    (void)sys::set_nonblocking(reader, true);
    while (done.wait_for(10ms) != std::future_status::ready)
        (void)drain(reader);
    return false;
}

// Reads until the writer has nothing waiting and the fd is empty.
std::string read_until_flushed(LineWriter& w, int fd) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        out += drain(fd);
        bool idle = w.flush();
        std::string more = drain(fd);
        out += more;
        if (idle && more.empty()) return out;
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "the writer never emptied";
            return out;
        }
    }
}

// The numbered lines are whole, in order, and `dropped` of them missing, then the
// note that says so.
void expect_whole_lines(const std::string& out, int count, uint64_t dropped) {
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < out.size();) {
        size_t nl = out.find('\n', pos);
        ASSERT_NE(nl, std::string::npos) << "a cut line at the end: " << out.substr(pos);
        lines.push_back(out.substr(pos, nl + 1 - pos));
        pos = nl + 1;
    }
    ASSERT_FALSE(lines.empty());
    std::string note = "test: warning: " + std::to_string(dropped) +
                       " log lines dropped: the output was not being read\n";
    EXPECT_EQ(lines.back(), note);
    lines.pop_back();
    int last = -1;
    for (const auto& l : lines) {
        int i = -1;
        ASSERT_EQ(std::sscanf(l.c_str(), "test: line %d of the flood\n", &i), 1) << l;
        EXPECT_EQ(l, numbered(i));
        EXPECT_GT(i, last) << "out of order";
        last = i;
    }
    EXPECT_EQ(lines.size() + dropped, static_cast<size_t>(count));
}

class IgnoreSigpipe : public testing::Test {
  protected:
    // As keel init does: a reader that went away must not kill the writer.
    void SetUp() override { old_ = ::signal(SIGPIPE, SIG_IGN); }
    void TearDown() override { ::signal(SIGPIPE, old_); }
    sighandler_t old_;
};
using LineWriterTest = IgnoreSigpipe;

TEST_F(LineWriterTest, APipeNobodyReadsNeverBlocksAndDropsWholeLines) {
    auto p = sys::pipe();
    ASSERT_TRUE(p);
    auto [r, wr] = std::move(*p);
    auto w = LineWriter::for_fd(wr.get(), 16 * 1024, "test");
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_EQ(w->mode(), LineWriter::Mode::kNonBlocking);
    int pending_calls = 0;
    w->on_pending([&] { ++pending_calls; });
    // 200 KiB of lines into a 64 KiB pipe and a 16 KiB buffer.
    constexpr int kLines = 6000;
    ASSERT_TRUE(writes_without_blocking(*w, kLines, r.get()));
    EXPECT_GT(w->dropped_lines(), 0u);
    EXPECT_LE(w->buffered_bytes(), 16u * 1024);
    EXPECT_GT(w->buffered_bytes(), 15u * 1024);
    EXPECT_EQ(pending_calls, 1);  // once, when lines started to wait
    // The description the pipe's other users share stayed blocking.
    EXPECT_EQ(::fcntl(wr.get(), F_GETFL) & O_NONBLOCK, 0);

    // The reader comes back: what waited goes out, then how many were dropped.
    ASSERT_TRUE(sys::set_nonblocking(r.get(), true));
    uint64_t dropped = w->dropped_lines();
    std::string out = read_until_flushed(*w, r.get());
    expect_whole_lines(out, kLines, dropped);
    EXPECT_EQ(w->buffered_bytes(), 0u);
    // Afterwards lines go straight through again.
    w->write_line("test: after\n");
    EXPECT_EQ(drain(r.get()), "test: after\n");
    EXPECT_EQ(w->dropped_lines(), dropped);  // the count is a total
}

TEST_F(LineWriterTest, AReaderThatWentAwayCostsLinesNotAHang) {
    auto p = sys::pipe();
    ASSERT_TRUE(p);
    auto [r, wr] = std::move(*p);
    auto w = LineWriter::for_fd(wr.get(), 4096, "test");
    ASSERT_TRUE(w);
    ASSERT_TRUE(writes_without_blocking(*w, 5000, r.get()));  // fills pipe and buffer
    int in_pipe = 0;
    ASSERT_EQ(::ioctl(r.get(), FIONREAD, &in_pipe), 0);
    r.reset();                // the reader is gone: EPIPE
    EXPECT_TRUE(w->flush());  // what waited is dropped, not retried forever
    EXPECT_EQ(w->buffered_bytes(), 0u);
    uint64_t dropped = w->dropped_lines();
    EXPECT_EQ(dropped, 5000u - in_pipe / numbered(0).size());  // all but what reached the pipe
    w->write_line("test: more\n");
    EXPECT_EQ(w->dropped_lines(), dropped + 1);
}

TEST_F(LineWriterTest, ASocketIsSentToWithoutBlocking) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    auto w = LineWriter::for_fd(a.get(), 8192, "test");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->mode(), LineWriter::Mode::kSocket);
    constexpr int kLines = 40000;  // well past the socket buffers
    ASSERT_TRUE(writes_without_blocking(*w, kLines, b.get()));
    EXPECT_GT(w->dropped_lines(), 0u);
    EXPECT_EQ(::fcntl(a.get(), F_GETFL) & O_NONBLOCK, 0);
    ASSERT_TRUE(sys::set_nonblocking(b.get(), true));
    uint64_t dropped = w->dropped_lines();
    expect_whole_lines(read_until_flushed(*w, b.get()), kLines, dropped);
}

TEST_F(LineWriterTest, ATerminalNobodyReadsKeepsCutLinesWhole) {
    int master = -1, slave = -1;
    if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0)
        KEEL_SKIP("pty", std::string("no pseudo-terminals here (openpty: ") + std::strerror(errno) + ")");
    Fd m(master), s(slave);
    termios t{};
    ASSERT_EQ(::tcgetattr(s.get(), &t), 0);
    ::cfmakeraw(&t);  // bytes as written: no \n -> \r\n
    ASSERT_EQ(::tcsetattr(s.get(), TCSANOW, &t), 0);
    auto w = LineWriter::for_fd(s.get(), 8192, "test");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->mode(), LineWriter::Mode::kNonBlocking);  // its own description of the tty
    constexpr int kLines = 20000;
    ASSERT_TRUE(writes_without_blocking(*w, kLines, m.get()));
    EXPECT_GT(w->dropped_lines(), 0u);
    EXPECT_EQ(::fcntl(s.get(), F_GETFL) & O_NONBLOCK, 0);
    ASSERT_TRUE(sys::set_nonblocking(m.get(), true));
    uint64_t dropped = w->dropped_lines();
    expect_whole_lines(read_until_flushed(*w, m.get()), kLines, dropped);
}

TEST_F(LineWriterTest, WithoutProcPollFirstStillNeverBlocks) {
    auto p = sys::pipe();
    ASSERT_TRUE(p);
    auto [r, wr] = std::move(*p);
    // What for_fd picks when /proc is not mounted yet (PID 1's first lines).
    LineWriter w(Fd(::fcntl(wr.get(), F_DUPFD_CLOEXEC, 3)), LineWriter::Mode::kPollFirst, 8192,
                 "test");
    constexpr int kLines = 5000;
    ASSERT_TRUE(writes_without_blocking(w, kLines, r.get()));
    EXPECT_GT(w.dropped_lines(), 0u);
    ASSERT_TRUE(sys::set_nonblocking(r.get(), true));
    uint64_t dropped = w.dropped_lines();
    expect_whole_lines(read_until_flushed(w, r.get()), kLines, dropped);
}

TEST_F(LineWriterTest, ARegularFileTakesEveryLine) {
    char path[] = "/tmp/keel-line-writer-XXXXXX";
    Fd f(::mkstemp(path));
    ASSERT_TRUE(f);
    ::unlink(path);
    auto w = LineWriter::for_fd(f.get(), 1024, "test");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->mode(), LineWriter::Mode::kDirect);
    for (int i = 0; i < 1000; ++i)
        w->write_line(numbered(i));
    EXPECT_EQ(w->dropped_lines(), 0u);
    EXPECT_FALSE(w->pending());
    EXPECT_EQ(::lseek(f.get(), 0, SEEK_CUR), static_cast<off_t>(1000 * numbered(0).size()));
}

TEST_F(LineWriterTest, TakeOverKeepsWhatWaitedAndTheCount) {
    auto p = sys::pipe();
    ASSERT_TRUE(p);
    auto [r, wr] = std::move(*p);
    LineWriter first(Fd(::fcntl(wr.get(), F_DUPFD_CLOEXEC, 3)), LineWriter::Mode::kPollFirst, 8192,
                     "test");
    constexpr int kLines = 4000;
    ASSERT_TRUE(writes_without_blocking(first, kLines, r.get()));
    uint64_t dropped = first.dropped_lines();
    size_t waiting = first.buffered_bytes();
    ASSERT_GT(dropped, 0u);
    auto second = LineWriter::for_fd(wr.get(), 8192, "test");
    ASSERT_TRUE(second);
    second->take_over(first);
    EXPECT_EQ(second->dropped_lines(), dropped);
    EXPECT_EQ(second->buffered_bytes(), waiting);
    EXPECT_EQ(first.buffered_bytes(), 0u);
    ASSERT_TRUE(sys::set_nonblocking(r.get(), true));
    expect_whole_lines(read_until_flushed(*second, r.get()), kLines, dropped);
}

TEST_F(LineWriterTest, FlushWithinWaitsForASlowReaderButNotForever) {
    auto p = sys::pipe();
    ASSERT_TRUE(p);
    auto [r, wr] = std::move(*p);
    auto w = LineWriter::for_fd(wr.get(), 16384, "test");
    ASSERT_TRUE(w);
    ASSERT_TRUE(writes_without_blocking(*w, 2500, r.get()));  // about 72 KiB: 8 KiB wait
    ASSERT_TRUE(w->pending());
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(w->flush_within(200ms));  // nobody reads
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
    std::thread reader([&] {
        std::this_thread::sleep_for(100ms);  // a slow reader, then everything
        ASSERT_TRUE(sys::set_nonblocking(r.get(), true));
        (void)drain(r.get());
    });
    EXPECT_TRUE(w->flush_within(5000ms));
    reader.join();
}

}  // namespace
}  // namespace keel
