#include "image/digest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace keel::image {
namespace {

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 h;
    h.update("a");
    h.update("bc");
    EXPECT_EQ(h.hex(), sha256_hex("abc"));
}

TEST(Sha256, FilesAndMissingFiles) {
    std::string path = ::testing::TempDir() + "/sha256_test_" + std::to_string(::getpid());
    std::ofstream(path) << std::string(200000, 'x');
    auto d = sha256_file(path);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, sha256_hex(std::string(200000, 'x')));
    ::unlink(path.c_str());
    auto missing = sha256_file(path);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace keel::image
