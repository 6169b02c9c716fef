#include "init/supervisor/line_splitter.h"

namespace keel::init {

namespace {

std::string_view trim_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

void LineSplitter::feed(std::string_view bytes, const LineFn& fn) {
    while (!bytes.empty()) {
        size_t room = max_line_ - partial_.size();
        size_t nl = bytes.substr(0, room).find('\n');
        if (nl != std::string_view::npos) {
            if (partial_.empty()) {
                fn(trim_cr(bytes.substr(0, nl)));  // whole line in this read: no copy
            } else {
                partial_.append(bytes.substr(0, nl));
                fn(trim_cr(partial_));
                partial_.clear();
            }
            bytes.remove_prefix(nl + 1);
            continue;
        }
        if (bytes.size() < room) {
            partial_.append(bytes);
            return;
        }
        // No newline within the limit: deliver what fits as a line of its own.
        partial_.append(bytes.substr(0, room));
        fn(partial_);
        partial_.clear();
        bytes.remove_prefix(room);
    }
}

void LineSplitter::finish(const LineFn& fn) {
    if (partial_.empty()) return;
    fn(trim_cr(partial_));
    partial_.clear();
}

}  // namespace keel::init
