// Module matching against the real modules.alias/modules.dep of the Debian
// kernel that scripts/deps installs (linux-image-amd64), checked against what
// kmod's modprobe answers for the same tree.
#include "dev/module_index.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "support/skip.h"
#include "test_util.h"

namespace keel::dev {
namespace {

using testing::debian_modules_dir;
using testing::run;

class DebianModules : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = debian_modules_dir();
        if (dir_.empty())
            KEEL_SKIP("linux-image-amd64",
                      "no /lib/modules/*/modules.alias: install linux-image-amd64 (scripts/deps)");
        auto ix = ModuleIndex::load(dir_);
        ASSERT_TRUE(ix) << ix.error().message();
        ix_.emplace(std::move(*ix));
        release_ = dir_.substr(dir_.rfind('/') + 1);
    }
    std::vector<std::string> plan_names(const std::string& m) {
        auto p = ix_->plan(m);
        EXPECT_TRUE(p) << m << ": " << (p ? "" : p.error().message());
        std::vector<std::string> out;
        if (p)
            for (const auto& s : *p)
                out.push_back(s.name);
        return out;
    }
    // modprobe's answer with no configuration (-C /dev/null), as module names. It
    // prints a module once per alias line or dependency path that names it; a
    // module is loaded once, so repeats are dropped (the first place counts).
    std::vector<std::string> modprobe(const std::string& args) {
        std::string out =
            run("modprobe -C /dev/null -S '" + release_ + "' " + args + " 2>/dev/null");
        std::vector<std::string> names;
        std::istringstream in(out);
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("insmod ", 0) == 0) {
                std::string path = line.substr(7);
                while (!path.empty() && path.back() == ' ')
                    path.pop_back();
                names.push_back(module_name(path));
            } else if (line.rfind("builtin ", 0) == 0) {
                continue;
            } else if (!line.empty()) {
                names.push_back(module_name(line));
            }
        }
        std::vector<std::string> unique;
        for (auto& n : names)
            if (std::find(unique.begin(), unique.end(), n) == unique.end())
                unique.push_back(std::move(n));
        return unique;
    }
    bool have_modprobe() {
        return ::access("/usr/bin/kmod", X_OK) == 0 || ::access("/sbin/modprobe", X_OK) == 0;
    }

    std::string dir_, release_;
    std::optional<ModuleIndex> ix_;
};

TEST_F(DebianModules, LoadsTheWholeTree) {
    EXPECT_GT(ix_->alias_count(), 10000u);
    EXPECT_GT(ix_->module_count(), 1000u);
}

TEST_F(DebianModules, VirtioPciAliasResolvesWithDependenciesInOrder) {
    // A virtio network card as QEMU presents it.
    auto r = ix_->lookup("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00");
    ASSERT_EQ(r.modules, std::vector<std::string>{"virtio_pci"});
    EXPECT_EQ(plan_names("virtio_pci"),
              (std::vector<std::string>{"virtio_ring", "virtio", "virtio_pci_modern_dev",
                                        "virtio_pci_legacy_dev", "virtio_pci"}));
    auto p = ix_->plan("virtio_pci");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->back().path, dir_ + "/kernel/drivers/virtio/virtio_pci.ko");
    // The virtio device on that bus then names its driver.
    EXPECT_EQ(ix_->lookup("virtio:d00000001v00001AF4").modules,
              std::vector<std::string>{"virtio_net"});
}

TEST_F(DebianModules, SoftdepsComeFirst) {
    auto names = plan_names("ext4");
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.back(), "ext4");
    // modules.softdep: "softdep ext4 pre: crypto-crc32c" -> the crc32c providers first.
    auto crc = std::find(names.begin(), names.end(), "crc32c_generic");
    auto jbd2 = std::find(names.begin(), names.end(), "jbd2");
    ASSERT_NE(crc, names.end());
    ASSERT_NE(jbd2, names.end());
    EXPECT_LT(crc - names.begin(), jbd2 - names.begin());
}

