// keel.sys is assembled from three files; each adds its functions to the table
// on top of the stack.
#pragma once

#include <lua.hpp>

namespace keel::lua {

void add_sys_fs(lua_State* L);       // files and directories (sys_fs.cpp)
void add_sys_process(lua_State* L);  // spawn, exec, process objects (sys_process.cpp)

}  // namespace keel::lua
