// ServerOptions: everything `keel bus` can be told on its command line. Defaults
// are nats-server's, except that the connect timeout applies without users too.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/endpoint.h"

namespace keel::bus {

struct ServerOptions {
    std::vector<Endpoint> listen;  // TCP and unix listeners
    std::string auth_file;         // empty: no authorization
    std::string name;              // server_name in INFO
    int64_t max_payload = 1024 * 1024;
    size_t max_control_line = 4096;
    int64_t max_pending = 64 * 1024 * 1024;
    size_t max_connections = 65536;
    size_t max_subscriptions = 0;  // per connection; 0: unlimited
    // A client that has not sent CONNECT this long after INFO is closed, with or
    // without users configured (nats-server only times out clients when it has
    // users: an idle socket costs a small device memory it cannot spare). 0: none.
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(2);
    std::chrono::nanoseconds ping_interval = std::chrono::minutes(2);
    int max_pings_out = 2;
    std::chrono::nanoseconds write_deadline = std::chrono::seconds(10);
    // How long SIGTERM waits for clients to take their pending messages.
    std::chrono::nanoseconds shutdown_grace = std::chrono::seconds(2);
};

}  // namespace keel::bus
