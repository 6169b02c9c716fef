// The crash-safe write family (base/durable.h): what a test can see of it —
// content, modes, rename over what was there, nothing left behind on failure, and
// a reader racing a symlink's replacement never finding it missing. (That the
// file and its directory are fsynced is in the code, not observable here short of
// cutting the power.)
#include "base/durable.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/sys.h"

namespace keel::sys {
namespace {

namespace fs = std::filesystem;

class Durable : public testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/keel-durable-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }

    std::string read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::vector<std::string> names() {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir))
            out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }
    unsigned mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
        return st.st_mode & 07777;
    }

    std::string dir;
};

TEST_F(Durable, WritesTheContentWithTheModeAskedWhateverTheUmask) {
    mode_t old = ::umask(077);
    auto st = write_file_atomic(dir + "/a", "hello\n", 0644);
    ::umask(old);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(read(dir + "/a"), "hello\n");
    EXPECT_EQ(mode_of(dir + "/a"), 0644u);
    ASSERT_TRUE(write_file_atomic(dir + "/b", "", 0600));
    EXPECT_EQ(mode_of(dir + "/b"), 0600u);
    EXPECT_EQ(read(dir + "/b"), "");
    EXPECT_EQ(names(), (std::vector<std::string>{"a", "b"}));  // no temporary beside them
}

TEST_F(Durable, ReplacesWhatWasThereByRename) {
    const std::string p = dir + "/state.json";
    ASSERT_TRUE(write_file_atomic(p, "old"));
    struct stat before {};
    ASSERT_EQ(::stat(p.c_str(), &before), 0);
    std::ifstream reader(p);  // a reader holding the old file keeps reading the old file
    ASSERT_TRUE(write_file_atomic(p, "new and longer"));
    struct stat after {};
    ASSERT_EQ(::stat(p.c_str(), &after), 0);
    EXPECT_NE(before.st_ino, after.st_ino);  // a new inode renamed over, not rewritten
    EXPECT_EQ(read(p), "new and longer");
    std::string old;
    std::getline(reader, old);
    EXPECT_EQ(old, "old");
    EXPECT_EQ(names(), std::vector<std::string>{"state.json"});
}

TEST_F(Durable, AFailedWriteLeavesTheOldAndNoTemporary) {
    // The target is a non-empty directory: everything up to the rename works, the rename fails.
    ASSERT_TRUE(make_dirs_durable(dir + "/x/inside", 0755));
    auto st = write_file_atomic(dir + "/x", "data");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find(dir + "/x"), std::string::npos) << st.error().message();
    EXPECT_EQ(names(), std::vector<std::string>{"x"});
    EXPECT_TRUE(fs::is_directory(dir + "/x/inside"));
    // A directory that does not exist: nothing created, the error names it.
    st = write_file_atomic(dir + "/missing/f", "data");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ENOENT);
    EXPECT_NE(st.error().message().find(dir + "/missing/f"), std::string::npos);
}

TEST_F(Durable, AnAtomicFileAppearsOnlyOnCommitAndNotAtAllWithout) {
    const std::string p = dir + "/image";
    ASSERT_TRUE(write_file_atomic(p, "previous image"));
    {
        auto f = AtomicFile::create(p, 0640);
        ASSERT_TRUE(f) << f.error().message();
        ASSERT_TRUE(write_all(f->fd(), "half an ima", 11));
        EXPECT_EQ(read(p), "previous image");  // readers see the old one while it is written
    }  // dropped (a failed build): the old one stays, the temporary goes
    EXPECT_EQ(read(p), "previous image");
    EXPECT_EQ(names(), std::vector<std::string>{"image"});

    auto f = AtomicFile::create(p, 0640);
    ASSERT_TRUE(f);
    ASSERT_TRUE(write_all(f->fd(), "the new image", 13));
    EXPECT_EQ(names().size(), 2u);  // the temporary, in the same directory (one file system)
    ASSERT_TRUE(f->commit());
    EXPECT_EQ(read(p), "the new image");
    EXPECT_EQ(mode_of(p), 0640u);
    EXPECT_EQ(names(), std::vector<std::string>{"image"});
    EXPECT_FALSE(f->commit());  // once
}

