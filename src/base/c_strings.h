// argv/envp for exec and posix_spawn: a NULL-terminated char* array over strings
// that must outlive it.
#pragma once

#include <string>
#include <vector>

namespace keel {

inline std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

}  // namespace keel
