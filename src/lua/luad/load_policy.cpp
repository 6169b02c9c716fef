#include "lua/luad/load_policy.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace keel::luad {
namespace {

// The policy of this process's script. A global, not an upvalue: debug.setupvalue
// could swap an upvalue for something else. For the same reason nothing here keeps
// Lua's own load, loadfile or loadlib reachable (as an upvalue, in the registry):
// the replacements call the C API with the mode and the path they checked, and the
// originals are gone with the globals they replace.
const LoadPolicy* g_policy = nullptr;

const char kNoBinary[] = "binary chunks are not allowed (keel luad's allow_binary is off)";

bool under(const std::string& path, const std::string& dir) {
    if (dir == "/") return true;
    return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
           path[dir.size()] == '/';
}

// "" when nobody but root can replace or change `path` (already resolved).
std::string only_root_can_change(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) return path + ": " + std::strerror(errno);
    if (st.st_uid != 0)
        return path + " is owned by uid " + std::to_string(st.st_uid) + ", not root";
    if ((st.st_mode & S_IWGRP) && st.st_gid != 0)
        return path + " is writable by group " + std::to_string(st.st_gid);
    // A sticky directory writable by all (/tmp) is fine: what is in it stays its owner's.
    if ((st.st_mode & S_IWOTH) && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
        return path + " is writable by everyone";
    return "";
}

// Pushes the resolved path of the C module `file` (true), or why it is refused (false).
bool push_resolved(lua_State* L, const char* file) {
    std::string resolved;
    std::string why = c_module_refusal(*g_policy, file, &resolved);
    lua_pushstring(L, why.empty() ? resolved.c_str() : why.c_str());
    return why.empty();
}

// ---- text chunks only ----

// Sets the loaded chunk's first upvalue (its _ENV) to the value at `env`, as load does.
void set_env(lua_State* L, int env) {
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
}

// nil and the message on top, as load does on failure.
int load_failed(lua_State* L) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
}

constexpr int kPieceSlot = 5;  // keeps the reader function's last piece alive

const char* read_piece(lua_State* L, void*, size_t* size) {
    luaL_checkstack(L, 2, "too many nested functions");
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *size = 0;
        return nullptr;
    }
    if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
    lua_replace(L, kPieceSlot);
    return lua_tolstring(L, kPieceSlot, size);
}

// load(chunk [, chunkname [, mode [, env]]]): a string or a reader function.
int l_load(lua_State* L) {
    size_t len = 0;
    const char* s = lua_tolstring(L, 1, &len);
    const char* mode = luaL_optstring(L, 3, "bt");
    bool has_env = !lua_isnone(L, 4);
    if (!std::strchr(mode, 't')) {
        luaL_pushfail(L);
        lua_pushstring(L, kNoBinary);
        return 2;
    }
    int st;
    if (s) {
        st = luaL_loadbufferx(L, s, len, luaL_optstring(L, 2, s), "t");
    } else {
        const char* name = luaL_optstring(L, 2, "=(load)");
        luaL_checktype(L, 1, LUA_TFUNCTION);
        lua_settop(L, kPieceSlot);
        st = lua_load(L, read_piece, nullptr, name, "t");
    }
    if (st != LUA_OK) return load_failed(L);
    if (has_env) set_env(L, 4);
    return 1;
}

// loadfile([file [, mode [, env]]])
int l_loadfile(lua_State* L) {
    const char* file = luaL_optstring(L, 1, nullptr);
    const char* mode = luaL_optstring(L, 2, "bt");
    bool has_env = !lua_isnone(L, 3);
    if (!std::strchr(mode, 't')) {
        luaL_pushfail(L);
        lua_pushstring(L, kNoBinary);
        return 2;
    }
    if (luaL_loadfilex(L, file, "t") != LUA_OK) return load_failed(L);
    if (has_env) set_env(L, 3);
    return 1;
}

int dofile_done(lua_State* L, int, lua_KContext) {
    return lua_gettop(L) - 1;
}

int l_dofile(lua_State* L) {
    const char* file = luaL_optstring(L, 1, nullptr);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, file, "t") != LUA_OK) return lua_error(L);
    lua_callk(L, 0, LUA_MULTRET, 0, dofile_done);
    return dofile_done(L, 0, 0);
}

// ---- C code ----

enum class Opened { kOk, kNoFunction, kError };

// Pushes C function `func` of the library at `path` (already checked), true for
// func "*" (the library is only linked, for others to use), or the error. Libraries
// stay loaded: the process ends with its script.
Opened open_c(lua_State* L, const char* path, const char* func) {
    bool link_only = func[0] == '*';
    void* lib = ::dlopen(path, RTLD_NOW | (link_only ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!lib) {
        lua_pushstring(L, ::dlerror());
        return Opened::kError;
    }
    if (link_only) {
        lua_pushboolean(L, 1);
        return Opened::kOk;
    }
    auto fn = reinterpret_cast<lua_CFunction>(::dlsym(lib, func));
    if (!fn) {
        lua_pushfstring(L, "undefined symbol: %s", func);
        return Opened::kNoFunction;
    }
    lua_pushcfunction(L, fn);
    return Opened::kOk;
}

// package.loadlib(path, func): for allowed files only.
int l_loadlib(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    const char* func = luaL_checkstring(L, 2);
    if (!push_resolved(L, path)) {
        luaL_pushfail(L);
        lua_insert(L, -2);  // nil, why, "open": as Lua's own loadlib fails
        lua_pushliteral(L, "open");
        return 3;
    }
    Opened o = open_c(L, lua_tostring(L, -1), func);
    if (o == Opened::kOk) return 1;
    luaL_pushfail(L);
    lua_insert(L, -2);
    lua_pushstring(L, o == Opened::kNoFunction ? "init" : "open");
    return 3;
}

// ---- require's searchers (upvalue: the package table) ----

// Pushes the file package.searchpath finds for `name` on package[field] (true), or
// its list of the places it tried (false).
bool search(lua_State* L, const char* name, const char* field) {
    int package = lua_upvalueindex(1);
    lua_getfield(L, package, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, package, field);
    lua_call(L, 2, 2);
    if (lua_isstring(L, -2)) {
        lua_pop(L, 1);
        return true;
    }
    lua_remove(L, -2);
    return false;
}

[[noreturn]] void load_error(lua_State* L, const char* file) {
    luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", lua_tostring(L, 1), file,
               lua_tostring(L, -1));
    std::abort();  // luaL_error does not return
}

