#include "init/manifest/json_fields.h"

#include <cctype>
#include <cmath>

namespace keel::init {

using nlohmann::json;

const json* Fields::find(const char* key) {
    known_.insert(key);
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
}

Status Fields::string(const char* key, std::string* out) {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_string()) return error(key, "expected a string");
    *out = v->get<std::string>();
    return {};
}

Status Fields::boolean(const char* key, bool* out) {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_boolean()) return error(key, "expected true or false");
    *out = v->get<bool>();
    return {};
}

Status Fields::integer(const char* key, int64_t min, int64_t max, int64_t* out) {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_number_integer()) return error(key, "expected an integer");
    int64_t n =
        v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
    if (n < min || n > max)
        return error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    *out = n;
    return {};
}

Status Fields::strings(const char* key, std::vector<std::string>* out) {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_array()) return error(key, "expected an array of strings");
    out->clear();
    for (const auto& e : *v) {
        if (!e.is_string()) return error(key, "expected an array of strings");
        out->push_back(e.get<std::string>());
    }
    return {};
}

Status Fields::duration(const char* key, Duration* out) {
    const json* v = find(key);
    if (!v) return {};
    std::optional<Duration> d;
    if (v->is_number() && v->get<double>() >= 0 && v->get<double>() < 1e9)
        d = Duration(static_cast<int64_t>(v->get<double>() * 1e9));
    else if (v->is_string())
        d = parse_duration_text(v->get<std::string>());
    if (!d)
        return error(
            key, "expected a duration such as \"100ms\", \"10s\", \"2m\" or a number of seconds");
    *out = *d;
    return {};
}

Status Fields::size(const char* key, uint64_t* out) {
    const json* v = find(key);
    if (!v) return {};
    std::optional<uint64_t> n;
    if (v->is_number_unsigned())
        n = v->get<uint64_t>();
    else if (v->is_string())
        n = parse_size_text(v->get<std::string>());
    if (!n) return error(key, "expected a size such as 65536, \"64KiB\" or \"1MiB\"");
    *out = *n;
    return {};
}

Status Fields::finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
        if (!known_.count(it.key())) return Error(path_ + "." + it.key() + ": unknown key");
    return {};
}

namespace {

// Splits "123unit" into a non-negative number and its unit; nothing when malformed.
std::optional<std::pair<double, std::string>> number_and_unit(const std::string& s) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
        ++i;
    if (i == 0) return std::nullopt;
    std::string digits = s.substr(0, i);
    if (digits.find('.') != digits.rfind('.')) return std::nullopt;
    double n = std::stod(digits);
    if (!std::isfinite(n) || n > 1e15) return std::nullopt;
    return std::make_pair(n, s.substr(i));
}

}  // namespace

std::optional<Duration> parse_duration_text(const std::string& s) {
    auto nu = number_and_unit(s);
    if (!nu) return std::nullopt;
    static const std::pair<const char*, double> kUnits[] = {
        {"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"m", 60e9}, {"h", 3600e9}};
    for (const auto& [unit, mul] : kUnits)
        if (nu->second == unit && nu->first * mul < 9e18)
            return Duration(static_cast<int64_t>(nu->first * mul));
    return std::nullopt;
}

std::optional<uint64_t> parse_size_text(const std::string& s) {
    auto nu = number_and_unit(s);
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

}  // namespace keel::init
