#include <gtest/gtest.h>

#include "lua/luad/config.h"

namespace keel::luad {
namespace {

TEST(LuadConfig, AppliesEveryKey) {
    LuadConfig c;
    auto st = apply_config(R"({"socket":"/tmp/x.sock","socket_mode":"0660","max_children":3,
        "max_pending":9,"request_timeout":0.5,"max_request":4096,"preload":["a","b.c"],
        "lua_path":"/p/?.lua","lua_cpath":"/p/?.so","server_lua_env":true,
        "limits":{"cpu":2,"address_space":67108864,"processes":10,"open_files":64}})",
                           "lua", &c);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(c.socket, "/tmp/x.sock");
    EXPECT_EQ(c.socket_mode, 0660u);
    EXPECT_EQ(c.max_children, 3u);
    EXPECT_EQ(c.max_pending, 9u);
    EXPECT_EQ(c.request_timeout, std::chrono::milliseconds(500));
    EXPECT_EQ(c.max_request, 4096u);
    EXPECT_EQ(c.preload, (std::vector<std::string>{"a", "b.c"}));
    EXPECT_EQ(c.lua_path, "/p/?.lua");
    EXPECT_EQ(c.lua_cpath, "/p/?.so");
    EXPECT_TRUE(c.server_lua_env);
    EXPECT_EQ(c.limits.cpu, 2);
    EXPECT_EQ(c.limits.address_space, 67108864);
    EXPECT_EQ(c.limits.processes, 10);
    EXPECT_EQ(c.limits.open_files, 64);
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
    EXPECT_EQ(error_of(R"({"limits":{"cpu":0}})"), "lua.limits.cpu: expected an integer >= 1");
    EXPECT_EQ(error_of(R"({"max_children":"many"})"), "lua.max_children: expected an integer >= 1");
    EXPECT_EQ(error_of(R"({"preload":["a",3]})"), "lua.preload[1]: expected a string");
    EXPECT_EQ(error_of(R"({"socket_mode":"rwx"})"),
              "lua.socket_mode: expected an octal mode like \"0660\"");
    EXPECT_EQ(error_of("[1]"), "lua: expected an object");
    EXPECT_EQ(error_of("{"), "lua: not valid JSON");
}

}  // namespace
}  // namespace keel::luad
