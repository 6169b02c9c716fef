#include "net/monitor.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "base/log.h"

namespace keel::net {

void Monitor::Closer::operator()(mnl_socket* s) const {
    mnl_socket_close(s);
}

Monitor::~Monitor() = default;

Result<std::unique_ptr<Monitor>> Monitor::start(loop::EventLoop& loop, Rtnl& rtnl,
                                                Handler handler) {
    std::unique_ptr<Monitor> m(new Monitor(rtnl, std::move(handler)));
    mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!s) return errno_error("cannot open rtnetlink monitor socket");
    m->sock_.reset(s);
    const unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                            RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0)
        return errno_error("cannot subscribe to rtnetlink groups");
    // Bursts (a bridge with many ports going down) must fit; beyond this we resync.
    int rcvbuf = 4 << 20;
    if (::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        (void)::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    m->buf_.resize(64 * 1024);
    m->tracker_.reset(KEEL_TRY(rtnl.state()));
    Monitor* self = m.get();
    KEEL_TRY_STATUS(m->watch_.start(loop, mnl_socket_get_fd(s), EPOLLIN,
                                    [self](uint32_t) { self->on_readable(); }));
    return m;
}

void Monitor::on_readable() {
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
        if (n < 0) {
            Error e = errno_error("rtnetlink monitor");
            if (e.code() == EAGAIN || e.code() == EWOULDBLOCK) return;
            if (e.code() == ENOBUFS) {
                ++overflows_;
                log::warning(
                    "missed network notifications (socket buffer full); taking a new snapshot");
                resync();
                continue;
            }
            if (e.code() == EINTR) continue;
            log::error("%s", e.message().c_str());
            return;
        }
        auto msgs = split_messages(Bytes(buf_.data(), static_cast<size_t>(n)));
        if (!msgs) {
            ++bad_datagrams_;
            log::warning("ignoring a malformed rtnetlink datagram: %s",
                         msgs.error().message().c_str());
            continue;
        }
        for (const auto& m : *msgs)
            for (const auto& e : tracker_.on_message(m))
                handler_(e);
    }
}

void Monitor::resync() {
    auto state = rtnl_.state();
    if (!state) {
        log::error("cannot take a network snapshot: %s", state.error().message().c_str());
        return;
    }
    for (const auto& e : tracker_.resync(*state))
        handler_(e);
}

}  // namespace keel::net
