#include "base/sys.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace keel::sys {

Result<size_t> read(int fd, void* buf, size_t len) {
    for (;;) {
        ssize_t n = ::read(fd, buf, len);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) return errno_error("read");
    }
}

Result<size_t> write(int fd, const void* buf, size_t len) {
    for (;;) {
        ssize_t n = ::send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == ENOTSOCK) n = ::write(fd, buf, len);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) return errno_error("write");
    }
}

Status write_all(int fd, const void* buf, size_t len) {
    auto p = static_cast<const char*>(buf);
    while (len > 0) {
        auto n = KEEL_TRY(write(fd, p, len));
        p += n;
        len -= n;
    }
    return {};
}

Result<size_t> writev(int fd, const iovec* iov, int count) {
    for (;;) {
        ssize_t n = ::writev(fd, iov, count);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) return errno_error("writev");
    }
}

Result<size_t> send(int fd, const void* buf, size_t len, int flags) {
    for (;;) {
        ssize_t n = ::send(fd, buf, len, flags | MSG_NOSIGNAL);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno != EINTR) return errno_error("send");
    }
}

Result<bool> wait_writable(int fd, int timeout_ms) {
    pollfd p{fd, POLLOUT, 0};
    for (;;) {
        int n = ::poll(&p, 1, timeout_ms);
        if (n >= 0) return n > 0;
        if (errno != EINTR) return errno_error("poll");
    }
}

Result<Fd> epoll_create() {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return errno_error("epoll_create1");
    return Fd(fd);
}

Status epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
    if (::epoll_ctl(epfd, op, fd, ev) < 0) return errno_error("epoll_ctl");
    return {};
}

Result<int> epoll_wait(int epfd, std::span<epoll_event> events, int timeout_ms) {
    for (;;) {
        int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
        if (n >= 0) return n;
        if (errno != EINTR) return errno_error("epoll_wait");
    }
}

Result<Fd> timerfd_create() {
    int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return errno_error("timerfd_create");
    return Fd(fd);
}

Status timerfd_set(int fd, std::chrono::nanoseconds deadline) {
    itimerspec spec{};
    auto ns = deadline.count();
    // An absolute deadline already in the past must still fire: 1 ns is the earliest.
    if (ns < 0) ns = 1;
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
    if (::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        return errno_error("timerfd_settime");
    return {};
}

Result<Fd> signalfd(const sigset_t& mask) {
    int fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return errno_error("signalfd");
    return Fd(fd);
}

Status block_signals(const sigset_t& mask) {
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return errno_error("sigprocmask");
    return {};
}

Status unblock_signals(const sigset_t& mask) {
    if (::sigprocmask(SIG_UNBLOCK, &mask, nullptr) < 0) return errno_error("sigprocmask");
    return {};
}

Result<sigset_t> blocked_signals() {
    sigset_t mask;
    if (::sigprocmask(SIG_BLOCK, nullptr, &mask) < 0) return errno_error("sigprocmask");
    return mask;
}

Result<Fd> socket(int domain, int type, int protocol) {
    int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return errno_error("socket");
    return Fd(fd);
}

Status bind(int fd, const sockaddr* addr, socklen_t len) {
    if (::bind(fd, addr, len) < 0) return errno_error("bind");
    return {};
}

Status listen(int fd, int backlog) {
    if (::listen(fd, backlog) < 0) return errno_error("listen");
    return {};
}

Result<Fd> accept(int fd, sockaddr* addr, socklen_t* len) {
    for (;;) {
        int c = ::accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) return Fd(c);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Fd();
        // The peer went away between SYN and accept: try the next one.
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return errno_error("accept");
    }
}

Status connect(int fd, const sockaddr* addr, socklen_t len, bool* in_progress) {
    *in_progress = false;
    for (;;) {
        if (::connect(fd, addr, len) == 0) return {};
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS || errno == EAGAIN) {
            *in_progress = true;
            return {};
        }
        return errno_error("connect");
    }
}

