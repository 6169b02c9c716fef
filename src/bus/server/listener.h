// Listener: a listening socket that hands each accepted connection to a callback.
// When the process runs out of fds it pauses for a moment instead of spinning.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "base/endpoint.h"
#include "base/fd.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::bus {

class Listener {
  public:
    // peer is "ip:port" or "unix"; peer_uid is set for unix sockets.
    using OnAccept = std::function<void(Fd fd, std::string peer, std::optional<uid_t> peer_uid)>;

    Listener(loop::EventLoop& loop, Endpoint ep, OnAccept cb);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    Status open();
    void close();
    const Endpoint& endpoint() const { return ep_; }  // with the real port once open

  private:
    void on_readable();

    loop::EventLoop& loop_;
    Endpoint ep_;
    OnAccept cb_;
    Fd fd_;
    loop::FdWatch watch_;
    loop::Timer resume_;
};

}  // namespace keel::bus
