#include "base/units.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

using namespace std::chrono_literals;

TEST(Units, Sizes) {
    EXPECT_EQ(parse_size("1MiB"), 1u << 20);
    EXPECT_EQ(parse_size("64M"), 64u << 20);
    EXPECT_EQ(parse_size("64KiB"), 65536u);
    EXPECT_EQ(parse_size("1m"), 1048576u);
    EXPECT_EQ(parse_size("100"), 100u);
    EXPECT_EQ(parse_size("1.5K"), 1536u);
    EXPECT_EQ(parse_size("1x"), std::nullopt);
    EXPECT_EQ(parse_size("-1"), std::nullopt);
    EXPECT_EQ(parse_size(""), std::nullopt);
    EXPECT_EQ(parse_size("99999999999999999G"), std::nullopt);  // overflow is an error, not a wrap
}

TEST(Units, Durations) {
    EXPECT_EQ(parse_duration("2"), 2s);
    EXPECT_EQ(parse_duration("1.5s"), 1500ms);
    EXPECT_EQ(parse_duration("100ms"), 100ms);
    EXPECT_EQ(parse_duration("250us"), 250us);
    EXPECT_EQ(parse_duration("2m"), 120s);
    EXPECT_EQ(parse_duration("1h"), 3600s);
    EXPECT_EQ(parse_duration("-1"), std::nullopt);
    EXPECT_EQ(parse_duration("5 s"), std::nullopt);
    EXPECT_EQ(parse_duration("1..2s"), std::nullopt);
    EXPECT_EQ(parse_duration("ms"), std::nullopt);
    EXPECT_EQ(parse_duration("."), std::nullopt);
}

}  // namespace
}  // namespace keel
