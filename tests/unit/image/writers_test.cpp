// The writers: cpio initramfs (read back with libarchive and with cpio -t,
// byte-identical for equal trees), the directory writer, the size report.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/sys.h"
#include "file_test_util.h"
#include "image/writers.h"

namespace keel::image {
namespace {

namespace fs = std::filesystem;

using test::slurp;
using Tmp = test::TempDir;

std::string shell(const std::string& cmd) {
    auto [out, status] = test::run_shell(cmd);
    if (status != 0) ADD_FAILURE() << cmd << " exited " << status << ": " << out;
    return out;
}

// A small image: merged-/usr links, a setuid binary from the host, data files,
// a library, a module, config.
Tree sample(const std::string& host_file) {
    Tree t;
    EXPECT_TRUE(t.put_symlink("/bin", "usr/bin", "base"));
    EXPECT_TRUE(t.put_symlink("/lib", "usr/lib", "base"));
    EXPECT_TRUE(t.put_host_file("/bin/tool", host_file, 04755, "pkg:tool"));
    EXPECT_TRUE(t.put_file("/etc/hostname", "keel\n", 0644, "definition"));
    EXPECT_TRUE(t.put_file("/etc/shadow", "root:*:1::::::\n", 0640, "definition"));
    EXPECT_TRUE(t.put_file("/usr/lib/x86_64-linux-gnu/libfoo.so.1", std::string(3000, 'L'), 0644,
                           "pkg:libfoo1"));
    EXPECT_TRUE(
        t.put_file("/lib/modules/6.1.0/kernel/fs/vfat.ko", std::string(5000, 'K'), 0644, "kernel"));
    EXPECT_TRUE(t.put_dir("/srv/www", 0750, "definition"));
    EXPECT_TRUE(t.put_file("/srv/www/index.html", "<h1>hi</h1>\n", 0644, "definition"));
    EXPECT_TRUE(t.put_symlink("/init", "usr/bin/keel", "definition"));
    Node owned;
    owned.kind = Node::Kind::file;
    owned.mode = 0600;
    owned.uid = 1234;
    owned.gid = 42;
    owned.data = "secret";
    owned.origin = "definition";
    EXPECT_TRUE(t.put("/home/benny/.ssh/authorized_keys", owned));
    return t;
}

class Writers : public testing::Test {
  protected:
    void SetUp() override {
        ::unsetenv("SOURCE_DATE_EPOCH");
        host = tmp.path + "/host-tool";
        std::ofstream(host) << "#!/bin/sh\necho tool\n";
    }
    Tmp tmp;
    std::string host;
    NoProgress quiet;
};

struct Entry {
    std::string path, symlink, data;
    unsigned mode = 0, type = 0;
    int64_t uid = 0, gid = 0, ino = 0, mtime = 0;
    dev_t rdev = 0;
};

std::vector<Entry> read_back(const std::string& path) {
    std::vector<Entry> out;
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 65536), ARCHIVE_OK)
        << archive_error_string(a);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        Entry x;
        x.path = archive_entry_pathname(e);
        x.mode = archive_entry_perm(e);
        x.type = archive_entry_filetype(e);
        x.uid = archive_entry_uid(e);
        x.gid = archive_entry_gid(e);
        x.ino = archive_entry_ino64(e);
        x.mtime = archive_entry_mtime(e);
        x.rdev = archive_entry_rdev(e);
        if (archive_entry_symlink(e)) x.symlink = archive_entry_symlink(e);
        char buf[8192];
        for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;)
            x.data.append(buf, n);
        out.push_back(x);
    }
    archive_read_free(a);
    return out;
}

