#include "lua/luad/config.h"

#include <nlohmann/json.hpp>

#include "base/sys.h"

namespace keel::luad {
namespace {

using nlohmann::json;

Error bad(std::string_view path, const std::string& why) {
    return Error(std::string(path) + ": " + why);
}

Result<int64_t> integer(const json& v, const std::string& path, int64_t min) {
    if (!v.is_number_integer() || v.get<int64_t>() < min)
        return bad(path, "expected an integer >= " + std::to_string(min));
    return v.get<int64_t>();
}

Result<std::string> string(const json& v, const std::string& path) {
    if (!v.is_string()) return bad(path, "expected a string");
    return v.get<std::string>();
}

Status limits(const json& j, const std::string& path, Limits* l) {
    if (!j.is_object()) return bad(path, "expected an object");
    for (const auto& [k, v] : j.items()) {
        std::string p = path + "." + k;
        if (k == "cpu")
            l->cpu = KEEL_TRY(integer(v, p, 1));
        else if (k == "address_space")
            l->address_space = KEEL_TRY(integer(v, p, 1 << 20));
        else if (k == "processes")
            l->processes = KEEL_TRY(integer(v, p, 1));
        else if (k == "open_files")
            l->open_files = KEEL_TRY(integer(v, p, 3));
        else
            return bad(p, "unknown key");
    }
    return {};
}

Status apply_section(const json& j, std::string_view where, LuadConfig* cfg) {
    if (!j.is_object()) return bad(where, "expected an object");
    const std::string base(where);
    for (const auto& [k, v] : j.items()) {
        std::string p = base + "." + k;
        if (k == "socket") {
            cfg->socket = KEEL_TRY(string(v, p));
        } else if (k == "socket_mode") {
            std::string s = KEEL_TRY(string(v, p));
            char* end = nullptr;
            long m = std::strtol(s.c_str(), &end, 8);
            if (s.empty() || *end || m < 0 || m > 0777)
                return bad(p, "expected an octal mode like \"0660\"");
            cfg->socket_mode = static_cast<unsigned>(m);
        } else if (k == "max_children") {
            cfg->max_children = static_cast<size_t>(KEEL_TRY(integer(v, p, 1)));
        } else if (k == "max_pending") {
            cfg->max_pending = static_cast<size_t>(KEEL_TRY(integer(v, p, 1)));
        } else if (k == "request_timeout") {
            if (!v.is_number() || v.get<double>() <= 0) return bad(p, "expected seconds > 0");
            cfg->request_timeout =
                std::chrono::nanoseconds(static_cast<int64_t>(v.get<double>() * 1e9));
        } else if (k == "max_request") {
            cfg->max_request = static_cast<size_t>(KEEL_TRY(integer(v, p, 64)));
        } else if (k == "preload") {
            if (!v.is_array()) return bad(p, "expected an array of module names");
            cfg->preload.clear();
            for (size_t i = 0; i < v.size(); ++i)
                cfg->preload.push_back(KEEL_TRY(string(v[i], p + "[" + std::to_string(i) + "]")));
        } else if (k == "lua_path") {
            cfg->lua_path = KEEL_TRY(string(v, p));
        } else if (k == "lua_cpath") {
            cfg->lua_cpath = KEEL_TRY(string(v, p));
        } else if (k == "server_lua_env") {
            if (!v.is_boolean()) return bad(p, "expected true or false");
            cfg->server_lua_env = v.get<bool>();
        } else if (k == "limits") {
            KEEL_TRY_STATUS(limits(v, p, &cfg->limits));
        } else {
            return bad(p, "unknown key");
        }
    }
    return {};
}

}  // namespace

Status apply_config(std::string_view text, std::string_view where, LuadConfig* cfg) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return bad(where, "not valid JSON");
    return apply_section(j, where, cfg);
}

Status apply_manifest(const std::string& path, LuadConfig* cfg) {
    auto text = KEEL_TRY(sys::read_file(path));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad(path, "not a JSON object");
    auto it = j.find("lua");
    if (it == j.end()) return {};
    return apply_section(*it, path + ": lua", cfg);
}

}  // namespace keel::luad
