#include "base/units.h"

#include <cctype>
#include <cmath>
#include <string>
#include <utility>

namespace keel {
namespace {

// Splits "123.5unit" into a non-negative number and its unit; nothing when malformed.
std::optional<std::pair<double, std::string>> number_and_unit(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
        ++i;
    if (i == 0) return std::nullopt;
    std::string digits(s.substr(0, i));
    if (digits.find('.') != digits.rfind('.') || digits == ".") return std::nullopt;
    double n = std::stod(digits);
    if (!std::isfinite(n) || n > 1e15) return std::nullopt;
    return std::make_pair(n, std::string(s.substr(i)));
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view text) {
    auto nu = number_and_unit(text);
    if (!nu) return std::nullopt;
    std::string unit;
    for (char c : nu->second)
        unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    static const std::pair<const char*, double> kUnits[] = {{"", 1},
                                                            {"B", 1},
                                                            {"K", 1024.0},
                                                            {"KB", 1024.0},
                                                            {"KIB", 1024.0},
                                                            {"M", 1048576.0},
                                                            {"MB", 1048576.0},
                                                            {"MIB", 1048576.0},
                                                            {"G", 1073741824.0},
                                                            {"GB", 1073741824.0},
                                                            {"GIB", 1073741824.0}};
    for (const auto& [u, mul] : kUnits)
        if (unit == u && nu->first * mul < 1.8e19) return static_cast<uint64_t>(nu->first * mul);
    return std::nullopt;
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    auto nu = number_and_unit(text);
    if (!nu) return std::nullopt;
    static const std::pair<const char*, double> kUnits[] = {
        {"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"m", 60e9}, {"h", 3600e9}};
    for (const auto& [unit, mul] : kUnits)
        if (nu->second == unit && nu->first * mul < 9e18)
            return std::chrono::nanoseconds(static_cast<int64_t>(nu->first * mul));
    return std::nullopt;
}

}  // namespace keel
