// TerminalProgress: one line per step into a file or pipe; on a terminal, one
// line per step rewritten in place with the percentage.
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "image/terminal_progress.h"

namespace keel::image {
namespace {

std::string contents(FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        s.append(buf, n);
    return s;
}

TEST(TerminalProgress, OneLinePerStepWhenNotATerminal) {
    FILE* f = std::tmpfile();
    {
        TerminalProgress p(f);
        p.step("resolving 3 packages");
        p.advance(1, 3);
        p.advance(3, 3);
        p.note("kept 3 cached packages");
        p.step("writing initramfs");
        p.advance(100, 200);
    }
    EXPECT_EQ(contents(f), "resolving 3 packages\nkept 3 cached packages\nwriting initramfs\n");
    std::fclose(f);
}

TEST(TerminalProgress, RewritesItsLineOnATerminal) {
    int master = -1, slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    FILE* f = ::fdopen(slave, "w");
    {
        TerminalProgress p(f);
        p.step("writing initramfs");
        p.advance(3 << 20, 4 << 20);
        p.step("done");
    }
    std::fclose(f);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(master, buf, sizeof buf)) > 0) {
        out.append(buf, n);
        if (out.find("done") != std::string::npos) break;
    }
    ::close(master);
    EXPECT_NE(out.find("\r\033[Kwriting initramfs   75%  3.0 MiB / 4.0 MiB"), std::string::npos)
        << out;
    EXPECT_NE(out.find("done"), std::string::npos);
}

}  // namespace
}  // namespace keel::image
