// SignalWatch: delivers the given signals through a signalfd as loop events.
// The signals are blocked while any watch on them lives; afterwards each is
// unblocked unless it was blocked before the first watch took it. A child forked
// without exec starts with no watches of its own.
#pragma once

#include <signal.h>

#include <functional>
#include <initializer_list>

#include "base/fd.h"
#include "base/result.h"
#include "loop/fd_watch.h"

namespace keel::loop {

class SignalWatch {
  public:
    using Callback = std::function<void(int signo)>;

    SignalWatch() = default;
    ~SignalWatch() { stop(); }
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;

    Status start(EventLoop& loop, std::initializer_list<int> signals, Callback cb);
    Status start(EventLoop& loop, const sigset_t& signals, Callback cb);
    void stop();

  private:
    void drain();

    Fd fd_;
    FdWatch watch_;
    sigset_t mask_{};
    bool active_ = false;
    pid_t pid_ = 0;  // the process that started the watch
    Callback cb_;
};

}  // namespace keel::loop
