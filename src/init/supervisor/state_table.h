// The supervisor's state x input table (the s6 way): every cell says which state
// comes next and which action runs. Decisions that need numbers (restart or give
// up) are one action, kDecide, resolved by decide_after_exit().
#pragma once

#include <chrono>
#include <cstdint>

#include "init/manifest/service_spec.h"

namespace keel::init {

enum class State : uint8_t { kDown, kStarting, kReady, kStopping, kBackoff, kFailed };
inline constexpr int kStateCount = 6;

enum class Input : uint8_t {
    kStart,    // everything it needs holds: run it
    kStop,     // it must go down (stop request, a dependency or fact went away, shutdown)
    kReady,    // the readiness check passed
    kExited,   // the main process was reaped (or could not be started)
    kTimeout,  // the state's timer fired: ready timeout, stop timeout, backoff over
};
inline constexpr int kInputCount = 5;

enum class Action : uint8_t {
    kNone,
    kSpawn,       // fork+exec, start the readiness check and the ready timeout
    kSignalStop,  // stop signal (+SIGCONT) to the group, arm the stop timeout
    kReadyFail,   // ready timeout: a failure; stop the group like kSignalStop
    kKillGroup,   // stop timeout: SIGKILL the whole group
    kMarkReady,   // publish ready
    kDecide,      // exited unasked: done, down, restart after a delay, or failed
    kStopped,     // exited because asked: down
    kCancel,      // leave backoff without running
};

struct Transition {
    State next;
    Action action;
};

Transition transition(State s, Input in);
const char* to_string(State s);
const char* to_string(Input in);

// How a run ended, for the restart decision.
struct RunEnd {
    bool success = false;  // exit code 0 (a signal or exec failure is not)
    Duration ran{0};       // how long the process was up
};

struct Decision {
    State next;          // kReady (oneshot done), kDown, kBackoff or kFailed
    Duration delay{0};   // kBackoff: wait this long
    int quick_failures;  // the new count of short runs in a row
};

// `quick_failures`: short runs in a row before this one.
Decision decide_after_exit(const ServiceSpec& spec, const RunEnd& end, int quick_failures);

}  // namespace keel::init
