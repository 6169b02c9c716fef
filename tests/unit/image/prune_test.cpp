// Pruning a Tree: the default globs, keep and remove, directories left empty,
// package libraries nothing links (with real ELF files compiled here), the
// libraries glibc dlopen()s, stripping host files, and turning it all off.
#include "image/prune.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "file_test_util.h"
#include "image/busybox_applets.h"
#include "image/rootfs_base.h"
#include "support/skip.h"

namespace keel::image {
namespace {

namespace fs = std::filesystem;

int sh(const std::string& cmd) {
    return test::run_shell(cmd + " >/dev/null 2>&1").second;
}

const SizeLine* line(const PruneResult& r, const std::string& what) {
    for (const auto& l : r.lines)
        if (l.name == what) return &l;
    return nullptr;
}

bool has(const Tree& t, const std::string& p) {
    return t.nodes().count(p) > 0;
}

Tree skeleton() {
    Tree t;
    EXPECT_TRUE(t.put_symlink("/lib", "usr/lib", "base"));
    EXPECT_TRUE(t.put_dir("/usr/share", 0755, "base"));
    return t;
}

TEST(Prune, DocsTranslationsAndGconvGoTheDefinitionsFilesStay) {
    Tree t = skeleton();
    ASSERT_TRUE(
        t.put_file("/usr/share/doc/libc6/copyright", std::string(1000, 'c'), 0644, "pkg:libc6"));
    ASSERT_TRUE(t.put_file("/usr/share/doc/keel/README", "mine\n", 0644, "definition"));
    ASSERT_TRUE(
        t.put_file("/usr/share/man/man1/ls.1.gz", std::string(300, 'm'), 0644, "pkg:coreutils"));
    ASSERT_TRUE(t.put_symlink("/usr/share/man/man1/dir.1.gz", "ls.1.gz", "pkg:coreutils"));
    ASSERT_TRUE(t.put_file("/usr/share/locale/de/LC_MESSAGES/x.mo", "mo", 0644, "pkg:x"));
    ASSERT_TRUE(t.put_file("/lib/x86_64-linux-gnu/gconv/IBM1390.so", std::string(5000, 'g'), 0644,
                           "pkg:libc6"));
    ASSERT_TRUE(t.put_file("/lib/x86_64-linux-gnu/gconv/UTF-16.so", std::string(700, 'u'), 0644,
                           "pkg:libc6"));
    ASSERT_TRUE(
        t.put_file("/lib/x86_64-linux-gnu/gconv/gconv-modules", "alias", 0644, "pkg:libc6"));
    ASSERT_TRUE(t.put_file("/lib/systemd/system/x.service", "[Unit]\n", 0644, "pkg:x"));
    ASSERT_TRUE(t.put_file("/etc/init.d/x", "#!/bin/sh\n", 0755, "pkg:x"));
    ASSERT_TRUE(t.put_file("/usr/bin/dbclient", std::string(100, 'd'), 0755, "pkg:dropbear-bin"));
    ASSERT_TRUE(t.put_file("/usr/bin/dropbear", std::string(100, 'd'), 0755, "pkg:dropbear-bin"));
    PruneRules rules;
    rules.keep = {"/usr/lib/*/gconv/UTF-16.so", "/usr/lib/*/gconv/gconv-modules"};
    rules.remove = {"/usr/bin/dbclient"};
    rules.libraries = false;
    auto r = prune_tree(t, rules);
    ASSERT_TRUE(r) << r.error().message();

    EXPECT_FALSE(has(t, "/usr/share/doc/libc6"));
    EXPECT_TRUE(has(t, "/usr/share/doc/keel/README"))
        << "the definition's own files are never pruned";
    EXPECT_FALSE(has(t, "/usr/share/man")) << "emptied package directories go too";
    EXPECT_FALSE(has(t, "/usr/share/locale"));
    EXPECT_TRUE(has(t, "/usr/share")) << "the skeleton's directories stay";
    EXPECT_FALSE(has(t, "/usr/lib/x86_64-linux-gnu/gconv/IBM1390.so"));
    EXPECT_TRUE(has(t, "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so")) << "keep wins";
    EXPECT_TRUE(has(t, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules"));
    EXPECT_FALSE(has(t, "/usr/lib/systemd"));
    EXPECT_FALSE(has(t, "/etc/init.d"));
    EXPECT_FALSE(has(t, "/usr/bin/dbclient"));
    EXPECT_TRUE(has(t, "/usr/bin/dropbear"));

    const SizeLine* doc = line(*r, "/usr/share/doc");
    ASSERT_NE(doc, nullptr);
    EXPECT_EQ(doc->files, 1u);
    EXPECT_EQ(doc->bytes, 1000u);
    const SizeLine* man = line(*r, "/usr/share/man");
    ASSERT_NE(man, nullptr);
    EXPECT_EQ(man->files, 1u) << "symlinks are removed, not counted";
    const SizeLine* gconv = line(*r, "/usr/lib/*/gconv");
    ASSERT_NE(gconv, nullptr);
    EXPECT_EQ(gconv->bytes, 5000u);
    ASSERT_NE(line(*r, "/usr/bin/dbclient"), nullptr);
    EXPECT_EQ(line(*r, "unused libraries"), nullptr);
}

TEST(Prune, OffMeansOff) {
    Tree t = skeleton();
    ASSERT_TRUE(t.put_file("/usr/share/doc/libc6/copyright", "c", 0644, "pkg:libc6"));
    PruneRules rules;
    rules.enabled = false;
    auto r = prune_tree(t, rules);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->lines.empty());
    EXPECT_TRUE(has(t, "/usr/share/doc/libc6/copyright"));
}

class PruneElf : public testing::Test {
  protected:
    void SetUp() override {
        if (sh("command -v cc") != 0) KEEL_SKIP("cc", "no cc (build-essential)");
        std::ofstream(tmp.path + "/lib.c") << "int twice(int x) { return 2 * x; }\n";
        std::ofstream(tmp.path + "/main.c")
            << "int twice(int);\nint main(void) { return twice(0); }\n";
        ASSERT_EQ(sh("cd " + tmp.path +
                     " && cc -g -fPIC -shared -Wl,-soname,libtwice.so.1 -o libtwice.so lib.c"),
                  0);
        ASSERT_EQ(sh("cd " + tmp.path + " && cc -g -o prog main.c -L. -ltwice"), 0);
    }
    std::string file(const std::string& name) const { return tmp.path + "/" + name; }
    test::TempDir tmp;
};

TEST_F(PruneElf, LibrariesNothingLinksGoThoseSomethingNeedsAndGlibcLoadsStay) {
    Tree t = skeleton();
    const std::string dir = "/usr/lib/x86_64-linux-gnu/";
    ASSERT_TRUE(t.put_host_file("/usr/bin/prog", file("prog"), 0755, "pkg:prog"));
    ASSERT_TRUE(
        t.put_host_file(dir + "libtwice.so.1.0", file("libtwice.so"), 0644, "pkg:libtwice1"));
    ASSERT_TRUE(t.put_symlink(dir + "libtwice.so.1", "libtwice.so.1.0", "pkg:libtwice1"));
    ASSERT_TRUE(
        t.put_host_file(dir + "libunused.so.2.3", file("libtwice.so"), 0644, "pkg:libunused2"));
    ASSERT_TRUE(t.put_symlink(dir + "libunused.so.2", "libunused.so.2.3", "pkg:libunused2"));
    ASSERT_TRUE(
        t.put_host_file(dir + "libnss_hesiod.so.2", file("libtwice.so"), 0644, "pkg:libc6"));
    ASSERT_TRUE(t.put_host_file(dir + "libgcc_s.so.1", file("libtwice.so"), 0644, "pkg:libgcc-s1"));
    ASSERT_TRUE(t.put_host_file(dir + "libplugin.so.1", file("libtwice.so"), 0644, "pkg:plugin"));
    ASSERT_TRUE(
        t.put_host_file(dir + "engines/libsub.so", file("libtwice.so"), 0644, "pkg:plugin"));
    ASSERT_TRUE(t.put_host_file("/usr/bin/tool", file("prog"), 0755, "host"));
    PruneRules rules;
    rules.keep = {"/usr/lib/*/libplugin.so*"};
    auto r = prune_tree(t, rules);
    ASSERT_TRUE(r) << r.error().message();

    EXPECT_TRUE(has(t, dir + "libtwice.so.1.0"));
    EXPECT_TRUE(has(t, dir + "libtwice.so.1")) << "the soname link ld.so opens";
    EXPECT_FALSE(has(t, dir + "libunused.so.2.3"));
    EXPECT_FALSE(has(t, dir + "libunused.so.2"));
    EXPECT_TRUE(has(t, dir + "libnss_hesiod.so.2")) << "NSS modules are dlopen()ed by glibc";
    EXPECT_TRUE(has(t, dir + "libgcc_s.so.1")) << "pthread_cancel dlopen()s libgcc_s";
    EXPECT_TRUE(has(t, dir + "libplugin.so.1")) << "kept by the definition";
    EXPECT_TRUE(has(t, dir + "engines/libsub.so"))
        << "only libraries ld.so finds by name are candidates";
    const SizeLine* unused = line(*r, "unused libraries");
    ASSERT_NE(unused, nullptr);
    EXPECT_EQ(unused->files, 1u);
    // libc.so.6 is not in this tree: the builder says so.
    bool warned = false;
    for (const auto& w : r->warnings)
        warned = warned || w == "/usr/bin/prog needs libc.so.6, which is not in the image";
    EXPECT_TRUE(warned) << (r->warnings.empty() ? "no warnings" : r->warnings[0]);

    // Host files are stripped (their content moves into the tree); packages' are not.
    const Node* tool = t.lookup("/usr/bin/tool");
    ASSERT_NE(tool, nullptr);
    EXPECT_TRUE(tool->source.empty());
    EXPECT_LT(tool->size, fs::file_size(file("prog")));
    EXPECT_EQ(tool->size, tool->data.size());
    EXPECT_EQ(t.lookup("/usr/bin/prog")->source, file("prog"));
    const SizeLine* strip = line(*r, "symbols and debug sections (host files)");
    ASSERT_NE(strip, nullptr);
    EXPECT_EQ(strip->files, 1u);
    EXPECT_EQ(strip->bytes, fs::file_size(file("prog")) - tool->size);
}

TEST_F(PruneElf, LibrariesAndStripCanBeTurnedOffApart) {
    Tree t = skeleton();
    ASSERT_TRUE(t.put_host_file("/usr/lib/x86_64-linux-gnu/libunused.so.2", file("libtwice.so"),
                                0644, "pkg:u"));
    ASSERT_TRUE(t.put_host_file("/usr/bin/tool", file("prog"), 0755, "host"));
    PruneRules rules;
    rules.libraries = false;
    rules.strip = false;
    auto r = prune_tree(t, rules);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(has(t, "/usr/lib/x86_64-linux-gnu/libunused.so.2"));
    EXPECT_EQ(t.lookup("/usr/bin/tool")->source, file("prog"));
}

// The applet table read from the binary, and the links made from it.
TEST(BusyboxApplets, ReadFromTheTableInTheBinary) {
    using namespace std::string_literals;
    EXPECT_EQ(busybox_applets("junk\0[\0[[\0ash\0cat\0ls\0\0/var/log"s),
              (std::vector<std::string>{"[", "[[", "ash", "cat", "ls"}));
    EXPECT_EQ(busybox_applets("\0[\0[[\0cat\0ash\0"s), (std::vector<std::string>{"[", "[[", "cat"}))
        << "the table is sorted: what follows out of order is not in it";
    EXPECT_TRUE(busybox_applets("no table here"s).empty());
    if (::access("/bin/busybox", X_OK) != 0)
        KEEL_SKIP("busybox", "no /bin/busybox to compare with (busybox-static)");
    std::string listed = test::run_shell("/bin/busybox --list | LC_ALL=C sort").first;
    std::string ours;
    for (const auto& a : busybox_applets(test::slurp("/bin/busybox")))
        ours += a + "\n";
    EXPECT_EQ(ours, listed);
}

TEST(BusyboxApplets, LinksForWhatNoFileProvidesAndNotInitOrReboot) {
    using namespace std::string_literals;
    Tree t;
    ASSERT_TRUE(put_base_skeleton(t));
    ASSERT_TRUE(t.put_file("/usr/bin/busybox", "x\0[\0[[\0cat\0init\0ip\0reboot\0sh\0\0"s, 0755,
                           "pkg:busybox"));
    ASSERT_TRUE(t.put_file("/usr/sbin/ip", "real ip", 0755, "pkg:iproute2"));
    auto none = put_finishing_links(t, false);
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 0u);
    EXPECT_EQ(t.lookup("/usr/bin/sh", false)->target, "busybox");
    EXPECT_FALSE(has(t, "/usr/bin/cat"));
    auto added = put_finishing_links(t, true);
    ASSERT_TRUE(added);
    EXPECT_EQ(*added, 3u);  // [, [[, cat
    EXPECT_EQ(t.lookup("/usr/bin/cat", false)->target, "busybox");
    EXPECT_EQ(t.lookup("/usr/bin/[", false)->target, "busybox");
    EXPECT_FALSE(has(t, "/usr/bin/ip")) << "iproute2's ip stays the one";
    EXPECT_FALSE(has(t, "/usr/bin/init"));
    EXPECT_FALSE(has(t, "/usr/bin/reboot"));
}

}  // namespace
}  // namespace keel::image
