// spawn(): fork+exec of one service with its hardening. Everything that can
// allocate or consult files (user lookup, PATH search, capability names, the
// environment) is resolved in the parent into a SpawnPlan; between fork and exec
// the child makes only async-signal-safe system calls.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "init/manifest/service_spec.h"

namespace keel::init {

struct SpawnPlan {
    // Where the program may be, in PATH order; the child tries each as the service's
    // user (as execvp does: an entry it may not execute is skipped).
    std::vector<std::string> candidates;
    std::vector<std::string> argv;
    std::vector<std::string> env;  // "KEY=VALUE"
    std::string cwd;
    std::optional<mode_t> umask;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::optional<std::vector<gid_t>> groups;
    std::vector<Rlimit> rlimits;
    bool no_new_privs = false;
    std::optional<std::vector<int>> cap_bounding;
    std::vector<int> cap_ambient;
    int output_fd = -1;                   // becomes stdout and stderr
    int notify_src = -1, notify_fd = -1;  // notify_src becomes fd notify_fd
    int cgroup_fd = -1;  // a cgroup v2 directory: the child is born in it (or joins it)
};

// Builds the plan from a spec: user and groups by name, PATH search in the
// service's environment (`base_env` plus the spec's env).
Result<SpawnPlan> make_spawn_plan(const ServiceSpec& spec,
                                  const std::vector<std::string>& base_env);

struct Spawned {
    pid_t pid = -1;
    // Read end: end of file means exec succeeded; otherwise an ExecFailure follows.
    Fd exec_status;
};

struct ExecFailure {
    int stage;  // index into kSpawnStages
    int err;    // errno
};
// "cannot exec PROGRAM: No such file or directory", "cannot setuid: ...".
std::string describe(const ExecFailure& f, const std::string& program);

// The child runs in a new session (its own process group, pgid == pid).
Result<Spawned> spawn(const SpawnPlan& plan);

}  // namespace keel::init
