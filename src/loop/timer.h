// Timer: a one-shot callback at a monotonic deadline. Re-arm from the callback for
// periodic work. Cancelled when destroyed.
#pragma once

#include <chrono>
#include <functional>

#include "loop/event_loop.h"

namespace keel::loop {

class Timer {
  public:
    // `loop` must outlive the timer.
    Timer(EventLoop& loop, std::function<void()> cb) : loop_(loop), cb_(std::move(cb)) {}
    ~Timer() { cancel(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void arm_at(std::chrono::nanoseconds deadline);
    void arm_after(std::chrono::nanoseconds delay) { arm_at(loop_.refresh_now() + delay); }
    void cancel();
    bool armed() const { return index_ != kNotArmed; }
    std::chrono::nanoseconds deadline() const { return deadline_; }

  private:
    friend class EventLoop;
    static constexpr size_t kNotArmed = static_cast<size_t>(-1);

    EventLoop& loop_;
    std::function<void()> cb_;
    std::chrono::nanoseconds deadline_{0};
    size_t index_ = kNotArmed;  // position in the loop's heap
};

}  // namespace keel::loop
