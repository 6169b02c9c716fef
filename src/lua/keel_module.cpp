// The `keel` table. Submodules load on first use: keel.sys is require("keel.sys"),
// which finds the built-in opener in package.preload. A name that is not built in
// falls through to package.path/cpath (keel/x.lua, keel/x.so).
#include "lua/modules.h"

namespace keel::lua {
namespace {

struct Module {
    const char* name;
    lua_CFunction open;
};

constexpr Module kModules[] = {
    {"keel.loop", open_loop}, {"keel.bus", open_bus}, {"keel.sys", open_sys},
    {"keel.json", open_json}, {"keel.log", open_log}, {"keel.net", open_net},
};

// __index of the keel table: keel.x is require("keel.x"), remembered.
int keel_index(lua_State* L) {
    if (lua_type(L, 2) != LUA_TSTRING) return 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "keel.%s", lua_tostring(L, 2));
    lua_call(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

}  // namespace

void preload_keel(lua_State* L) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const auto& m : kModules) {
        lua_pushcfunction(L, m.open);
        lua_setfield(L, -2, m.name);
    }
    lua_pushcfunction(L, luaopen_keel);
    lua_setfield(L, -2, "keel");
    lua_pop(L, 1);
}

}  // namespace keel::lua

extern "C" __attribute__((visibility("default"))) int luaopen_keel(lua_State* L) {
    using namespace keel::lua;
    preload_keel(L);
    static const luaL_Reg kFuncs[] = {
        {"spawn", l_spawn},
        {"sleep", l_sleep},
        {nullptr, nullptr},
    };
    luaL_newlib(L, kFuncs);
    lua_pushliteral(L, KEEL_VERSION);
    lua_setfield(L, -2, "version");
    lua_newtable(L);
    lua_pushcfunction(L, keel_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 1;
}
