// Small text helpers for `keel bench`: printf-style formatting into a
// std::string (one out-of-line call per message keeps the verb small in the
// device binary) and JSON string quoting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::cli::bench {

std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));
// "text" with JSON escapes.
std::string json_string(std::string_view s);
// 1234567 -> "1,234,567" (rounded, negative values as 0).
std::string grouped(double v);

}  // namespace keel::cli::bench
