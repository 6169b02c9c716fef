#include "net/line_buffer.h"

namespace keel::net {

void LineBuffer::feed(std::string_view data, const std::function<void(std::string_view)>& line) {
    while (!data.empty()) {
        size_t nl = data.find('\n');
        std::string_view piece = data.substr(0, nl);
        const size_t room = max_ - partial_.size();
        if (piece.size() > room) {
            partial_.append(piece.substr(0, room));
            line(partial_);
            partial_.clear();
            data.remove_prefix(room);
            continue;
        }
        if (nl == std::string_view::npos) {
            partial_.append(piece);
            return;
        }
        if (partial_.empty()) {
            line(piece);
        } else {
            partial_.append(piece);
            line(partial_);
            partial_.clear();
        }
        data.remove_prefix(nl + 1);
    }
}

void LineBuffer::finish(const std::function<void(std::string_view)>& line) {
    if (!partial_.empty()) line(partial_);
    partial_.clear();
}

}  // namespace keel::net
