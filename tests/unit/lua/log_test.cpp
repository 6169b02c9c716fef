#include "base/log.h"
#include "lua_test_util.h"

namespace keel::lua {
namespace {

TEST(LuaLog, LevelsFormatAndMisuse) {
    testing::internal::CaptureStderr();
    int rc = run_lua(R"(
        local log = require "keel.log"
        log.program("lua-test")
        assert(log.level() == "info")
        log.info("mounted %s on %s", "sda1", "/media/usb")
        log.debug("not shown")
        assert(log.level("debug") == "debug")
        log.debug("shown %d", 42)
        log.level("warning")
        log.info("not shown either")
        log.warning("careful")
        log.error("%s", {} ~= nil)
        raises("bad argument #1 .-invalid option 'loud'", log.level, "loud")
        raises("bad argument #1 .-value expected", log.info)
        raises("number expected, got string", log.info, "%d", "x")
        log.level("info")
    )");
    std::string err = testing::internal::GetCapturedStderr();
    log::set_program("keel");
    EXPECT_EQ(rc, 0) << err;
    EXPECT_EQ(err,
              "lua-test: mounted sda1 on /media/usb\n"
              "lua-test: debug: shown 42\n"
              "lua-test: warning: careful\n"
              "lua-test: error: true\n");
}

}  // namespace
}  // namespace keel::lua
