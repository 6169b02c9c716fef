// Live facts and /proc parsing: pure functions, no bus and no processes.
#include <gtest/gtest.h>

#include "init/supervisor/facts.h"
#include "init/supervisor/proc_info.h"

namespace keel::init {
namespace {

TEST(Facts, HoldAfterOnCeaseAfterOff) {
    Fact link{"net.link.eth0.up", "net.link.eth0.down", {}};
    Fact stick{"hardware.block.add", "hardware.block.remove", {{"DEVNAME", "sdb1"}}};
    FactSet set({link, stick});
    EXPECT_FALSE(set.all_hold());
    EXPECT_TRUE(set.on_message("net.link.eth0.up", "{}"));
    EXPECT_FALSE(set.on_message("net.link.eth0.up", "{}"));  // no change
    EXPECT_FALSE(set.all_hold());
    EXPECT_FALSE(set.on_message("hardware.block.add", R"({"DEVNAME": "sda1"})"));  // another device
    EXPECT_FALSE(set.on_message("hardware.block.add", "not json"));
    EXPECT_TRUE(
        set.on_message("hardware.block.add", R"({"DEVNAME": "sdb1", "ID_FS_TYPE": "vfat"})"));
    EXPECT_TRUE(set.all_hold());
    EXPECT_TRUE(set.on_message("net.link.eth0.down", ""));
    EXPECT_FALSE(set.all_hold());
    EXPECT_FALSE(set.on_message("net.link.eth1.up", ""));
}

TEST(Facts, MatchComparesJsonText) {
    EXPECT_TRUE(payload_matches(R"({"n": 3, "b": true, "s": "x"})",
                                {{"n", "3"}, {"b", "true"}, {"s", "x"}}));
    EXPECT_FALSE(payload_matches(R"({"n": 3})", {{"n", "4"}}));
    EXPECT_FALSE(payload_matches(R"([1])", {{"n", "4"}}));
    EXPECT_TRUE(payload_matches("anything", {}));
}

TEST(ProcStat, ParsesAroundTheCommandName) {
    std::string line =
        "1234 (a (weird) name) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 "
        "12345 10000000 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
    auto f = parse_proc_stat(line);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->ppid, 77);
    EXPECT_EQ(f->cpu_ticks, 300u);
    EXPECT_EQ(f->rss_pages, 321u);
    EXPECT_FALSE(parse_proc_stat("1234 (x) S 1 2"));
    EXPECT_FALSE(parse_proc_stat("garbage"));
    auto self = read_proc_info(::getpid());
    ASSERT_TRUE(self);
    EXPECT_GT(self->rss_bytes, 0u);
}

}  // namespace
}  // namespace keel::init
