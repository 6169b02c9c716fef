#include "image/definition.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

#include "base/sys.h"

namespace keel::image {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr size_t kMaxFile = 16u << 20;  // a definition's own files are text, never this big
constexpr int kHookEvery = 1000;        // instructions between count-hook calls
constexpr int kMaxDepth = 64;           // of the manifest's tables

// Everything the sandbox's host functions reach, found from the Lua state.
struct Sandbox {
    DefinitionOptions options;
    std::string dir;   // the definition's directory (absolute)
    std::string main;  // its file name there ("system.lua")
    size_t used = 0;
    bool out_of_memory = false;
    uint64_t instructions = 0;
    std::string last_where;  // the definition's code last seen running ("system.lua:5")
    std::vector<std::string> inputs;
    std::set<std::string> input_set;

    void add_input(const std::string& s) {
        if (input_set.insert(s).second) inputs.push_back(s);
    }
};

Sandbox* sandbox_of(lua_State* L) {
    void* ud = nullptr;
    lua_getallocf(L, &ud);
    return static_cast<Sandbox*>(ud);
}

// Counts every byte the state holds and refuses to pass the limit.
void* limited_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* s = static_cast<Sandbox*>(ud);
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        std::free(ptr);
        s->used -= old;
        return nullptr;
    }
    if (nsize > old && s->used - old + nsize > s->options.max_memory) {
        s->out_of_memory = true;
        return nullptr;
    }
    void* p = std::realloc(ptr, nsize);
    if (!p) return nullptr;
    s->used = s->used - old + nsize;
    return p;
}

// Definition code runs from chunks named "@file"; the DSL's own modules are
// "=keel/...". The line hook notes where definition code last ran.
void hook(lua_State* L, lua_Debug* ar) {
    Sandbox* s = sandbox_of(L);
    if (ar->event == LUA_HOOKLINE) {
        lua_getinfo(L, "S", ar);
        if (ar->source[0] == '@')
            s->last_where = std::string(ar->source + 1) + ":" + std::to_string(ar->currentline);
        return;
    }
    s->instructions += kHookEvery;
    if (s->instructions > s->options.max_instructions) {
        std::string at = s->last_where.empty() ? s->main : s->last_where;
        lua_pushfstring(
            L, "%s: the definition runs too long (stopped after %d million Lua instructions)",
            at.c_str(), static_cast<int>(s->options.max_instructions / 1000000));
        lua_error(L);
    }
}

// The innermost frame of definition code calling. `return system {...}` is a
// tail call that replaces the definition's frame: then the line where the
// definition last ran is that call's.
std::string where_text(lua_State* L) {
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); ++level) {
        lua_getinfo(L, "Slt", &ar);
        if (ar.source[0] == '@' && ar.currentline > 0)
            return std::string(ar.source + 1) + ":" + std::to_string(ar.currentline);
        if (ar.istailcall) break;
    }
    return sandbox_of(L)->last_where;
}

// Relative paths from the DSL are already normalised; this only refuses what
// would leave the definition's directory, whatever the caller.
bool inside(const std::string& rel) {
    if (rel.empty() || rel[0] == '/') return false;
    for (const auto& part : fs::path(rel))
        if (part == "..") return false;
    return true;
}

Result<std::string> read_text(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error(path);
    if (S_ISDIR(st.st_mode)) return Error(path, EISDIR);
    if (!S_ISREG(st.st_mode)) return Error(path + ": not a regular file");
    if (static_cast<size_t>(st.st_size) > kMaxFile) return Error(path + ": larger than 16 MiB");
    return sys::read_file(path);
}

std::string reason(const Error& e) {
    return e.code() ? std::strerror(e.code()) : e.what();
}

// Reads a file beside the definition (an input of the build).
Result<std::string> read_user(lua_State* L, const std::string& rel) {
    Sandbox* s = sandbox_of(L);
    if (!inside(rel)) return Error("outside the definition's directory");
    std::string path = s->dir + "/" + rel;
    auto text = read_text(path);
    if (!text) return Error(reason(text.error()));
    s->add_input(path);
    return text;
}

int push_failure(lua_State* L, const std::string& why) {
    lua_pushnil(L);
    lua_pushstring(L, why.c_str());
    return 2;
}

