// SupervisorListener: where the supervisor reports what happens (the bus link in
// keel init, a recorder in tests). Called synchronously from the loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "init/manifest/service_spec.h"

namespace keel::init {

// One of: starting, ready, stopped, failed, restarting.
struct ServiceEvent {
    const char* kind;
    pid_t pid = 0;
    std::optional<int> exit_code;  // when the run ended by exit
    int signal = 0;                // when it ended by a signal
    int restarts = 0;
    double since = 0;    // unix time the service entered this state
    std::string reason;  // failed/restarting: why
    Duration delay{0};   // restarting: backoff before the next start
};

class SupervisorListener {
  public:
    virtual ~SupervisorListener() = default;
    virtual void on_service_event(const std::string& service, const ServiceEvent& e) = 0;
    virtual void on_log_line(const std::string& service, uint64_t seq, std::string_view line) = 0;
    // Every service is ready, failed or not wanted: once.
    virtual void on_system_ready() = 0;
};

}  // namespace keel::init