TEST_F(Writers, CpioReadsBackInKernelOrderWithOwnersModesAndContent) {
    Tree t = sample(host);
    ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    for (auto c : {Compression::none, Compression::gzip, Compression::xz, Compression::zstd}) {
        std::string out = tmp.path + "/initramfs-" + std::to_string(int(c));
        ASSERT_TRUE(write_cpio(t, out, c, quiet));
        auto entries = read_back(out);
        // Plus /dev and /dev/console, which the kernel opens for init.
        ASSERT_EQ(entries.size(), t.size() + 2) << "compression " << int(c);
        EXPECT_EQ(entries[0].path, ".");
        std::map<std::string, const Entry*> by;
        int64_t last_ino = 0;
        for (const auto& e : entries) {
            by[e.path] = &e;
            EXPECT_GT(e.ino, last_ino) << e.path;  // assigned in order
            last_ino = e.ino;
            EXPECT_EQ(e.mtime, 1700000000) << e.path;
            // A directory comes before anything inside it.
            auto slash = e.path.rfind('/');
            if (slash != std::string::npos) {
                EXPECT_TRUE(by.count(e.path.substr(0, slash))) << e.path;
            }
        }
        ASSERT_TRUE(by.count("usr/bin/tool"));
        EXPECT_EQ(by["usr/bin/tool"]->mode, 04755u);
        EXPECT_EQ(by["usr/bin/tool"]->data, "#!/bin/sh\necho tool\n");
        EXPECT_EQ(by["bin"]->type, unsigned(AE_IFLNK));
        EXPECT_EQ(by["bin"]->symlink, "usr/bin");
        EXPECT_EQ(by["init"]->symlink, "usr/bin/keel");
        EXPECT_EQ(by["srv/www"]->type, unsigned(AE_IFDIR));
        EXPECT_EQ(by["srv/www"]->mode, 0750u);
        EXPECT_EQ(by["home/benny/.ssh/authorized_keys"]->uid, 1234);
        EXPECT_EQ(by["home/benny/.ssh/authorized_keys"]->gid, 42);
        EXPECT_EQ(by["home/benny/.ssh/authorized_keys"]->data, "secret");
        ASSERT_TRUE(by.count("dev/console"));
        EXPECT_EQ(by["dev/console"]->type, unsigned(AE_IFCHR));
        EXPECT_EQ(by["dev/console"]->rdev, makedev(5, 1));
        EXPECT_EQ(by["usr/lib/modules/6.1.0/kernel/fs/vfat.ko"]->data.size(), 5000u);
    }
}

// An initramfs of two archives, each compressed alone and written one after the
// other: each part reads back on its own, only the first has /dev/console, and
// the sizes returned are the parts' bytes.
TEST_F(Writers, PartsAreArchivesOfTheirOwnOneAfterTheOther) {
    Tree system = sample(host), modules;
    ASSERT_TRUE(system.remove("/usr/lib/modules"));
    ASSERT_TRUE(modules.put_file("/usr/lib/modules/6.1.0/kernel/fs/vfat.ko", std::string(5000, 'K'),
                                 0644, "kernel"));
    for (auto c : {Compression::none, Compression::gzip, Compression::xz, Compression::zstd}) {
        std::string out = tmp.path + "/parts-" + std::to_string(int(c));
        auto sizes = write_cpio_parts({{&system, {}}, {&modules, {}}}, out, c, quiet);
        ASSERT_TRUE(sizes) << sizes.error().message();
        ASSERT_EQ(sizes->size(), 2u);
        std::string bytes = slurp(out);
        ASSERT_EQ((*sizes)[0] + (*sizes)[1], bytes.size()) << int(c);
        std::string first = tmp.path + "/first", second = tmp.path + "/second";
        std::ofstream(first, std::ios::binary) << bytes.substr(0, (*sizes)[0]);
        std::ofstream(second, std::ios::binary) << bytes.substr((*sizes)[0]);
        auto a = read_back(first), b = read_back(second);
        std::set<std::string> in_a, in_b;
        for (const auto& e : a)
            in_a.insert(e.path);
        for (const auto& e : b)
            in_b.insert(e.path);
        EXPECT_EQ(a.size(), system.size() + 2) << int(c);  // plus dev and dev/console
        EXPECT_TRUE(in_a.count("dev/console"));
        EXPECT_FALSE(in_a.count("usr/lib/modules"));
        EXPECT_EQ(in_b, (std::set<std::string>{
                            ".", "usr", "usr/lib", "usr/lib/modules", "usr/lib/modules/6.1.0",
                            "usr/lib/modules/6.1.0/kernel", "usr/lib/modules/6.1.0/kernel/fs",
                            "usr/lib/modules/6.1.0/kernel/fs/vfat.ko"}))
            << int(c);
        // The modules' archive given as the earlier bytes: written as they are, and
        // the whole is what compressing both again gives.
        std::string again = out + "-again";
        auto reused = write_cpio_parts({{&system, {}}, {&modules, bytes.substr((*sizes)[0])}},
                                       again, c, quiet);
        ASSERT_TRUE(reused) << reused.error().message();
        EXPECT_EQ(*reused, *sizes);
        EXPECT_EQ(slurp(again), bytes) << int(c);
    }
}

