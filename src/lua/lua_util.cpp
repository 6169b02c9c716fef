#include "lua/lua_util.h"

#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "base/signals.h"

namespace keel::lua {

int push_error(lua_State* L, const std::string& message, int code) {
    lua_pushnil(L);
    push(L, message);
    lua_pushinteger(L, code);
    return 3;
}

int push_error(lua_State* L, const Error& e) {
    return push_error(L, e.message(), e.code());
}

int push_errno(lua_State* L, const std::string& what) {
    int code = errno;
    return push_error(L, what + ": " + std::strerror(code), code);
}

int push_status(lua_State* L, const Status& st) {
    if (!st) return push_error(L, st.error());
    lua_pushboolean(L, 1);
    return 1;
}

void check_opt_table(lua_State* L, int arg) {
    if (!lua_isnoneornil(L, arg)) luaL_checktype(L, arg, LUA_TTABLE);
}

namespace {

// Pushes t[name] and returns its type; LUA_TNIL when `t` is not a table.
int get_option(lua_State* L, int t, const char* name) {
    if (t == 0 || !lua_istable(L, t)) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, t, name);
}

[[noreturn]] void option_error(lua_State* L, int arg, const char* name, const char* expected) {
    const char* msg = lua_pushfstring(L, "option '%s': %s expected, got %s", name, expected,
                                      luaL_typename(L, -1));
    luaL_argerror(L, arg, msg);
    __builtin_unreachable();
}

}  // namespace

bool opt_bool(lua_State* L, int t, int arg, const char* name, bool def) {
    int type = get_option(L, t, name);
    bool v = def;
    if (type == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (type != LUA_TNIL)
        option_error(L, arg, name, "boolean");
    lua_pop(L, 1);
    return v;
}

lua_Integer opt_int(lua_State* L, int t, int arg, const char* name, lua_Integer def) {
    int type = get_option(L, t, name);
    lua_Integer v = def;
    if (type != LUA_TNIL) {
        int isnum = 0;
        v = lua_tointegerx(L, -1, &isnum);
        if (!isnum || type != LUA_TNUMBER) option_error(L, arg, name, "integer");
    }
    lua_pop(L, 1);
    return v;
}

lua_Number opt_number(lua_State* L, int t, int arg, const char* name, lua_Number def) {
    int type = get_option(L, t, name);
    lua_Number v = def;
    if (type == LUA_TNUMBER)
        v = lua_tonumber(L, -1);
    else if (type != LUA_TNIL)
        option_error(L, arg, name, "number");
    lua_pop(L, 1);
    return v;
}

const char* opt_string(lua_State* L, int t, int arg, const char* name, size_t* len) {
    int type = get_option(L, t, name);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return nullptr;
    }
    if (type != LUA_TSTRING) option_error(L, arg, name, "string");
    // The string stays referenced by the option table, so it outlives the pop.
    const char* s = lua_tolstring(L, -1, len);
    lua_pop(L, 1);
    return s;
}

long long check_seconds_ns(lua_State* L, int arg) {
    lua_Number s = luaL_checknumber(L, arg);
    luaL_argcheck(L, std::isfinite(s) && s >= 0 && s < 1e9, arg,
                  "seconds must be a non-negative number");
    return static_cast<long long>(s * 1e9);
}

int check_signal(lua_State* L, int arg) {
    int signo = 0;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        signo = static_cast<int>(luaL_checkinteger(L, arg));
        luaL_argcheck(L, signo >= 0 && signo < NSIG, arg, "signal number out of range");
        return signo;
    }
    size_t n;
    const char* name = luaL_checklstring(L, arg, &n);
    signo = signal_from_name({name, n});
    if (signo == 0) luaL_argerror(L, arg, lua_pushfstring(L, "unknown signal '%s'", name));
    return signo;
}

}  // namespace keel::lua
