// Thin wrappers over the system calls Keel uses. Each returns a Result whose
// Error carries errno, and these are the only functions that read errno.
#pragma once

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/fd.h"
#include "base/result.h"

namespace keel::sys {

// Reads at most `len` bytes; 0 means end of file. EAGAIN comes back as an Error with that code.
Result<size_t> read(int fd, void* buf, size_t len);
Result<size_t> write(int fd, const void* buf, size_t len);
// Writes all `len` bytes (a blocking fd: files, pipes, terminals).
Status write_all(int fd, const void* buf, size_t len);
Result<size_t> writev(int fd, const iovec* iov, int count);
// send(2) with `flags` (MSG_NOSIGNAL added); EAGAIN comes back as an Error with that code.
Result<size_t> send(int fd, const void* buf, size_t len, int flags);
// Whether `fd` takes a write now, waiting up to `timeout_ms` (0: just look) for it.
Result<bool> wait_writable(int fd, int timeout_ms);

Result<Fd> epoll_create();
Status epoll_ctl(int epfd, int op, int fd, epoll_event* ev);
Result<int> epoll_wait(int epfd, std::span<epoll_event> events, int timeout_ms);

Result<Fd> timerfd_create();
// Arms a CLOCK_MONOTONIC timerfd at an absolute deadline; zero disarms.
Status timerfd_set(int fd, std::chrono::nanoseconds deadline);

Result<Fd> signalfd(const sigset_t& mask);
Status block_signals(const sigset_t& mask);
Status unblock_signals(const sigset_t& mask);
Result<sigset_t> blocked_signals();

Result<Fd> socket(int domain, int type, int protocol);
Status bind(int fd, const sockaddr* addr, socklen_t len);
Status listen(int fd, int backlog);
// Returns an invalid Fd (not an Error) when no connection is pending.
Result<Fd> accept(int fd, sockaddr* addr, socklen_t* len);
// Non-blocking connect: EINPROGRESS is reported as success with `in_progress` set.
Status connect(int fd, const sockaddr* addr, socklen_t len, bool* in_progress);
Status setsockopt(int fd, int level, int name, int value);
Result<int> socket_error(int fd);
Status shutdown(int fd, int how);

Result<Fd> eventfd();
Status set_nonblocking(int fd, bool on);

// Creates a directory and its missing parents (mode applies to the ones created).
Status make_dirs(const std::string& path, unsigned mode);
Status unlink_if_exists(const std::string& path);
Status chmod(const std::string& path, unsigned mode);
Result<std::string> read_file(const std::string& path);
// Reads until end of file (e.g. standard input).
Result<std::string> read_all(int fd);

std::chrono::nanoseconds monotonic_now();
// Wall-clock time as unix seconds (for timestamps people read, never for timeouts).
double unix_time();
// Seconds since the kernel booted (CLOCK_BOOTTIME: the first figure of /proc/uptime).
double uptime();

// Process control and system setup (init).
// A pipe, both ends close-on-exec and blocking: {read end, write end}.
Result<std::pair<Fd, Fd>> pipe();
// Reaps one exited child without blocking. `pid` is 0 when children remain but none
// has exited, -1 when there are no children at all; `status` is waitpid's.
struct Reaped {
    int pid;
    int status;
};
Result<Reaped> reap_any();
// kill(2); ESRCH (already gone) is not an error.
Status kill(int pid, int sig);
Status rename(const std::string& from, const std::string& to);
Result<Fd> open(const std::string& path, int flags, unsigned mode = 0);
Status mount(const std::string& source, const std::string& target, const std::string& fstype,
             unsigned long flags, const std::string& data);
Status umount_lazy(const std::string& target);
// The filesystem magic number of the filesystem holding `path` (statfs f_type).
Result<long> filesystem_type(const std::string& path);
// True when `path` is a mount point (its device differs from its parent's, or it is "/").
Result<bool> is_mount_point(const std::string& path);
Status sethostname(const std::string& name);
Status rmdir(const std::string& path);

}  // namespace keel::sys