TEST_F(Writers, ConsoleFollowsAnExistingDevDirectory) {
    Tree t = sample(host);
    ASSERT_TRUE(t.put_dir("/dev", 0755, "base"));
    ASSERT_TRUE(t.put_dir("/dev/pts", 0755, "base"));
    std::string out = tmp.path + "/i.cpio";
    ASSERT_TRUE(write_cpio(t, out, Compression::none, quiet));
    auto entries = read_back(out);
    ASSERT_EQ(entries.size(), t.size() + 1);
    size_t dev = 0, console = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].path == "dev") dev = i;
        if (entries[i].path == "dev/console") console = i;
    }
    EXPECT_EQ(console, dev + 1);
}

TEST_F(Writers, CpioIsByteIdenticalForEqualTreesAndFollowsSourceDateEpoch) {
    for (auto c : {Compression::gzip, Compression::xz, Compression::zstd}) {
        std::string a = tmp.path + "/a", b = tmp.path + "/b", d = tmp.path + "/d";
        ::unsetenv("SOURCE_DATE_EPOCH");
        ASSERT_TRUE(write_cpio(sample(host), a, c, quiet));
        ::sleep(c == Compression::gzip ? 1 : 0);  // a wall-clock timestamp would show
        ASSERT_TRUE(write_cpio(sample(host), b, c, quiet));
        EXPECT_EQ(shell("sha256sum < " + a), shell("sha256sum < " + b)) << int(c);
        ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
        ASSERT_TRUE(write_cpio(sample(host), d, c, quiet));
        EXPECT_NE(slurp(a), slurp(d));
        ::unsetenv("SOURCE_DATE_EPOCH");
    }
}

TEST_F(Writers, CompressedFormsAreWhatTheKernelDecompresses) {
    Tree t = sample(host);
    std::string gz = tmp.path + "/i.gz", xz = tmp.path + "/i.xz", zst = tmp.path + "/i.zst";
    ASSERT_TRUE(write_cpio(t, gz, Compression::gzip, quiet));
    ASSERT_TRUE(write_cpio(t, xz, Compression::xz, quiet));
    ASSERT_TRUE(write_cpio(t, zst, Compression::zstd, quiet));
    std::string g = slurp(gz);
    ASSERT_GT(g.size(), 10u);
    EXPECT_EQ(g.substr(0, 2), std::string("\x1f\x8b"));
    EXPECT_EQ(g.substr(4, 4), std::string(4, '\0'));  // no mtime in the gzip header
    // The kernel's xz decoder wants CRC32 (or none), not xz's default CRC64.
    EXPECT_NE(shell("xz --robot --list --verbose " + xz).find("\tCRC32\t"), std::string::npos);
    // GNU cpio lists the same names from each form.
    std::string expect = shell("gzip -dc " + gz + " | cpio -t --quiet");
    EXPECT_NE(expect.find("usr/bin/tool\n"), std::string::npos);
    EXPECT_NE(expect.find("etc/hostname\n"), std::string::npos);
    EXPECT_EQ(shell("xz -dc " + xz + " | cpio -t --quiet"), expect);
    EXPECT_EQ(shell("zstd -dcq " + zst + " | cpio -t --quiet"), expect);
    // newc headers ("070701"), the trailer last, nothing padded after it.
    std::string plain = tmp.path + "/i.cpio";
    ASSERT_TRUE(write_cpio(t, plain, Compression::none, quiet));
    std::string raw = slurp(plain);
    EXPECT_EQ(raw.substr(0, 6), "070701");
    auto trailer = raw.rfind("TRAILER!!!");
    ASSERT_NE(trailer, std::string::npos);
    EXPECT_LT(raw.size() - trailer, 16u);
    EXPECT_EQ(raw.size() % 4, 0u);
}

TEST_F(Writers, CpioOfAChangedSourceFailsAndLeavesNothing) {
    Tree t = sample(host);
    std::ofstream(host, std::ios::app) << "grown\n";
    std::string out = tmp.path + "/i.gz";
    auto st = write_cpio(t, out, Compression::gzip, quiet);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("changed size"), std::string::npos) << st.error().message();
    EXPECT_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(tmp.path))  // no temporary left either
        EXPECT_FALSE(e.path().filename().string().starts_with("i.gz")) << e.path();
}

