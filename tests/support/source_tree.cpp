#include "support/source_tree.h"

namespace keel {

std::string source_file(std::string_view rel) {
    std::string path = KEEL_SOURCE_DIR;
    if (!rel.empty()) path += "/" + std::string(rel);
    return path;
}

}  // namespace keel
