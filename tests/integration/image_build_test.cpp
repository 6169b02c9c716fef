// keel build on the demo system: two builds from the same system.lock give the
// same bytes, a build with nothing changed writes nothing, one with a changed
// definition keeps the kernel modules' archive, and the demo without
// the kernel (vmlinuz and modules) fits the budget: 4 MiB compressed,
// half of an 8 MiB NOR flash.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace keel::it {
namespace {

constexpr uint64_t kSystemBudget = 4u << 20;

struct Entry {
    unsigned type = 0;
    int64_t size = 0;
    std::string target;
};

// The entries of one compressed cpio archive held in memory.
std::map<std::string, Entry> list_archive(const std::string& bytes) {
    std::map<std::string, Entry> out;
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK)
        << archive_error_string(a);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        Entry x{archive_entry_filetype(e), archive_entry_size(e),
                archive_entry_symlink(e) ? archive_entry_symlink(e) : ""};
        out[archive_entry_pathname(e)] = x;
    }
    archive_read_free(a);
    return out;
}

// What the demo image is: the system's archive (pruned, stripped, with ntpd and
// busybox's applets), then the kernel modules', each compressed alone.
void check_demo_image(const TempDir& out) {
    auto build = nlohmann::json::parse(slurp(out.file("build.json")));
    const auto& sizes = build["sizes"];
    std::string image = slurp(out.file("initramfs.img"));
    ASSERT_EQ(sizes["initramfs"].get<uint64_t>(), image.size());
    const uint64_t system = sizes["system"].get<uint64_t>(),
                   modules = sizes["modules"].get<uint64_t>();
    ASSERT_GT(modules, 0u);
    ASSERT_EQ(system + modules, image.size());
    // A sanitizer build's keel (ASan, UBSan, -O0) is several times the size of a release one.
    if (!kSanitized) {
        EXPECT_LE(system, kSystemBudget)
            << "the demo without the kernel is " << system << " bytes compressed";
    }
    std::string report = slurp(out.file("size.txt"));
    EXPECT_NE(report.find("without the kernel (vmlinuz and modules): "), std::string::npos)
        << report;
    EXPECT_NE(report.find("(" + std::to_string(system) + " bytes)"), std::string::npos) << report;
    for (const char* pruned :
         {"/usr/share/doc", "/usr/lib/*/gconv", "unused libraries", "symbols and debug sections"})
        EXPECT_NE(report.find(pruned), std::string::npos) << pruned << "\n" << report;

    auto sys = list_archive(image.substr(0, system));
    auto mods = list_archive(image.substr(system));
    ASSERT_TRUE(sys.count("usr/bin/keel"));
    EXPECT_LT(sys["usr/bin/keel"].size, static_cast<int64_t>(slurp(KEEL_BIN).size()))
        << "keel is stripped";
    for (const char* present :
         {"usr/sbin/ntpd", "etc/openntpd/ntpd.conf", "var/lib/openntpd/chroot", "etc/services",
          "usr/sbin/dropbear", "usr/bin/busybox", "dev/console", "init"})
        EXPECT_TRUE(sys.count(present)) << present;
    for (const char* applet : {"ls", "cat", "mount", "sh", "vi"}) {
        ASSERT_TRUE(sys.count(std::string("usr/bin/") + applet)) << applet;
        EXPECT_EQ(sys[std::string("usr/bin/") + applet].target, "busybox") << applet;
    }
    for (const char* absent :
         {"usr/share/doc", "usr/share/man", "usr/lib/x86_64-linux-gnu/gconv",
          "usr/lib/x86_64-linux-gnu/libmvec.so.1", "usr/bin/dbclient", "usr/sbin/adduser",
          "usr/lib/x86_64-linux-gnu/libzstd.so.1", "usr/lib/modules"})
        EXPECT_FALSE(sys.count(absent)) << absent;
    EXPECT_FALSE(mods.count("usr/bin/keel"));
    bool ko = false;
    for (const auto& [path, e] : mods)
        ko = ko || (path.starts_with("usr/lib/modules/") && path.ends_with("/usb-storage.ko"));
    EXPECT_TRUE(ko) << "the modules' archive holds the modules";
}

