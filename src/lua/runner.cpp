#include "lua/runner.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua/modules.h"
#include "lua/runtime.h"

namespace keel::lua {
namespace {

constexpr int kExitError = 1;
constexpr int kExitLoad = 100;

const char kScriptKey = 0;  // registry: the Script being run (light userdata)

void message(const Script& s, const char* text) {
    std::fprintf(stderr, "%s: %s\n", s.interpreter.c_str(), text);
    std::fflush(stderr);
}

// os.exit([code [, close]]): bus connections get their pending output out first.
int os_exit(lua_State* L) {
    int code = EXIT_SUCCESS;
    if (lua_isboolean(L, 1))
        code = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        code = static_cast<int>(luaL_optinteger(L, 1, EXIT_SUCCESS));
    bool close = lua_toboolean(L, 2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kScriptKey);
    auto* s = static_cast<const Script*>(lua_touserdata(L, -1));
    Runtime::of(L).finish_now();
    if (close) lua_close(Runtime::of(L).main());
    std::fflush(nullptr);
    if (s && s->quick_exit) _exit(code);
    std::exit(code);
}

int traceback(lua_State* L) {
    const char* msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

// Runs the function on top of the stack (protected); prints an error.
bool call(lua_State* L, const Script& s, int nargs) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int st = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    if (st == LUA_OK) return true;
    message(s, lua_tostring(L, -1));
    lua_pop(L, 1);
    return false;
}

bool load_error(lua_State* L, const Script& s) {
    message(s, lua_tostring(L, -1));
    lua_pop(L, 1);
    return false;
}

bool lua_init(lua_State* L, const Script& s) {
    const char* name = "=LUA_INIT_5_4";
    const char* init = std::getenv(name + 1);
    if (!init) {
        name = "=LUA_INIT";
        init = std::getenv(name + 1);
    }
    if (!init) return true;
    const char* mode = s.binary_chunks ? nullptr : "t";
    int st = init[0] == '@' ? luaL_loadfilex(L, init + 1, mode)
                            : luaL_loadbufferx(L, init, std::strlen(init), name, mode);
    if (st != LUA_OK) return load_error(L, s);
    return call(L, s, 0);
}

void set_arg_table(lua_State* L, const Script& s) {
    lua_createtable(L, static_cast<int>(s.args.size()), 2);
    lua_pushstring(L, s.interpreter.c_str());
    lua_rawseti(L, -2, -1);
    lua_pushstring(L, s.path.empty() ? "-e" : s.path.c_str());
    lua_rawseti(L, -2, 0);
    for (size_t i = 0; i < s.args.size(); ++i) {
        lua_pushstring(L, s.args[i].c_str());
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setglobal(L, "arg");
}

// Runs the chunk on top of the stack as the main task with the script's
// arguments, then the loop while anything needs it. False when it failed.
bool run_main(lua_State* L, const Script& s, bool with_args) {
    // No rt.loop() here: a script that never waits opens no epoll or timer fds.
    auto& rt = Runtime::of(L);
    int nargs = 0;
    if (with_args) {
        for (const auto& a : s.args)
            lua_pushstring(L, a.c_str());
        nargs = static_cast<int>(s.args.size());
    }
    rt.spawn(L, nargs, /*main=*/true);
    if (rt.main_error().empty()) {
        auto st = rt.run();
        if (!st) {
            message(s, ("event loop: " + st.error().message()).c_str());
            return false;
        }
    }
    if (!rt.main_error().empty()) {
        message(s, rt.main_error().c_str());
        return false;
    }
    return true;
}

// A minimal read-eval-print loop: expressions print their values.
void repl(lua_State* L, const Script& s) {
    char line[4096];
    std::string chunk;
    for (;;) {
        std::fputs(chunk.empty() ? "> " : ">> ", stdout);
        std::fflush(stdout);
        if (!std::fgets(line, sizeof line, stdin)) break;
        chunk += line;
        std::string ret = "return " + chunk;
        int st = luaL_loadbuffer(L, ret.data(), ret.size(), "=stdin");
        if (st != LUA_OK) {
            lua_pop(L, 1);
            st = luaL_loadbuffer(L, chunk.data(), chunk.size(), "=stdin");
        }
        if (st == LUA_ERRSYNTAX) {
            const char* m = lua_tostring(L, -1);
            size_t n = std::strlen(m);
            if (n >= 5 && std::strcmp(m + n - 5, "<eof>") == 0) {  // incomplete: read on
                lua_pop(L, 1);
                continue;
            }
        }
        chunk.clear();
        if (st != LUA_OK) {
            load_error(L, s);
            continue;
        }
        int base = lua_gettop(L);
        lua_pushcfunction(L, traceback);
        lua_insert(L, base);
        if (lua_pcall(L, 0, LUA_MULTRET, base) != LUA_OK) {
            message(s, lua_tostring(L, -1));
            lua_settop(L, base - 1);
            continue;
        }
        int n = lua_gettop(L) - base;
        if (n > 0) {
            lua_getglobal(L, "print");
            lua_insert(L, base + 1);
            if (lua_pcall(L, n, 0, 0) != LUA_OK) message(s, lua_tostring(L, -1));
        }
        lua_settop(L, base - 1);
    }
    std::fputs("\n", stdout);
}

}  // namespace

void open_libs(lua_State* L) {
    luaL_openlibs(L);
    preload_keel(L);
}

int run(lua_State* L, const Script& s) {
    lua_pushlightuserdata(L, const_cast<Script*>(&s));
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kScriptKey);
    lua_getglobal(L, "os");
    lua_pushcfunction(L, os_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
    set_arg_table(L, s);
    if (s.honor_lua_init && !lua_init(L, s)) return kExitError;
    for (const auto& mod : s.require) {
        lua_getglobal(L, "require");
        lua_pushstring(L, mod.c_str());
        if (!call(L, s, 1)) return kExitError;
        // like lua -l: the module also becomes a global of its name
        lua_getglobal(L, "package");
        lua_getfield(L, -1, "loaded");
        lua_getfield(L, -1, mod.c_str());
        lua_setglobal(L, mod.c_str());
        lua_pop(L, 2);
    }
    auto& rt = Runtime::of(L);
    if (!s.code.empty()) {
        if (luaL_loadbuffer(L, s.code.data(), s.code.size(), "=(command line)") != LUA_OK) {
            load_error(L, s);
            return kExitLoad;
        }
        if (!run_main(L, s, false)) return kExitError;
    }
    if (!s.path.empty()) {
        int st = luaL_loadfilex(L, s.path == "-" ? nullptr : s.path.c_str(),
                                s.binary_chunks ? nullptr : "t");
        if (st != LUA_OK) {
            load_error(L, s);
            return kExitLoad;
        }
        if (!run_main(L, s, true)) return kExitError;
    }
    if (s.interactive) repl(L, s);
    rt.finish(std::chrono::seconds(2));
    return 0;
}

}  // namespace keel::lua
