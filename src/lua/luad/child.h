// The forked child of keel luad: becomes the client (credentials from the socket),
// takes the client's stdio, drops everything else it inherited, and runs the
// script in a fresh Lua state with its own seeds. Never returns.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <vector>

#include "lua/luad/config.h"
#include "lua/luad/preload.h"
#include "lua/luad/request.h"

namespace keel::luad {

struct ChildSpec {
    int fds[3] = {-1, -1, -1};  // the client's stdin, stdout, stderr (received)
    uid_t uid = 0;              // from SO_PEERCRED
    gid_t gid = 0;
    std::vector<gid_t> groups;  // from SO_PEERGROUPS
    bool switch_user = true;    // false: a non-root server running its own user's scripts
    const RunRequest* request = nullptr;
    const LuadConfig* config = nullptr;
    const std::vector<Preload>* preloads = nullptr;
    rlimit open_files{};  // the server's own limit before it raised it
};

[[noreturn]] void run_child(const ChildSpec& spec);

}  // namespace keel::luad
