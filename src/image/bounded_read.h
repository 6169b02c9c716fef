// Reads inside a byte buffer that may be truncated or hostile (ELF headers of
// host files): every offset and length is checked, overflow-safe, before use.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace keel::image {

// [off, off + len) lies wholly inside `bytes`.
inline bool inside(std::string_view bytes, uint64_t off, uint64_t len) {
    return off <= bytes.size() && bytes.size() - off >= len;
}

// Copies a T from `off` when it lies wholly inside `bytes`.
template <typename T>
bool read_at(std::string_view bytes, uint64_t off, T* out) {
    if (!inside(bytes, off, sizeof(T))) return false;
    std::memcpy(out, bytes.data() + off, sizeof(T));
    return true;
}

}  // namespace keel::image
