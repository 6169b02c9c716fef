#include "init/supervisor/connect_probe.h"

#include "base/sys.h"

namespace keel::init {

ConnectProbe::ConnectProbe(loop::EventLoop& loop, Endpoint target, std::function<void()> ready)
    : loop_(loop),
      target_(std::move(target)),
      ready_(std::move(ready)),
      timer_(loop, [this] { attempt(); }) {}

void ConnectProbe::start() {
    delay_ = std::chrono::milliseconds(10);
    attempt();
}

void ConnectProbe::stop() {
    watch_.stop();
    fd_.reset();
    timer_.cancel();
}

void ConnectProbe::retry() {
    watch_.stop();
    fd_.reset();
    timer_.arm_after(delay_);
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(50));
}

void ConnectProbe::attempt() {
    bool in_progress = false;
    auto fd = connect_to(target_, &in_progress);
    if (!fd) return retry();
    fd_ = std::move(fd).value();
    if (!in_progress) {
        stop();
        return ready_();
    }
    auto st = watch_.start(loop_, fd_.get(), EPOLLOUT, [this](uint32_t) {
        auto err = sys::socket_error(fd_.get());
        if (!err || *err != 0) return retry();
        stop();
        ready_();
    });
    if (!st) retry();
}

}  // namespace keel::init
