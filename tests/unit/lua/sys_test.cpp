#include <unistd.h>

#include "lua_test_util.h"
#include "support/skip.h"

namespace keel::lua {
namespace {

TEST(LuaSys, FilesAndDirectories) {
    char dir[] = "/tmp/keel-lua-sys-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    EXPECT_EQ(run_lua(R"(
        local sys = require "keel.sys"
        local dir = arg[1]
        assert(sys.mkdir(dir .. "/a/b/c", {parents = true}))
        assert(sys.mkdir(dir .. "/a/b/c", {parents = true}), "mkdir -p of an existing directory")
        local ok, msg, code = sys.mkdir(dir .. "/a")
        assert(ok == nil and msg == dir .. "/a: File exists" and code == 17, msg)
        assert(sys.writefile(dir .. "/a/f", "one\n", {mode = 384}))
        assert(sys.writefile(dir .. "/a/f", "two\n", {append = true}))
        assert(sys.readfile(dir .. "/a/f") == "one\ntwo\n")
        assert(sys.writefile(dir .. "/a/g", "atomic", {atomic = true, mode = 416}))
        assert(sys.readfile(dir .. "/a/g") == "atomic")
        local st = assert(sys.stat(dir .. "/a/g"))
        assert(st.type == "file" and st.size == 6 and st.mode == 416 and st.mtime > 0, st.mode)
        assert(sys.stat(dir .. "/a").type == "directory")
        assert(sys.symlink("g", dir .. "/a/link"))
        assert(sys.readlink(dir .. "/a/link") == "g")
        assert(sys.lstat(dir .. "/a/link").type == "link" and sys.stat(dir .. "/a/link").type == "file")
        local names = sys.readdir(dir .. "/a")
        assert(table.concat(names, ",") == "b,f,g,link", table.concat(names, ","))
        assert(sys.rename(dir .. "/a/f", dir .. "/a/h"))
        assert(sys.chmod(dir .. "/a/h", "600") and sys.stat(dir .. "/a/h").mode == 384)
        assert(sys.chmod(dir .. "/a/h", 420) and sys.stat(dir .. "/a/h").mode == 420)
        assert(sys.chown(dir .. "/a/h", sys.getuid(), sys.getgid()))
        local v, err, errno = sys.chown(dir .. "/a/h", "no-such-user-here", nil)
        assert(v == nil and err:find("unknown user") and errno == 22, err)
        v, err, errno = sys.readfile(dir .. "/missing")
        assert(v == nil and err == dir .. "/missing: No such file or directory" and errno == 2)
        v, err, errno = sys.rm(dir .. "/a")
        assert(v == nil and errno == 39, err)  -- ENOTEMPTY
        assert(sys.rm(dir .. "/missing", {force = true}))
        assert(sys.rm(dir .. "/a", {recursive = true}))
        assert(sys.stat(dir .. "/a") == nil)
        assert(sys.readdir(dir)[1] == nil)
        v, err = sys.readdir(dir .. "/nope")
        assert(v == nil and err:find("No such file"))
    )",
                      {dir}),
              0);
    rmdir(dir);
}

TEST(LuaSys, SystemInformation) {
    EXPECT_EQ(run_lua(R"(
        local sys = require "keel.sys"
        assert(sys.getpid() > 1 and sys.getppid() >= 0)
        assert(sys.getuid() >= 0 and sys.geteuid() >= 0 and sys.getgid() >= 0 and sys.getegid() >= 0)
        assert(type(sys.getgroups()) == "table")
        local u = sys.uname()
        assert(u.sysname == "Linux" and #u.release > 0 and #u.machine > 0)
        assert(#sys.hostname() > 0)
        local t = sys.time()
        assert(t > 1.6e9 and math.abs(t - os.time()) < 2)
        local c1 = sys.clock()
        assert(sys.clock("boottime") > 0 and sys.clock("process") >= 0)
        assert(sys.clock("monotonic") >= c1)
        assert(sys.getcwd():sub(1, 1) == "/")
        assert(sys.setenv("KEEL_TEST_VAR", "v1") and os.getenv("KEEL_TEST_VAR") == "v1")
        assert(sys.environ().KEEL_TEST_VAR == "v1")
        assert(sys.setenv("KEEL_TEST_VAR", nil) and os.getenv("KEEL_TEST_VAR") == nil)
        local old = sys.umask(63)
        assert(sys.umask(old) == 63)
        local v, err, errno = sys.kill(2147483000, 0)
        assert(v == nil and errno == 3, err)  -- ESRCH
        v, err, errno = sys.chdir("/nonexistent/dir")
        assert(v == nil and errno == 2)
        raises("bad argument #2 .-unknown signal 'BOGUS'", sys.kill, 1, "BOGUS")
        raises("bad argument #1 .-number expected", sys.kill, "x")
        raises("bad argument #1 .-invalid option 'explode'", sys.reboot, "explode")
        raises("bad argument #1 .-invalid option", sys.clock, "sundial")
        raises("bad argument #2 .-unknown flag 'sideways'", sys.umount, "/x", "sideways")
        raises("bad argument #4 .-flags must be strings", sys.mount, "none", "/x", "tmpfs", {1})
        raises("bad argument #3 .-option 'append': boolean expected", sys.writefile, "/tmp/x", "", {append = 1})
        raises("bad argument #2 .-string expected", sys.writefile, "/tmp/x")
        raises("bad argument #2 .-invalid octal mode", sys.chmod, "/tmp/x", "rwx")
    )"),
              0);
}

TEST(LuaSys, MountWithFlagsByName) {
    if (geteuid() != 0) KEEL_SKIP("root", "mount needs root");
    char dir[] = "/tmp/keel-lua-mnt-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    EXPECT_EQ(run_lua(R"(
        local sys = require "keel.sys"
        local dir = arg[1]
        local ok, err = sys.mount("tmpfs", dir, "tmpfs", "nosuid,nodev,size=1m,mode=0750")
        if not ok and err:find("Operation not permitted") then print("SKIP: " .. err) return end
        assert(ok, err)
        local mounts = sys.readfile("/proc/self/mounts")
        local line = mounts:match("[^\n]* " .. dir:gsub("%-", "%%-") .. " [^\n]*")
        assert(line and line:find("nosuid") and line:find("nodev") and line:find("size=1024k"), line)
        assert(sys.stat(dir).mode == 488)  -- 0750 reached the file system
        assert(sys.mount(nil, dir, nil, {"remount", "ro", "nosuid", "nodev"}))
        local v, e, errno = sys.writefile(dir .. "/x", "y")
        assert(v == nil and errno == 30, e)  -- EROFS
        assert(sys.umount(dir, "detach"))
        v, e, errno = sys.umount(dir)
        assert(v == nil and errno == 22, e)  -- not mounted any more
    )",
                      {dir}),
              0);
    rmdir(dir);
}

