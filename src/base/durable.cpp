#include "base/durable.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "base/random.h"
#include "base/sys.h"

namespace keel::sys {
namespace {

std::string parent_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Beside `path`, unique per call: concurrent writers never share one.
std::string temporary_for(const std::string& path) {
    return path + ".tmp-" + random_token(8);
}

}  // namespace

Status sync_dir(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return errno_error("cannot open directory " + dir);
    // EINVAL: a file system that cannot sync a directory (some FUSE ones); there is
    // nothing more to ask of it.
    if (::fsync(fd.get()) < 0 && errno != EINVAL)
        return errno_error("cannot sync directory " + dir);
    return {};
}

Result<AtomicFile> AtomicFile::create(const std::string& path, unsigned mode) {
    std::string tmp = temporary_for(path);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) return errno_error("cannot create " + tmp);
    return AtomicFile(path, std::move(tmp), std::move(fd), mode);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : path_(std::move(o.path_)),
      tmp_(std::exchange(o.tmp_, {})),
      fd_(std::move(o.fd_)),
      mode_(o.mode_) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
    if (this != &o) {
        if (!tmp_.empty()) ::unlink(tmp_.c_str());
        path_ = std::move(o.path_);
        tmp_ = std::exchange(o.tmp_, {});
        fd_ = std::move(o.fd_);
        mode_ = o.mode_;
    }
    return *this;
}

AtomicFile::~AtomicFile() {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status AtomicFile::commit() {
    if (tmp_.empty()) return Error("cannot commit " + path_ + " twice");
    // The mode as asked, whatever the umask took away at creation.
    if (::fchmod(fd_.get(), mode_) < 0) return errno_error("cannot chmod " + tmp_);
    if (::fsync(fd_.get()) < 0) return errno_error("cannot sync " + tmp_);
    fd_.reset();
    if (::rename(tmp_.c_str(), path_.c_str()) < 0)
        return errno_error("cannot rename " + tmp_ + " to " + path_);
    tmp_.clear();
    return sync_dir(parent_of(path_));
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
    auto file = KEEL_TRY(AtomicFile::create(path, mode));
    if (auto st = write_all(file.fd(), data.data(), data.size()); !st)
        return Error("cannot write " + path, st.error().code());
    return file.commit();
}

Status replace_symlink(const std::string& target, const std::string& path) {
    std::string tmp = temporary_for(path);
    if (::symlink(target.c_str(), tmp.c_str()) < 0)
        return errno_error("cannot create link " + path);
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        Error e = errno_error("cannot create link " + path);
        ::unlink(tmp.c_str());
        return e;
    }
    // A symlink has no fd to fsync: its inode goes to disk with the directory's update.
    return sync_dir(parent_of(path));
}

Status make_dirs_durable(const std::string& path, unsigned mode) {
    if (path.empty()) return {};
    for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), mode) == 0) {
            KEEL_TRY_STATUS(sync_dir(parent_of(part)));
        } else if (errno != EEXIST) {
            return errno_error("cannot create directory " + part);
        }
        if (pos == std::string::npos) return {};
    }
}

Status publish(const std::string& from, const std::string& to) {
    Fd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno_error("cannot open " + from);
    if (::syncfs(fd.get()) < 0) return errno_error("cannot sync the file system of " + from);
    if (::rename(from.c_str(), to.c_str()) < 0)
        return errno_error("cannot rename " + from + " to " + to);
    return sync_dir(parent_of(to));
}

}  // namespace keel::sys
