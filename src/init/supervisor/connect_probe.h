// ConnectProbe: readiness by connection (tcp:PORT, unix:PATH). Tries to connect;
// on failure waits and tries again, 10 ms doubling to 50 ms (a timerfd, no sleep),
// until a connect succeeds or the probe is stopped. The cap bounds how late
// readiness is seen (at boot it gates system.ready); a refused loopback connect
// costs microseconds.
#pragma once

#include <functional>

#include "base/endpoint.h"
#include "base/fd.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::init {

class ConnectProbe {
  public:
    // `loop` must outlive the probe.
    ConnectProbe(loop::EventLoop& loop, Endpoint target, std::function<void()> ready);
    void start();
    void stop();

  private:
    void attempt();
    void retry();

    loop::EventLoop& loop_;
    Endpoint target_;
    std::function<void()> ready_;
    Fd fd_;
    loop::FdWatch watch_;
    loop::Timer timer_;
    std::chrono::milliseconds delay_{10};
};

}  // namespace keel::init
