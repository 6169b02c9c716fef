// The keel.* submodules. Each opener returns the module table; package.preload
// maps "keel.<name>" to it so that `require "keel.sys"` works as well as `keel.sys`.
#pragma once

#include <lua.hpp>

namespace keel::lua {

int open_loop(lua_State* L);
int open_bus(lua_State* L);
int open_sys(lua_State* L);
int open_json(lua_State* L);
int open_log(lua_State* L);
int open_net(lua_State* L);

// Registers package.preload entries for "keel" and every built-in "keel.<name>".
void preload_keel(lua_State* L);

// keel.spawn(fn, ...) and keel.sleep(seconds): also exported from keel.loop.
int l_spawn(lua_State* L);
int l_sleep(lua_State* L);

}  // namespace keel::lua

extern "C" int luaopen_keel(lua_State* L);
