// Monitor: a non-blocking rtnetlink socket subscribed to link, IPv4/IPv6 address
// and route notifications, on the event loop. Each notification becomes zero or
// more NetEvents through an EventTracker. When the kernel drops notifications
// (ENOBUFS), it dumps the state again and reports the difference.
#pragma once

#include <functional>
#include <memory>

#include "base/result.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"
#include "net/event_tracker.h"
#include "net/rtnl.h"

struct mnl_socket;

namespace keel::net {

class Monitor {
  public:
    using Handler = std::function<void(const NetEvent&)>;

    // Subscribes first, then takes the snapshot, so nothing between is lost.
    // `loop` and `rtnl` must outlive the monitor.
    static Result<std::unique_ptr<Monitor>> start(loop::EventLoop& loop, Rtnl& rtnl,
                                                  Handler handler);
    ~Monitor();

    const NetState& links() const { return tracker_.links(); }
    uint64_t overflows() const { return overflows_; }
    uint64_t skipped() const { return tracker_.skipped() + bad_datagrams_; }

  private:
    Monitor(Rtnl& rtnl, Handler handler) : rtnl_(rtnl), handler_(std::move(handler)) {}
    void on_readable();
    void resync();

    struct Closer {
        void operator()(mnl_socket* s) const;
    };
    std::unique_ptr<mnl_socket, Closer> sock_;
    Rtnl& rtnl_;
    Handler handler_;
    loop::FdWatch watch_;
    EventTracker tracker_;
    std::vector<uint8_t> buf_;
    uint64_t overflows_ = 0, bad_datagrams_ = 0;
};

}  // namespace keel::net