Status setsockopt(int fd, int level, int name, int value) {
    if (::setsockopt(fd, level, name, &value, sizeof value) < 0) return errno_error("setsockopt");
    return {};
}

Result<int> socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno_error("getsockopt");
    return err;
}

Status shutdown(int fd, int how) {
    if (::shutdown(fd, how) < 0) return errno_error("shutdown");
    return {};
}

Result<Fd> eventfd() {
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return errno_error("eventfd");
    return Fd(fd);
}

Status set_nonblocking(int fd, bool on) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return errno_error("fcntl");
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (::fcntl(fd, F_SETFL, flags) < 0) return errno_error("fcntl");
    return {};
}

Status make_dirs(const std::string& path, unsigned mode) {
    if (path.empty()) return {};
    std::string partial;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (::mkdir(partial.c_str(), mode) < 0 && errno != EEXIST)
            return errno_error("cannot create directory " + partial);
    }
    return {};
}

Status unlink_if_exists(const std::string& path) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return errno_error("cannot remove " + path);
    return {};
}

Status chmod(const std::string& path, unsigned mode) {
    if (::chmod(path.c_str(), mode) < 0) return errno_error("cannot chmod " + path);
    return {};
}

Result<std::string> read_all(int fd) {
    std::string out;
    char buf[16384];
    for (;;) {
        auto n = read(fd, buf, sizeof buf);
        if (!n) return n.error();
        if (*n == 0) return out;
        out.append(buf, *n);
    }
}

Result<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot open " + path);
    Fd owned(fd);
    auto text = read_all(fd);
    if (!text) return Error("cannot read " + path, text.error().code());
    return text;
}

std::chrono::nanoseconds monotonic_now() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

double uptime() {
    timespec ts;
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double unix_time() {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Result<std::pair<Fd, Fd>> pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return errno_error("pipe");
    return std::make_pair(Fd(fds[0]), Fd(fds[1]));
}

Result<Reaped> reap_any() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid >= 0) return Reaped{pid, status};
        if (errno == ECHILD) return Reaped{-1, 0};
        if (errno != EINTR) return errno_error("waitpid");
    }
}

Status kill(int pid, int sig) {
    if (::kill(pid, sig) < 0 && errno != ESRCH) return errno_error("kill " + std::to_string(pid));
    return {};
}

Status rename(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) < 0)
        return errno_error("cannot rename " + from + " to " + to);
    return {};
}

Result<Fd> open(const std::string& path, int flags, unsigned mode) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error("cannot open " + path);
    return Fd(fd);
}

Status mount(const std::string& source, const std::string& target, const std::string& fstype,
             unsigned long flags, const std::string& data) {
    if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        return errno_error("cannot mount " + (fstype.empty() ? source : fstype) + " on " + target);
    return {};
}

Status umount_lazy(const std::string& target) {
    if (::umount2(target.c_str(), MNT_DETACH) < 0) return errno_error("cannot unmount " + target);
    return {};
}

Result<long> filesystem_type(const std::string& path) {
    struct statfs st;
    if (::statfs(path.c_str(), &st) < 0) return errno_error("cannot statfs " + path);
    return static_cast<long>(st.f_type);
}

Result<bool> is_mount_point(const std::string& path) {
    if (path == "/") return true;
    struct stat self, parent;
    if (::stat(path.c_str(), &self) < 0) return errno_error("cannot stat " + path);
    std::string up = path + "/..";
    if (::stat(up.c_str(), &parent) < 0) return errno_error("cannot stat " + up);
    return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

Status sethostname(const std::string& name) {
    if (::sethostname(name.data(), name.size()) < 0)
        return errno_error("cannot set hostname to " + name);
    return {};
}

Status rmdir(const std::string& path) {
    if (::rmdir(path.c_str()) < 0) return errno_error("cannot remove " + path);
    return {};
}

}  // namespace keel::sys