TEST_F(Durable, ReplaceSymlinkSwapsTheTargetAndLeavesNothingElse) {
    const std::string link = dir + "/current";
    ASSERT_TRUE(replace_symlink("generations/1", link));
    EXPECT_EQ(fs::read_symlink(link), "generations/1");
    ASSERT_TRUE(replace_symlink("generations/2", link));
    EXPECT_EQ(fs::read_symlink(link), "generations/2");
    EXPECT_EQ(names(), std::vector<std::string>{"current"});
    auto st = replace_symlink("x", dir + "/no/such/dir/link");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find(dir + "/no/such/dir/link"), std::string::npos);
}

TEST_F(Durable, AReaderRacingASymlinkReplacementNeverFindsItMissing) {
    const std::string link = dir + "/current";
    ASSERT_TRUE(replace_symlink("a", link));
    std::atomic<bool> done{false};
    std::atomic<long> reads{0}, missing{0}, wrong{0};
    std::thread reader([&] {
        char buf[16];
        while (!done.load()) {
            ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
            if (n < 0)
                ++missing;
            else if (std::string_view(buf, static_cast<size_t>(n)) != "a" &&
                     std::string_view(buf, static_cast<size_t>(n)) != "b")
                ++wrong;
            ++reads;
        }
    });
    for (int i = 0; i < 500; ++i)  // each syncs the directory: a journal commit on ext4
        ASSERT_TRUE(replace_symlink(i % 2 ? "a" : "b", link));
    done = true;
    reader.join();
    EXPECT_GT(reads.load(), 100) << "the reader did not run alongside the writer";
    EXPECT_EQ(missing.load(), 0) << "of " << reads.load() << " reads";
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(names(), std::vector<std::string>{"current"});
}

TEST_F(Durable, MakeDirsCreatesTheMissingOnesWithTheirMode) {
    mode_t old = ::umask(0);
    auto st = make_dirs_durable(dir + "/a/b/c", 0750);
    ::umask(old);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_TRUE(fs::is_directory(dir + "/a/b/c"));
    EXPECT_EQ(mode_of(dir + "/a/b"), 0750u);
    EXPECT_EQ(mode_of(dir), 0700u);  // existing ones are left as they were
    EXPECT_TRUE(make_dirs_durable(dir + "/a/b/c", 0755));
    ASSERT_TRUE(write_file_atomic(dir + "/file", "x"));
    st = make_dirs_durable(dir + "/file/sub", 0755);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find(dir + "/file/sub"), std::string::npos);
}

TEST_F(Durable, PublishPutsAPreparedTreeInPlace) {
    ASSERT_TRUE(make_dirs_durable(dir + "/tree.tmp/etc", 0755));
    ASSERT_TRUE(write_file_atomic(dir + "/tree.tmp/etc/hostname", "box\n"));
    ASSERT_TRUE(publish(dir + "/tree.tmp", dir + "/tree"));
    EXPECT_EQ(read(dir + "/tree/etc/hostname"), "box\n");
    EXPECT_EQ(names(), std::vector<std::string>{"tree"});

    // Onto an empty directory it goes; onto a full one it does not, and both stay.
    ASSERT_TRUE(make_dirs_durable(dir + "/next.tmp/x", 0755));
    ASSERT_TRUE(make_dirs_durable(dir + "/empty", 0755));
    ASSERT_TRUE(publish(dir + "/next.tmp", dir + "/empty"));
    EXPECT_TRUE(fs::is_directory(dir + "/empty/x"));
    ASSERT_TRUE(make_dirs_durable(dir + "/other.tmp", 0755));
    auto st = publish(dir + "/other.tmp", dir + "/tree");
    ASSERT_FALSE(st);
    EXPECT_TRUE(st.error().code() == ENOTEMPTY || st.error().code() == EEXIST)
        << st.error().message();
    EXPECT_TRUE(fs::is_directory(dir + "/other.tmp"));
    EXPECT_EQ(read(dir + "/tree/etc/hostname"), "box\n");
    EXPECT_FALSE(publish(dir + "/absent", dir + "/y"));
}

TEST_F(Durable, SyncDirNamesWhatIsNotADirectory) {
    EXPECT_TRUE(sync_dir(dir));
    ASSERT_TRUE(write_file_atomic(dir + "/f", "x"));
    auto st = sync_dir(dir + "/f");
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ENOTDIR);
    EXPECT_NE(st.error().message().find(dir + "/f"), std::string::npos);
}

}  // namespace
}  // namespace keel::sys
