#include "bus/server/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/sys.h"

namespace keel::bus {

Listener::Listener(loop::EventLoop& loop, Endpoint ep, OnAccept cb)
    : loop_(loop), ep_(std::move(ep)), cb_(std::move(cb)), resume_(loop, [this] {
          (void)watch_.start(loop_, fd_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
      }) {}

Listener::~Listener() {
    close();
}

Status Listener::open() {
    fd_ = KEEL_TRY(listen_on(ep_, 0660));
    if (ep_.kind == Endpoint::Kind::kTcp) ep_.port = KEEL_TRY(local_port(fd_.get()));
    return watch_.start(loop_, fd_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
}

void Listener::close() {
    if (!fd_) return;
    watch_.stop();
    resume_.cancel();
    fd_.reset();
    if (ep_.kind == Endpoint::Kind::kUnix) (void)sys::unlink_if_exists(ep_.path);
}

void Listener::on_readable() {
    for (int i = 0; i < 64; ++i) {
        auto c = sys::accept(fd_.get(), nullptr, nullptr);
        if (!c) {
            int code = c.error().code();
            if (code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM) {
                log::warning("cannot accept on %s: %s; pausing 100 ms", ep_.to_string().c_str(),
                             c.error().message().c_str());
                watch_.stop();
                resume_.arm_after(std::chrono::milliseconds(100));
            }
            return;
        }
        if (!c->valid()) return;
        std::optional<uid_t> uid;
        std::string peer = "unix";
        if (ep_.kind == Endpoint::Kind::kUnix) {
            ucred cred{};
            socklen_t len = sizeof cred;
            // Recorded by the kernel at connect(); the peer cannot forge it.
            if (::getsockopt(c->get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                uid = cred.uid;
                peer = "unix:uid=" + std::to_string(cred.uid) + ",pid=" + std::to_string(cred.pid);
            }
        } else {
            peer = peer_name(c->get());
            // Each loop batch ends in one write per client; Nagle would only add latency.
            (void)sys::setsockopt(c->get(), IPPROTO_TCP, TCP_NODELAY, 1);
        }
        cb_(std::move(c).value(), std::move(peer), uid);
    }
}

}  // namespace keel::bus
