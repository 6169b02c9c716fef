#include "lua/luad/config.h"

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

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

Result<std::chrono::nanoseconds> seconds(const json& v, const std::string& path, bool zero_ok) {
    if (!v.is_number() || v.get<double>() < 0 || (!zero_ok && v.get<double>() == 0) ||
        v.get<double>() > 1e9)
        return bad(path, zero_ok ? "expected seconds >= 0" : "expected seconds > 0");
    return std::chrono::nanoseconds(static_cast<int64_t>(v.get<double>() * 1e9));
}

Result<size_t> count(const json& v, const std::string& path) {
    return static_cast<size_t>(KEEL_TRY(integer(v, path, 1)));
}

// 0 turns a limit off (the defaults for users are not 0).
Status limits(const json& j, const std::string& path, Limits* l) {
    if (!j.is_object()) return bad(path, "expected an object");
    for (const auto& [k, v] : j.items()) {
        std::string p = path + "." + k;
        auto at_least = [&](int64_t min) -> Result<int64_t> {
            int64_t n = KEEL_TRY(integer(v, p, 0));
            if (n != 0 && n < min)
                return bad(p, "expected 0 (no limit) or an integer >= " + std::to_string(min));
            return n;
        };
        if (k == "cpu")
            l->cpu = KEEL_TRY(at_least(1));
        else if (k == "wall")
            l->wall = KEEL_TRY(seconds(v, p, true));
        else if (k == "address_space")
            l->address_space = KEEL_TRY(at_least(1 << 20));
        else if (k == "processes")
            l->processes = KEEL_TRY(at_least(1));
        else if (k == "open_files")
            l->open_files = KEEL_TRY(at_least(3));
        else
            return bad(p, "unknown key");
    }
    return {};
}

Result<std::vector<std::string>> strings(const json& v, const std::string& p, const char* what) {
    if (!v.is_array()) return bad(p, std::string("expected an array of ") + what);
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i)
        out.push_back(KEEL_TRY(string(v[i], p + "[" + std::to_string(i) + "]")));
    return out;
}

Result<bool> boolean(const json& v, const std::string& p) {
    if (!v.is_boolean()) return bad(p, "expected true or false");
    return v.get<bool>();
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
            cfg->max_children = KEEL_TRY(count(v, p));
        } else if (k == "max_children_per_user") {
            cfg->max_children_per_user = KEEL_TRY(count(v, p));
        } else if (k == "max_pending") {
            cfg->max_pending = KEEL_TRY(count(v, p));
        } else if (k == "max_pending_per_user") {
            cfg->max_pending_per_user = KEEL_TRY(count(v, p));
        } else if (k == "request_timeout") {
            cfg->request_timeout = KEEL_TRY(seconds(v, p, false));
        } else if (k == "max_request") {
            cfg->max_request = static_cast<size_t>(KEEL_TRY(integer(v, p, 64)));
        } else if (k == "warm_children") {
            cfg->warm_children = KEEL_TRY(count(v, p));
        } else if (k == "preload") {
            cfg->preload = KEEL_TRY(strings(v, p, "module names"));
        } else if (k == "lua_path") {
            cfg->lua_path = KEEL_TRY(string(v, p));
        } else if (k == "lua_cpath") {
            cfg->lua_cpath = KEEL_TRY(string(v, p));
        } else if (k == "server_lua_env") {
            cfg->server_lua_env = KEEL_TRY(boolean(v, p));
        } else if (k == "allow_binary") {
            cfg->allow_binary = KEEL_TRY(boolean(v, p));
        } else if (k == "c_module_dirs") {
            cfg->c_module_dirs = KEEL_TRY(strings(v, p, "directories"));
            for (size_t i = 0; i < cfg->c_module_dirs.size(); ++i)
                if (cfg->c_module_dirs[i].empty() || cfg->c_module_dirs[i][0] != '/')
                    return bad(p + "[" + std::to_string(i) + "]", "expected an absolute path");
        } else if (k == "root_limits") {
            KEEL_TRY_STATUS(limits(v, p, &cfg->root_limits));
        } else if (k == "limits") {
            KEEL_TRY_STATUS(limits(v, p, &cfg->limits));
        } else {
            return bad(p, "unknown key");
        }
    }
    return {};
}

}  // namespace

Limits default_user_limits() {
    Limits l;
    l.cpu = 60;
    l.wall = std::chrono::minutes(10);
    l.processes = 1024;
    return l;
}

std::vector<std::string> default_c_module_dirs() {
    std::vector<std::string> dirs;
    std::string_view all = LUA_CPATH_DEFAULT;
    while (!all.empty()) {
        auto end = all.find(';');
        std::string_view t = all.substr(0, end);
        all = end == std::string_view::npos ? std::string_view{} : all.substr(end + 1);
        auto slash = t.rfind('/');
        if (t.empty() || t[0] != '/' || slash == 0 || slash == std::string_view::npos) continue;
        std::string dir(t.substr(0, slash));
        if (dir.find('?') == std::string::npos &&
            std::find(dirs.begin(), dirs.end(), dir) == dirs.end())
            dirs.push_back(dir);
    }
    return dirs;
}

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
