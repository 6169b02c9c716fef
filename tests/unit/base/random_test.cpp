#include "base/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace keel {
namespace {

TEST(Random, TokensUseTheBase32AlphabetAndDiffer) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        std::string t = random_token(22);
        ASSERT_EQ(t.size(), 22u);
        EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos) << t;
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 100u);
    EXPECT_EQ(random_token(0), "");
}

TEST(Random, BytesFillTheWholeBuffer) {
    // 1000 draws of 64 bytes: each byte position takes many values (no byte left unset).
    std::array<std::set<unsigned char>, 64> values;
    for (int i = 0; i < 1000; ++i) {
        std::array<unsigned char, 64> b{};
        random_bytes(b.data(), b.size());
        for (size_t k = 0; k < b.size(); ++k)
            values[k].insert(b[k]);
    }
    for (size_t k = 0; k < values.size(); ++k)
        EXPECT_GT(values[k].size(), 100u) << "byte " << k;
}

}  // namespace
}  // namespace keel
