// Text helpers shared by the device code: UTF-8 checks and JSON string output
// (device properties come from hardware and may hold any bytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace keel::dev {

// Length of the valid UTF-8 sequence of 2-4 bytes starting at s[i], or 0.
size_t utf8_sequence(std::string_view s, size_t i);
// Appends `s` as a quoted JSON string; invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

// udev's safe set for names: [A-Za-z0-9#+-.:=@_] and valid UTF-8 are kept; any
// other byte becomes "_" or, with `hex`, "\xNN" (udev's link-name encoding).
std::string replace_unsafe(std::string_view s, bool hex);

// Words separated by spaces and tabs (modules.* and modprobe.d lines).
std::vector<std::string_view> split_words(std::string_view line);

}  // namespace keel::dev
