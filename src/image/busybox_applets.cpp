#include "image/busybox_applets.h"

namespace keel::image {
namespace {

bool applet_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '[' || c == ']';
}

}  // namespace

std::vector<std::string> busybox_applets(std::string_view binary) {
    // busybox's applet_names: "[\0[[\0acpid\0...zcat\0\0", sorted (bsearch needs it).
    constexpr std::string_view kStart("\0[\0[[\0", 6);
    size_t at = binary.find(kStart);
    if (at == std::string_view::npos) return {};
    std::vector<std::string> names;
    size_t pos = at + 1;
    while (pos < binary.size() && binary[pos] != '\0') {
        size_t end = binary.find('\0', pos);
        if (end == std::string_view::npos) return {};
        std::string_view name = binary.substr(pos, end - pos);
        bool valid = true;
        for (char c : name)
            valid = valid && applet_char(c);
        if (!valid || (!names.empty() && name <= names.back())) break;  // past the table
        names.emplace_back(name);
        pos = end + 1;
    }
    return names;
}

}  // namespace keel::image
