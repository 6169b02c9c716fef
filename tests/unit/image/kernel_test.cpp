// The module subset of the real installed Debian kernel, loaded back by keel dev's index.
#include "image/kernel.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "dev/module_index.h"

namespace keel::image {
namespace {

TEST(Kernel, FindsTheNewestInstalledKernel) {
    auto k = find_kernel();
    ASSERT_TRUE(k.ok()) << k.error().message() << " (scripts/deps installs linux-image-amd64)";
    EXPECT_TRUE(k->release.ends_with("-amd64"));
    EXPECT_EQ(k->image, "/boot/vmlinuz-" + k->release);
    EXPECT_TRUE(find_kernel(k->release).ok());
    auto none = find_kernel("0.0.0-nope");
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().message().find("0.0.0-nope"), std::string::npos);
}

TEST(Kernel, PlatformSubsetWithRegeneratedIndexLoadsInKeelDev) {
    auto k = find_kernel();
    ASSERT_TRUE(k.ok()) << k.error().message();
    Tree tree;
    ASSERT_TRUE(tree.put_symlink("/lib", "usr/lib", "base").ok());
    std::vector<std::string> mods = platform_modules();
    mods.push_back("usb-storage");  // as modprobe names it; also in the platform list
    auto st = add_kernel_modules(tree, *k, mods);
    ASSERT_TRUE(st.ok()) << st.error().message();
    std::string dir = "/usr/lib/modules/" + k->release;
    for (const char* ko :
         {"kernel/drivers/net/virtio_net.ko", "kernel/drivers/net/net_failover.ko",
          "kernel/net/core/failover.ko", "kernel/drivers/usb/storage/usb-storage.ko",
          "kernel/fs/fat/vfat.ko", "kernel/fs/fat/fat.ko", "kernel/fs/nls/nls_cp437.ko"}) {
        std::string path = dir + "/" + ko;
        bool present = tree.lookup(path) || tree.lookup(path + ".xz") || tree.lookup(path + ".zst");
        EXPECT_TRUE(present) << path;
    }
    EXPECT_EQ(tree.lookup(dir + "/kernel/drivers/net/wireless"), nullptr) << "only the subset";

    // Write the index files out and let keel dev's ModuleIndex read them.
    char t[] = "/tmp/keel-kmod-XXXXXX";
    std::string out = ::mkdtemp(t);
    for (const char* f : {"modules.dep", "modules.alias", "modules.softdep", "modules.builtin",
                          "modules.builtin.modinfo", "modules.order"}) {
        const Node* n = tree.lookup(dir + "/" + f);
        ASSERT_NE(n, nullptr) << f;
        ASSERT_TRUE(sys::write_file_atomic(out + "/" + f, *Tree::content(*n)).ok());
    }
    auto ix = dev::ModuleIndex::load(out);
    ASSERT_TRUE(ix.ok()) << ix.error().message();
    auto virtio = ix->lookup("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00");
    EXPECT_NE(std::find(virtio.modules.begin(), virtio.modules.end(), "virtio_pci"),
              virtio.modules.end());
    auto plan = ix->plan("virtio_net");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    std::vector<std::string> names;
    for (const auto& s : *plan)
        names.push_back(s.name);
    EXPECT_NE(std::find(names.begin(), names.end(), "failover"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "net_failover"), names.end());
    auto usb = ix->lookup("usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00");
    EXPECT_NE(std::find(usb.modules.begin(), usb.modules.end(), "usb_storage"), usb.modules.end());
    // The ACPI power button (what system_powerdown presses) and its input device's
    // evdev node, by the modaliases the guest's kernel gives them.
    auto pwrbn = ix->lookup("acpi:LNXPWRBN:");
    EXPECT_NE(std::find(pwrbn.modules.begin(), pwrbn.modules.end(), "button"), pwrbn.modules.end());
    auto input = ix->lookup("input:b0019v0000p0001e0000-e0,1,k74,ramlsfw");
    EXPECT_NE(std::find(input.modules.begin(), input.modules.end(), "evdev"), input.modules.end());
    EXPECT_TRUE(ix->is_module("nls_iso8859_1"));
    EXPECT_FALSE(ix->is_module("iwlwifi"));
    // ext4's softdep (pre: crypto-crc32c) brought a crc32c implementation.
    EXPECT_TRUE(ix->is_module("crc32c_generic") || ix->is_module("crc32c_intel"));
    // Every line of the regenerated modules.dep names files that are in the image.
    std::string dep = *Tree::content(*tree.lookup(dir + "/modules.dep"));
    size_t pos = 0;
    while (pos < dep.size()) {
        size_t end = dep.find('\n', pos);
        std::string line = dep.substr(pos, end - pos);
        pos = end + 1;
        size_t colon = line.find(':');
        EXPECT_NE(tree.lookup(dir + "/" + line.substr(0, colon)), nullptr) << line;
    }
    ASSERT_TRUE(sys::remove_tree(out).ok());
}

TEST(Kernel, UnknownModulesAreNamed) {
    auto k = find_kernel();
    ASSERT_TRUE(k.ok());
    Tree tree;
    auto st = add_kernel_modules(tree, *k, {"vfat", "no_such_mod", "nor-this"});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("has no modules no_such_mod, nor-this"), std::string::npos)
        << st.error().message();
}

// keel dev dlopen()s liblzma/libzstd only for compressed modules the kernel
// cannot decompress: the image gets them in that case only.
TEST(Kernel, DecompressionLibrariesOnlyForCompressedModulesTheKernelCannotLoad) {
    Tree plain, compressed;
    ASSERT_TRUE(plain.put_file("/usr/lib/modules/6.1.0/kernel/a.ko", "m", 0644, "kernel"));
    ASSERT_TRUE(compressed.put_file("/usr/lib/modules/6.1.0/kernel/a.ko.xz", "m", 0644, "kernel"));
    ASSERT_TRUE(compressed.put_file("/usr/lib/modules/6.1.0/kernel/b.ko.zst", "m", 0644, "kernel"));
    ASSERT_TRUE(compressed.put_file("/usr/lib/other.ko.xz", "m", 0644, "pkg:x"));
    const std::string without = "CONFIG_MODULES=y\n# CONFIG_MODULE_DECOMPRESS is not set\n";
    EXPECT_TRUE(module_decompressors(plain, without).empty());
    auto libs = module_decompressors(compressed, without);
    ASSERT_EQ(libs.size(), 2u);
    EXPECT_STREQ(libs[0], "liblzma.so.5");
    EXPECT_STREQ(libs[1], "libzstd.so.1");
    EXPECT_EQ(module_decompressors(compressed, "").size(), 2u)
        << "an unknown config: keel dev may need them";
    EXPECT_TRUE(
        module_decompressors(compressed, "CONFIG_MODULES=y\nCONFIG_MODULE_DECOMPRESS=y\n").empty());
    EXPECT_TRUE(module_decompressors(compressed, "CONFIG_MODULE_DECOMPRESS=y").empty());
    EXPECT_EQ(module_decompressors(compressed, "# CONFIG_MODULE_DECOMPRESS=yes\n").size(), 2u);
    Tree xz_only;
    ASSERT_TRUE(xz_only.put_file("/usr/lib/modules/6.12.0/kernel/a.ko.xz", "m", 0644, "kernel"));
    libs = module_decompressors(xz_only, without);
    ASSERT_EQ(libs.size(), 1u);
    EXPECT_STREQ(libs[0], "liblzma.so.5");
}

}  // namespace
}  // namespace keel::image
