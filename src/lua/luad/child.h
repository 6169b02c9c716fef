// A child of keel luad. Forked ahead of need from a server that never reads a
// request, it first prepares what is the same for every client (a new session,
// no inherited fds or signal handlers, a fresh Lua state with the libraries and
// preloads, its own seeds) and waits. Given one client's connection, it becomes
// that client (credentials from the socket), only then reads and checks the
// request itself, takes the client's stdio and runs the script. So a child only
// ever holds its own client's arguments, environment and directory.
//
// Server <-> child, over a SOCK_SEQPACKET pair, one message each way at most:
//   server -> child: a Handoff, with the client's connection as SCM_RIGHTS
//   child -> server: "R" once the request is read (from then on the server reads
//                    the connection: what follows are signal numbers), or
//                    "E<code> <message>" when it is refused; then it closes its end.
// Messages to the server never quote the request: what the server holds can end up
// in a later child's memory.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "lua/luad/config.h"
#include "lua/luad/load_policy.h"
#include "lua/luad/preload.h"

namespace keel::luad {

struct Handoff {
    int64_t deadline_ns;  // CLOCK_MONOTONIC: the whole request must be in by then
};

// What every child inherits from the server: nothing of any client.
struct ChildContext {
    const LuadConfig* config = nullptr;
    const std::vector<Preload>* preloads = nullptr;
    const LoadPolicy* policy = nullptr;
    rlimit open_files{};      // the server's own limit before it raised it
    bool switch_user = true;  // false: a non-root server running its own user's scripts
    pid_t server = 0;
};

// Runs in the child just forked with `control`, its end of the pair. Never returns.
[[noreturn]] void run_child(const ChildContext& ctx, int control);

}  // namespace keel::luad
