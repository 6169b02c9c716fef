// Stream: a non-blocking fd (a pipe end, a socket) with buffered reads and writes
// that wait on the event loop — inside a task they yield, elsewhere they run the
// loop until done. Read formats follow io.read: "l", "L", "a" or a byte count.
#pragma once

#include <lua.hpp>

#include "base/fd.h"

namespace keel::lua {

inline constexpr const char* kStream = "keel.stream";

// Pushes a new stream owning `fd` (set non-blocking).
void push_stream(lua_State* L, Fd fd);
// Registers the stream metatable.
void define_stream(lua_State* L);

// The fd behind an integer, a keel stream or a Lua file handle at `arg`; raises otherwise.
int fd_of(lua_State* L, int arg);

}  // namespace keel::lua
