#include "init/manifest/json_fields.h"

#include "base/units.h"

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
        d = keel::parse_duration(v->get<std::string>());
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
        n = keel::parse_size(v->get<std::string>());
    if (!n) return error(key, "expected a size such as 65536, \"64KiB\" or \"1MiB\"");
    *out = *n;
    return {};
}

Status Fields::finish() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
        if (!known_.count(it.key())) return Error(path_ + "." + it.key() + ": unknown key");
    return {};
}

}  // namespace keel::init
