// Small helpers shared by the keel.* bindings: luaposix-style error returns,
// option-table readers and typed userdata.
//
// Lua raises errors with longjmp when it is built as C (Debian's liblua5.4 and
// stock lua5.4 are). A binding therefore checks its arguments (which may raise)
// before it creates any C++ object with a destructor, and raises nothing after.
#pragma once

#include <lua.hpp>

#include <new>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::lua {

// Pushes `nil, message, errno` (the luaposix convention) and returns 3.
int push_error(lua_State* L, const Error& e);
int push_error(lua_State* L, const std::string& message, int code = 0);
// Pushes `nil, "<what>: <strerror>", errno` from the current errno.
int push_errno(lua_State* L, const std::string& what);
// `true`, or the error triple.
int push_status(lua_State* L, const Status& st);

inline void push(lua_State* L, std::string_view s) {
    lua_pushlstring(L, s.data(), s.size());
}
inline std::string_view check_view(lua_State* L, int arg) {
    size_t n;
    const char* s = luaL_checklstring(L, arg, &n);
    return {s, n};
}
inline std::string_view opt_view(lua_State* L, int arg, std::string_view def) {
    if (lua_isnoneornil(L, arg)) return def;
    return check_view(L, arg);
}

// Option tables: `t` is an absolute index of a table (or nil: every option absent).
// Wrong types raise "bad argument #arg (option 'name': number expected, got string)".
bool opt_bool(lua_State* L, int t, int arg, const char* name, bool def);
lua_Integer opt_int(lua_State* L, int t, int arg, const char* name, lua_Integer def);
lua_Number opt_number(lua_State* L, int t, int arg, const char* name, lua_Number def);
// Returns nullptr when absent.
const char* opt_string(lua_State* L, int t, int arg, const char* name, size_t* len = nullptr);
// Raises unless `arg` is none, nil or a table.
void check_opt_table(lua_State* L, int arg);

// Seconds (number) to nanoseconds; raises for negative or non-finite values.
long long check_seconds_ns(lua_State* L, int arg);

// Pushes a userdata holding a default-constructed T with `nuv` user values and
// the metatable `tname`.
template <typename T>
T* new_udata(lua_State* L, const char* tname, int nuv = 1) {
    void* p = lua_newuserdatauv(L, sizeof(T), nuv);
    T* obj = new (p) T();
    luaL_setmetatable(L, tname);
    return obj;
}

template <typename T>
int gc_udata(lua_State* L) {
    static_cast<T*>(lua_touserdata(L, 1))->~T();
    return 0;
}

// Creates (once) the metatable `tname` with __gc, __index = methods and __name.
template <typename T>
void define_class(lua_State* L, const char* tname, const luaL_Reg* methods,
                  const luaL_Reg* metamethods = nullptr) {
    if (luaL_newmetatable(L, tname)) {
        lua_pushcfunction(L, gc_udata<T>);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        if (metamethods) luaL_setfuncs(L, metamethods, 0);
    }
    lua_pop(L, 1);
}

// A signal given as a number or a name ("TERM", "SIGTERM", "term"); raises if unknown.
int check_signal(lua_State* L, int arg);

}  // namespace keel::lua
