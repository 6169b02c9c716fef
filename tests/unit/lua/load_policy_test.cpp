// What a keel luad child's script may load: text chunks only, and C modules only
// from directories that nobody but root can change.
#include "lua/luad/load_policy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/skip.h"

namespace keel::luad {
namespace {

namespace fs = std::filesystem;

// A directory of its own under /tmp, removed afterwards.
class Dir {
  public:
    Dir() {
        std::string t = "/tmp/keel-load-policy-XXXXXX";
        if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
        path_ = t;
        ::chmod(path_.c_str(), 0755);
    }
    ~Dir() { fs::remove_all(path_); }
    std::string file(const std::string& name, mode_t mode = 0644) const {
        std::string p = path_ + "/" + name;
        std::ofstream(p) << "not really a library";
        ::chmod(p.c_str(), mode);
        return p;
    }
    std::string sub(const std::string& name, mode_t mode) const {
        std::string p = path_ + "/" + name;
        fs::create_directory(p);
        ::chmod(p.c_str(), mode);
        return p;
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

LoadPolicy policy_for(const std::vector<std::string>& dirs) {
    LuadConfig cfg;
    cfg.c_module_dirs = dirs;
    return make_load_policy(cfg, {});
}

std::string refusal(const LoadPolicy& p, const std::string& path, std::string* resolved = nullptr) {
    std::string r;
    return c_module_refusal(p, path, resolved ? resolved : &r);
}

TEST(LoadPolicy, CModulesOnlyFromAllowedDirectoriesOnlyRootCanChange) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root: the files must be root's");
    Dir d;
    std::string allowed = d.sub("allowed", 0755), other = d.sub("other", 0755);
    auto p = policy_for({allowed});
    std::string lib = d.file("allowed/a.so");
    std::string resolved;
    EXPECT_EQ(refusal(p, lib, &resolved), "");
    EXPECT_EQ(resolved, lib);
    // Through a symlink from elsewhere: what counts (and is loaded) is the real file.
    fs::create_symlink(lib, other + "/link.so");
    EXPECT_EQ(refusal(p, other + "/link.so", &resolved), "");
    EXPECT_EQ(resolved, lib);
    // Elsewhere, or a path out of the directory.
    EXPECT_NE(refusal(p, d.file("other/b.so")).find("is not in a directory allowed"),
              std::string::npos);
    EXPECT_NE(refusal(p, allowed + "/../other/b.so").find("is not in a directory allowed"),
              std::string::npos);
    EXPECT_NE(refusal(p, allowed + "/missing.so").find("No such file"), std::string::npos);
    // Anyone but root able to change the file or a directory above it: refused.
    std::string user_owned = d.file("allowed/user.so");
    ASSERT_EQ(::chown(user_owned.c_str(), 65534, 65534), 0);
    EXPECT_NE(refusal(p, user_owned).find("user.so is owned by uid 65534, not root"),
              std::string::npos);
    std::string writable = d.file("allowed/writable.so", 0666);
    EXPECT_NE(refusal(p, writable).find("writable.so is writable by everyone"), std::string::npos);
    std::string group_dir = d.sub("allowed/group", 0775);
    ASSERT_EQ(::chown(group_dir.c_str(), 0, 100), 0);
    EXPECT_NE(refusal(p, d.file("allowed/group/c.so")).find("group is writable by group 100"),
              std::string::npos);
    ::chmod(allowed.c_str(), 0777);
    EXPECT_NE(refusal(p, lib).find("allowed is writable by everyone"), std::string::npos);
    // Sticky and writable by all, like /tmp: entries stay their owners', so fine.
    ::chmod(allowed.c_str(), 01777);
    EXPECT_EQ(refusal(p, lib), "");
}

TEST(LoadPolicy, PreloadedCModulesAndMissingDirectories) {
    Dir d;
    std::string lib = d.file("pre.so");
    LuadConfig cfg;
    cfg.c_module_dirs = {d.path() + "/absent", "/nonexistent/keel"};
    Preload c_module{"pre", lib, ""};
    Preload lua_module{"lua", d.file("mod.lua"), "bytecode"};
    auto p = make_load_policy(cfg, {c_module, lua_module});
    EXPECT_TRUE(p.c_module_dirs.empty());  // missing directories allow nothing
    EXPECT_EQ(p.c_module_files, std::vector<std::string>{lib});
    EXPECT_EQ(refusal(p, lib), "");
    EXPECT_NE(refusal(p, d.path() + "/mod.lua").find("c_module_dirs: none"), std::string::npos);
}

// Runs `code` in a state with the policy applied; returns what it returned (or the error).
std::string in_lua(const LoadPolicy& p, const std::string& code) {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    apply_load_policy(L, p);
    std::string out;
    if (luaL_loadstring(L, code.c_str()) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        out = std::string("error: ") + lua_tostring(L, -1);
    else
        out = lua_tostring(L, -1) ? lua_tostring(L, -1) : "(not a string)";
    lua_close(L);
    return out;
}

TEST(LoadPolicy, TextChunksOnly) {
    Dir d;
    LoadPolicy p = policy_for({d.path()});
    const std::string dump = "local b = string.dump(function() return 'ran' end) ";
    EXPECT_EQ(in_lua(p, dump + "return select(2, load(b))"),
              "attempt to load a binary chunk (mode is 't')");
    EXPECT_EQ(in_lua(p, dump + "return select(2, load(b, 'x', 'b'))"),
              "binary chunks are not allowed (keel luad's allow_binary is off)");
    EXPECT_EQ(in_lua(p, "return load('return ...', 'x', 'bt')('text')"), "text");
    // An explicit environment still reaches the chunk; none means the globals.
    EXPECT_EQ(in_lua(p, "return load('return v', 'x', 't', {v = 'env'})()"), "env");
    EXPECT_EQ(in_lua(p, "v = 'global' return load('return v')()"), "global");
    std::string file = d.path() + "/chunk.luac";
    std::string write = dump + "local f = io.open('" + file + "', 'wb') f:write(b) f:close() ";
    EXPECT_EQ(in_lua(p, write + "return select(2, loadfile('" + file + "'))"),
              "attempt to load a binary chunk (mode is 't')");
    EXPECT_EQ(in_lua(p, write + "return select(2, pcall(dofile, '" + file + "'))"),
              "attempt to load a binary chunk (mode is 't')");
    EXPECT_NE(in_lua(p, write + "package.path = '" + d.path() +
                            "/?.luac' return select(2, pcall(require, 'chunk'))")
                  .find("error loading module 'chunk' from file '" + file + "'"),
              std::string::npos);
    std::ofstream(d.path() + "/text.lua") << "return 'text module', ...";
    EXPECT_EQ(in_lua(p, "package.path = '" + d.path() + "/?.lua' return require('text')"),
              "text module");
    EXPECT_EQ(in_lua(p, "return dofile('" + d.path() + "/text.lua')"), "text module");
    // Lua's own loaders are out of reach, even through the debug library: not an
    // upvalue of the replacements, and not among the functions they call (a call hook
    // sees each of those).
    EXPECT_EQ(in_lua(p, dump + R"(
        local reached = {load, loadfile, dofile, require, package.loadlib, package.searchpath}
        for _, f in ipairs({load, loadfile, dofile, package.loadlib, table.unpack(package.searchers)}) do
            for i = 1, 10 do
                local name, v = debug.getupvalue(f, i)
                if name == nil then break end
                if type(v) == "function" then reached[#reached + 1] = v end
            end
        end
        debug.sethook(function() reached[#reached + 1] = debug.getinfo(2, "f").func end, "c")
        pcall(load, b) pcall(load, b, "x", "b") pcall(loadfile, "/nonexistent") pcall(dofile, "/nonexistent")
        pcall(require, "no.such.module") pcall(package.loadlib, "/nonexistent.so", "f")
        debug.sethook()
        for _, f in ipairs(reached) do
            local ok, chunk = pcall(f, b, "=x", "b")
            if ok and type(chunk) == "function" and pcall(chunk) and chunk() == "ran" then
                return "loaded a binary chunk through " .. tostring(f)
            end
        end
        return "none of " .. #reached .. " loads it")")
                  .rfind("none of ", 0),
              0u);
    // Allowed by the configuration: Lua's own functions, untouched.
    p.allow_binary = true;
    EXPECT_EQ(in_lua(p, dump + "return load(b)()"), "ran");
}

}  // namespace
}  // namespace keel::luad
