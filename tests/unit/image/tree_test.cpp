#include "image/tree.h"

#include <gtest/gtest.h>

namespace keel::image {
namespace {

TEST(Tree, NormalizesPaths) {
    EXPECT_EQ(normalize_path("/a//b/./c/../d"), "/a/b/d");
    EXPECT_EQ(normalize_path("/.."), "/");
    EXPECT_EQ(normalize_path("a/b"), "");
}

TEST(Tree, MissingParentsBecomeDirectories) {
    Tree t;
    ASSERT_TRUE(t.put_file("/etc/keel/system.json", "{}", 0644, "definition").ok());
    const Node* d = t.lookup("/etc/keel");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->kind, Node::Kind::dir);
    EXPECT_EQ(d->mode, 0755u);
    EXPECT_TRUE(d->implicit);
    ASSERT_TRUE(t.put_dir("/etc/keel", 0750, "definition").ok());
    EXPECT_FALSE(t.lookup("/etc/keel")->implicit);
    EXPECT_EQ(t.lookup("/etc/keel/system.json")->size, 2u);
}

TEST(Tree, ParentsResolveThroughSymlinksAsOnADisk) {
    Tree t;
    ASSERT_TRUE(t.put_symlink("/bin", "usr/bin", "base").ok());
    auto at = t.put_file("/bin/busybox", "x", 0755, "pkg:busybox-static");
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(*at, "/usr/bin/busybox");
    EXPECT_EQ(t.lookup("/bin/busybox"), t.lookup("/usr/bin/busybox"));
    ASSERT_TRUE(t.put_symlink("/usr/bin/sh", "busybox", "x").ok());
    EXPECT_EQ(t.resolve("/bin/sh"), "/usr/bin/busybox");
    EXPECT_EQ(t.resolve("/bin/sh", false), "/usr/bin/sh");
}

TEST(Tree, ADirectoryOverALinkToADirectoryKeepsTheLink) {
    Tree t;
    ASSERT_TRUE(t.put_dir("/usr/bin", 0755, "base").ok());
    ASSERT_TRUE(t.put_symlink("/bin", "usr/bin", "base").ok());
    auto at = t.put_dir("/bin", 0755, "pkg:busybox-static");
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(*at, "/usr/bin");
    EXPECT_EQ(t.lookup("/bin", false)->kind, Node::Kind::symlink);
    ASSERT_TRUE(t.put_symlink("/dangling", "nowhere", "x").ok());
    ASSERT_TRUE(t.put_dir("/dangling", 0755, "x").ok());  // not a link to a dir: replaced
    EXPECT_EQ(t.lookup("/dangling", false)->kind, Node::Kind::dir);
}

TEST(Tree, AbsoluteAndDotDotTargets) {
    Tree t;
    ASSERT_TRUE(t.put_file("/usr/lib/x86_64-linux-gnu/libc.so.6", "c", 0755, "h").ok());
    ASSERT_TRUE(t.put_symlink("/lib", "/usr/lib", "h").ok());
    ASSERT_TRUE(t.put_symlink("/usr/lib/libc", "../lib/x86_64-linux-gnu/libc.so.6", "h").ok());
    EXPECT_EQ(t.resolve("/lib/libc"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
    EXPECT_NE(t.lookup("/lib/x86_64-linux-gnu/libc.so.6"), nullptr);
}

TEST(Tree, LoopsAndFilesAsParentsAreErrors) {
    Tree t;
    ASSERT_TRUE(t.put_symlink("/a", "b", "x").ok());
    ASSERT_TRUE(t.put_symlink("/b", "a", "x").ok());
    EXPECT_EQ(t.lookup("/a"), nullptr);
    EXPECT_FALSE(t.put_file("/a/f", "", 0644, "x").ok());
    ASSERT_TRUE(t.put_file("/file", "", 0644, "x").ok());
    EXPECT_FALSE(t.put_file("/file/f", "", 0644, "x").ok());
}

TEST(Tree, LaterFilesReplaceEarlierOnesButNotNonEmptyDirs) {
    Tree t;
    ASSERT_TRUE(t.put_file("/etc/passwd", "pkg", 0644, "pkg:base-passwd").ok());
    ASSERT_TRUE(t.put_file("/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644, "definition").ok());
    EXPECT_EQ(t.lookup("/etc/passwd")->origin, "definition");
    ASSERT_TRUE(t.put_dir("/etc", 0700, "definition").ok());
    EXPECT_EQ(t.lookup("/etc")->mode, 0700u);
    EXPECT_NE(t.lookup("/etc/passwd"), nullptr);
    auto r = t.put_file("/etc", "", 0644, "oops");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("cannot replace directory /etc"), std::string::npos);
}

TEST(Tree, RemoveTakesTheSubtreeAndNothingBeside) {
    Tree t;
    ASSERT_TRUE(t.put_file("/usr/bin/a", "", 0755, "x").ok());
    ASSERT_TRUE(t.put_file("/usr/bin-extra", "", 0755, "x").ok());
    ASSERT_TRUE(t.put_file("/usr/bin.d/x", "", 0755, "x").ok());
    ASSERT_TRUE(t.remove("/usr/bin").ok());
    EXPECT_EQ(t.lookup("/usr/bin/a"), nullptr);
    EXPECT_EQ(t.lookup("/usr/bin"), nullptr);
    EXPECT_NE(t.lookup("/usr/bin-extra"), nullptr);
    EXPECT_NE(t.lookup("/usr/bin.d/x"), nullptr);
}

TEST(Tree, OrderPutsParentsFirst) {
    Tree t;
    ASSERT_TRUE(t.put_file("/z/a", "", 0644, "x").ok());
    ASSERT_TRUE(t.put_file("/a-b", "", 0644, "x").ok());
    ASSERT_TRUE(t.put_file("/a/b", "", 0644, "x").ok());
    std::string prev;
    for (auto& [path, node] : t.nodes()) {
        if (path != "/") {
            std::string parent = path.substr(0, path.rfind('/'));
            if (parent.empty()) parent = "/";
            EXPECT_LT(parent, path);
            EXPECT_TRUE(t.nodes().count(parent)) << path;
        }
    }
}

TEST(Tree, HostFileContentIsReadOnDemand) {
    Tree t;
    ASSERT_TRUE(t.put_host_file("/etc/os", "/etc/os-release", 0644, "host").ok());
    auto c = Tree::content(*t.lookup("/etc/os"));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->size(), t.lookup("/etc/os")->size);
    EXPECT_FALSE(t.put_host_file("/x", "/nonexistent/file", 0644, "host").ok());
}

}  // namespace
}  // namespace keel::image
