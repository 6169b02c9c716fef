// Runs Lua test code in a fresh state with the keel library, as `keel lua -e`
// would: the chunk is the main task (it may wait) and the loop runs after it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "lua/runner.h"

namespace keel::lua {

inline int run_lua(const std::string& code, std::vector<std::string> args = {}) {
    lua_State* L = luaL_newstate();
    open_libs(L);
    Script s;
    // raises(pattern, f, ...): f(...) must raise an error matching the pattern.
    // wait_for(cond [, seconds]): lets the loop run until cond() holds (10 s at
    // most) and returns cond(): what a test asserts after it, it waits for.
    s.code =
        "function raises(pattern, f, ...) local ok, msg = pcall(f, ...) "
        "assert(not ok and msg:find(pattern), tostring(msg)) end "
        "function wait_for(cond, seconds) local k = require('keel') "
        "local deadline = k.loop.now() + (seconds or 10) "
        "while not cond() and k.loop.now() < deadline do k.sleep(0.005) end "
        "return cond() end " +
        code;
    s.args = std::move(args);
    s.interpreter = "test";
    s.honor_lua_init = false;
    int rc = run(L, s);
    lua_close(L);
    return rc;
}

}  // namespace keel::lua
