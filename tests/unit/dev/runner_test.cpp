#include "dev/runner.h"

#include <gtest/gtest.h>

#include <chrono>

#include "loop/event_loop.h"
#include "test_util.h"

namespace keel::dev {
namespace {

using namespace std::chrono_literals;

// Runs the loop until `done` or 10 s.
template <typename Pred>
bool run_until(loop::EventLoop& loop, Pred done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < deadline)
        (void)loop.run_once(50ms);
    return done();
}

TEST(Runner, RunsWithTheEnvironmentQueuesAndCountsFailures) {
    auto loop = loop::EventLoop::create();
    ASSERT_TRUE(loop);
    testing::TempTree t;
    Runner r(**loop, Runner::Options{1, 1, 10s});
    const std::string out = t / "out";
    r.run({"/bin/sh", "-c", "echo \"$DEVNAME\" >> " + out}, {"DEVNAME=loop7"});
    r.run({"/bin/sh", "-c", "exit 3"}, {});                // queued behind the first
    r.run({"/bin/sh", "-c", "echo never >> " + out}, {});  // queue full: dropped
    EXPECT_EQ(r.dropped(), 1u);
    ASSERT_TRUE(run_until(**loop, [&] { return r.running() == 0 && r.failed() == 1; }));
    EXPECT_EQ(testing::read(out), "loop7\n");
    r.run({"/nonexistent/program"}, {});
    EXPECT_EQ(r.failed(), 2u);  // could not start
}

TEST(Runner, KillsCommandsThatRunTooLong) {
    auto loop = loop::EventLoop::create();
    ASSERT_TRUE(loop);
    Runner r(**loop, Runner::Options{8, 8, 200ms});
    auto start = std::chrono::steady_clock::now();
    r.run({"/bin/sleep", "30"}, {});
    ASSERT_TRUE(run_until(**loop, [&] { return r.running() == 0; }));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(r.failed(), 1u);
}

}  // namespace
}  // namespace keel::dev
