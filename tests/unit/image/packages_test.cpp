// Packages against the real Debian archive (deb.debian.org), through the shared
// cache (default_cache_dir) so repeated runs download nothing again.
#include "image/packages.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "base/durable.h"
#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/digest.h"

namespace keel::image {
namespace {

struct Recorder : Progress {
    std::vector<std::string> steps, notes;
    uint64_t last_done = 0, last_total = 0;
    void step(std::string_view w) override { steps.emplace_back(w); }
    void advance(uint64_t d, uint64_t t) override {
        last_done = d;
        last_total = t;
    }
    void note(std::string_view l) override { notes.emplace_back(l); }
};

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/keel-pkg-test-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { (void)sys::remove_tree(path); }
};

PackageSource shared_source() {
    PackageSource s;
    s.cache_dir = default_cache_dir();
    return s;
}

// One resolution per test binary run: apt's solver takes ~0.5 s.
const Lock& dropbear_lock() {
    static Lock lock = [] {
        NoProgress quiet;
        auto r = resolve_packages({"busybox-static", "dropbear-bin"}, shared_source(), quiet);
        if (!r) ADD_FAILURE() << r.error().message();
        return r ? *r : Lock{};
    }();
    return lock;
}

const LockedPackage* find(const Lock& lock, const std::string& name) {
    auto it = std::find_if(lock.begin(), lock.end(), [&](const auto& p) { return p.name == name; });
    return it == lock.end() ? nullptr : &*it;
}

TEST(Lock, RoundTripsWithStableBytes) {
    TempDir dir;
    LockFile lock{{
                      {"zlib1g", "1:1.2.13.dfsg-1", "amd64", std::string(64, 'a'), 86700,
                       "pool/main/z/zlib/zlib1g.deb"},
                      {"busybox-static", "1:1.35.0-4", "amd64", std::string(64, 'b'), 928188,
                       "pool/main/b/busybox/b.deb"},
                  },
                  {}};
    std::string path = dir.path + "/system.lock";
    ASSERT_TRUE(write_lock(path, lock).ok());
    auto back = read_lock(path);
    ASSERT_TRUE(back.ok()) << back.error().message();
    ASSERT_EQ(back->packages.size(), 2u);
    EXPECT_EQ(back->packages[0].name, "busybox-static");  // sorted by name
    EXPECT_EQ(back->packages[1].version, "1:1.2.13.dfsg-1");
    EXPECT_EQ(back->packages[1].size, 86700u);
    EXPECT_TRUE(back->exclude.empty());
    std::string first = *sys::read_file(path);
    ASSERT_TRUE(write_lock(path, *back).ok());
    EXPECT_EQ(*sys::read_file(path), first);
    EXPECT_NE(first.find("{\n  \"packages\": [\n    {\n      \"arch\": \"amd64\",\n"),
              std::string::npos)
        << first;
    EXPECT_EQ(first.find("exclude"), std::string::npos)
        << "no exclusions, no key: older locks stay as they were";

    // Exclusions are recorded, sorted, before the packages (keys sorted).
    lock.exclude = {"lsb-base", "adduser"};
    ASSERT_TRUE(write_lock(path, lock).ok());
    std::string with = *sys::read_file(path);
    EXPECT_EQ(
        with.rfind("{\n  \"exclude\": [\n    \"adduser\",\n    \"lsb-base\"\n  ],\n  \"packages\"",
                   0),
        0u)
        << with;
    back = read_lock(path);
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_EQ(back->exclude, (std::vector<std::string>{"adduser", "lsb-base"}));
}

TEST(Lock, MalformedFilesNameTheFileAndTheFault) {
    TempDir dir;
    std::string path = dir.path + "/system.lock";
    auto expect_error = [&](const std::string& text, const std::string& what) {
        ASSERT_TRUE(sys::write_file_atomic(path, text).ok());
        auto r = read_lock(path);
        ASSERT_FALSE(r.ok()) << text;
        EXPECT_NE(r.error().message().find(path), std::string::npos) << r.error().message();
        EXPECT_NE(r.error().message().find(what), std::string::npos) << r.error().message();
    };
    std::string good = R"({"name":"a","version":"1","arch":"amd64","sha256":")" +
                       std::string(64, '0') + R"(","size":1,"filename":"pool/a.deb"})";
    expect_error("{", "not valid JSON");
    expect_error("[]", "expected a JSON object");
    expect_error(R"({"version":2,"packages":[]})", "\"version\" must be 1");
    expect_error(R"({"version":1})", "\"packages\" must be an array");
    expect_error(R"({"version":1,"packages":[],"extra":1})", "unknown key \"extra\"");
    expect_error(R"({"version":1,"packages":[{"name":"a"}]})", "packages[0]: missing \"version\"");
    std::string bad_sha = good;
    bad_sha.replace(bad_sha.find("000"), 3, "xyz");
    expect_error(R"({"version":1,"packages":[)" + bad_sha + "]}", "packages[0].sha256");
    std::string bad_size = good;
    bad_size.replace(bad_size.find("\"size\":1"), 8, "\"size\":-1");
    expect_error(R"({"version":1,"packages":[)" + bad_size + "]}", "packages[0].size");
    expect_error(R"({"version":1,"packages":[)" + good + "," + good + "]}",
                 "packages[1]: a is listed twice");
    expect_error(R"({"version":1,"packages":[],"exclude":"adduser"})",
                 "\"exclude\" must be an array");
    expect_error(R"({"version":1,"packages":[],"exclude":[1]})",
                 "exclude[0]: expected a package name");
    expect_error(R"({"version":1,"packages":[],"exclude":["x","x"]})",
                 "exclude[1]: x is listed twice");
    expect_error(R"({"version":1,"packages":[)" + good + R"(],"exclude":["a"]})",
                 "exclude[0]: a is excluded but pinned in packages");
    auto missing = read_lock(dir.path + "/none.lock");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("none.lock"), std::string::npos);
}

