#include "loop/fd_watch.h"

namespace keel::loop {

Status FdWatch::start(EventLoop& loop, int fd, uint32_t events, Callback cb) {
    stop();
    KEEL_TRY_STATUS(loop.add(fd, events, this));
    loop_ = &loop;
    fd_ = fd;
    events_ = events;
    cb_ = std::move(cb);
    return {};
}

Status FdWatch::set_events(uint32_t events) {
    if (events == events_ || !loop_) return {};
    KEEL_TRY_STATUS(loop_->modify(fd_, events, this));
    events_ = events;
    return {};
}

void FdWatch::stop() {
    if (!loop_) return;
    loop_->remove(fd_, this);
    loop_ = nullptr;
    fd_ = -1;
}

}  // namespace keel::loop
