// SignalWatch: delivers the given signals through a signalfd as loop events.
// The signals are blocked while the watch lives; the old mask comes back after.
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
    void stop();

private:
    void drain();

    Fd fd_;
    FdWatch watch_;
    sigset_t old_mask_{};
    bool active_ = false;
    Callback cb_;
};

}  // namespace keel::loop