TEST(Packages, ResolvesTheDependsClosureAsIfNothingWereInstalled) {
    const Lock& lock = dropbear_lock();
    ASSERT_FALSE(lock.empty());
    for (const char* name : {"busybox-static", "dropbear-bin", "libc6", "libcrypt1", "zlib1g",
                             "libtomcrypt1", "libtommath1", "libgcc-s1", "libgmp10"})
        EXPECT_NE(find(lock, name), nullptr) << name;
    EXPECT_EQ(find(lock, "libidn2-0"), nullptr) << "a Recommends of libc6 must stay out";
    EXPECT_TRUE(std::is_sorted(lock.begin(), lock.end(),
                               [](const auto& a, const auto& b) { return a.name < b.name; }));
    const LockedPackage* bb = find(lock, "busybox-static");
    ASSERT_NE(bb, nullptr);
    EXPECT_EQ(bb->arch, "amd64");
    EXPECT_EQ(bb->sha256.size(), 64u);
    EXPECT_GT(bb->size, 100000u);
    EXPECT_TRUE(bb->filename.starts_with("pool/main/b/busybox/busybox-static_")) << bb->filename;
}

TEST(Packages, AStaticPackageHasNoDependencies) {
    NoProgress quiet;
    auto lock = resolve_packages({"busybox-static"}, shared_source(), quiet);
    ASSERT_TRUE(lock.ok()) << lock.error().message();
    ASSERT_EQ(lock->size(), 1u);
    EXPECT_EQ((*lock)[0].name, "busybox-static");
}

// openntpd Depends on adduser (which brings passwd, PAM, SELinux libraries and
// debconf) and lsb-base (sysvinit-utils): excluded, neither they nor what only they
// need are in the closure, and what the rest needs stays.
TEST(Packages, ExcludedPackagesAndWhatOnlyTheyNeedStayOut) {
    NoProgress quiet;
    auto full = resolve_packages({"openntpd"}, shared_source(), quiet);
    ASSERT_TRUE(full.ok()) << full.error().message();
    for (const char* name :
         {"adduser", "passwd", "libpam0g", "debconf", "lsb-base", "sysvinit-utils"})
        EXPECT_NE(find(*full, name), nullptr) << name;
    auto lean = resolve_packages({"openntpd"}, shared_source(), quiet, {"adduser", "lsb-base"});
    ASSERT_TRUE(lean.ok()) << lean.error().message();
    std::vector<std::string> names;
    for (const auto& p : *lean)
        names.push_back(p.name);
    for (const char* gone :
         {"adduser", "lsb-base", "passwd", "libpam0g", "debconf", "sysvinit-utils"})
        EXPECT_EQ(find(*lean, gone), nullptr) << gone;
    for (const char* kept : {"openntpd", "libc6", "netbase"})
        EXPECT_NE(find(*lean, kept), nullptr) << kept;
    EXPECT_LT(lean->size(), full->size());

    auto both = resolve_packages({"openntpd", "adduser"}, shared_source(), quiet, {"adduser"});
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.error().message().find("packages both wanted and excluded: adduser"),
              std::string::npos)
        << both.error().message();
    auto unknown = resolve_packages({"openntpd"}, shared_source(), quiet, {"no-such-pkg-c"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().message().find("unknown Debian package: no-such-pkg-c"),
              std::string::npos)
        << unknown.error().message();
}

