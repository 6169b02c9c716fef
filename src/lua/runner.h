// Runner: runs a script the way `lua5.4 script.lua` does — arg table, `...`,
// LUA_INIT — with the keel library preloaded and the main chunk running as a
// task, then keeps the event loop going while anything (a subscription, a timer,
// a waiting task) still needs it. Used by `keel lua` and by keel luad's children.
#pragma once

#include <lua.hpp>

#include <string>
#include <vector>

namespace keel::lua {

struct Script {
    std::string path;  // file to run; "-" reads standard input
    std::string code;  // -e CODE (run before the file, if both are given)
    std::vector<std::string> args;
    std::vector<std::string> require;      // -l MODULE, loaded first (as global MODULE)
    std::string interpreter = "keel lua";  // arg[-1] and the prefix of messages
    bool honor_lua_init = true;            // run $LUA_INIT_5_4 / $LUA_INIT first
    bool interactive = false;              // a read-eval-print loop after the rest
    // os.exit leaves with _exit after flushing stdio (a forked child must not run
    // its parent's atexit handlers).
    bool quick_exit = false;
    // Precompiled chunks accepted for the script and LUA_INIT (keel luad's children
    // take text only unless configured otherwise: docs/lua.md).
    bool binary_chunks = true;
};

// Opens the standard libraries and preloads keel into a fresh state.
void open_libs(lua_State* L);

// Runs `s` in L (from open_libs) and returns the exit code: 0, 1 when the script
// raised an error, 100 when it could not be loaded. Does not close L.
int run(lua_State* L, const Script& s);

}  // namespace keel::lua
