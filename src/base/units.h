// Sizes and durations as people write them in options and configuration:
// "64KiB", "1M", "512" (bytes); "100ms", "1.5s", "2m", "30" (seconds).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keel {

// Units B, K/KB/KiB, M/MB/MiB, G/GB/GiB (case-insensitive, powers of 1024).
std::optional<uint64_t> parse_size(std::string_view text);
// Units us, ms, s (default), m, h.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace keel
