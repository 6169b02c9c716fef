#include "init/pid1/loopback.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "support/skip.h"

namespace keel::init {
namespace {

bool lo_is_up() {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ::ioctl(s, SIOCGIFFLAGS, &req) == 0 && (req.ifr_flags & IFF_UP);
    ::close(s);
    return up;
}

// In a network namespace of its own (a fresh one has lo down), as PID 1 finds it.
TEST(Loopback, ComesUpInAFreshNetworkNamespace) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root (a new network namespace)");
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNET) != 0) ::_exit(2);
        if (lo_is_up()) ::_exit(3);
        if (!bring_loopback_up().ok()) ::_exit(4);
        if (!lo_is_up()) ::_exit(5);
        if (!bring_loopback_up().ok()) ::_exit(6);  // already up: still fine
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace keel::init
