#include "loop/timer.h"

namespace keel::loop {

void Timer::arm_at(std::chrono::nanoseconds deadline) {
    if (armed()) loop_.timer_erase(this);
    deadline_ = deadline;
    loop_.timer_insert(this);
}

void Timer::cancel() {
    if (armed()) loop_.timer_erase(this);
}

}  // namespace keel::loop
