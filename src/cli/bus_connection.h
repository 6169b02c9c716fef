// BusConnection: what every bus-talking verb needs — the --server/--user/... options,
// an event loop and a connected client, and ways to run the loop until done.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "bus/client/client.h"
#include "cli/args.h"
#include "loop/event_loop.h"

namespace keel::cli {

struct ConnectArgs {
    std::string server;  // comma-separated URLs; empty: defaults
    std::string user, password, token;
    std::string name;
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(2);
    // > 0: a bus not there yet (a device still booting) is tried again until then.
    std::chrono::nanoseconds wait{0};
};

void add_connect_options(Args& args, ConnectArgs* out);

class BusConnection {
  public:
    // Connects (trying each server once); the error names the server and the cause.
    static Result<std::unique_ptr<BusConnection>> open(const ConnectArgs& a,
                                                       bool reconnect = false);

    loop::EventLoop& loop() { return *loop_; }
    bus::Client& client() { return *client_; }

    // Runs the loop until `done()` holds, the timeout passes (Error), or the client closes.
    Status run_until(const std::function<bool()>& done,
                     std::optional<std::chrono::nanoseconds> timeout = std::nullopt);
    // Flushes (so the server has everything) and closes.
    Status flush_and_close(std::chrono::nanoseconds timeout = std::chrono::seconds(5));

  private:
    std::unique_ptr<loop::EventLoop> loop_;
    std::unique_ptr<bus::Client> client_;
    std::string error_;
};

// s6-style readiness: writes a newline to `fd` and closes it (no-op when fd < 0).
void signal_ready(int64_t fd);

// Prints "keel VERB: MESSAGE" to stderr and returns `code`.
int fail(const char* verb, const std::string& message, int code);

}  // namespace keel::cli
