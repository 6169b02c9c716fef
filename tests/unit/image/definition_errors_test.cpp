// Every mistake in a definition is reported with the file:line where it was
// made, and the sandbox keeps the definition away from the host.
#include <gtest/gtest.h>

#include <map>

#include "definition_test_util.h"

namespace keel::image::test {
namespace {

// A case's name as a test name.
template <typename Case>
std::string test_name(const ::testing::TestParamInfo<Case>& info) {
    std::string n;
    for (char ch : std::string(info.param.name))
        n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return n;
}

struct ErrorCase {
    const char* name;
    std::map<std::string, std::string> siblings;  // other files beside system.lua
    const char* definition;
    const char* expected;  // the start of the error message
};

const ErrorCase kErrorCases[] = {
    {"unknown system key",
     {},
     "return system {\n  hostname = 'a',\n  hostnme = 'b',\n}",
     R"(system.lua:3: unknown key "hostnme" in system (did you mean "hostname"?))"},
    {"wrong type",
     {},
     "return system {\n\n  hostname = 42,\n}",
     "system.lua:3: system: hostname must be a string, not integer 42"},
    {"unknown service by name",
     {},
     "return system {\n  hostname = 'a',\n  services = { 'ntpd',\n 'sshd' },\n}",
     R"(system.lua:4: unknown service "sshd" (did you mean "ssh"?))"},
    {"unknown service with options",
     {},
     "return system {\n  services = {\n    service 'htpd' { port = 8 },\n  },\n}",
     R"(system.lua:3: unknown service "htpd" (did you mean "httpd"?))"},
    {"unknown service option",
     {},
     "return system {\n  services = {\n    service 'ssh' {\n      prot = 2222,\n    },\n  },\n}",
     R"(system.lua:4: unknown key "prot" in service "ssh" (did you mean "port"?))"},
    {"service option type",
     {},
     "return system {\n  services = { service 'ssh' { port = '22' } },\n}",
     R"(system.lua:2: service "ssh": port must be an integer, not the string "22")"},
    {"common service option type",
     {},
     "return system {\n  services = { service 'ntpd' {\n restart = true } },\n}",
     R"(system.lua:3: service "ntpd": restart must be a string, not boolean true)"},
    {"missing file",
     {},
     "return system {\n  hostname = 'a',\n  scripts = { automount = file 'automount.lua' },\n}",
     R"(system.lua:3: file "automount.lua": No such file or directory)"},
    {"file outside the directory",
     {},
     "return system {\n  scripts = { x = file '../x.lua' },\n}",
     R"(system.lua:2: file "../x.lua": outside the definition's directory)"},
    {"absolute file",
     {},
     "return system {\n  scripts = { x = file '/etc/passwd' },\n}",
     R"(system.lua:2: file "/etc/passwd": must be relative to the definition)"},
    {"missing host file",
     {},
     "return system {\n  packages = { host '/nonexistent/tool' },\n}",
     R"(system.lua:2: host "/nonexistent/tool": No such file or directory)"},
    {"syntax error",
     {},
     "return system {\n  hostname = 'a'\n  users = {},\n}",
     "system.lua:3: '}' expected (to close '{' at line 1) near 'users'"},
    {"runtime error",
     {},
     "local x\nreturn system { hostname = x.name }",
     "system.lua:2: attempt to index a nil value"},
    {"error()", {}, "\nerror('no good')\n", "system.lua:2: no good"},
    {"tail call keeps the line",
     {},
     "\n\nreturn system(42)",
     "system.lua:3: system: expected a table of options, got integer 42"},
    {"tail call in an import",
     {{"sub/def.lua", "-- a comment\nreturn system 'x'\n"}},
     "return import 'sub/def.lua'",
     R"(sub/def.lua:2: system: expected a table of options, got the string "x")"},
    {"not a system",
     {},
     "return { hostname = 'a' }",
     "system.lua: the definition must return system { ... }, not a table"},
    {"runtime error in an import",
     {{"lib/users.lua", "local t = {}\nreturn t.x.y\n"}},
     "local u = import 'lib/users.lua'\nreturn system {}",
     "lib/users.lua:2: attempt to index a nil value"},
    {"syntax error in an import",
     {{"other.lua", "return {\n  1 2\n}\n"}},
     "return system(import 'other.lua')",
     "other.lua:2: '}' expected"},
    {"missing import",
     {},
     "\nlocal o = import 'other.lua'",
     R"(system.lua:2: import "other.lua": No such file or directory)"},
    {"import cycle",
     {{"a.lua", "local s = import 'system.lua'\nreturn s"}},
     "local a = import 'a.lua'\nreturn system {}",
     R"(a.lua:1: import "system.lua": imports itself (a cycle))"},
    {"key error in an import",
     {{"users.lua", "return {\n  user {\n    name = 'x',\n    shel = '/bin/sh',\n  },\n}\n"}},
     "return system { users = import 'users.lua' }",
     R"(users.lua:4: unknown key "shel" in user (did you mean "shell"?))"},
    {"duplicate user",
     {},
     "return system {\n  users = {\n    user { name = 'ann' },\n    user { name = 'ann' },\n  "
     "},\n}",
     R"(system.lua:4: duplicate user "ann" (first declared at system.lua:3))"},
    {"duplicate group",
     {},
     "return system {\n  groups = { group { name = 'g' },\n group { name = 'g' } },\n}",
     R"(system.lua:3: duplicate group "g" (first declared at system.lua:2))"},
    {"duplicate service",
     {},
     "return system {\n  services = {\n    service 'ssh' { port = 1 },\n    service 'ssh' { port = "
     "2 },\n  },\n}",
     R"(system.lua:4: duplicate service "ssh" (first declared at system.lua:3))"},
    {"unknown group of a user",
     {},
     "return system {\n  users = {\n    user { name = 'ann',\n      groups = { 'whel' } },\n  "
     "},\n}",
     R"(system.lua:4: user "ann": unknown group "whel" (did you mean "wheel"?))"},
    {"taken uid",
     {},
     "return system {\n  users = { user { name = 'ann',\n uid = 0 } },\n}",
     R"(system.lua:3: user "ann": uid 0 is taken by user "root")"},
    {"clear-text password",
     {},
     "return system {\n  users = { user { name = 'ann', password = 'secret' } },\n}",
     R"(system.lua:2: user "ann": password must be a crypt(3) hash)"},
    {"dependency not in the system",
     {},
     "return system {\n  services = {\n    service 'ntpd' {\n      depends = { 'web' },\n    },\n  "
     "},\n}",
     R"(system.lua:4: service "ntpd" depends on "web", which is not in this system)"},
    {"dependency cycle",
     {},
     "return system {\n  services = {\n    service 'a' { argv = { 'true' }, depends = { 'b' } },\n"
     "    service 'b' { argv = { 'true' }, depends = { 'a' } },\n  },\n}",
     "system.lua:3: dependency cycle: a -> b -> a"},
    {"custom service without argv",
     {},
     "return system {\n  services = { service 'web' {\n argv = {} } },\n}",
     R"(system.lua:3: service "web": argv is empty)"},
    {"unknown service user",
     {},
     "return system {\n  services = { service 'ntpd' {\n user = 'ntp' } },\n}",
     R"(system.lua:3: service "ntpd": unknown user "ntp")"},
    {"unknown timezone",
     {},
     "return system {\n  timezone = 'Europe/Berln',\n}",
     R"(system.lua:2: system: unknown timezone "Europe/Berln")"},
    {"rule with unknown group",
     {},
     "return system {\n  devices = {\n    rule { subsystem = 'block', group = 'dsk' },\n  },\n}",
     R"(system.lua:3: rule: unknown group "dsk" (did you mean "disk"?))"},
    {"rule mode as a number",
     {},
     "return system {\n  devices = { rule {\n mode = 660 } },\n}",
     "system.lua:3: rule: mode must be a string, not integer 660"},
    {"rule in the wrong list",
     {},
     "return system {\n  devices = { 'block' },\n}",
     R"(system.lua:2: system: devices[1] must be rule { ... }, not the string "block")"},
    {"network interface key",
     {},
     "return system {\n  network = { interfaces = {\n    eth0 = {\n      dhpc = true } } },\n}",
     R"(system.lua:4: unknown key "dhpc" in network.interfaces.eth0 (did you mean "dhcp"?))"},
    {"bad service name",
     {},
     "return system {\n  services = { service 'a b' { argv = { 'x' } } },\n}",
     "system.lua:2: service: expected a name"},
    {"files with a relative path",
     {},
     "return system {\n  files = {\n    ['etc/motd'] = 'hi',\n  },\n}",
     R"(system.lua:3: system: files: "etc/motd" is not an absolute path)"},
    {"excluded package named directly",
     {},
     "return system {\n  packages = { 'busybox',\n    'adduser' },\n  exclude = {\n    'adduser' "
     "},\n}",
     R"(system.lua:3: system: package "adduser" is named in packages and in exclude (system.lua:5))"},
    {"excluded package a service needs",
     {},
     "return system {\n  services = { 'ssh' },\n  exclude = {\n    'dropbear-bin' },\n}",
     R"(system.lua:4: system: exclude: service "ssh" needs package "dropbear-bin")"},
    {"exclude not a package name",
     {},
     "return system {\n  exclude = { 'Perl' },\n}",
     R"(system.lua:2: system: exclude[1] must be a Debian package name, not the string "Perl")"},
    {"exclude not a list",
     {},
     "return system {\n\n  exclude = 'perl',\n}",
     R"(system.lua:3: system: exclude must be a list of strings, not the string "perl")"},
    {"unknown prune key",
     {},
     "return system {\n  prune = {\n    kep = { '/x' } },\n}",
     R"(system.lua:3: unknown key "kep" in prune (did you mean "keep"?))"},
    {"relative prune pattern",
     {},
     "return system {\n  prune = {\n    keep = {\n      'usr/share/doc' } },\n}",
     R"(system.lua:4: prune: keep pattern "usr/share/doc" must be an absolute path)"},
    {"prune neither boolean nor table",
     {},
     "return system {\n  prune = 'no',\n}",
     R"(system.lua:2: system: prune must be true or false or a table of name = value, not the string "no")"},
    {"unknown button action",
     {},
     "return system {\n  buttons = {\n    power = 'powroff',\n  },\n}",
     R"(system.lua:3: buttons: power must be "poweroff", "reboot", "publish" or "ignore", not "powroff" (did you mean "poweroff"?))"},
    {"unknown button",
     {},
     "return system {\n  buttons = {\n    lid = 'ignore',\n  },\n}",
     R"(system.lua:3: unknown key "lid" in buttons)"},
    {"buttons not a table",
     {},
     "return system {\n  hostname = 'a',\n  buttons = 'poweroff',\n}",
     R"(system.lua:3: system: buttons must be a table of name = value, not the string "poweroff")"},
};

class DefinitionErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DefinitionErrors, GiveFileAndLine) {
    const ErrorCase& c = GetParam();
    DefinitionDir dir;
    for (const auto& [name, text] : c.siblings)
        dir.write(name, text);
    std::string error = dir.error(c.definition);
    EXPECT_EQ(error.substr(0, std::strlen(c.expected)), c.expected) << "whole error: " << error;
}

INSTANTIATE_TEST_SUITE_P(Table, DefinitionErrors, ::testing::ValuesIn(kErrorCases),
                         test_name<ErrorCase>);

struct EscapeCase {
    const char* name;
    const char* definition;
    const char* expected;  // part of the error
};

const EscapeCase kEscapes[] = {
    {"io.open", "local f = io.open('/etc/passwd')",
     "system.lua:1: attempt to index a nil value (global 'io')"},
    {"os.execute", "os.execute('touch /tmp/keel-escaped')",
     "system.lua:1: attempt to index a nil value (global 'os')"},
    {"require os", "local os = require 'os'",
     "system.lua:1: attempt to call a nil value (global 'require')"},
    {"package", "package.loadlib('libc.so.6', 'system')", "(global 'package')"},
    {"debug", "debug.sethook()", "system.lua:1: attempt to index a nil value (global 'debug')"},
    {"dofile", "dofile('/etc/passwd')", "(global 'dofile')"},
    {"loadfile", "loadfile('/etc/passwd')", "(global 'loadfile')"},
    {"string.dump", "local b = string.dump(function() end)", "(field 'dump')"},
    {"dump through the string metatable", "local s = ''\nlocal b = s.dump(print)",
     "system.lua:2: attempt to call a nil value (field 'dump')"},
    {"binary chunk", "local f, e = load('\\27LuaT\\0', 'x', 'b')\nerror(e)",
     "binary chunks are not allowed"},
    {"binary chunk in text mode", "local f, e = load('\\27LuaT\\0')\nerror(e)",
     "attempt to load a binary chunk"},
    {"the DSL's host door", "host.read('x')",
     "system.lua:1: attempt to index a function value (global 'host')"},
    {"escape in an import", "import 'evil.lua'",
     "evil.lua:2: attempt to index a nil value (global 'io')"},
    {"collectgarbage", "collectgarbage('stop')", "(global 'collectgarbage')"},
};

class SandboxEscapes : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(SandboxEscapes, Fail) {
    DefinitionDir dir;
    dir.write("evil.lua", "\nreturn io.open('/etc/shadow'):read('a')\n");
    std::string error = dir.error(GetParam().definition);
    EXPECT_NE(error.find(GetParam().expected), std::string::npos) << "whole error: " << error;
}

INSTANTIATE_TEST_SUITE_P(Table, SandboxEscapes, ::testing::ValuesIn(kEscapes),
                         test_name<EscapeCase>);

TEST(Sandbox, TextLoadStillWorks) {
    DefinitionDir dir;
    auto plan = dir.eval(
        "local f = load('return ...', 'x', 't', {})\nreturn system { hostname = f('h1') }");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->hostname, "h1");
}

