// keel.log: leveled diagnostics on stderr in Keel's format ("keel lua: warning: ...").
// Each function takes string.format arguments: keel.log.info("mounted %s", dev).
#include <string>

#include "base/log.h"
#include "lua/lua_util.h"
#include "lua/modules.h"

namespace keel::lua {
namespace {

constexpr const char* kLevels[] = {"debug", "info", "warning", "error", nullptr};

// string.format(...) of the arguments, left on the stack.
const char* format_args(lua_State* L) {
    int n = lua_gettop(L);
    if (n == 1) return luaL_tolstring(L, 1, nullptr);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    lua_remove(L, -2);
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return lua_tostring(L, -1);
}

template <void (*Fn)(const char*, ...)>
int emit(lua_State* L) {
    luaL_checkany(L, 1);
    const char* text = format_args(L);
    Fn("%s", text);
    return 0;
}

int l_level(lua_State* L) {
    if (!lua_isnoneornil(L, 1)) {
        int i = luaL_checkoption(L, 1, nullptr, kLevels);
        log::set_level(static_cast<log::Level>(i));
    }
    for (int i = 0; kLevels[i]; ++i) {
        if (log::enabled(static_cast<log::Level>(i))) {
            lua_pushstring(L, kLevels[i]);
            return 1;
        }
    }
    lua_pushliteral(L, "error");
    return 1;
}

// keel.log.program(name): the prefix of every line ("keel lua" by default).
int l_program(lua_State* L) {
    static std::string program;
    const char* name = luaL_checkstring(L, 1);
    program = name;
    log::set_program(program.c_str());
    return 0;
}

}  // namespace

int open_log(lua_State* L) {
    static const luaL_Reg kFuncs[] = {
        {"debug", emit<log::debug>}, {"info", emit<log::info>}, {"warning", emit<log::warning>},
        {"error", emit<log::error>}, {"level", l_level},        {"program", l_program},
        {nullptr, nullptr},
    };
    luaL_newlib(L, kFuncs);
    return 1;
}

}  // namespace keel::lua
