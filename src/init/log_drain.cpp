#include "init/log_drain.h"

#include "base/line_writer.h"
#include "base/log.h"

namespace keel::init {

Status LogDrain::start(loop::EventLoop& loop) {
    watch_.stop();  // a new writer may bring a new fd
    KEEL_TRY_STATUS(log::use_line_writer(kCapacity));
    loop_ = &loop;
    log::line_writer()->on_pending([this] { arm(); });
    if (log::line_writer()->pending()) arm();
    return {};
}

LogDrain::~LogDrain() {
    if (LineWriter* w = log::line_writer()) w->on_pending(nullptr);
}

void LogDrain::arm() {
    if (watch_.active()) return;
    // Not a line of log here: this runs inside a log call.
    (void)watch_.start(*loop_, log::line_writer()->fd(), EPOLLOUT,
                       [this](uint32_t) { on_writable(); });
}

void LogDrain::on_writable() {
    // EPOLLERR/EPOLLHUP (the reader closed) land here too: flush drops what waits.
    if (log::line_writer()->flush()) watch_.stop();
}

}  // namespace keel::init
