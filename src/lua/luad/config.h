// LuadConfig: keel luad's settings — from its manifest section ("lua" in
// /etc/keel/system.json), a --config file holding just that section, and flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace keel::luad {

struct Limits {
    // -1: inherit. cpu in seconds (SIGXCPU at the limit, SIGKILL a second later),
    // address_space in bytes, processes per user (RLIMIT_NPROC), open_files.
    int64_t cpu = -1, address_space = -1, processes = -1, open_files = -1;
};

struct LuadConfig {
    std::string socket = "/run/keel/lua.sock";
    unsigned socket_mode = 0666;  // every user may run scripts, as themselves
    size_t max_children = 64;
    size_t max_pending = 256;  // connections whose request is incomplete or queued
    std::chrono::nanoseconds request_timeout = std::chrono::seconds(5);
    size_t max_request = 1024 * 1024;
    std::vector<std::string> preload;  // modules compiled at start, require-able at no cost
    std::string lua_path, lua_cpath;   // where preloads are searched; empty: Lua's defaults
    bool server_lua_env = false;       // honour the server's own LUA_INIT/LUA_PATH/LUA_CPATH
    Limits limits;
};

// Applies a JSON object (the "lua" section) on top of `cfg`. Unknown keys and
// wrong types are errors naming the JSON path, e.g. "lua.limits.cpu".
Status apply_config(std::string_view json, std::string_view path, LuadConfig* cfg);
// Applies the "lua" section of the system manifest at `path`, if it has one.
Status apply_manifest(const std::string& path, LuadConfig* cfg);

}  // namespace keel::luad