TEST(Packages, UnknownNamesAreAllNamed) {
    NoProgress quiet;
    auto r = resolve_packages({"busybox-static", "no-such-pkg-a", "no-such-pkg-b"}, shared_source(),
                              quiet);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("unknown Debian packages: no-such-pkg-a, no-such-pkg-b"),
              std::string::npos)
        << r.error().message();
    auto bad = resolve_packages({"-o=Foo", "ok"}, shared_source(), quiet);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("not Debian package names: \"-o=Foo\""), std::string::npos)
        << bad.error().message();
}

TEST(Packages, FetchesOnceAndChecksTheLocksSha256) {
    const LockedPackage* bb = find(dropbear_lock(), "busybox-static");
    ASSERT_NE(bb, nullptr);
    Lock lock = {*bb};
    Recorder first;
    auto paths = fetch_packages(lock, shared_source(), first);
    ASSERT_TRUE(paths.ok()) << paths.error().message();
    ASSERT_EQ(paths->size(), 1u);
    EXPECT_EQ(*sha256_file((*paths)[0]), bb->sha256);

    Recorder again;
    auto cached = fetch_packages(lock, shared_source(), again);
    ASSERT_TRUE(cached.ok());
    EXPECT_EQ(*cached, *paths);
    EXPECT_TRUE(again.steps.empty()) << "nothing is downloaded again";
    ASSERT_EQ(again.notes.size(), 1u);
    EXPECT_EQ(again.notes[0], "kept 1 cached packages");
}

TEST(Packages, ADownloadThatDoesNotMatchTheLockIsAnError) {
    // A tiny package in a private cache: its sha256 is altered in the lock.
    const LockedPackage* small = find(dropbear_lock(), "libtommath1");
    ASSERT_NE(small, nullptr);
    LockedPackage wrong = *small;
    wrong.sha256 = std::string(64, '0');
    Recorder progress;
    auto r = fetch_packages({wrong}, shared_source(), progress);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("package libtommath1 " + small->version + ": sha256 " +
                                       small->sha256 + " does not match the lock's 000"),
              std::string::npos)
        << r.error().message();
    EXPECT_EQ(progress.last_done, small->size);
    EXPECT_EQ(progress.last_total, small->size);
}

TEST(Packages, ExtractsThroughMergedUsrAndReusesTheUnpackedCopy) {
    const LockedPackage* bb = find(dropbear_lock(), "busybox-static");
    ASSERT_NE(bb, nullptr);
    NoProgress quiet;
    auto paths = fetch_packages({*bb}, shared_source(), quiet);
    ASSERT_TRUE(paths.ok()) << paths.error().message();
    for (int round = 0; round < 2; ++round) {
        Tree tree;
        for (auto [link, target] :
             {std::pair{"/bin", "usr/bin"}, {"/sbin", "usr/sbin"}, {"/lib", "usr/lib"}})
            ASSERT_TRUE(tree.put_symlink(link, target, "base").ok());
        auto st = extract_deb((*paths)[0], tree, "pkg:busybox-static");
        ASSERT_TRUE(st.ok()) << st.error().message();
        EXPECT_EQ(tree.lookup("/bin", false)->kind, Node::Kind::symlink)
            << "the /bin symlink stays";
        auto it = tree.nodes().find("/usr/bin/busybox");
        ASSERT_NE(it, tree.nodes().end());
        EXPECT_EQ(it->second.kind, Node::Kind::file);
        EXPECT_EQ(it->second.mode, 0755u);
        EXPECT_EQ(it->second.origin, "pkg:busybox-static");
        EXPECT_GT(it->second.size, 500000u);
        auto content = Tree::content(it->second);
        ASSERT_TRUE(content.ok());
        EXPECT_EQ(content->substr(0, 4),
                  "\x7f"
                  "ELF");
        EXPECT_NE(it->second.source.find(".unpacked/f/"), std::string::npos) << it->second.source;
        if (round == 0) {  // the second round replays entries.json without libarchive
            std::string stem = (*paths)[0].substr(0, (*paths)[0].size() - 4);
            EXPECT_TRUE(sys::stat_path(stem + ".unpacked/entries.json").ok());
        }
        const Node* doc = tree.lookup("/usr/share/doc/busybox-static/copyright");
        ASSERT_NE(doc, nullptr);
        EXPECT_EQ(doc->mode, 0644u);
        EXPECT_EQ(doc->uid, 0u);
    }
}

// A .deb written here: an ar with debian-binary, control.tar.gz and a
// data.tar.gz holding `entries` (path, type, link target).
struct DebEntry {
    std::string path;
    unsigned type;  // AE_IFREG, AE_IFDIR, AE_IFLNK, or 0 for a hard link to `target`
    std::string target;
    std::string data;
};

