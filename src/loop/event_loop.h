// EventLoop: one epoll instance driving fd watches, timers (a heap behind a single
// timerfd) and signals (signalfd). Single-threaded; nothing polls.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace keel::loop {

class Timer;

// Anything registered in epoll. The loop never owns watchers; they unregister
// themselves when destroyed, even while a batch of events is being dispatched.
class Watcher {
  public:
    virtual ~Watcher() = default;
    virtual void on_events(uint32_t events) = 0;
};

class EventLoop {
  public:
    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Dispatches events until stop() is called.
    Status run();
    // Dispatches one batch: waits at most `timeout` (negative: forever).
    Status run_once(std::chrono::milliseconds timeout);
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

    // Runs `fn` after the current batch of events, before waiting again. Used to
    // coalesce work (e.g. one write per socket per batch).
    void defer(std::function<void()> fn);

    // Monotonic time, refreshed at the start of each batch.
    std::chrono::nanoseconds now() const { return now_; }
    std::chrono::nanoseconds refresh_now();

    // Registration primitives for watcher types.
    Status add(int fd, uint32_t events, Watcher* w);
    Status modify(int fd, uint32_t events, Watcher* w);
    void remove(int fd, Watcher* w);

  private:
    friend class Timer;
    EventLoop(Fd epoll, Fd timerfd);
    class TimerFdWatcher;

    void timer_insert(Timer* t);
    void timer_erase(Timer* t);
    void timer_sift_up(size_t i);
    void timer_sift_down(size_t i);
    void timer_swap(size_t a, size_t b);
    void timer_reprogram();
    void fire_timers();

    Fd epoll_;
    Fd timerfd_;
    std::unique_ptr<TimerFdWatcher> timer_watch_;
    std::vector<Timer*> timers_;  // min-heap on deadline
    std::chrono::nanoseconds programmed_{0};
    std::vector<Watcher*> removed_;  // watchers gone during the current dispatch
    bool dispatching_ = false;
    std::vector<std::function<void()>> deferred_;
    std::chrono::nanoseconds now_{0};
    bool stopped_ = false;
};

}  // namespace keel::loop
