// Endpoint: where a bus listens or a client connects — TCP host:port or a unix socket
// path — parsed from the forms users type: "127.0.0.1:4222", "[::1]:4222",
// "nats://user:pass@host:4222", "unix:///run/keel/bus.sock", "/run/keel/bus.sock".
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace keel {

struct Endpoint {
    enum class Kind { kTcp, kUnix };
    Kind kind = Kind::kTcp;
    std::string host;  // numeric address or name, without brackets
    uint16_t port = 0;
    std::string path;  // unix socket path
    // Credentials embedded in a URL (client side only).
    std::string user, password, token;

    // "127.0.0.1:4222" or "unix:/run/keel/bus.sock"
    std::string to_string() const;
};

Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port = 4222);

// A resolved socket address.
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t len = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
};

// Resolves numerically, or through getaddrinfo for names (startup paths only: it may block).
Result<SocketAddress> resolve(const Endpoint& ep);

// Listening, non-blocking socket. For unix sockets the parent directory is created
// (0755), a stale socket file is replaced, and the socket gets `unix_mode`.
Result<Fd> listen_on(const Endpoint& ep, unsigned unix_mode = 0660, int backlog = 1024);

// Starts a non-blocking connect; `in_progress` tells whether to wait for EPOLLOUT.
Result<Fd> connect_to(const Endpoint& ep, bool* in_progress);

// The port a listening TCP socket is bound to (useful after binding port 0).
Result<uint16_t> local_port(int fd);

// "10.0.0.2:51234" for TCP peers, "unix" for unix peers.
std::string peer_name(int fd);

}  // namespace keel
