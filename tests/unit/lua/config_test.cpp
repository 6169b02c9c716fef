#include <gtest/gtest.h>

#include "lua/luad/config.h"

namespace keel::luad {
namespace {

TEST(LuadConfig, AppliesEveryKey) {
    LuadConfig c;
    auto st = apply_config(R"({"socket":"/tmp/x.sock","socket_mode":"0660","max_children":3,
        "max_children_per_user":2,"max_pending":9,"max_pending_per_user":5,
        "request_timeout":0.5,"max_request":4096,"warm_children":2,"preload":["a","b.c"],
        "lua_path":"/p/?.lua","lua_cpath":"/p/?.so","server_lua_env":true,"allow_binary":true,
        "c_module_dirs":["/opt/lua"],
        "limits":{"cpu":2,"wall":1.5,"address_space":67108864,"processes":10,"open_files":64},
        "root_limits":{"cpu":100,"wall":0}})",
                           "lua", &c);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(c.socket, "/tmp/x.sock");
    EXPECT_EQ(c.socket_mode, 0660u);
    EXPECT_EQ(c.max_children, 3u);
    EXPECT_EQ(c.max_children_per_user, 2u);
    EXPECT_EQ(c.max_pending, 9u);
    EXPECT_EQ(c.max_pending_per_user, 5u);
    EXPECT_EQ(c.request_timeout, std::chrono::milliseconds(500));
    EXPECT_EQ(c.max_request, 4096u);
    EXPECT_EQ(c.warm_children, 2u);
    EXPECT_EQ(c.preload, (std::vector<std::string>{"a", "b.c"}));
    EXPECT_EQ(c.lua_path, "/p/?.lua");
    EXPECT_EQ(c.lua_cpath, "/p/?.so");
    EXPECT_TRUE(c.server_lua_env);
    EXPECT_TRUE(c.allow_binary);
    EXPECT_EQ(c.c_module_dirs, (std::vector<std::string>{"/opt/lua"}));
    EXPECT_EQ(c.limits.cpu, 2);
    EXPECT_EQ(c.limits.wall, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.limits.address_space, 67108864);
    EXPECT_EQ(c.limits.processes, 10);
    EXPECT_EQ(c.limits.open_files, 64);
    EXPECT_EQ(c.root_limits.cpu, 100);
    EXPECT_EQ(c.root_limits.wall.count(), 0);
}

// The defaults keep one user from starving the others (docs/lua.md explains each).
TEST(LuadConfig, DefaultsBoundUsersButNotRoot) {
    LuadConfig c;
    EXPECT_EQ(c.max_children, 64u);
    EXPECT_EQ(c.max_children_per_user, 8u);
    EXPECT_EQ(c.max_pending, 1024u);
    EXPECT_EQ(c.max_pending_per_user, 32u);
    EXPECT_EQ(c.request_timeout, std::chrono::seconds(2));
    EXPECT_FALSE(c.allow_binary);
    EXPECT_EQ(c.limits.cpu, 60);
    EXPECT_EQ(c.limits.wall, std::chrono::minutes(10));
    EXPECT_EQ(c.limits.processes, 1024);
    EXPECT_EQ(c.root_limits.cpu, 0);
    EXPECT_EQ(c.root_limits.wall.count(), 0);
    EXPECT_EQ(c.root_limits.processes, 0);
    // Only what is named changes; 0 turns a limit off.
    ASSERT_TRUE(apply_config(R"({"limits":{"cpu":0}})", "lua", &c));
    EXPECT_EQ(c.limits.cpu, 0);
    EXPECT_EQ(c.limits.wall, std::chrono::minutes(10));
    // Lua's own C module directories, absolute ones only (not ./?.so).
    auto dirs = default_c_module_dirs();
    EXPECT_FALSE(dirs.empty());
    for (const auto& d : dirs) {
        EXPECT_EQ(d[0], '/') << d;
        EXPECT_EQ(d.find('?'), std::string::npos) << d;
    }
}

std::string error_of(const char* json) {
    LuadConfig c;
    auto st = apply_config(json, "lua", &c);
    EXPECT_FALSE(st) << json;
    return st ? "" : st.error().message();
}

TEST(LuadConfig, ErrorsNameTheJsonPath) {
    EXPECT_EQ(error_of(R"({"bogus":1})"), "lua.bogus: unknown key");
    EXPECT_EQ(error_of(R"({"limits":{"cpus":1}})"), "lua.limits.cpus: unknown key");
    EXPECT_EQ(error_of(R"({"limits":{"cpu":-1}})"), "lua.limits.cpu: expected an integer >= 0");
    EXPECT_EQ(error_of(R"({"limits":{"open_files":2}})"),
              "lua.limits.open_files: expected 0 (no limit) or an integer >= 3");
    EXPECT_EQ(error_of(R"({"root_limits":{"wall":"1m"}})"),
              "lua.root_limits.wall: expected seconds >= 0");
    EXPECT_EQ(error_of(R"({"request_timeout":0})"), "lua.request_timeout: expected seconds > 0");
    EXPECT_EQ(error_of(R"({"c_module_dirs":["lib/lua"]})"),
              "lua.c_module_dirs[0]: expected an absolute path");
    EXPECT_EQ(error_of(R"({"allow_binary":1})"), "lua.allow_binary: expected true or false");
    EXPECT_EQ(error_of(R"({"max_children":"many"})"), "lua.max_children: expected an integer >= 1");
    EXPECT_EQ(error_of(R"({"preload":["a",3]})"), "lua.preload[1]: expected a string");
    EXPECT_EQ(error_of(R"({"socket_mode":"rwx"})"),
              "lua.socket_mode: expected an octal mode like \"0660\"");
    EXPECT_EQ(error_of("[1]"), "lua: expected an object");
    EXPECT_EQ(error_of("{"), "lua: not valid JSON");
}

}  // namespace
}  // namespace keel::luad