std::string tar_gz(const std::vector<DebEntry>& entries) {
    std::vector<char> buf(1 << 20);
    size_t used = 0;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    archive_write_open_memory(a, buf.data(), buf.size(), &used);
    for (const auto& e : entries) {
        archive_entry* en = archive_entry_new();
        archive_entry_set_pathname(en, e.path.c_str());
        if (e.type == 0) {
            archive_entry_set_hardlink(en, e.target.c_str());
            archive_entry_set_filetype(en, AE_IFREG);
        } else {
            archive_entry_set_filetype(en, e.type);
        }
        archive_entry_set_perm(en, e.type == AE_IFDIR ? 0755 : 0640);
        archive_entry_set_uid(en, 7);
        archive_entry_set_gid(en, 8);
        if (e.type == AE_IFLNK) archive_entry_set_symlink(en, e.target.c_str());
        if (e.type == AE_IFREG) archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
        archive_write_header(a, en);
        if (e.type == AE_IFREG) archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return std::string(buf.data(), used);
}

void write_deb(const std::string& path, const std::vector<DebEntry>& entries) {
    std::vector<std::pair<std::string, std::string>> members = {{"debian-binary", "2.0\n"},
                                                                {"control.tar.gz", tar_gz({})},
                                                                {"data.tar.gz", tar_gz(entries)}};
    archive* a = archive_write_new();
    archive_write_set_format_ar_svr4(a);
    archive_write_open_filename(a, path.c_str());
    for (const auto& [name, data] : members) {
        archive_entry* en = archive_entry_new();
        archive_entry_set_pathname(en, name.c_str());
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, static_cast<la_int64_t>(data.size()));
        archive_write_header(a, en);
        archive_write_data(a, data.data(), data.size());
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
}

TEST(Deb, HardLinksSymlinksAndOwnersFromTheTar) {
    TempDir dir;
    std::string deb = dir.path + "/t_1_amd64.deb";
    write_deb(deb, {{"./", AE_IFDIR, "", ""},
                    {"./usr/", AE_IFDIR, "", ""},
                    {"./usr/bin/", AE_IFDIR, "", ""},
                    {"./usr/bin/tool", AE_IFREG, "", "#!/bin/sh\n"},
                    {"./usr/bin/tool2", 0, "./usr/bin/tool", ""},
                    {"./usr/bin/abs", AE_IFLNK, "/../../etc/passwd", ""},
                    {"./etc/escape", AE_IFLNK, "../../../../etc/shadow", ""}});
    Tree tree;
    auto st = extract_deb(deb, tree, "pkg:t");
    ASSERT_TRUE(st.ok()) << st.error().message();
    const Node* tool = tree.lookup("/usr/bin/tool");
    const Node* tool2 = tree.lookup("/usr/bin/tool2");
    ASSERT_NE(tool, nullptr);
    ASSERT_NE(tool2, nullptr);
    EXPECT_EQ(tool->uid, 7u);
    EXPECT_EQ(tool->gid, 8u);
    EXPECT_EQ(tool->mode, 0640u);
    EXPECT_EQ(tool2->source, tool->source) << "a hard link shares its file's content";
    EXPECT_EQ(*Tree::content(*tool2), "#!/bin/sh\n");
    EXPECT_EQ(tree.lookup("/usr/bin/abs", false)->target, "/../../etc/passwd");
    // Link text stays as written; inside the image it cannot leave the root.
    EXPECT_EQ(tree.resolve("/usr/bin/abs"), "/etc/passwd");
    EXPECT_EQ(tree.resolve("/etc/escape"), "/etc/shadow");
    // Nothing from the archive became a host path: only numbered files.
    EXPECT_EQ(tool->source.substr(0, tool->source.rfind('/')), dir.path + "/t_1_amd64.unpacked/f");
    EXPECT_FALSE(sys::stat_path(dir.path + "/t_1_amd64.unpacked/usr").ok());
}

TEST(Deb, UnsafeOrBrokenPackagesAreErrors) {
    TempDir dir;
    std::string deb = dir.path + "/bad_1_amd64.deb";
    write_deb(deb, {{"./usr/../../etc/x", AE_IFREG, "", "x"}});
    Tree tree;
    auto st = extract_deb(deb, tree, "pkg:bad");
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("unsafe path in data.tar: ./usr/../../etc/x"),
              std::string::npos)
        << st.error().message();
    EXPECT_FALSE(sys::stat_path(dir.path + "/bad_1_amd64.unpacked").ok())
        << "no half-unpacked cache entry";

    std::string junk = dir.path + "/junk_1_amd64.deb";
    ASSERT_TRUE(sys::write_file_atomic(junk, "this is not an ar archive").ok());
    st = extract_deb(junk, tree, "pkg:junk");
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find(junk), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace keel::image
