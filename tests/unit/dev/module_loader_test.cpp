// ModuleLoader over the real Debian module tree. Which loads can really happen
// depends on the running kernel: this is said, per test, in the skip reasons.
#include "dev/module_loader.h"

#include "dev/module_index.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "support/skip.h"
#include "test_util.h"

namespace keel::dev {
namespace {

std::string running_release() {
    utsname u{};
    ::uname(&u);
    return u.release;
}

TEST(ModprobeD, BlacklistOptionsSoftdepsAliases) {
    testing::TempTree t;
    testing::mkdirs(t / "etc");
    testing::mkdirs(t / "lib");
    testing::write(t / "lib/a.conf",
                   "# comment\nblacklist pcspkr\noptions snd-hda-intel model=auto # "
                   "trailing\nsoftdep uhci-hcd pre: ehci-hcd post: x\n");
    testing::write(t / "lib/b.conf", "blacklist from_lib_b\n");
    testing::write(t / "etc/b.conf", "blacklist from_etc_b\ninstall foo /bin/true\n");
    testing::write(t / "etc/ignored.txt", "blacklist nope\n");
    testing::write(t / "etc/c.conf",
                   "alias keel-test-alias dummy\nalias pci:v0000DEADd* virtio_pci\n");
    auto d = read_modprobe_d({t / "etc", t / "lib"});
    EXPECT_TRUE(d.blacklist.count("pcspkr"));
    EXPECT_TRUE(d.blacklist.count("from_etc_b"));
    EXPECT_FALSE(d.blacklist.count("from_lib_b"));  // /etc's b.conf overrides /lib's
    EXPECT_FALSE(d.blacklist.count("nope"));
    EXPECT_EQ(d.options["snd_hda_intel"], "model=auto");
    ASSERT_EQ(d.softdeps.size(), 1u);
    EXPECT_EQ(d.softdeps[0].module, "uhci-hcd");
    EXPECT_EQ(d.softdeps[0].pre, std::vector<std::string>{"ehci-hcd"});
    EXPECT_EQ(d.softdeps[0].post, std::vector<std::string>{"x"});
    ASSERT_EQ(d.aliases.size(), 2u);
    EXPECT_EQ(d.aliases[1], (std::pair<std::string, std::string>{"pci:v0000DEADd*", "virtio_pci"}));

    // Configured aliases come before modules.alias, as in modprobe.
    std::string dir = testing::debian_modules_dir();
    if (dir.empty())
        KEEL_SKIP("linux-image-amd64",
                  "no Debian module tree: install linux-image-amd64 (scripts/deps)");
    auto ix = ModuleIndex::load(dir);
    ASSERT_TRUE(ix);
    for (const auto& [pattern, module] : d.aliases)
        ix->add_alias(pattern, module);
    EXPECT_EQ(ix->lookup("keel-test-alias").modules, std::vector<std::string>{"dummy"});
    EXPECT_EQ(ix->lookup("pci:v0000DEADd00000001sv0sd0bc0sc0i0").modules,
              std::vector<std::string>{"virtio_pci"});
}

class DebianTree : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = testing::debian_modules_dir();
        if (dir_.empty())
            KEEL_SKIP("linux-image-amd64",
                      "no Debian module tree: install linux-image-amd64 (scripts/deps)");
    }
    std::string dir_;
};

TEST_F(DebianTree, ResolveOnlyReportsThePlanAndHonoursTheBlacklist) {
    testing::TempTree sys;  // an empty /sys/module: nothing is live yet
    ModuleConfig cfg;
    cfg.dir = dir_;
    cfg.load = false;
    cfg.modprobe_d = false;
    cfg.blacklist.insert("virtio_net");
    ModuleLoader l(cfg, sys.path());
    auto r = l.load_alias("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00");
    EXPECT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.modules, std::vector<std::string>{"virtio_pci"});
    ASSERT_EQ(r.outcomes.size(), 5u);
    for (const auto& o : r.outcomes)
        EXPECT_EQ(o.state, ModuleLoader::Outcome::State::kResolved) << o.module;
    EXPECT_EQ(r.outcomes.back().module, "virtio_pci");

    auto b = l.load_alias("virtio:d00000001v00001AF4");
    EXPECT_TRUE(b.modules.empty());
    EXPECT_EQ(b.blacklisted, std::vector<std::string>{"virtio_net"});
    EXPECT_TRUE(b.matched());

    auto none = l.load_alias("acpi:KEEL0000:");
    EXPECT_FALSE(none.matched());

    // Modules already live are not loaded again.
    testing::mkdirs(sys / "module/virtio_ring");
    testing::write(sys / "module/virtio_ring/initstate", "live\n");
    ModuleLoader l2(cfg, sys.path());
    auto again = l2.load_alias("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00");
    ASSERT_FALSE(again.outcomes.empty());
    EXPECT_EQ(again.outcomes[0].state, ModuleLoader::Outcome::State::kAlready);
}

TEST_F(DebianTree, MissingIndexIsAnErrorNamingTheDirectory) {
    ModuleConfig cfg;
    cfg.dir = "/nonexistent/modules";
    ModuleLoader l(cfg, "/sys");
    auto r = l.load_alias("pci:v00001AF4d00001000sv*");
    EXPECT_NE(r.error.find("/nonexistent/modules"), std::string::npos) << r.error;
}

// finit_module for real. On a kernel without module support (this project's
// development VMs) or for a tree of another release the kernel refuses, and the
// refusal must come back as a failed outcome with the kernel's reason, after
// which the loader stops trying (ENOSYS/EPERM).
TEST_F(DebianTree, RealLoadAttemptReportsTheKernelsAnswer) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root (finit_module)");
    std::string release = dir_.substr(dir_.rfind('/') + 1);
    bool same_kernel = release == running_release() && ::access("/proc/modules", F_OK) == 0;
    if (same_kernel)
        KEEL_SKIP("modular-host-kernel", "the running kernel is " + release +
                                             ": not loading modules into the host in a unit test");
    ModuleConfig cfg;
    cfg.dir = dir_;
    cfg.modprobe_d = false;
    testing::TempTree sys;
    ModuleLoader l(cfg, sys.path());
    // A module with no dependencies and no hardware: "dummy" (a network driver).
    auto r = l.load_alias("dummy");
    ASSERT_EQ(r.outcomes.size(), 1u);
    EXPECT_EQ(r.outcomes[0].state, ModuleLoader::Outcome::State::kFailed);
    EXPECT_FALSE(r.outcomes[0].error.empty());
    std::cout << "[ info     ] kernel " << running_release() << " answered loading " << release
              << "/dummy: " << r.outcomes[0].error << "\n";
}

}  // namespace
}  // namespace keel::dev