TEST(LuaSys, SpawnPipesExitCodesAndSignals) {
    EXPECT_EQ(run_lua(R"(
        local sys = require "keel.sys"
        local keel = require "keel"
        local p = assert(sys.spawn({"sh", "-c", "read x; echo \"got $x in $(pwd) $FOO\"; echo e >&2; exit 3"},
                                   {stdin = "pipe", stdout = "pipe", stderr = "pipe", cwd = "/", env = {FOO = "bar"}}))
        assert(p.pid > 0 and tostring(p):find("keel.process"))
        p.stdin:write("hi\n")
        p.stdin:close()
        assert(p.stdout:read("l") == "got hi in / bar")
        assert(p.stdout:read("l") == nil, "end of output")
        assert(p.stderr:read("a") == "e\n")
        local ok, how, code = p:wait()
        assert(ok == nil and how == "exit" and code == 3)
        assert(select(3, p:wait()) == 3, "wait again returns the same")
        -- killed by a signal
        p = assert(sys.spawn({"sleep", "10"}))
        assert(p:kill("TERM"))
        ok, how, code = p:wait()
        assert(ok == nil and how == "signal" and code == 15)
        local v, err, errno = p:kill()
        assert(v == nil and errno == 3, err)
        -- success, stderr into stdout, the argv table's own options
        p = assert(sys.spawn({"sh", "-c", "echo o; echo e >&2", stdout = "pipe", stderr = "stdout"}))
        assert(p.stdout:read("a") == "o\ne\n")
        assert(p:wait() == true)
        -- a missing program is an error return, not a raise
        v, err, errno = sys.spawn({"/nonexistent/program"})
        assert(v == nil and err:find("cannot run /nonexistent/program") and errno == 2, err)
        v, err, errno = sys.exec({"/nonexistent/program"})
        assert(v == nil and errno == 2, err)
        -- waits in tasks run side by side
        local t0 = sys.clock()
        local done = 0
        for i = 1, 3 do
            keel.spawn(function()
                assert(sys.spawn({"sleep", "0.2"}):wait())
                done = done + 1
            end)
        end
        while done < 3 do keel.sleep(0.01) end
        assert(sys.clock() - t0 < 0.5, "the three waits overlapped")
        raises("bad argument #1 .-argv%[2%] must be a string", sys.spawn, {"ls", 3})
        raises("bad argument #1 .-must name a program", sys.spawn, {})
        raises("bad argument #2 .-option 'stdout': unknown value 'file'", sys.spawn, {"ls"}, {stdout = "file"})
        raises("bad argument #2 .-option 'env'", sys.spawn, {"ls"}, {env = {[true] = 1}})
    )"),
              0);
}

TEST(LuaSys, StreamsAreTaskAware) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        local sys = keel.sys
        local r, w = sys.pipe()
        local lines = {}
        keel.spawn(function()
            for line in r:lines() do lines[#lines + 1] = line end
        end)
        w:write("a\nb\n")
        wait_for(function() return #lines == 2 end)
        w:write("c")
        w:close()
        wait_for(function() return #lines == 3 end)
        assert(table.concat(lines, ",") == "a,b,c", table.concat(lines, ","))
        local v, err, errno = w:write("x")
        assert(v == nil and errno == 9, err)
        -- a large write completes while another task reads
        r, w = sys.pipe()
        local big = string.rep("x", 1 << 20)
        local got
        keel.spawn(function() got = r:read("a") end)
        assert(w:write(big))
        w:close()
        wait_for(function() return got ~= nil end)
        assert(got and #got == #big)
        assert(tostring(r):find("keel.stream"))
    )"),
              0);
}

}  // namespace
}  // namespace keel::lua
