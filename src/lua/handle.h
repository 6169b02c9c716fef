// Handle: what every callback-holding userdata shares (keel.loop's timers, fd
// watches and signals, keel.net's monitors): the runtime, and a registry reference
// to itself while active, so that an armed handle nobody references keeps firing
// and keeps the loop running.
#pragma once

#include <lua.hpp>

#include <memory>

#include "lua/runtime.h"

namespace keel::lua {

struct Handle {
    std::shared_ptr<Runtime> rt;
    int self = LUA_NOREF;

    void activate(lua_State* L, int idx) {
        if (self != LUA_NOREF) return;
        lua_pushvalue(L, idx);
        self = luaL_ref(L, LUA_REGISTRYINDEX);
        rt->hold();
    }
    void deactivate() {
        if (self == LUA_NOREF) return;
        luaL_unref(rt->main(), LUA_REGISTRYINDEX, self);
        self = LUA_NOREF;
        rt->release();
    }
    bool active() const { return self != LUA_NOREF; }

    // Runs the handle's function (user value 1) as a task with the handle (unless
    // `pass_self` is false) and the values `push_extra(L)` pushes (it returns how
    // many). `last`: the handle is inactive from now on (unless the callback re-arms
    // it). The handle stays pinned on the main stack until the task has run up to
    // its first wait: the watcher calling us is still on the C++ stack, even if the
    // callback stops the handle and drops every reference to it.
    template <typename Push>
    void fire_with(Push push_extra, bool last = false, bool pass_self = true) {
        if (self == LUA_NOREF) return;
        lua_State* L = rt->main();
        lua_rawgeti(L, LUA_REGISTRYINDEX, self);
        if (last) deactivate();
        lua_getiuservalue(L, -1, 1);
        int nargs = 0;
        if (pass_self) {
            lua_pushvalue(L, -2);
            nargs = 1;
        }
        nargs += push_extra(L);
        rt->spawn(L, nargs);
        lua_pop(L, 1);
    }
    void fire(const char* extra, bool last = false) {
        fire_with(
            [extra](lua_State* L) {
                if (!extra) return 0;
                lua_pushstring(L, extra);
                return 1;
            },
            last);
    }
};

}  // namespace keel::lua
