#include "lua/luad/preload.h"

namespace keel::luad {
namespace {

int dump_writer(lua_State*, const void* p, size_t n, void* ud) {
    static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
    return 0;
}

// Calls package.searchpath(name, package[field]); pushes nothing; "" if not found.
std::string search(lua_State* L, const std::string& name, const char* field) {
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name.c_str());
    lua_getfield(L, -3, field);
    std::string found;
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_isstring(L, -1)) found = lua_tostring(L, -1);
    lua_pop(L, 2);
    return found;
}

// The preloads of this process's state. The loaders know theirs by index, not by
// an upvalue holding the bytecode: a script could swap that (debug.setupvalue) for
// a binary chunk of its own making, and this loader does load binary chunks.
const std::vector<Preload>* g_installed = nullptr;

// package.preload loader: upvalue 1, the index of its preload.
int load_preload(lua_State* L) {
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(1));
    if (!g_installed || i < 0 || static_cast<size_t>(i) >= g_installed->size())
        return luaL_error(L, "no such preload");
    const Preload& p = (*g_installed)[static_cast<size_t>(i)];
    lua_pushfstring(L, "@%s", p.path.c_str());
    if (luaL_loadbufferx(L, p.bytecode.data(), p.bytecode.size(), lua_tostring(L, -1), "b") !=
        LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, 1);                // module name
    lua_pushstring(L, p.path.c_str());  // file name, as the file searcher passes it
    lua_call(L, 2, 1);
    return 1;
}

}  // namespace

Result<std::vector<Preload>> compile_preloads(lua_State* L, const std::vector<std::string>& names) {
    std::vector<Preload> out;
    for (const auto& name : names) {
        Preload p{name, search(L, name, "path"), {}};
        if (!p.path.empty()) {
            if (luaL_loadfile(L, p.path.c_str()) != LUA_OK) {
                std::string why = lua_tostring(L, -1);
                lua_pop(L, 1);
                return Error("cannot preload module '" + name + "': " + why);
            }
            lua_dump(L, dump_writer, &p.bytecode, 0);
            lua_pop(L, 1);
        } else {
            p.path = search(L, name, "cpath");
            if (p.path.empty())
                return Error("cannot preload module '" + name +
                             "': not found on package.path or package.cpath");
            // Link the library only ("*"): its code runs in the children, not here.
            lua_getglobal(L, "package");
            lua_getfield(L, -1, "loadlib");
            lua_pushstring(L, p.path.c_str());
            lua_pushliteral(L, "*");
            lua_call(L, 2, 2);
            bool ok = lua_toboolean(L, -2);
            std::string why = ok ? "" : lua_tostring(L, -1);
            lua_pop(L, 3);
            if (!ok) return Error("cannot preload module '" + name + "': " + why);
        }
        out.push_back(std::move(p));
    }
    return out;
}

void install_preloads(lua_State* L, const std::vector<Preload>& preloads) {
    g_installed = &preloads;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (size_t i = 0; i < preloads.size(); ++i) {
        if (preloads[i].bytecode.empty())
            continue;  // C modules: the normal searcher finds them, already linked
        lua_pushinteger(L, static_cast<lua_Integer>(i));
        lua_pushcclosure(L, load_preload, 1);
        lua_setfield(L, -2, preloads[i].name.c_str());
    }
    lua_pop(L, 1);
}

}  // namespace keel::luad
