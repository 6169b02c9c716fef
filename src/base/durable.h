// Crash-safe writes: every durable write in Keel goes through these. A reader sees
// the old state or the new one, never a part; and once a call returned, the new
// state survives a power cut.
//
// The recipe: a temporary in the same directory (rename(2) is atomic only within
// one file system), write, fsync it, rename over the target, fsync the directory.
// Why the directory too: the rename changes the directory, not the file. Until the
// directory's own update is on disk, a power cut can bring back the old entry (or
// none, for a new name) though the file's data was synced, and the write reported
// done is lost: ext4, xfs and btrfs all leave that ordering to an fsync of the
// directory, the one barrier POSIX names for directory entries. Symlinks and
// directories made in place need the same: their entries live in the parent.
#pragma once

#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace keel::sys {

// Replaces `path` with `data` (mode `mode`, umask not applied).
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// A file written through an fd (an image streamed out) that appears at `path`
// only by commit(); destroyed without commit, it leaves nothing behind.
class AtomicFile {
  public:
    static Result<AtomicFile> create(const std::string& path, unsigned mode = 0644);
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&& other) noexcept;
    ~AtomicFile();

    int fd() const { return fd_.get(); }
    // fsync, rename over `path`, fsync the directory.
    Status commit();

  private:
    AtomicFile(std::string path, std::string tmp, Fd fd, unsigned mode)
        : path_(std::move(path)), tmp_(std::move(tmp)), fd_(std::move(fd)), mode_(mode) {}

    std::string path_, tmp_;  // tmp_ empty once committed or given up
    Fd fd_;
    unsigned mode_;
};

// Creates `path` as a symlink to `target`, replacing what is there atomically: a
// reader racing it finds the old link or the new one, never none.
Status replace_symlink(const std::string& target, const std::string& path);

// Creates a directory and its missing parents (mode applies to the ones created),
// each new one's entry synced in its parent.
Status make_dirs_durable(const std::string& path, unsigned mode);

// Puts a directory (or file) prepared at `from` in place at `to` (absent, or an
// empty directory): its content is synced first (syncfs: one journal commit for
// a whole tree, where an fsync per file would be one each), then the rename and
// the directory holding `to`. Both must be on one file system.
Status publish(const std::string& from, const std::string& to);

// fsync(2) of the directory `dir`: its entries (creations, renames, removals) on disk.
Status sync_dir(const std::string& dir);

}  // namespace keel::sys
