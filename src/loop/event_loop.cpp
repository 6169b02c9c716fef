#include "loop/event_loop.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "base/sys.h"
#include "loop/timer.h"

namespace keel::loop {

class EventLoop::TimerFdWatcher final : public Watcher {
  public:
    explicit TimerFdWatcher(EventLoop& loop) : loop_(loop) {}
    void on_events(uint32_t) override {
        uint64_t expirations;
        (void)sys::read(loop_.timerfd_.get(), &expirations, sizeof expirations);
        loop_.programmed_ = std::chrono::nanoseconds(0);
        loop_.fire_timers();
    }

  private:
    EventLoop& loop_;
};

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    Fd ep = KEEL_TRY(sys::epoll_create());
    Fd tfd = KEEL_TRY(sys::timerfd_create());
    std::unique_ptr<EventLoop> loop(new EventLoop(std::move(ep), std::move(tfd)));
    KEEL_TRY_STATUS(loop->add(loop->timerfd_.get(), EPOLLIN, loop->timer_watch_.get()));
    return loop;
}

EventLoop::EventLoop(Fd epoll, Fd timerfd)
    : epoll_(std::move(epoll)),
      timerfd_(std::move(timerfd)),
      timer_watch_(std::make_unique<TimerFdWatcher>(*this)),
      now_(sys::monotonic_now()) {}

EventLoop::~EventLoop() {
    // Timers still armed belong to objects that outlive us only by mistake; detach them.
    for (Timer* t : timers_)
        t->index_ = Timer::kNotArmed;
}

Status EventLoop::add(int fd, uint32_t events, Watcher* w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    KEEL_TRY_STATUS(sys::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev));
    // A watcher object reused at the address of one removed in this batch is live again.
    if (dispatching_) std::erase(removed_, w);
    return {};
}

Status EventLoop::modify(int fd, uint32_t events, Watcher* w) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = w;
    return sys::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::remove(int fd, Watcher* w) {
    (void)sys::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    if (dispatching_) removed_.push_back(w);
}

void EventLoop::defer(std::function<void()> fn) {
    deferred_.push_back(std::move(fn));
}

std::chrono::nanoseconds EventLoop::refresh_now() {
    now_ = sys::monotonic_now();
    return now_;
}

Status EventLoop::run() {
    stopped_ = false;
    while (!stopped_)
        KEEL_TRY_STATUS(run_once(std::chrono::milliseconds(-1)));
    return {};
}

Status EventLoop::run_once(std::chrono::milliseconds timeout) {
    std::array<epoll_event, 256> events;
    int wait_ms = deferred_.empty() ? static_cast<int>(timeout.count()) : 0;
    int n = KEEL_TRY(sys::epoll_wait(epoll_.get(), events, wait_ms));
    refresh_now();
    dispatching_ = true;
    for (int i = 0; i < n; ++i) {
        auto* w = static_cast<Watcher*>(events[static_cast<size_t>(i)].data.ptr);
        if (!removed_.empty() && std::find(removed_.begin(), removed_.end(), w) != removed_.end())
            continue;
        w->on_events(events[static_cast<size_t>(i)].events);
    }
    dispatching_ = false;
    removed_.clear();
    // Deferred work may defer more; that runs after the next (non-blocking) wait.
    std::vector<std::function<void()>> batch;
    batch.swap(deferred_);
    for (auto& fn : batch)
        fn();
    return {};
}

// ---- timer heap ----

void EventLoop::timer_insert(Timer* t) {
    t->index_ = timers_.size();
    timers_.push_back(t);
    timer_sift_up(t->index_);
    timer_reprogram();
}

void EventLoop::timer_erase(Timer* t) {
    size_t i = t->index_;
    size_t last = timers_.size() - 1;
    if (i != last) {
        timer_swap(i, last);
        timers_.pop_back();
        timer_sift_down(i);
        timer_sift_up(i);
    } else {
        timers_.pop_back();
    }
    t->index_ = Timer::kNotArmed;
    timer_reprogram();
}

void EventLoop::timer_swap(size_t a, size_t b) {
    std::swap(timers_[a], timers_[b]);
    timers_[a]->index_ = a;
    timers_[b]->index_ = b;
}

void EventLoop::timer_sift_up(size_t i) {
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (timers_[parent]->deadline_ <= timers_[i]->deadline_) break;
        timer_swap(i, parent);
        i = parent;
    }
}

void EventLoop::timer_sift_down(size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < timers_.size() && timers_[l]->deadline_ < timers_[m]->deadline_) m = l;
        if (r < timers_.size() && timers_[r]->deadline_ < timers_[m]->deadline_) m = r;
        if (m == i) return;
        timer_swap(i, m);
        i = m;
    }
}

void EventLoop::timer_reprogram() {
    // Only touch the timerfd when the earliest deadline changes.
    std::chrono::nanoseconds want =
        timers_.empty() ? std::chrono::nanoseconds(0) : timers_.front()->deadline_;
    if (want == programmed_) return;
    programmed_ = want;
    (void)sys::timerfd_set(timerfd_.get(), want);
}

void EventLoop::fire_timers() {
    auto now = refresh_now();
    while (!timers_.empty() && timers_.front()->deadline_ <= now) {
        Timer* t = timers_.front();
        timer_erase(t);
        t->cb_();  // may destroy or re-arm t
    }
    timer_reprogram();
}

}  // namespace keel::loop
