// keel build on the demo system: two builds from the same system.lock give the
// same bytes, and a build with nothing changed writes nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include "harness.h"

namespace keel::it {
namespace {

TEST(ImageBuild, TwoBuildsFromTheLockAreByteForByteEqualAndARebuildIsUpToDate) {
    const std::string definition = repo_file("examples/demo/system.lua");
    if (::access("/boot", R_OK) != 0) GTEST_SKIP() << "no /boot (linux-image-amd64)";
    TempDir a, b;
    // A sanitizer build's keel (~180 MB) would spend minutes in zstd -19; what is
    // compared does not depend on the compression.
    const std::string compression = kSanitized ? "none" : "zstd";
    auto first = run_cli({"build", definition, "-o", a.path(), "--quiet", "--compression", compression},
                         std::nullopt, slow(300s));
    ASSERT_EQ(first.code, 0) << first.describe();
    EXPECT_NE(first.out.find("built:"), std::string::npos) << first.out;
    auto second = run_cli({"build", definition, "-o", b.path(), "--quiet", "--compression", compression},
                          std::nullopt, slow(300s));
    ASSERT_EQ(second.code, 0) << second.describe();
    std::string ia = slurp(a.file("initramfs.img")), ib = slurp(b.file("initramfs.img"));
    ASSERT_GT(ia.size(), 1000u);
    EXPECT_TRUE(ia == ib) << "initramfs differs between two builds from the same lock";
    EXPECT_EQ(slurp(a.file("system.json")), slurp(b.file("system.json")));
    auto again = run_cli({"build", definition, "-o", a.path(), "--quiet", "--compression", compression},
                         std::nullopt, slow(120s));
    ASSERT_EQ(again.code, 0) << again.describe();
    EXPECT_NE(again.out.find("up to date:"), std::string::npos) << again.out;
}

TEST(ImageBuild, ADefinitionMistakeNamesFileAndLine) {
    TempDir d;
    write_file_atomic(d.file("system.lua"), "return system {\n  hostname = 'x',\n  services = { 'sshd' },\n}\n");
    auto r = run_cli({"build", d.file("system.lua"), "-o", d.file("out")});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("system.lua:3: unknown service \"sshd\" (did you mean \"ssh\"?)"),
              std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace keel::it