TEST_F(DebianModules, NamesDashesAndUnknowns) {
    EXPECT_EQ(module_name("kernel/arch/x86/crypto/crc32c-intel.ko.xz"), "crc32c_intel");
    EXPECT_EQ(normalize_alias("usb:v1234p*d*dc[0-9-]*"), "usb:v1234p*d*dc[0-9-]*");
    EXPECT_EQ(normalize_alias("crypto-crc32c"), "crypto_crc32c");
    EXPECT_EQ(ix_->lookup("crc32c-intel").modules, std::vector<std::string>{"crc32c_intel"});
    auto none = ix_->lookup("pci:v0000FFFFd0000FFFFsv00000000sd00000000bcFFscFFiFF");
    EXPECT_TRUE(none.modules.empty());
    EXPECT_TRUE(none.builtin.empty());
    EXPECT_FALSE(ix_->plan("no_such_module_anywhere"));
}

// Every modalias of this machine's devices, plus aliases made from the tree's own
// patterns: our answer must be modprobe's.
TEST_F(DebianModules, AliasMatchingAgreesWithModprobe) {
    if (!have_modprobe()) KEEL_SKIP("modprobe", "modprobe (kmod) not installed");
    std::set<std::string> aliases;
    std::istringstream sysfs(run("cat /sys/bus/*/devices/*/modalias 2>/dev/null"));
    for (std::string line; std::getline(sysfs, line);)
        if (!line.empty()) aliases.insert(line);
    // Patterns with their wildcards filled in: '*' -> "", "?" -> "0", classes -> first member.
    std::istringstream al(testing::read(dir_ + "/modules.alias"));
    std::vector<std::string> patterns;
    for (std::string line; std::getline(al, line);) {
        std::istringstream w(line);
        std::string kw, pat;
        if (w >> kw >> pat && kw == "alias") patterns.push_back(pat);
    }
    std::mt19937 rng(42);
    std::shuffle(patterns.begin(), patterns.end(), rng);
    for (size_t i = 0; i < 120 && i < patterns.size(); ++i) {
        std::string a;
        const std::string& p = patterns[i];
        for (size_t k = 0; k < p.size(); ++k) {
            if (p[k] == '*') continue;
            if (p[k] == '?')
                a += '0';
            else if (p[k] == '[') {
                size_t close = p.find(']', k);
                a += p[k + 1];
                k = close == std::string::npos ? p.size() : close;
            } else
                a += p[k];
        }
        if (!a.empty() && a.find('\'') == std::string::npos) aliases.insert(a);
    }
    ASSERT_GT(aliases.size(), 100u);
    int compared = 0;
    for (const auto& a : aliases) {
        auto want = modprobe("-R '" + a + "'");
        auto got = ix_->lookup(a);
        std::vector<std::string> mine = got.modules;
        for (const auto& b : got.builtin)
            mine.push_back(b);
        std::sort(want.begin(), want.end());
        std::sort(mine.begin(), mine.end());
        EXPECT_EQ(mine, want) << "alias " << a;
        ++compared;
    }
    EXPECT_GT(compared, 100);
}

// Load order of a spread of modules, as modprobe --show-depends prints it.
TEST_F(DebianModules, LoadOrderAgreesWithModprobe) {
    if (!have_modprobe()) KEEL_SKIP("modprobe", "modprobe (kmod) not installed");
    std::istringstream dep(testing::read(dir_ + "/modules.dep"));
    std::vector<std::string> mods;
    for (std::string line; std::getline(dep, line);)
        if (auto colon = line.find(':'); colon != std::string::npos)
            mods.push_back(module_name(line.substr(0, colon)));
    // Every 25th module, and the ones with long dependency chains.
    std::vector<std::string> sample;
    for (size_t i = 0; i < mods.size(); i += 25)
        sample.push_back(mods[i]);
    for (const char* m : {"ext4", "btrfs", "xfs", "virtio_net", "snd_hda_intel", "i915", "nfsd",
                          "usb_storage", "uas", "kvm_intel"})
        sample.push_back(m);
    for (const auto& m : sample) {
        auto want = modprobe("--show-depends '" + m + "'");
        if (want.empty()) continue;  // built in
        EXPECT_EQ(plan_names(m), want) << "module " << m;
    }
}

}  // namespace
}  // namespace keel::dev
