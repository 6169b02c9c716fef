// keel.json glue used by other modules (msg:json(), publishing tables).
#pragma once

#include <lua.hpp>

#include <string_view>

namespace keel::lua {

// Pushes the decoded value, or nil, message and returns 2.
int json_decode(lua_State* L, std::string_view text);
// Pushes the JSON text of the value at `idx` (true), or the error message (false).
// Nothing with a destructor outlives the call, so the caller may raise at once.
bool push_json(lua_State* L, int idx, bool pretty = false);

}  // namespace keel::lua