TEST_F(Writers, DirectoryHasModesOwnersLinksAndRefusesANonEmptyTarget) {
    Tree t = sample(host);
    std::string a = tmp.path + "/rootfs-a", b = tmp.path + "/rootfs-b";
    ASSERT_TRUE(write_directory(t, a, quiet));
    struct stat st {};
    ASSERT_EQ(::stat((a + "/usr/bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(slurp(a + "/usr/bin/tool"), "#!/bin/sh\necho tool\n");
    EXPECT_EQ(fs::read_symlink(a + "/bin"), "usr/bin");
    EXPECT_EQ(slurp(a + "/bin/tool"), slurp(a + "/usr/bin/tool"));
    ASSERT_EQ(::stat((a + "/srv/www").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    ASSERT_EQ(::stat((a + "/home/benny/.ssh/authorized_keys").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    if (::geteuid() == 0) {
        EXPECT_EQ(st.st_uid, 1234u);
        EXPECT_EQ(st.st_gid, 42u);
    }
    auto again = write_directory(t, a, quiet);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("not empty"), std::string::npos);
    // The same tree into another empty directory gives the same listing.
    fs::create_directory(b);
    ASSERT_TRUE(write_directory(t, b, quiet));
    auto listing = [](const std::string& d) {
        return shell("cd " + d + " && find . -printf '%p %m %U %G %s %l\\n' | sort");
    };
    EXPECT_EQ(listing(a), listing(b));
}

TEST_F(Writers, SizeReportGroupsByOriginAndClassLargestFirst) {
    Tree t = sample(host);
    SizeReport r = size_report(t);
    ASSERT_FALSE(r.by_origin.empty());
    EXPECT_EQ(r.by_origin[0].name, "kernel");
    EXPECT_EQ(r.by_origin[0].bytes, 5000u);
    EXPECT_EQ(r.by_origin[1].name, "pkg:libfoo1");
    std::map<std::string, SizeLine> cls;
    for (const auto& l : r.by_class)
        cls[l.name] = l;
    EXPECT_EQ(cls["kernel modules"].bytes, 5000u);
    EXPECT_EQ(cls["shared libraries"].bytes, 3000u);
    EXPECT_EQ(cls["executables"].files, 1u);
    EXPECT_EQ(cls["config (/etc)"].files, 2u);
    EXPECT_EQ(cls["other"].files, 2u);  // index.html, authorized_keys
    for (size_t i = 1; i < r.by_class.size(); ++i)
        EXPECT_GE(r.by_class[i - 1].bytes, r.by_class[i].bytes);
    uint64_t sum = 0;
    for (const auto& l : r.by_origin)
        sum += l.bytes;
    EXPECT_EQ(r.total_bytes, sum);
    r.compressed_bytes = 2048;
    std::string text = format_size_report(r);
    EXPECT_NE(text.find("by origin"), std::string::npos) << text;
    EXPECT_NE(text.find("  kernel "), std::string::npos) << text;
    EXPECT_NE(text.find("4.9 KiB"), std::string::npos) << text;
    EXPECT_NE(text.find("2.0 KiB compressed"), std::string::npos) << text;
    // Columns line up: every row of a table has its size column ending at the same place.
    std::istringstream in(text);
    std::set<size_t> widths;
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("  ")) widths.insert(line.size());
    EXPECT_LE(widths.size(), 2u) << text;
}

// The numbers the size goal is about: the system apart from the kernel (vmlinuz
// and modules), and the total with it; what pruning left out.
TEST_F(Writers, SizeReportGivesTheSystemWithoutTheKernel) {
    Tree t = sample(host);
    SizeReport r = size_report(t);
    EXPECT_EQ(r.total_files, 7u);
    EXPECT_EQ(r.module_files, 1u);
    EXPECT_EQ(r.module_bytes, 5000u);
    EXPECT_EQ(r.system_compressed_bytes(), 0u) << "modules not apart: no such figure";
    r.compressed_bytes = 3 << 20;
    r.modules_compressed_bytes = 1 << 20;
    r.kernel_image_bytes = 8 << 20;
    r.pruned = {{"/usr/share/doc", 47, 787000}, {"unused libraries", 12, 1320000}};
    EXPECT_EQ(r.system_compressed_bytes(), 2u << 20);
    std::string text = format_size_report(r);
    EXPECT_NE(text.find("pruned (left out)"), std::string::npos) << text;
    EXPECT_NE(text.find("  unused libraries "), std::string::npos) << text;
    EXPECT_NE(text.find("initramfs: 7 files"), std::string::npos) << text;
    EXPECT_NE(text.find("  system:              6 files"), std::string::npos) << text;
    EXPECT_NE(text.find("  kernel modules:      1 files"), std::string::npos) << text;
    EXPECT_NE(text.find("vmlinuz: 8.00 MiB\n"), std::string::npos) << text;
    EXPECT_NE(
        text.find(
            "total: 11.00 MiB (initramfs + vmlinuz); without the kernel (vmlinuz and modules): "
            "2.00 MiB (2097152 bytes)\n"),
        std::string::npos)
        << text;
}

}  // namespace
}  // namespace keel::image
