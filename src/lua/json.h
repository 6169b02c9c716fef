// keel.json glue used by other modules (msg:json(), publishing tables).
#pragma once

#include <lua.hpp>

#include <string>
#include <string_view>

namespace keel::lua {

// Pushes the decoded value, or nil, message and returns 2.
int json_decode(lua_State* L, std::string_view text);
// Encodes the value at `idx` into *out; false with *out holding the error message.
bool json_encode(lua_State* L, int idx, std::string* out, bool pretty = false);

}  // namespace keel::lua