TEST(ImageBuild, TwoBuildsFromTheLockAreByteForByteEqualAndTheDemoFitsItsBudget) {
    const std::string definition = repo_file("examples/demo/system.lua");
    if (::access("/boot", R_OK) != 0)
        KEEL_SKIP("linux-image-amd64", "no /boot (linux-image-amd64)");
    TempDir a, b;
    // A sanitizer build's keel (~180 MB) would spend minutes in zstd -19; what is
    // compared does not depend on the compression.
    const std::string compression = kSanitized ? "none" : "zstd";
    const std::string lock = slurp(repo_file("examples/demo/system.lock"));
    auto first =
        run_cli({"build", definition, "-o", a.path(), "--quiet", "--compression", compression},
                std::nullopt, slow(300s));
    ASSERT_EQ(first.code, 0) << first.describe();
    EXPECT_NE(first.out.find("built:"), std::string::npos) << first.out;
    EXPECT_EQ(slurp(repo_file("examples/demo/system.lock")), lock)
        << "the committed lock pins the demo";
    check_demo_image(a);
    auto second =
        run_cli({"build", definition, "-o", b.path(), "--quiet", "--compression", compression},
                std::nullopt, slow(300s));
    ASSERT_EQ(second.code, 0) << second.describe();
    std::string ia = slurp(a.file("initramfs.img")), ib = slurp(b.file("initramfs.img"));
    ASSERT_GT(ia.size(), 1000u);
    EXPECT_TRUE(ia == ib) << "initramfs differs between two builds from the same lock";
    EXPECT_EQ(slurp(a.file("system.json")), slurp(b.file("system.json")));
    auto again =
        run_cli({"build", definition, "-o", a.path(), "--quiet", "--compression", compression},
                std::nullopt, slow(120s));
    ASSERT_EQ(again.code, 0) << again.describe();
    EXPECT_NE(again.out.find("up to date:"), std::string::npos) << again.out;

    // A changed definition: only the system's archive is compressed again, and the
    // image is what a build from nothing gives.
    TempDir changed, fresh;
    for (const char* f : {"system.lua", "system.lock", "automount.lua"})
        std::filesystem::copy_file(repo_file(std::string("examples/demo/") + f), changed.file(f));
    std::string text = slurp(changed.file("system.lua"));
    text.replace(text.find("\"keel-demo\""), 11, "\"keel-demo2\"");
    std::ofstream(changed.file("system.lua")) << text;
    auto edited =
        run_cli({"build", changed.file("system.lua"), "-o", a.path(), "--compression", compression},
                std::nullopt, slow(300s));
    ASSERT_EQ(edited.code, 0) << edited.describe();
    EXPECT_NE(edited.err.find("kernel modules unchanged"), std::string::npos) << edited.err;
    if (kSanitized) return;  // one more build of a 180 MB keel: the release run compares
    auto scratch = run_cli({"build", changed.file("system.lua"), "-o", fresh.path(), "--quiet",
                            "--compression", compression},
                           std::nullopt, slow(300s));
    ASSERT_EQ(scratch.code, 0) << scratch.describe();
    EXPECT_TRUE(slurp(a.file("initramfs.img")) == slurp(fresh.file("initramfs.img")));
    EXPECT_NE(slurp(a.file("initramfs.img")), ia);
}

TEST(ImageBuild, ADefinitionMistakeNamesFileAndLine) {
    TempDir d;
    write_file_atomic(d.file("system.lua"),
                      "return system {\n  hostname = 'x',\n  services = { 'sshd' },\n}\n");
    auto r = run_cli({"build", d.file("system.lua"), "-o", d.file("out")});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("system.lua:3: unknown service \"sshd\" (did you mean \"ssh\"?)"),
              std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace keel::it
