// ServiceSpec: one service as the manifest declares it, after validation. Plain data:
// the supervisor reads it, nothing here does I/O.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel::init {

using Duration = std::chrono::nanoseconds;

enum class ServiceType { kLongrun, kOneshot };
enum class RestartPolicy { kAlways, kOnFailure, kNever };

struct Readiness {
    enum class Kind { kStarted, kNotify, kTcp, kUnix, kBus };
    Kind kind = Kind::kStarted;
    int notify_fd = 3;   // kNotify: the fd the service writes a newline to
    uint16_t port = 0;   // kTcp: 127.0.0.1:port
    std::string target;  // kUnix: socket path; kBus: subject
};

// A live fact: holds after a message on `on` (whose JSON payload has every `match`
// key/value), ceases after one on `off` (same match). Unknown until the first message.
struct Fact {
    std::string on, off;
    std::map<std::string, std::string> match;
    std::string describe() const;
};

struct Rlimit {
    int resource = 0;  // RLIMIT_*
    uint64_t soft = 0, hard = 0;
};

struct LogSpec {
    size_t ring_bytes = 64 * 1024;  // in-memory ring per service
    bool file = false;              // also <state-dir>/log/<name>.log
    uint64_t file_max = 1024 * 1024;
    int file_keep = 3;  // rotated files kept: NAME.log.1 .. NAME.log.N
};

struct ServiceSpec {
    std::string name;
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env;  // set on top of init's environment
    std::string cwd = "/";
    std::string user, group;  // empty: stay as init's
    std::vector<std::string> groups;
    std::optional<mode_t> umask;
    ServiceType type = ServiceType::kLongrun;
    std::vector<std::string> depends;
    std::vector<Fact> wants_facts;
    Readiness readiness;
    Duration ready_timeout = std::chrono::seconds(90);  // zero: wait forever
    RestartPolicy restart = RestartPolicy::kAlways;
    Duration restart_delay = std::chrono::milliseconds(100);
    Duration restart_delay_max = std::chrono::seconds(30);
    Duration healthy_after = std::chrono::seconds(10);
    int restart_limit = 5;  // quick failures in a row before giving up; 0: never give up
    int stop_signal = 15;
    Duration stop_timeout = std::chrono::seconds(10);
    LogSpec log;
    std::vector<Rlimit> rlimits;
    bool no_new_privs = false;
    std::optional<std::vector<int>> cap_bounding;  // nothing: leave the bounding set alone
    std::vector<int> cap_ambient;
    std::optional<uint64_t> memory_max;  // cgroup v2
    std::optional<uint64_t> pids_max;
};

struct Manifest {
    std::string hostname;
    std::vector<ServiceSpec> services;  // in dependency order: every service after its depends
};

}  // namespace keel::init
