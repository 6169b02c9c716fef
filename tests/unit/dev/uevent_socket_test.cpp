// The kernel socket's sender checks, with datagrams forged by this process: the
// spoofing of CVE-2009-1185 must not get through.
#include "dev/uevent_socket.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fd.h"
#include "support/skip.h"

namespace keel::dev {
namespace {

const char kFake[] =
    "add@/devices/virtual/mem/keel-spoof\0ACTION=add\0DEVPATH=/devices/virtual/mem/keel-spoof\0"
    "SUBSYSTEM=mem\0SEQNUM=1\0";

UeventSocket::Received wait_receive(UeventSocket& s) {
    for (int i = 0; i < 100; ++i) {
        pollfd p{s.fd(), POLLIN, 0};
        ::poll(&p, 1, 50);
        auto r = s.receive();
        EXPECT_TRUE(r);
        if (!r) return {};
        // Genuine kernel events from elsewhere on the machine may arrive too.
        if (r->kind == UeventSocket::Kind::kRejected) return *r;
    }
    return {};
}

TEST(UeventSocket, RejectsDatagramsFromProcesses) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root (netlink uevent socket)");
    auto s = UeventSocket::open(1 << 20);
    ASSERT_TRUE(s) << s.error().message();
    sockaddr_nl me{};
    socklen_t len = sizeof me;
    ASSERT_EQ(::getsockname(s->fd(), reinterpret_cast<sockaddr*>(&me), &len), 0);

    Fd forger(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
    ASSERT_TRUE(forger.valid());
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    to.nl_pid = me.nl_pid;  // unicast to our socket only: nobody else on the machine sees it
    ASSERT_EQ(::sendto(forger.get(), kFake, sizeof kFake - 1, 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to),
              static_cast<ssize_t>(sizeof kFake - 1));
    auto r = wait_receive(*s);
    EXPECT_EQ(r.kind, UeventSocket::Kind::kRejected);
    EXPECT_STREQ(r.why, "sent by a process, not the kernel");
}

}  // namespace
}  // namespace keel::dev
