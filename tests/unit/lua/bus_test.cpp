// keel.bus without a server: connect failures, buffering while disconnected,
// misuse. tests/integration/lua_test.cpp drives it against a live keel bus.
#include "lua_test_util.h"

namespace keel::lua {
namespace {

TEST(LuaBus, ErrorsWithoutAServerAndMisuse) {
    EXPECT_EQ(run_lua(R"(
        local keel = require "keel"
        raises("bad argument #1 .-URL string or options table", keel.bus.connect, 42)
        raises("bad argument #1 .-timeout must be positive", keel.bus.connect, {timeout = -1})
        -- nobody listens on port 1: an error return, nothing raised
        local b, err = keel.bus.connect{url = "nats://127.0.0.1:1", timeout = 0.5}
        assert(b == nil and err:find("^cannot connect to the bus: "), err)
        -- not waiting: a handle at once that keeps trying; publishes are buffered
        local c = assert(keel.bus.connect{url = "nats://127.0.0.1:1", wait = false})
        assert(not c:connected())
        assert(c:publish("a.b", "x") and c:publish("a.b", {k = 1}) and c:publish("a.b", 42))
        assert(c:dropped() == 0)
        local m, e = c:request("svc.q", "q", 0.2)
        assert(m == nil and e == "request timed out", e)
        local got
        assert(c:request("svc.q", "q", 0.1, function(msg, why) got = why end))
        assert(wait_for(function() return got ~= nil end), "the request's callback never ran")
        assert(got == "request timed out", got)
        local sub = c:subscribe("x.>", function() end, "workers")
        assert(sub.subject == "x.>")
        sub:unsubscribe()
        raises("bad argument #2 .-string expected, got nil", c.publish, c, nil)
        raises("bad argument #3 .-string or table expected", c.publish, c, "s", print)
        raises("bad argument #3 .-function", c.publish, c, "s", {f = print})
        raises("bad argument #4 .-headers must map names", c.publish, c, "s", "d", {X = 1})
        raises("bad argument #3 .-function expected", c.subscribe, c, "s", 1)
        raises("bad argument #4 .-max must not be negative", c.subscribe, c, "s", print, {max = -1})
        raises("bad argument #4 .-timeout must be positive", c.request, c, "s", "d", -1)
        raises("bad argument #5 .-callback", c.request, c, "s", "d", 1, 2)
        local events = {}
        c:on_event(function(ev) events[#events + 1] = ev end)
        assert(c:close())
        wait_for(function() return events[#events] == "closed" end)
        assert(events[#events] == "closed", table.concat(events, ","))
        assert(not c:connected())
        raises("bad argument #1 .-bus connection is closed", c.publish, c, "a", "b")
    )"),
              0);
}

}  // namespace
}  // namespace keel::lua
