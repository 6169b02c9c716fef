// The ELF closure against ldd, the independent judge (run here only, never by keel).
#include "image/elf_closure.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/command.h"
#include "image/elf_file.h"

namespace keel::image {
namespace {

std::string real(const std::string& p) {
    char buf[PATH_MAX];
    return ::realpath(p.c_str(), buf) ? buf : p;
}

std::set<std::string> ldd(const std::string& path) {
    auto out = run_command({{"ldd", path}, {}, ""});
    EXPECT_TRUE(out.ok()) << out.error().message();
    std::set<std::string> libs;
    if (!out) return libs;
    size_t pos = 0;
    while (pos < out->size()) {
        size_t end = out->find('\n', pos);
        std::string line = out->substr(pos, end - pos);
        pos = end == std::string::npos ? out->size() : end + 1;
        size_t arrow = line.find("=> ");
        std::string p = arrow != std::string::npos ? line.substr(arrow + 3)
                                                   : line.substr(line.find_first_not_of(" \t"));
        p = p.substr(0, p.find(' '));
        if (p.starts_with("/")) libs.insert(real(p));
    }
    return libs;
}

std::string keel_binary() {
    std::string self = real("/proc/self/exe");  // build/tests/keel_image_unit_tests
    std::string build = self.substr(0, self.rfind("/tests/"));
    return build + "/keel";
}

TEST(ElfClosure, MatchesLddOnRealBinaries) {
    std::vector<std::string> files = {real("/proc/self/exe"), "/usr/bin/ls",
                                      "/usr/bin/apt-get",     "/usr/bin/qemu-system-x86_64",
                                      "/usr/bin/ssh",         "/usr/bin/cmake"};
    if (sys::stat_path(keel_binary()).ok())
        files.push_back(keel_binary());
    else
        std::printf("note: %s not built; the other binaries stand in\n", keel_binary().c_str());
    int checked = 0;
    for (const auto& f : files) {
        if (!sys::stat_path(f, true).ok()) continue;
        auto mine = elf_closure(f);
        ASSERT_TRUE(mine.ok()) << f << ": " << mine.error().message();
        std::set<std::string> got;
        for (const auto& p : *mine)
            got.insert(real(p));
        EXPECT_EQ(got, ldd(f)) << f;
        ++checked;
    }
    EXPECT_GE(checked, 3);
}

TEST(ElfClosure, RunpathWithOriginIsFollowed) {
    char t[] = "/tmp/keel-elf-XXXXXX";
    std::string dir = ::mkdtemp(t);
    ASSERT_TRUE(sys::make_dirs(dir + "/lib", 0755).ok());
    ASSERT_TRUE(sys::make_dirs(dir + "/bin", 0755).ok());
    ASSERT_TRUE(sys::write_file_atomic(dir + "/a.c", "int a(void) { return 1; }\n").ok());
    ASSERT_TRUE(
        sys::write_file_atomic(dir + "/m.c", "int a(void); int main(void) { return a(); }\n").ok());
    auto lib = run_command(
        {{"cc", "-shared", "-fPIC", "-o", dir + "/lib/libkeela.so.1", dir + "/a.c"}, {}, ""});
    ASSERT_TRUE(lib.ok()) << lib.error().message();
    auto bin = run_command({{"cc", "-o", dir + "/bin/m", dir + "/m.c", dir + "/lib/libkeela.so.1",
                             "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"},
                            {},
                            ""});
    ASSERT_TRUE(bin.ok()) << bin.error().message();
    auto libs = elf_closure(dir + "/bin/m");
    ASSERT_TRUE(libs.ok()) << libs.error().message();
    std::set<std::string> got;
    for (const auto& p : *libs)
        got.insert(real(p));
    EXPECT_TRUE(got.count(real(dir + "/lib/libkeela.so.1")));
    EXPECT_EQ(got, ldd(dir + "/bin/m"));
    ASSERT_TRUE(sys::remove_tree(dir).ok());
}

TEST(ElfClosure, LibrariesLandAtHostPathsThroughMergedUsrWithTheirSymlinks) {
    Tree tree;
    for (auto [link, target] : {std::pair{"/bin", "usr/bin"},
                                {"/sbin", "usr/sbin"},
                                {"/lib", "usr/lib"},
                                {"/lib64", "usr/lib64"}})
        ASSERT_TRUE(tree.put_symlink(link, target, "base").ok());
    ASSERT_TRUE(add_with_closure(tree, {"/usr/bin/ssh", "/usr/bin/ssh", 0}).ok());
    auto libs = elf_closure("/usr/bin/ssh");
    ASSERT_TRUE(libs.ok());
    int symlinks = 0;
    for (const auto& lib : *libs) {
        const Node* n = tree.lookup(lib);
        ASSERT_NE(n, nullptr) << lib;
        EXPECT_EQ(n->kind, Node::Kind::file) << lib;
        EXPECT_EQ(real(n->source), real(lib)) << "the image file is the host's";
        auto host = sys::stat_path(lib);
        ASSERT_TRUE(host.ok());
        if (S_ISLNK(host->st_mode)) {
            const Node* link = tree.lookup(lib, false);
            ASSERT_NE(link, nullptr);
            EXPECT_EQ(link->kind, Node::Kind::symlink) << lib;
            EXPECT_EQ(link->target, *sys::read_link(lib));
            ++symlinks;
        }
    }
    EXPECT_GE(symlinks, 1) << "the interpreter and libz.so.1 are symlinks on Debian";
    EXPECT_EQ(tree.lookup("/lib64", false)->kind, Node::Kind::symlink);
    EXPECT_EQ(tree.lookup("/bin", false)->kind, Node::Kind::symlink);
    EXPECT_NE(tree.nodes().find("/usr/lib/x86_64-linux-gnu/libc.so.6"), tree.nodes().end());
}

TEST(ElfClosure, NonElfAndStaticFilesComeAlone) {
    Tree tree;
    ASSERT_TRUE(add_with_closure(tree, {"/etc/hostname", "/etc/hostname", 0600}).ok());
    EXPECT_EQ(tree.size(), 3u);  // /, /etc, the file
    EXPECT_EQ(tree.lookup("/etc/hostname")->mode, 0600u);
    if (sys::stat_path("/usr/bin/busybox").ok()) {
        Tree t2;
        ASSERT_TRUE(add_with_closure(t2, {"/usr/bin/busybox", "/usr/bin/busybox", 0}).ok());
        EXPECT_EQ(t2.size(), 4u);  // static: no interpreter, no libraries
    }
    auto missing = add_with_closure(tree, {"/nonexistent/x", "/x", 0});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("/nonexistent/x"), std::string::npos);
}

TEST(ElfFile, TruncationAtEveryOffsetIsAnErrorOrAnAnswerNeverACrash) {
    auto map = sys::map_file("/usr/bin/ls");
    ASSERT_TRUE(map.ok());
    std::string_view whole = map->view();
    auto full = parse_elf(whole, "ls");
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(full->interp, "/lib64/ld-linux-x86-64.so.2");
    EXPECT_NE(std::find(full->needed.begin(), full->needed.end(), "libc.so.6"), full->needed.end());
    int errors = 0;
    for (size_t n = 0; n < std::min<size_t>(whole.size(), 20000); ++n) {
        auto r = parse_elf(whole.substr(0, n), "ls");
        if (!r.ok()) {
            ++errors;
            EXPECT_EQ(r.error().message().substr(0, 4), "ls: ");
        }
    }
    EXPECT_GT(errors, 100);
    auto garbage = parse_elf(std::string("\x7f"
                                         "ELF\x02\x01\x01") +
                                 std::string(57, '\xff'),
                             "g");
    EXPECT_FALSE(garbage.ok());
    auto text = parse_elf("#!/bin/sh\n", "s");
    ASSERT_TRUE(text.ok());
    EXPECT_FALSE(text->is_elf);
}

}  // namespace
}  // namespace keel::image