int searcher_lua(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    if (!search(L, name, "path")) return 1;
    const char* file = lua_tostring(L, -1);
    if (luaL_loadfilex(L, file, "t") != LUA_OK) load_error(L, file);
    lua_pushvalue(L, -2);  // the file name: the loader's second argument
    return 2;
}

// Pushes module `name`'s open function (luaopen_a_b for "a.b"; for "v2-a.b" first
// luaopen_v2, then luaopen_a_b, as Lua's own searcher does), or the error.
Opened open_module(lua_State* L, const char* path, const char* name) {
    const char* mod = luaL_gsub(L, name, ".", "_");
    const char* dash = std::strchr(mod, '-');
    if (dash) {
        lua_pushfstring(L, "luaopen_%s", lua_pushlstring(L, mod, static_cast<size_t>(dash - mod)));
        Opened o = open_c(L, path, lua_tostring(L, -1));
        if (o != Opened::kNoFunction) return o;
        lua_pop(L, 3);  // message, function name, prefix
        mod = dash + 1;
    }
    lua_pushfstring(L, "luaopen_%s", mod);
    return open_c(L, path, lua_tostring(L, -1));
}

// The C searcher for `root`: the module's own name, or (croot) its first part.
int search_c(lua_State* L, const char* root, bool croot) {
    const char* name = lua_tostring(L, 1);
    if (!search(L, root, "cpath")) return 1;
    const char* file = lua_tostring(L, -1);
    if (!push_resolved(L, file)) load_error(L, file);
    Opened o = open_module(L, lua_tostring(L, -1), name);
    if (o == Opened::kNoFunction && croot) {
        lua_pushfstring(L, "no module '%s' in file '%s'", name, file);
        return 1;
    }
    if (o != Opened::kOk) load_error(L, file);
    lua_pushstring(L, file);  // the loader's second argument
    return 2;
}

int searcher_c(lua_State* L) {
    return search_c(L, luaL_checkstring(L, 1), false);
}

int searcher_croot(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    const char* dot = std::strchr(name, '.');
    if (!dot) return 0;
    lua_pushlstring(L, name, static_cast<size_t>(dot - name));
    return search_c(L, lua_tostring(L, -1), true);
}

}  // namespace

LoadPolicy make_load_policy(const LuadConfig& cfg, const std::vector<Preload>& preloads) {
    LoadPolicy p;
    p.allow_binary = cfg.allow_binary;
    auto dirs = cfg.c_module_dirs.empty() ? default_c_module_dirs() : cfg.c_module_dirs;
    for (const auto& d : dirs) {
        char buf[PATH_MAX];
        if (::realpath(d.c_str(), buf)) p.c_module_dirs.push_back(buf);
    }
    for (const auto& pre : preloads) {
        char buf[PATH_MAX];
        if (pre.bytecode.empty() && ::realpath(pre.path.c_str(), buf))
            p.c_module_files.push_back(buf);
    }
    return p;
}

std::string c_module_refusal(const LoadPolicy& p, const std::string& path, std::string* resolved) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return path + ": " + std::strerror(errno);
    std::string real = buf;
    if (std::find(p.c_module_files.begin(), p.c_module_files.end(), real) !=
        p.c_module_files.end()) {
        *resolved = real;
        return "";
    }
    if (std::none_of(p.c_module_dirs.begin(), p.c_module_dirs.end(),
                     [&](const std::string& d) { return under(real, d); })) {
        std::string dirs;
        for (const auto& d : p.c_module_dirs)
            dirs += (dirs.empty() ? "" : ", ") + d;
        return real + " is not in a directory allowed for C modules (keel luad's c_module_dirs: " +
               (dirs.empty() ? "none" : dirs) + ")";
    }
    // The file and every directory above it: a user who could change any of them
    // could put code of their choosing there.
    for (std::string at = real;;) {
        std::string why = only_root_can_change(at);
        if (!why.empty()) return why;
        if (at == "/") break;
        auto slash = at.rfind('/');
        at = slash == 0 ? "/" : at.substr(0, slash);
    }
    *resolved = real;
    return "";
}

void apply_load_policy(lua_State* L, const LoadPolicy& p) {
    g_policy = &p;
    if (!p.allow_binary) {
        lua_register(L, "load", l_load);
        lua_register(L, "loadfile", l_loadfile);
        lua_register(L, "dofile", l_dofile);
    }
    lua_getglobal(L, "package");
    lua_pushcfunction(L, l_loadlib);
    lua_setfield(L, -2, "loadlib");
    lua_getfield(L, -1, "searchers");
    auto searcher = [&](lua_CFunction fn, int at) {
        lua_pushvalue(L, -2);  // the package table
        lua_pushcclosure(L, fn, 1);
        lua_rawseti(L, -2, at);
    };
    if (!p.allow_binary) searcher(searcher_lua, 2);
    searcher(searcher_c, 3);
    searcher(searcher_croot, 4);
    lua_pop(L, 2);
}

}  // namespace keel::luad
