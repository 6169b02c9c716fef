#include "loop/signal_watch.h"

#include <sys/signalfd.h>

#include "base/sys.h"

namespace keel::loop {

Status SignalWatch::start(EventLoop& loop, std::initializer_list<int> signals, Callback cb) {
    stop();
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : signals) sigaddset(&mask, s);
    KEEL_TRY_STATUS(sys::block_signals(mask, &old_mask_));
    active_ = true;
    fd_ = KEEL_TRY(sys::signalfd(mask));
    cb_ = std::move(cb);
    KEEL_TRY_STATUS(watch_.start(loop, fd_.get(), EPOLLIN, [this](uint32_t) { drain(); }));
    return {};
}

void SignalWatch::drain() {
    signalfd_siginfo info;
    for (;;) {
        auto n = sys::read(fd_.get(), &info, sizeof info);
        if (!n || *n != sizeof info) return;
        cb_(static_cast<int>(info.ssi_signo));
    }
}

void SignalWatch::stop() {
    watch_.stop();
    fd_.reset();
    if (active_) (void)sys::set_signal_mask(old_mask_);
    active_ = false;
}

}  // namespace keel::loop
