#include "base/byte_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace keel {
namespace {

TEST(ByteBuffer, AppendConsumeAndReuse) {
    ByteBuffer b;
    b.append("hello ");
    b.append("world");
    EXPECT_EQ(b.view(), "hello world");
    b.consume(6);
    EXPECT_EQ(b.view(), "world");
    b.consume(5);
    EXPECT_TRUE(b.empty());
    const size_t cap = b.capacity();
    for (int i = 0; i < 1000; ++i) {
        b.append("0123456789");
        b.consume(10);
    }
    EXPECT_EQ(b.capacity(), cap);  // steady traffic does not grow the buffer
}

TEST(ByteBuffer, GrowsAndSlidesKeepingContents) {
    ByteBuffer b;
    std::string expect;
    for (int i = 0; i < 5000; ++i) {
        std::string s = std::to_string(i) + ",";
        b.append(s);
        expect += s;
        if (i % 7 == 0 && b.size() >= 3) {
            b.consume(3);
            expect.erase(0, 3);
        }
    }
    EXPECT_TRUE(b.view() == expect);
}

TEST(ByteBuffer, ReleaseIfIdle) {
    ByteBuffer b;
    b.append(std::string(100000, 'x'));
    b.consume(100000);
    b.release_if_idle(4096);
    EXPECT_EQ(b.capacity(), 0u);
}

}  // namespace
}  // namespace keel
