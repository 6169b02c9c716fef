#include "base/sys_kernel.h"

#include "base/c_strings.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/c_strings.h"

#include <cerrno>

namespace keel::sys {

Result<NetlinkDatagram> recv_netlink(int fd, char* buf, size_t len) {
    sockaddr_nl addr{};
    iovec iov{buf, len};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = sizeof addr;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno_error("recvmsg");
    NetlinkDatagram d;
    d.size = static_cast<size_t>(n) > len ? len : static_cast<size_t>(n);
    d.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    d.sender_pid = addr.nl_pid;
    d.groups = addr.nl_groups;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
            ucred cred;
            __builtin_memcpy(&cred, CMSG_DATA(c), sizeof cred);
            d.has_credentials = true;
            d.uid = cred.uid;
        }
    }
    return d;
}

Status set_receive_buffer(int fd, int bytes) {
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) return {};
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0) return {};
    return errno_error("setsockopt SO_RCVBUF");
}

Status finit_module(int fd, const std::string& params, int flags) {
    if (::syscall(SYS_finit_module, fd, params.c_str(), flags) != 0)
        return errno_error("finit_module");
    return {};
}

Status init_module(const void* image, size_t len, const std::string& params) {
    if (::syscall(SYS_init_module, image, len, params.c_str()) != 0)
        return errno_error("init_module");
    return {};
}

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    if (argv.empty()) return Error("spawn: empty command");
    std::vector<char*> av = c_strings(argv), ev = c_strings(env);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The daemon blocks signals for its signalfd; children start with none blocked
    // and default dispositions.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, av[0], &fa, &attr, av.data(), ev.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return Error("cannot run " + argv[0], rc);
    return pid;
}

Result<Fd> pidfd_open(pid_t pid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return errno_error("pidfd_open");
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return Fd(fd);
}

Result<int> reap(pid_t pid) {
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r == 0) return -1;
        if (errno != EINTR) return errno_error("waitpid");
    }
}

}  // namespace keel::sys