// Compiles Lua text (never a binary chunk) with `env` as its _ENV.
int compile(lua_State* L, const std::string& text, const std::string& chunkname, int env) {
    if (luaL_loadbufferx(L, text.data(), text.size(), chunkname.c_str(), "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        lua_pushstring(L, "syntax");
        return 3;
    }
    lua_pushvalue(L, env);
    lua_setupvalue(L, -2, 1);
    return 1;
}

int host_read(lua_State* L) {
    auto text = read_user(L, luaL_checkstring(L, 1));
    if (!text) return push_failure(L, text.error().what());
    lua_pushlstring(L, text->data(), text->size());
    return 1;
}

int host_load(lua_State* L) {
    std::string rel = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    auto text = read_user(L, rel);
    if (!text) return push_failure(L, text.error().what());
    int n = compile(L, *text, "@" + rel, 2);
    if (n != 1) return n;
    lua_pushlstring(L, text->data(), text->size());
    return 2;
}

int host_lib(lua_State* L) {
    std::string rel = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (!inside(rel)) return push_failure(L, rel + ": not a library path");
    auto text = read_text(sandbox_of(L)->options.lua_dir + "/" + rel);
    if (!text) return push_failure(L, text.error().message());
    return compile(L, *text, "=" + rel, 2);
}

int host_catalog(lua_State* L) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(sandbox_of(L)->options.lua_dir + "/keel/services", ec)) {
        if (e.path().extension() != ".lua") continue;
        std::string name = e.path().stem().string();
        std::replace(name.begin(), name.end(), '_', '-');
        names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    lua_createtable(L, static_cast<int>(names.size()), 0);
    for (size_t i = 0; i < names.size(); ++i) {
        lua_pushstring(L, names[i].c_str());
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    return 1;
}

int host_exists(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    struct stat st {};
    if (::stat(path, &st) != 0) return push_failure(L, reason(errno_error(path)));
    if (S_ISDIR(st.st_mode)) return push_failure(L, std::strerror(EISDIR));
    lua_pushboolean(L, 1);
    return 1;
}

int host_getenv(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    sandbox_of(L)->add_input(std::string("env:") + name);
    const char* v = std::getenv(name);
    if (v)
        lua_pushstring(L, v);
    else
        lua_pushnil(L);
    return 1;
}

int host_where(lua_State* L) {
    std::string w = where_text(L);
    size_t colon = w.rfind(':');
    lua_createtable(L, 0, 2);
    if (colon == std::string::npos) {
        lua_pushstring(L, sandbox_of(L)->main.c_str());
        lua_pushinteger(L, 1);
    } else {
        lua_pushstring(L, w.substr(0, colon).c_str());
        lua_pushinteger(L, std::stoi(w.substr(colon + 1)));
    }
    lua_setfield(L, -3, "line");
    lua_setfield(L, -2, "file");
    return 1;
}

// load() for definitions: text chunks only.
int safe_load(lua_State* L) {
    size_t len = 0;
    const char* text = luaL_checklstring(L, 1, &len);
    const char* name = luaL_optstring(L, 2, "=(load)");
    const char* mode = luaL_optstring(L, 3, "t");
    if (std::strcmp(mode, "t") != 0)
        return push_failure(L, "load: binary chunks are not allowed in a system definition");
    int env = lua_isnone(L, 4) ? 0 : 4;
    if (luaL_loadbufferx(L, text, len, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

// print() writes to standard error: the definition's standard output is not its to use.
int safe_print(lua_State* L) {
    int n = lua_gettop(L);
    std::string line = where_text(L) + ":";  // print() says where it was called
    for (int i = 1; i <= n; ++i) {
        line += i == 1 ? " " : "\t";
        line += luaL_tolstring(L, i, nullptr);
        lua_pop(L, 1);
    }
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
    return 0;
}

// The globals a definition may use: nothing that reaches the host.
void open_safe_libs(lua_State* L) {
    const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},        {LUA_TABLIBNAME, luaopen_table},
                             {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
                             {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine}};
    for (const auto& lib : libs) {
        luaL_requiref(L, lib.name, lib.func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    for (const char* name : {"dofile", "loadfile", "collectgarbage", "require"}) {
        lua_pushnil(L);
        lua_setfield(L, -2, name);
    }
    lua_pushcfunction(L, safe_load);
    lua_setfield(L, -2, "load");
    lua_pushcfunction(L, safe_print);
    lua_setfield(L, -2, "print");
    lua_getfield(L, -1, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");  // bytecode out, which load() would refuse anyway
    lua_pop(L, 2);
    // math.random would make two evaluations differ.
    lua_getglobal(L, LUA_MATHLIBNAME);
    for (const char* name : {"random", "randomseed"}) {
        lua_pushnil(L);
        lua_setfield(L, -2, name);
    }
    lua_pop(L, 1);
}

// The host table handed to lua/keel/system.lua.
void push_host(lua_State* L) {
    const luaL_Reg fns[] = {{"read", host_read},     {"load", host_load},
                            {"lib", host_lib},       {"catalog", host_catalog},
                            {"exists", host_exists}, {"getenv", host_getenv},
                            {"where", host_where},   {nullptr, nullptr}};
    luaL_newlib(L, fns);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "base");
}

// Lua values the DSL returns -> JSON. A table with keys 1..n is an array, one
// with string keys an object (empty: an object).
Result<Json> to_json(lua_State* L, int idx, const std::string& path, int depth) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
        case LUA_TBOOLEAN:
            return Json(static_cast<bool>(lua_toboolean(L, idx)));
        case LUA_TNUMBER:
            if (lua_isinteger(L, idx)) return Json(static_cast<int64_t>(lua_tointeger(L, idx)));
            return Json(lua_tonumber(L, idx));
        case LUA_TSTRING: {
            size_t len = 0;
            const char* s = lua_tolstring(L, idx, &len);
            return Json(std::string(s, len));
        }
        case LUA_TTABLE: {
            if (depth > kMaxDepth) return Error(path + ": nested too deeply");
            lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
            size_t count = 0;
            bool strings = true;
            lua_pushnil(L);
            while (lua_next(L, idx)) {
                ++count;
                strings = strings && lua_type(L, -2) == LUA_TSTRING;
                lua_pop(L, 1);
            }
            if (n > 0 && static_cast<size_t>(n) == count) {
                Json out = Json::array();
                for (lua_Integer i = 1; i <= n; ++i) {
                    lua_rawgeti(L, idx, i);
                    auto v = to_json(L, -1, path + "[" + std::to_string(i - 1) + "]", depth + 1);
                    lua_pop(L, 1);
                    if (!v) return v.error();
                    out.push_back(std::move(*v));
                }
                return out;
            }
            if (!strings) return Error(path + ": a table mixing a list and names");
            Json out = Json::object();
            lua_pushnil(L);
            while (lua_next(L, idx)) {
                std::string key = lua_tostring(L, -2);
                auto v = to_json(L, -1, path + "." + key, depth + 1);
                if (!v) {
                    lua_pop(L, 2);
                    return v.error();
                }
                out[key] = std::move(*v);
                lua_pop(L, 1);
            }
            return out;
        }
        default:
            return Error(path + ": a " + std::string(luaL_typename(L, idx)) +
                         " cannot be written to the manifest");
    }
}

std::string field_string(lua_State* L, int idx, const char* key) {
    lua_getfield(L, idx, key);
    std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
    lua_pop(L, 1);
    return v;
}

lua_Integer field_integer(lua_State* L, int idx, const char* key, lua_Integer def) {
    lua_getfield(L, idx, key);
    lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

bool field_bool(lua_State* L, int idx, const char* key) {
    lua_getfield(L, idx, key);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

// Calls fn(element index) for each element of the list at t[key].
template <typename Fn>
Status each(lua_State* L, int t, const char* key, Fn fn) {
    lua_getfield(L, t, key);
    int list = lua_gettop(L);
    lua_Integer n = lua_istable(L, list) ? static_cast<lua_Integer>(lua_rawlen(L, list)) : 0;
    for (lua_Integer i = 1; i <= n; ++i) {
        lua_rawgeti(L, list, i);
        Status st = fn(lua_gettop(L));
        lua_pop(L, 1);
        if (!st) {
            lua_pop(L, 1);
            return st;
        }
    }
    lua_pop(L, 1);
    return {};
}

Status put_file(Tree& tree, lua_State* L, int f) {
    std::string path = field_string(L, f, "path");
    Node node;
    node.origin = "definition";
    node.mode = static_cast<uint32_t>(field_integer(L, f, "mode", 0644)) & 07777;
    node.uid = static_cast<uint32_t>(field_integer(L, f, "uid", 0));
    node.gid = static_cast<uint32_t>(field_integer(L, f, "gid", 0));
    if (std::string link = field_string(L, f, "link"); !link.empty()) {
        node.kind = Node::Kind::symlink;
        node.mode = 0777;
        node.target = link;
    } else if (field_bool(L, f, "dir")) {
        node.kind = Node::Kind::dir;
    } else {
        node.data = field_string(L, f, "data");
    }
    auto at = tree.put(path, std::move(node));
    if (!at) return Error("cannot add " + path + " to the image: " + at.error().message());
    return {};
}

Result<Plan> to_plan(lua_State* L, int r, Sandbox& s) {
    Plan plan;
    plan.hostname = field_string(L, r, "hostname");
    KEEL_TRY_STATUS(each(L, r, "packages", [&](int i) -> Status {
        plan.packages.push_back(lua_tostring(L, i));
        return {};
    }));
    KEEL_TRY_STATUS(each(L, r, "exclude", [&](int i) -> Status {
        plan.exclude.push_back(lua_tostring(L, i));
        return {};
    }));
    lua_getfield(L, r, "prune");
    if (lua_istable(L, -1)) {
        int p = lua_gettop(L);
        plan.prune.enabled = field_bool(L, p, "enabled");
        plan.prune.libraries = field_bool(L, p, "libraries");
        plan.prune.strip = field_bool(L, p, "strip");
        for (const auto& key_list :
             {std::pair{"keep", &plan.prune.keep}, {"remove", &plan.prune.remove}}) {
            std::vector<std::string>* list = key_list.second;
            KEEL_TRY_STATUS(each(L, p, key_list.first, [&](int i) -> Status {
                list->push_back(lua_tostring(L, i));
                return {};
            }));
        }
    }
    lua_pop(L, 1);
    plan.busybox_links = field_bool(L, r, "busybox_links");
    KEEL_TRY_STATUS(each(L, r, "kernel_modules", [&](int i) -> Status {
        plan.kernel_modules.push_back(lua_tostring(L, i));
        return {};
    }));
    if (!s.options.keel_binary.empty()) {
        plan.host_files.push_back({s.options.keel_binary, "/usr/bin/keel", 0});
        std::string run = (fs::path(s.options.keel_binary).parent_path() / "keel-run").string();
        struct stat st {};
        if (::stat(run.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            plan.host_files.push_back({run, "/usr/bin/keel-run", 0});
    }
    KEEL_TRY_STATUS(each(L, r, "host_files", [&](int i) -> Status {
        plan.host_files.push_back({field_string(L, i, "source"), field_string(L, i, "dest"),
                                   static_cast<uint32_t>(field_integer(L, i, "mode", 0))});
        return {};
    }));
    KEEL_TRY_STATUS(each(L, r, "files", [&](int i) { return put_file(plan.files, L, i); }));
    lua_getfield(L, r, "manifest");
    auto manifest = to_json(L, -1, "manifest", 0);
    lua_pop(L, 1);
    if (!manifest) return manifest.error();
    try {
        (void)manifest->dump();
    } catch (const Json::exception&) {
        return Error("manifest: a string is not valid UTF-8");
    }
    plan.manifest = std::move(*manifest);
    return plan;
}

struct StateCloser {
    void operator()(lua_State* L) const { lua_close(L); }
};

}  // namespace

Result<Plan> evaluate_definition(const std::string& path, const DefinitionOptions& options) {
    std::error_code ec;
    fs::path abs = fs::absolute(path, ec).lexically_normal();
    if (ec) return Error("cannot resolve " + path, ec.value());
    Sandbox s;
    s.options = options;
    s.dir = abs.parent_path().string();
    s.main = abs.filename().string();
    std::unique_ptr<lua_State, StateCloser> state(lua_newstate(limited_alloc, &s));
    if (!state) return Error("cannot create a Lua state");
    lua_State* L = state.get();
    lua_sethook(L, hook, LUA_MASKCOUNT | LUA_MASKLINE, kHookEvery);
    open_safe_libs(L);

    // system.lua (the DSL) returns the evaluator; it runs in the same sandbox.
    std::string dsl_path = options.lua_dir + "/keel/system.lua";
    auto dsl = read_text(dsl_path);
    if (!dsl) return Error("cannot load the system DSL: " + dsl.error().message());
    if (luaL_loadbufferx(L, dsl->data(), dsl->size(), "=keel/system.lua", "t") != LUA_OK)
        return Error(std::string("cannot load the system DSL: ") + lua_tostring(L, -1));
    push_host(L);
    int status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK) {
        lua_pushstring(L, s.main.c_str());
        status = lua_pcall(L, 1, 1, 0);
    }
    if (status != LUA_OK) {
        if (status == LUA_ERRMEM || s.out_of_memory) {
            std::string at = s.last_where.empty() ? s.main : s.last_where;
            return Error(at + ": the definition uses more than " +
                         std::to_string(options.max_memory >> 20) + " MiB of memory");
        }
        const char* msg = lua_tostring(L, -1);
        return Error(msg ? msg : s.main + ": error object is a " + luaL_typename(L, -1));
    }
    auto plan = to_plan(L, lua_gettop(L), s);
    if (!plan) return plan.error();
    plan->definition = abs.string();
    plan->inputs = s.inputs;
    return plan;
}

}  // namespace keel::image
