#include "lua_test_util.h"

namespace keel::lua {
namespace {

TEST(LuaLoop, TimersTasksAndSleep) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        local order = {}
        -- far apart: a loaded machine may fire timers late, never out of order
        keel.loop.timer(0.2, function() order[#order + 1] = "t200" end)
        keel.loop.timer(0.01, function() order[#order + 1] = "t10" end)
        local n = 0
        local every
        every = keel.loop.every(0.005, function(h)
            n = n + 1
            if n == 3 then h:cancel() end
        end)
        keel.spawn(function(a, b)
            assert(a == 1 and b == 2)
            keel.sleep(0.02)
            order[#order + 1] = "task"
        end, 1, 2)
        local t0 = keel.loop.now()
        keel.sleep(0.25)  -- the main chunk is a task too
        assert(keel.loop.now() - t0 >= 0.249)
        assert(table.concat(order, ",") == "t10,task,t200", table.concat(order, ","))
        assert(n == 3 and not every:active())
        -- a cancelled timer never fires
        local fired = false
        keel.loop.timer(0.01, function() fired = true end):cancel()
        keel.sleep(0.02)
        assert(not fired)
        -- coroutine.yield() in a task lets others run
        local seq = {}
        keel.spawn(function() seq[#seq + 1] = "a1"; coroutine.yield(); seq[#seq + 1] = "a2" end)
        keel.spawn(function() seq[#seq + 1] = "b1" end)
        keel.sleep(0.001)
        assert(table.concat(seq, ",") == "a1,b1,a2", table.concat(seq, ","))
    )"),
              0);
}

TEST(LuaLoop, RunStopSignalsAndWatches) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        local sys = keel.sys
        local got
        local h = keel.loop.signal("USR1", function(handle, name) got = name; handle:stop() end)
        sys.kill(sys.getpid(), "USR1")
        wait_for(function() return got ~= nil end)
        assert(got == "USR1", tostring(got))
        local r, w = sys.pipe()
        local seen
        local watch = keel.loop.watch(r, "r", function(handle, ev) seen = r:read(5); handle:stop() end)
        w:write("hello")
        wait_for(function() return seen ~= nil end)
        assert(seen == "hello", tostring(seen))
        -- loop.run returns when stop() is called
        keel.loop.timer(0.01, function() keel.loop.stop() end)
        keel.loop.every(1, function() end)
        keel.spawn(function() end)
    )"),
              0);
}

TEST(LuaLoop, ErrorsInCallbacksAreReportedAndTheLoopGoesOn) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        local errors = {}
        keel.loop.on_error(function(msg) errors[#errors + 1] = msg end)
        keel.loop.timer(0, function() error("boom") end)
        wait_for(function() return #errors > 0 end)
        assert(#errors == 1 and errors[1]:find("boom") and errors[1]:find("traceback"), errors[1])
    )"),
              0);
}

TEST(LuaLoop, MisuseRaisesWithTheArgumentPosition) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        raises("bad argument #1 .-number expected", keel.sleep, "x")
        raises("bad argument #1 .-non%-negative", keel.sleep, -1)
        raises("bad argument #2 .-function expected", keel.loop.timer, 1, 2)
        raises("bad argument #1 .-unknown signal 'NOPE'", keel.loop.signal, "NOPE", print)
        raises("bad argument #1 .-cannot be caught", keel.loop.signal, "KILL", print)
        raises("bad argument #2", keel.loop.watch, 0, "x", print)
        raises("bad argument #1 .-fd, keel stream or file", keel.loop.watch, {}, "r", print)
        -- waiting inside a C call boundary
        raises("cannot wait here", table.sort, {3, 2, 1}, function(a, b) keel.sleep(0) return a < b end)
    )"),
              0);
}

TEST(LuaLoop, MainChunkErrorExitsOne) {
    EXPECT_EQ(run_lua("error('main failed')"), 1);
    EXPECT_EQ(run_lua("require('keel').sleep(0.001) error('after a wait')"), 1);
    EXPECT_EQ(run_lua("this is not lua"), 100);
}

}  // namespace
}  // namespace keel::lua
