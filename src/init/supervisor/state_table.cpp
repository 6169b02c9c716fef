#include "init/supervisor/state_table.h"

namespace keel::init {

namespace {

using S = State;
using A = Action;

// Rows: states in enum order; columns: kStart, kStop, kReady, kExited, kTimeout.
// A cell that keeps the state with kNone ignores that input there.
constexpr Transition kTable[kStateCount][kInputCount] = {
    /* kDown */
    {{S::kStarting, A::kSpawn},
     {S::kDown, A::kNone},
     {S::kDown, A::kNone},
     {S::kDown, A::kNone},
     {S::kDown, A::kNone}},
    /* kStarting */
    {{S::kStarting, A::kNone},
     {S::kStopping, A::kSignalStop},
     {S::kReady, A::kMarkReady},
     {S::kStarting, A::kDecide},
     {S::kStopping, A::kReadyFail}},
    /* kReady */
    {{S::kReady, A::kNone},
     {S::kStopping, A::kSignalStop},
     {S::kReady, A::kNone},
     {S::kReady, A::kDecide},
     {S::kReady, A::kNone}},
    /* kStopping */
    {{S::kStopping, A::kNone},
     {S::kStopping, A::kNone},
     {S::kStopping, A::kNone},
     {S::kDown, A::kStopped},
     {S::kStopping, A::kKillGroup}},
    /* kBackoff */
    {{S::kBackoff, A::kNone},
     {S::kDown, A::kCancel},
     {S::kBackoff, A::kNone},
     {S::kBackoff, A::kNone},
     {S::kStarting, A::kSpawn}},
    /* kFailed: only an explicit start (which resets the service) leaves it */
    {{S::kFailed, A::kNone},
     {S::kFailed, A::kNone},
     {S::kFailed, A::kNone},
     {S::kFailed, A::kNone},
     {S::kFailed, A::kNone}},
};

}  // namespace

Transition transition(State s, Input in) {
    return kTable[static_cast<int>(s)][static_cast<int>(in)];
}

const char* to_string(State s) {
    static const char* const kNames[] = {"down",     "starting", "ready",
                                         "stopping", "backoff",  "failed"};
    return kNames[static_cast<int>(s)];
}

const char* to_string(Input in) {
    static const char* const kNames[] = {"start", "stop", "ready", "exited", "timeout"};
    return kNames[static_cast<int>(in)];
}

Decision decide_after_exit(const ServiceSpec& spec, const RunEnd& end, int quick_failures) {
    bool oneshot = spec.type == ServiceType::kOneshot;
    if (oneshot && end.success) return {State::kReady, Duration{0}, 0};
    bool restart = spec.restart == RestartPolicy::kAlways ||
                   (spec.restart == RestartPolicy::kOnFailure && !end.success);
    if (!restart) return {end.success ? State::kDown : State::kFailed, Duration{0}, quick_failures};

    // A run that lasted healthy_after resets the backoff; a short one counts toward
    // the crash-loop limit whatever its exit code (a longrun is meant to stay up).
    int quick = end.ran >= spec.healthy_after ? 0 : quick_failures + 1;
    if (spec.restart_limit > 0 && quick > spec.restart_limit)
        return {State::kFailed, Duration{0}, quick};
    Duration delay = spec.restart_delay;
    for (int i = 1; i < quick && delay < spec.restart_delay_max; ++i)
        delay *= 2;
    if (delay > spec.restart_delay_max) delay = spec.restart_delay_max;
    return {State::kBackoff, delay, quick};
}

}  // namespace keel::init
