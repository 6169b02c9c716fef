#include "init/supervisor/log_ring.h"

namespace keel::init {

uint64_t LogRing::append(std::string_view text, double time) {
    if (text.size() + kOverhead > max_bytes_) text = text.substr(0, max_bytes_ - kOverhead);
    bytes_ += text.size() + kOverhead;
    lines_.push_back({next_seq_, time, std::string(text)});
    while (bytes_ > max_bytes_) {
        bytes_ -= lines_.front().text.size() + kOverhead;
        lines_.pop_front();
        ++dropped_;
    }
    return next_seq_++;
}

}  // namespace keel::init
