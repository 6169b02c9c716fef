// FdWatch: calls back when an fd becomes readable/writable; unregisters when destroyed.
#pragma once

#include <cstdint>
#include <functional>

#include "base/result.h"
#include "loop/event_loop.h"

namespace keel::loop {

class FdWatch final : public Watcher {
  public:
    using Callback = std::function<void(uint32_t events)>;

    FdWatch() = default;
    ~FdWatch() override { stop(); }
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;

    // `fd` must stay open while watched; `loop` must outlive this watch.
    Status start(EventLoop& loop, int fd, uint32_t events, Callback cb);
    Status set_events(uint32_t events);
    void stop();

    bool active() const { return loop_ != nullptr; }
    uint32_t events() const { return events_; }

  private:
    void on_events(uint32_t events) override { cb_(events); }

    EventLoop* loop_ = nullptr;
    int fd_ = -1;
    uint32_t events_ = 0;
    Callback cb_;
};

}  // namespace keel::loop
