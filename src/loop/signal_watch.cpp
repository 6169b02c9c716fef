#include "loop/signal_watch.h"

#include <sys/signalfd.h>
#include <unistd.h>

#include "base/sys.h"

namespace keel::loop {
namespace {

// Several watches may share a signal: it stays blocked while any of them lives,
// and is unblocked after the last one only if it was not blocked before the first.
// The counts belong to one process: a child forked without exec (keel luad's)
// starts from none, and the watches it inherited leave them alone.
struct SignalUse {
    int users = 0;
    bool was_blocked = false;
};
SignalUse g_use[NSIG];
pid_t g_owner = 0;

}  // namespace

Status SignalWatch::start(EventLoop& loop, std::initializer_list<int> signals, Callback cb) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals)
        sigaddset(&set, s);
    return start(loop, set, std::move(cb));
}

Status SignalWatch::start(EventLoop& loop, const sigset_t& signals, Callback cb) {
    stop();
    if (g_owner != ::getpid()) {
        for (auto& u : g_use)
            u = SignalUse{};
        g_owner = ::getpid();
    }
    pid_ = g_owner;
    const sigset_t current = KEEL_TRY(sys::blocked_signals());
    mask_ = signals;
    sigset_t to_block;
    sigemptyset(&to_block);
    for (int s = 1; s < NSIG; ++s) {
        if (sigismember(&mask_, s) != 1) continue;
        if (g_use[s].users++ == 0) {
            g_use[s].was_blocked = sigismember(&current, s);
            sigaddset(&to_block, s);
        }
    }
    active_ = true;
    KEEL_TRY_STATUS(sys::block_signals(to_block));
    fd_ = KEEL_TRY(sys::signalfd(mask_));
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
    if (!active_) return;
    active_ = false;
    if (pid_ != ::getpid()) return;  // the parent's watch, in a forked child
    sigset_t to_unblock;
    sigemptyset(&to_unblock);
    for (int s = 1; s < NSIG; ++s) {
        if (sigismember(&mask_, s) != 1) continue;
        if (--g_use[s].users == 0 && !g_use[s].was_blocked) sigaddset(&to_unblock, s);
    }
    (void)sys::unblock_signals(to_unblock);
}

}  // namespace keel::loop
