// The supervisor's state x input table and the restart decision, without processes.
#include <gtest/gtest.h>

#include "init/supervisor/state_table.h"

namespace keel::init {
namespace {

using namespace std::chrono_literals;

TEST(StateTable, Cells) {
    EXPECT_EQ(transition(State::kDown, Input::kStart).action, Action::kSpawn);
    EXPECT_EQ(transition(State::kDown, Input::kStart).next, State::kStarting);
    EXPECT_EQ(transition(State::kStarting, Input::kReady).next, State::kReady);
    EXPECT_EQ(transition(State::kStarting, Input::kTimeout).action, Action::kReadyFail);
    EXPECT_EQ(transition(State::kStarting, Input::kExited).action, Action::kDecide);
    EXPECT_EQ(transition(State::kReady, Input::kStop).action, Action::kSignalStop);
    EXPECT_EQ(transition(State::kReady, Input::kExited).action, Action::kDecide);
    EXPECT_EQ(transition(State::kStopping, Input::kTimeout).action, Action::kKillGroup);
    EXPECT_EQ(transition(State::kStopping, Input::kExited).next, State::kDown);
    EXPECT_EQ(transition(State::kBackoff, Input::kTimeout).action, Action::kSpawn);
    EXPECT_EQ(transition(State::kBackoff, Input::kStop).next, State::kDown);
    // Failed is left only through an explicit start (Service::reset), never by the table.
    for (int i = 0; i < kInputCount; ++i)
        EXPECT_EQ(transition(State::kFailed, static_cast<Input>(i)).next, State::kFailed);
    // Every cell that does nothing keeps its state.
    for (int s = 0; s < kStateCount; ++s)
        for (int i = 0; i < kInputCount; ++i) {
            Transition t = transition(static_cast<State>(s), static_cast<Input>(i));
            if (t.action == Action::kNone) {
                EXPECT_EQ(t.next, static_cast<State>(s)) << s << "," << i;
            }
        }
}

ServiceSpec spec(RestartPolicy p, ServiceType t = ServiceType::kLongrun) {
    ServiceSpec s;
    s.restart = p;
    s.type = t;
    s.restart_delay = 100ms;
    s.restart_delay_max = 1s;
    s.healthy_after = 10s;
    s.restart_limit = 5;
    return s;
}

TEST(StateTable, BackoffDoublesToTheCapAndGivesUp) {
    ServiceSpec s = spec(RestartPolicy::kAlways);
    int quick = 0;
    std::vector<Duration> delays;
    for (;;) {
        Decision d = decide_after_exit(s, {false, 1s}, quick);
        quick = d.quick_failures;
        if (d.next != State::kBackoff) {
            EXPECT_EQ(d.next, State::kFailed);
            break;
        }
        delays.push_back(d.delay);
    }
    EXPECT_EQ(delays, (std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 1s}));
}

TEST(StateTable, HealthyRunResetsTheBackoff) {
    ServiceSpec s = spec(RestartPolicy::kAlways);
    Decision d = decide_after_exit(s, {false, 1s}, 4);
    EXPECT_EQ(d.delay, 1s);
    d = decide_after_exit(s, {false, 11s}, 4);
    EXPECT_EQ(d.next, State::kBackoff);
    EXPECT_EQ(d.delay, 100ms);
    EXPECT_EQ(d.quick_failures, 0);
}

TEST(StateTable, PoliciesAndOneshots) {
    EXPECT_EQ(decide_after_exit(spec(RestartPolicy::kNever), {false, 1s}, 0).next, State::kFailed);
    EXPECT_EQ(decide_after_exit(spec(RestartPolicy::kNever), {true, 1s}, 0).next, State::kDown);
    EXPECT_EQ(decide_after_exit(spec(RestartPolicy::kOnFailure), {true, 1s}, 0).next, State::kDown);
    EXPECT_EQ(decide_after_exit(spec(RestartPolicy::kOnFailure), {false, 1s}, 0).next,
              State::kBackoff);
    EXPECT_EQ(decide_after_exit(spec(RestartPolicy::kAlways), {true, 1s}, 0).next, State::kBackoff);
    auto oneshot = spec(RestartPolicy::kNever, ServiceType::kOneshot);
    EXPECT_EQ(decide_after_exit(oneshot, {true, 1s}, 0).next, State::kReady);
    EXPECT_EQ(decide_after_exit(oneshot, {false, 1s}, 0).next, State::kFailed);
    auto unlimited = spec(RestartPolicy::kAlways);
    unlimited.restart_limit = 0;
    EXPECT_EQ(decide_after_exit(unlimited, {false, 1s}, 1000).next, State::kBackoff);
}

}  // namespace
}  // namespace keel::init