TEST(Sandbox, RunawayLoopIsStopped) {
    DefinitionDir dir;
    DefinitionOptions o = dsl_options();
    o.max_instructions = 2'000'000;
    EXPECT_EQ(
        dir.error("local n = 0\nwhile true do\n  n = n + 1\nend", o),
        "system.lua:3: the definition runs too long (stopped after 2 million Lua instructions)");
    // Also when the loop is inside a function the DSL calls back.
    EXPECT_NE(dir.error("return system { hostname = (function() while true do end end)() }", o)
                  .find("system.lua:1: the definition runs too long"),
              std::string::npos);
}

TEST(Sandbox, MemoryBombIsStopped) {
    DefinitionDir dir;
    DefinitionOptions o = dsl_options();
    o.max_memory = 8u << 20;
    std::string error =
        dir.error("local t = {}\nfor i = 1, 1e9 do\n  t[i] = ('x'):rep(100) .. i\nend", o);
    EXPECT_EQ(error.substr(error.find(": ")), ": the definition uses more than 8 MiB of memory")
        << error;
    EXPECT_EQ(error.rfind("system.lua:", 0), 0u) << error;
    EXPECT_EQ(dir.error("\nlocal s = ('x'):rep(1 << 28)", o),
              "system.lua:2: the definition uses more than 8 MiB of memory");
}

TEST(Sandbox, NonStringErrorObject) {
    DefinitionDir dir;
    EXPECT_EQ(dir.error("error({})"), "system.lua: error object is a table");
}

}  // namespace
}  // namespace keel::image::test
