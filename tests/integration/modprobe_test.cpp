// keel modprobe as the kernel and users call it, against the Debian kernel's
// module tree (resolving only: loading is what the QEMU tests do, where the
// kernel's own request for fs-vfat on a mount goes through it).
#include <gtest/gtest.h>

#include "harness.h"
#include "integration/image_tree.h"

namespace keel::it {
namespace {

TEST(Modprobe, ResolvesNamesAndAliasesWithTheirDependenciesLikeKmod) {
    std::string kernel = host_kernel();
    if (kernel.empty())
        KEEL_SKIP("linux-image-amd64", "no /boot/vmlinuz-*-amd64 (linux-image-amd64)");
    std::string release = kernel.substr(kernel.find("vmlinuz-") + 8);
    // The kernel's request on a vfat mount, then a codepage by module name.
    auto r = run_cli({"modprobe", "-n", "-S", release, "-q", "--", "fs-vfat", "nls_cp437"});
    EXPECT_EQ(r.code, 0) << r.describe();
    const std::string dir = "/lib/modules/" + release + "/kernel/fs/";
    EXPECT_EQ(r.out, "insmod " + dir + "fat/fat.ko\ninsmod " + dir + "fat/vfat.ko\ninsmod " + dir +
                         "nls/nls_cp437.ko\n");
    // Built in (ipv6 on Debian's kernel): nothing to load, not an error.
    r = run_cli({"modprobe", "-n", "-S", release, "net-pf-10"});
    EXPECT_EQ(r.code, 0) << r.describe();
    EXPECT_EQ(r.out, "");

    r = run_cli({"modprobe", "-n", "-S", release, "no-such-module"});
    EXPECT_EQ(r.code, 1) << r.describe();
    EXPECT_NE(r.err.find("module no-such-module not found in /lib/modules/" + release),
              std::string::npos)
        << r.err;
    r = run_cli({"modprobe", "-q", "-n", "-S", release, "--", "no-such-module"});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "");
    r = run_cli({"modprobe", "-S", "no-such-release", "vfat"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("/lib/modules/no-such-release"), std::string::npos) << r.err;
    EXPECT_EQ(run_cli({"modprobe"}).code, 100);
    EXPECT_EQ(run_cli({"modprobe", "-r", "vfat"}).code, 100);
}

}  // namespace
}  // namespace keel::it
