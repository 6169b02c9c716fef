// Output capture: lines split at every offset, the bounded ring, rotated files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "base/sys.h"
#include "init/supervisor/line_splitter.h"
#include "init/supervisor/log_file.h"
#include "init/supervisor/log_ring.h"

namespace keel::init {
namespace {

std::vector<std::string> split(const std::vector<std::string_view>& chunks, size_t max = 4096,
                               bool finish = true) {
    LineSplitter s(max);
    std::vector<std::string> out;
    auto fn = [&](std::string_view l) { out.emplace_back(l); };
    for (auto c : chunks)
        s.feed(c, fn);
    if (finish) s.finish(fn);
    return out;
}

TEST(LineSplitter, EverySplitGivesTheSameLines) {
    const std::string text = "first\r\nsecond\n\nthird line\nlast";
    const std::vector<std::string> want = {"first", "second", "", "third line", "last"};
    EXPECT_EQ(split({text}), want);
    for (size_t i = 0; i <= text.size(); ++i)
        for (size_t j = i; j <= text.size(); ++j) {
            std::string_view v(text);
            EXPECT_EQ(split({v.substr(0, i), v.substr(i, j - i), v.substr(j)}), want)
                << i << "," << j;
        }
}

TEST(LineSplitter, LongLinesAreCut) {
    EXPECT_EQ(split({"abcdefghij\n"}, 4), (std::vector<std::string>{"abcd", "efgh", "ij"}));
    EXPECT_EQ(split({"ab", "cdef", "gh\n"}, 4), (std::vector<std::string>{"abcd", "efgh", ""}));
    EXPECT_EQ(split({"no newline"}, 4096, false), std::vector<std::string>{});
}

TEST(LogRing, BoundedWithSequenceNumbers) {
    LogRing ring(3 * (sizeof(LogRing::Line) + 10));
    for (int i = 1; i <= 10; ++i)
        EXPECT_EQ(ring.append("line " + std::to_string(i) + "...", 0), uint64_t(i));
    ASSERT_EQ(ring.lines().size(), 3u);
    EXPECT_EQ(ring.lines().front().text, "line 8...");
    EXPECT_EQ(ring.lines().back().seq, 10u);
    EXPECT_EQ(ring.next_seq(), 11u);
    EXPECT_EQ(ring.dropped(), 7u);
    ring.append(std::string(100000, 'x'), 0);  // a huge line is cut to the ring, not refused
    EXPECT_EQ(ring.lines().size(), 1u);
    EXPECT_LE(ring.bytes(), 3 * (sizeof(LogRing::Line) + 10));
}

TEST(LogFile, RotatesBySize) {
    char tmpl[] = "/tmp/keel-logfile-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    std::string dir = tmpl, path = dir + "/svc.log";
    {
        LogFile f(path, 4096, 2);
        std::string line(1000, 'a');
        for (int i = 0; i < 13; ++i)
            ASSERT_TRUE(f.append(line + std::to_string(i % 10)));
    }
    auto cur = sys::read_file(path), one = sys::read_file(path + ".1"),
         two = sys::read_file(path + ".2");
    ASSERT_TRUE(cur && one && two);
    EXPECT_FALSE(sys::read_file(path + ".3"));
    EXPECT_LE(cur->size(), 4096u);
    EXPECT_EQ(one->size(), 4 * 1002u);
    EXPECT_NE(cur->find(std::string(1000, 'a') + "2\n"),
              std::string::npos);  // the 13th line is in the newest
    for (auto p : {path, path + ".1", path + ".2"})
        ::unlink(p.c_str());
    ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace keel::init
