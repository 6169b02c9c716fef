#include "dev/decompress.h"

#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>

#include "test_util.h"

namespace keel::dev {
namespace {

// A real module when the Debian tree is there, else any binary file we have.
std::string sample_image() {
    std::string dir = testing::debian_modules_dir();
    if (!dir.empty()) return testing::read(dir + "/kernel/drivers/virtio/virtio_ring.ko");
    return testing::read("/proc/self/exe").substr(0, 200000);
}

std::string xz(const std::string& in) {
    std::string out(lzma_stream_buffer_bound(in.size()), '\0');
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr,
                                      reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                      reinterpret_cast<uint8_t*>(out.data()), &pos, out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

std::string zst(const std::string& in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

TEST(Decompress, KindFromName) {
    EXPECT_EQ(compression_of("a/b.ko"), Compression::kNone);
    EXPECT_EQ(compression_of("a/b.ko.xz"), Compression::kXz);
    EXPECT_EQ(compression_of("a/b.ko.zst"), Compression::kZstd);
    EXPECT_EQ(compression_of("a/b.ko.gz"), Compression::kGzip);
}

TEST(Decompress, XzAndZstdRoundTrip) {
    std::string image = sample_image();
    ASSERT_GT(image.size(), 1000u);
    auto a = decompress(xz(image), Compression::kXz);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_TRUE(*a == image);
    auto b = decompress(zst(image), Compression::kZstd);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_TRUE(*b == image);
}

TEST(Decompress, TruncatedCorruptAndOversizedAreErrors) {
    std::string image = sample_image();
    for (auto kind : {Compression::kXz, Compression::kZstd}) {
        std::string packed = kind == Compression::kXz ? xz(image) : zst(image);
        for (size_t cut : {size_t{0}, size_t{1}, packed.size() / 2, packed.size() - 1})
            EXPECT_FALSE(decompress(packed.substr(0, cut), kind)) << "cut at " << cut;
        std::string corrupt = packed;
        for (size_t i = 16; i < corrupt.size(); i += 97)
            corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
        EXPECT_FALSE(decompress(corrupt, kind));
        auto small = decompress(packed, kind, image.size() / 2);
        ASSERT_FALSE(small);
        EXPECT_NE(small.error().message().find("exceeds"), std::string::npos);
    }
    auto gz = decompress("\x1f\x8b", Compression::kGzip);
    ASSERT_FALSE(gz);
    EXPECT_NE(gz.error().message().find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace keel::dev
