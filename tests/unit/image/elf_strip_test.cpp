// strip_elf on real files: a program and a shared library compiled here with
// debug information (and a GNU build-id) still run after stripping, binutils'
// readelf finds no symbol table or debug section in them, the result is the same
// bytes every time, and damaged input is an error or left alone, never a crash.
#include "image/elf_strip.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "file_test_util.h"
#include "image/elf_file.h"
#include "support/skip.h"

namespace keel::image {
namespace {

void spill(const std::string& p, const std::string& data, mode_t mode = 0755) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
    ::chmod(p.c_str(), mode);
}

std::pair<std::string, int> run(const std::string& cmd) {
    return test::run_shell(cmd + " 2>&1");
}

class ElfStrip : public testing::Test {
  protected:
    void SetUp() override {
        if (run("command -v cc && command -v readelf").second != 0)
            KEEL_SKIP("cc", "no cc/readelf (build-essential)");
        spill(tmp.path + "/lib.c", "int twice(int x) { return 2 * x; }\n", 0644);
        spill(tmp.path + "/main.c",
              "#include <stdio.h>\nint twice(int);\nstatic int unused_helper(void) { return 7; }\n"
              "int main(void) { printf(\"%d %d\\n\", twice(21), unused_helper()); return 0; }\n",
              0644);
        auto lib = run("cd " + tmp.path +
                       " && cc -g -O1 -fPIC -shared -Wl,--build-id -o libtwice.so lib.c");
        ASSERT_EQ(lib.second, 0) << lib.first;
        auto exe =
            run("cd " + tmp.path +
                " && cc -g -O1 -Wl,--build-id -o prog main.c -L. -ltwice -Wl,-rpath,'$ORIGIN'");
        ASSERT_EQ(exe.second, 0) << exe.first;
    }
    std::string sections(const std::string& path) { return run("readelf -SW " + path).first; }
    test::TempDir tmp;
};

TEST_F(ElfStrip, ProgramsAndLibrariesRunWithoutTheirSymbolsAndDebugSections) {
    for (const char* name : {"prog", "libtwice.so"}) {
        std::string path = tmp.path + "/" + name;
        std::string before = test::slurp(path);
        ASSERT_NE(sections(path).find(".debug_info"), std::string::npos);
        ASSERT_NE(sections(path).find(".symtab"), std::string::npos);
        auto out = strip_elf(before, path);
        ASSERT_TRUE(out) << out.error().message();
        ASSERT_TRUE(out->has_value()) << name;
        EXPECT_LT((*out)->size(), before.size());
        spill(path, **out);
        std::string after = sections(path);
        for (const char* gone : {".symtab", ".strtab", ".debug", ".comment"})
            EXPECT_EQ(after.find(gone), std::string::npos) << name << " keeps " << gone << "\n"
                                                           << after;
        for (const char* kept : {".dynsym", ".dynstr", ".text", ".note.gnu.build-id", ".shstrtab"})
            EXPECT_NE(after.find(kept), std::string::npos) << name << " lost " << kept << "\n"
                                                           << after;
        auto warnings = run("readelf -a -W " + path + " >/dev/null");
        EXPECT_EQ(warnings.first, "") << name;  // readelf complains of nothing
        auto info = parse_elf(**out, path);
        ASSERT_TRUE(info) << info.error().message();
        EXPECT_TRUE(info->is_elf);
        // Stripping again finds nothing more to remove.
        auto again = strip_elf(**out, path);
        ASSERT_TRUE(again);
        EXPECT_FALSE(again->has_value()) << name;
    }
    auto ran = run(tmp.path + "/prog");
    EXPECT_EQ(ran.second, 0);
    EXPECT_EQ(ran.first, "42 7\n");
}

TEST_F(ElfStrip, TheSameBytesEveryTimeAndWhatBinutilsStripRemoves) {
    std::string path = tmp.path + "/prog";
    std::string bytes = test::slurp(path);
    auto a = strip_elf(bytes, path), b = strip_elf(bytes, path);
    ASSERT_TRUE(a && a->has_value() && b && b->has_value());
    EXPECT_EQ(**a, **b);
    if (run("command -v strip").second != 0)
        KEEL_SKIP("strip", "no strip to compare with (binutils)");
    auto gnu = run("cd " + tmp.path + " && strip --strip-all -R .comment -o gnu prog");
    ASSERT_EQ(gnu.second, 0) << gnu.first;
    // The same sections as GNU strip leaves (it may lay them out differently).
    auto names = [&](const std::string& file) {
        return run("readelf -SW " + file + " | sed -n 's/^ *\\[ *[0-9]*\\] \\([^ ]*\\).*/\\1/p'")
            .first;
    };
    spill(tmp.path + "/ours", **a);
    EXPECT_EQ(names(tmp.path + "/ours"), names(tmp.path + "/gnu"));
}

TEST_F(ElfStrip, DamageIsAnErrorOrLeftAloneNeverACrash) {
    std::string bytes = test::slurp(tmp.path + "/prog");
    for (size_t n = 0; n < bytes.size(); n += (n < 128 ? 1 : 61)) {
        auto r = strip_elf(std::string_view(bytes).substr(0, n), "prog");
        if (r && r->has_value()) {
            EXPECT_LE((*r)->size(), bytes.size());
        }
    }
    // Garbage over the section headers, the name table offset, a section size.
    for (size_t at : {size_t{0x28}, size_t{0x3e}, bytes.size() - 40, bytes.size() / 2}) {
        std::string bad = bytes;
        for (size_t i = 0; i < 8 && at + i < bad.size(); ++i)
            bad[at + i] = '\xff';
        (void)strip_elf(bad, "prog");
    }
    EXPECT_FALSE(strip_elf("#!/bin/sh\necho hi\n", "script")->has_value());
    auto relocatable = run("cd " + tmp.path + " && cc -g -c -o lib.o lib.c");
    ASSERT_EQ(relocatable.second, 0);
    auto o = strip_elf(test::slurp(tmp.path + "/lib.o"), "lib.o");
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->has_value()) << "an object file keeps its symbols";
    std::string truncated = bytes.substr(0, 40);
    auto t = strip_elf(truncated, "prog");
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("prog: truncated ELF header"), std::string::npos)
        << t.error().message();
}

}  // namespace
}  // namespace keel::image
