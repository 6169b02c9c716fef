#include <gtest/gtest.h>

#include "net/ip_address.h"
#include "net/line_buffer.h"

namespace keel::net {
namespace {

TEST(IpAddress, ParsesAndFormats) {
    EXPECT_EQ(IpPrefix::parse("10.0.0.2/24")->to_string(), "10.0.0.2/24");
    EXPECT_EQ(IpPrefix::parse("10.0.0.2")->len, 32);
    EXPECT_EQ(IpPrefix::parse("fd00::1")->len, 128);
    EXPECT_EQ(IpPrefix::parse("10.0.0.2/24")->network().to_string(), "10.0.0.0/24");
    EXPECT_EQ(IpPrefix::parse("fd00:1:2:3::9/50")->network().to_string(), "fd00:1:2::/50");
    EXPECT_TRUE(IpPrefix::parse("10.0.0.0/8")->contains(*IpAddress::parse("10.9.8.7")));
    EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8")->contains(*IpAddress::parse("11.0.0.1")));
    for (const char* bad :
         {"", "10.0.0.2/33", "10.0.0.256/24", "10.0.0.2/", "10.0.0.2/2x", "fd00::/129", "x"})
        EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
    EXPECT_TRUE(IpAddress::parse("fe80::1")->is_link_local());
    EXPECT_FALSE(IpAddress::parse("fd00::1")->is_link_local());
}

TEST(MacAddress, ParsesAndFormats) {
    EXPECT_EQ(MacAddress::parse("52:54:00:AB:cd:ef")->to_string(), "52:54:00:ab:cd:ef");
    for (const char* bad :
         {"", "52:54", "5:54:00:ab:cd:ef", "52:54:00:ab:cd:", "zz:54:00:ab:cd:ef", "525400abcdef"})
        EXPECT_FALSE(MacAddress::parse(bad)) << bad;
}

TEST(LineBuffer, SameLinesWhereverTheStreamIsCut) {
    const std::string text = "one\ntwo\n\nthree is longer\nrest";
    std::vector<std::string> want = {"one", "two", "", "three is longer", "rest"};
    for (size_t cut = 0; cut <= text.size(); ++cut) {
        LineBuffer lb;
        std::vector<std::string> got;
        auto add = [&](std::string_view l) { got.emplace_back(l); };
        lb.feed(std::string_view(text).substr(0, cut), add);
        lb.feed(std::string_view(text).substr(cut), add);
        lb.finish(add);
        EXPECT_EQ(got, want) << "cut at " << cut;
    }
}

TEST(LineBuffer, LongLinesAreCutNotHoarded) {
    LineBuffer lb(8);
    std::vector<std::string> got;
    lb.feed("abcdefghijkl\nxy\n", [&](std::string_view l) { got.emplace_back(l); });
    EXPECT_EQ(got, (std::vector<std::string>{"abcdefgh", "ijkl", "xy"}));
}

}  // namespace
}  // namespace keel::net
