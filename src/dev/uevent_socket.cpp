#include "dev/uevent_socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/sys.h"
#include "base/sys_kernel.h"
#include "dev/uevent_parser.h"

namespace keel::dev {

namespace {

// Twice the largest accepted message, so an oversized datagram is seen as such.
constexpr size_t kBufferSize = 2 * kMaxUeventBytes;
constexpr uint32_t kKernelGroup = 1;

}  // namespace

UeventSocket::UeventSocket(Fd fd) : fd_(std::move(fd)), buf_(new char[kBufferSize]) {}

Result<UeventSocket> UeventSocket::open(int receive_buffer) {
    auto fd = sys::socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
    if (!fd) return Error("cannot open the uevent netlink socket", fd.error().code());
    if (auto st = sys::set_receive_buffer(fd->get(), receive_buffer); !st) return st.error();
    KEEL_TRY_STATUS(sys::setsockopt(fd->get(), SOL_SOCKET, SO_PASSCRED, 1));
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = kKernelGroup;
    if (auto st = sys::bind(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); !st)
        return Error("cannot bind the uevent netlink socket", st.error().code());
    return UeventSocket(std::move(*fd));
}

Result<UeventSocket::Received> UeventSocket::receive() {
    Received r;
    auto d = sys::recv_netlink(fd_.get(), buf_.get(), kBufferSize);
    if (!d) {
        if (d.error().code() == EAGAIN || d.error().code() == EWOULDBLOCK) return r;
        if (d.error().code() == ENOBUFS) {
            r.kind = Kind::kOverflow;
            return r;
        }
        return Error("cannot receive uevents", d.error().code());
    }
    r.kind = Kind::kRejected;
    if (d->sender_pid != 0) {
        r.why = "sent by a process, not the kernel";
    } else if (!d->has_credentials || d->uid != 0) {
        r.why = "no root credentials";
    } else if (d->truncated || d->size > kMaxUeventBytes) {
        r.why = "oversized";
    } else if (d->groups != kKernelGroup) {
        r.why = "not on the kernel group";
    } else {
        r.kind = Kind::kMessage;
        r.data = std::string_view(buf_.get(), d->size);
    }
    return r;
}

}  // namespace keel::dev
