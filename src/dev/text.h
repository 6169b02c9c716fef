// Text helpers shared by the device code: UTF-8 checks and JSON string output
// (device properties come from hardware and may hold any bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keel::dev {

// Length of the valid UTF-8 sequence of 2-4 bytes starting at s[i], or 0.
size_t utf8_sequence(std::string_view s, size_t i);
// Appends `s` as a quoted JSON string; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace keel::dev
