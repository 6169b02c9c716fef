#include "base/sys_fs.h"

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/sys.h"

namespace keel::sys {

Result<Fd> open(const char* path, int flags, unsigned mode) {
    for (;;) {
        int fd = ::open(path, flags | O_CLOEXEC, mode);
        if (fd >= 0) return Fd(fd);
        if (errno != EINTR) return errno_error(std::string("cannot open ") + path);
    }
}

Result<Fd> openat_dir(int dirfd, const char* name) {
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno_error(std::string("cannot open directory ") + name);
    return Fd(fd);
}

Status for_each_entry(int fd, const std::function<void(std::string_view, unsigned char)>& fn) {
    struct Entry {  // struct linux_dirent64
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
    };
    alignas(8) char buf[16384];
    for (;;) {
        long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("getdents64");
        if (n == 0) return {};
        for (long pos = 0; pos < n;) {
            const auto* e = reinterpret_cast<const Entry*>(buf + pos);
            std::string_view name(e->name);
            if (name != "." && name != "..") fn(name, e->type);
            pos += e->reclen;
        }
    }
}

Result<size_t> readlinkat(int dirfd, const char* name, char* buf, size_t len) {
    ssize_t n = ::readlinkat(dirfd, name, buf, len);
    if (n < 0) return errno_error(std::string("cannot read link ") + name);
    return static_cast<size_t>(n);
}

Status read_attribute(const char* path, std::string* out) {
    return read_attribute_at(AT_FDCWD, path, out);
}

Status read_attribute_at(int dirfd, const char* path, std::string* out) {
    int fd = ::openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error(std::string("cannot open ") + path);
    Fd owned(fd);
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(std::string("cannot read ") + path);
        out->assign(buf, static_cast<size_t>(n));
        return {};
    }
}

Status write_existing(const std::string& path, std::string_view data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot open " + path);
    Fd owned(fd);
    for (;;) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n >= 0) return {};
        if (errno != EINTR) return errno_error("cannot write " + path);
    }
}

Result<std::string> read_link(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    if (n < 0) return errno_error("cannot read link " + path);
    return std::string(buf, static_cast<size_t>(n));
}

void remove_dir_if_empty(const std::string& path) {
    ::rmdir(path.c_str());  // ENOTEMPTY and ENOENT are the expected failures
}

Status chown(const std::string& path, uid_t uid, gid_t gid) {
    if (::chown(path.c_str(), uid, gid) < 0) return errno_error("cannot chown " + path);
    return {};
}

Result<MappedFile> map_file(const std::string& path) {
    auto fd = KEEL_TRY(sys::open(path.c_str(), O_RDONLY));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return errno_error("cannot stat " + path);
    if (st.st_size == 0) return MappedFile();
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return errno_error("cannot map " + path);
    return MappedFile(p, static_cast<size_t>(st.st_size));
}

namespace {

bool all_digits(const std::string& s) {
    if (s.empty() || s.size() > 10) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

Result<uid_t> user_id(const std::string& name) {
    if (all_digits(name)) return static_cast<uid_t>(std::strtoul(name.c_str(), nullptr, 10));
    std::vector<char> buf(16384);
    passwd pw, *res = nullptr;
    int rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
    if (rc != 0) return Error("cannot look up user " + name, rc);
    if (!res) return Error("no user named " + name);
    return pw.pw_uid;
}

Result<gid_t> group_id(const std::string& name) {
    if (all_digits(name)) return static_cast<gid_t>(std::strtoul(name.c_str(), nullptr, 10));
    std::vector<char> buf(16384);
    group gr, *res = nullptr;
    int rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res);
    if (rc != 0) return Error("cannot look up group " + name, rc);
    if (!res) return Error("no group named " + name);
    return gr.gr_gid;
}

Status remove_tree(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return {};
        return errno_error("cannot stat " + path);
    }
    auto rm = [](const char* p, const struct stat*, int flag, struct FTW*) -> int {
        return (flag == FTW_DP ? ::rmdir(p) : ::unlink(p)) < 0 && errno != ENOENT ? -1 : 0;
    };
    if (::nftw(path.c_str(), rm, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return errno_error("cannot remove " + path);
    return {};
}

Result<struct stat> stat_path(const std::string& path, bool follow) {
    struct stat st;
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) < 0)
        return errno_error("cannot stat " + path);
    return st;
}

Result<struct stat> stat_fd(int fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0) return errno_error("cannot stat fd " + std::to_string(fd));
    return st;
}

}  // namespace keel::sys
