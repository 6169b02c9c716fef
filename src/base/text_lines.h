// Line iteration over text held in memory (index files, /proc files).
#pragma once

#include <string_view>

namespace keel {

// Calls fn(line) for each '\n'-separated line, without the newline; a last line
// without one counts. `line.data() - text.data()` is its offset.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        fn(text.substr(pos, end - pos));
        pos = end + 1;
    }
}

}  // namespace keel
