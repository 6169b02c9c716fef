// Thin wrappers over kernel interfaces that device management needs: netlink
// datagrams with credentials, module loading, child processes. Like sys.h, the
// only readers of errno.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace keel::sys {

struct NetlinkDatagram {
    size_t size = 0;          // bytes received
    bool truncated = false;   // MSG_TRUNC: the datagram was larger than the buffer
    uint32_t sender_pid = 0;  // nl_pid of the sender; 0 is the kernel
    uint32_t groups = 0;      // nl_groups it was sent to
    bool has_credentials = false;
    uid_t uid = static_cast<uid_t>(-1);
};
// One datagram (non-blocking). EAGAIN and ENOBUFS come back as Errors with that code.
Result<NetlinkDatagram> recv_netlink(int fd, char* buf, size_t len);
// SO_RCVBUFFORCE (needs CAP_NET_ADMIN), falling back to SO_RCVBUF.
Status set_receive_buffer(int fd, int bytes);

// finit_module(2): loads the module in `fd`. `flags` may hold
// MODULE_INIT_COMPRESSED_FILE (kernel ≥ 5.17 with CONFIG_MODULE_DECOMPRESS).
Status finit_module(int fd, const std::string& params, int flags);
// init_module(2): loads a module image from memory.
Status init_module(const void* image, size_t len, const std::string& params);

// posix_spawn of argv[0] (an absolute path) with `env`; stdin from /dev/null.
Result<pid_t> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env);
Result<Fd> pidfd_open(pid_t pid);
// Reaps `pid` if it has exited: the wait status, or -1 while it runs.
Result<int> reap(pid_t pid);

}  // namespace keel::sys
