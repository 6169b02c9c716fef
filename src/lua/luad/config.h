// LuadConfig: keel luad's settings — from its manifest section ("lua" in
// /etc/keel/system.json), a --config file holding just that section, and flags.
// The defaults keep one local user from denying service to the others (docs/lua.md
// "Limits and why").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace keel::luad {

// Per-script limits; 0 (or an unset address_space/open_files) means none.
struct Limits {
    int64_t cpu = 0;                   // seconds of CPU (SIGXCPU, SIGKILL a second later)
    std::chrono::nanoseconds wall{0};  // wall-clock time, then SIGKILL to its group
    int64_t processes = 0;             // RLIMIT_NPROC: processes of the user
    int64_t address_space = 0;         // bytes (RLIMIT_AS)
    int64_t open_files = 0;            // RLIMIT_NOFILE; 0: the server's own start limit
};

// What a user who is not root gets unless configured otherwise.
Limits default_user_limits();

struct LuadConfig {
    std::string socket = "/run/keel/lua.sock";
    unsigned socket_mode = 0666;  // every user may run scripts, as themselves
    // Scripts running at once, in all and per user (the server's own user, root
    // normally, is limited by the first only). More wait their turn.
    size_t max_children = 64;
    size_t max_children_per_user = 8;
    // Connections accepted but not yet running (sending nothing yet, or waiting for
    // a slot), in all and per user; beyond them a connection is refused at once.
    size_t max_pending = 1024;
    size_t max_pending_per_user = 32;
    // Time a connection has to start its request, and then to complete it.
    std::chrono::nanoseconds request_timeout = std::chrono::seconds(2);
    size_t max_request = 1024 * 1024;
    // Children forked ahead, each with its fresh Lua state, waiting for a client.
    size_t warm_children = 1;
    std::vector<std::string> preload;  // modules compiled at start, require-able at no cost
    std::string lua_path, lua_cpath;   // where preloads are searched; empty: Lua's defaults
    bool server_lua_env = false;       // honour the server's own LUA_INIT/LUA_PATH/LUA_CPATH
    // Scripts may load precompiled (binary) chunks: off, since a crafted one can
    // read and write the process's memory.
    bool allow_binary = false;
    // Where package.loadlib and require find C modules (each file and every directory
    // above it owned by root and writable by nobody else). Empty: the absolute
    // directories of Lua's default package.cpath.
    std::vector<std::string> c_module_dirs;
    Limits limits = default_user_limits();  // clients other than root
    Limits root_limits;                     // root's own scripts: none by default
};

// The absolute directories of Lua's compiled-in package.cpath.
std::vector<std::string> default_c_module_dirs();

// Applies a JSON object (the "lua" section) on top of `cfg`. Unknown keys and
// wrong types are errors naming the JSON path, e.g. "lua.limits.cpu".
Status apply_config(std::string_view json, std::string_view path, LuadConfig* cfg);
// Applies the "lua" section of the system manifest at `path`, if it has one.
Status apply_manifest(const std::string& path, LuadConfig* cfg);

}  // namespace keel::luad
