// Thin wrappers over the file-system calls that device management needs: opening
// relative to directory fds, links, ownership. Like sys.h, the only readers of errno.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/mapped_file.h"
#include "base/result.h"

namespace keel::sys {

// open(2) with O_CLOEXEC added; the error names the path.
Result<Fd> open(const char* path, int flags, unsigned mode = 0);
// A directory relative to `dirfd` (O_DIRECTORY|O_NOFOLLOW: symlinks are not followed).
Result<Fd> openat_dir(int dirfd, const char* name);
// Calls fn(name, d_type) for every entry of the directory open as `fd` but "." and
// "..": getdents64 straight into a stack buffer (no DIR stream, no fstat/fcntl).
// `name` is NUL-terminated (name.data() is a C string) and valid during the call.
Status for_each_entry(int fd,
                      const std::function<void(std::string_view name, unsigned char type)>& fn);
// The target of a symlink; returns its length (not NUL-terminated).
Result<size_t> readlinkat(int dirfd, const char* name, char* buf, size_t len);
// A sysfs attribute: kernfs hands over a whole attribute (at most a page) in one
// read, so one read(2) of 4 KiB suffices and no second one is made for EOF.
Status read_attribute(const char* path, std::string* out);
Status read_attribute_at(int dirfd, const char* name, std::string* out);
// Writes `data` to an existing file (sysfs attributes): one write, no O_CREAT.
Status write_existing(const std::string& path, std::string_view data);
// The target of the symlink at `path`, or an Error (ENOENT, EINVAL if not a link).
Result<std::string> read_link(const std::string& path);
// Removes an empty directory; a non-empty or missing one is not an error.
void remove_dir_if_empty(const std::string& path);
Status chown(const std::string& path, uid_t uid, gid_t gid);
// Maps a whole file read-only; an empty file gives an empty mapping.
Result<MappedFile> map_file(const std::string& path);
// uid/gid of a user or group name, or of a decimal number.
Result<uid_t> user_id(const std::string& name);
Result<gid_t> group_id(const std::string& name);

// Removes `path` and, for a directory, everything below it (symlinks are not
// followed); a missing path is not an error.
Status remove_tree(const std::string& path);
// lstat(2) (stat(2) when `follow`); ENOENT comes back as an Error with that code.
Result<struct stat> stat_path(const std::string& path, bool follow = false);
Result<struct stat> stat_fd(int fd);

}  // namespace keel::sys
