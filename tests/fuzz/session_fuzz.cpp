// The whole bus under hostile input: each fuzz input becomes the byte stream of
// one client (cut into chunks the input also chooses) talking to a real Server on
// a real event loop, next to a well-behaved client. The bus must not crash, leak
// sessions, or stop serving the well-behaved client.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "base/log.h"
#include "bus/server/server.h"
#include "loop/event_loop.h"

namespace {

using namespace keel;

struct Bus {
    std::unique_ptr<loop::EventLoop> loop;
    std::unique_ptr<bus::Server> server;
    Fd watcher;  // our end of the well-behaved client
};

Bus make_bus(bool auth) {
    ::signal(SIGPIPE, SIG_IGN);  // the bus closes hostile clients; our writes may hit that
    log::set_level(log::Level::kError);
    Bus b;
    b.loop = std::move(loop::EventLoop::create()).value();
    bus::ServerOptions o;
    o.max_payload = 4096;
    o.max_pending = 64 * 1024;
    o.max_control_line = 256;
    if (auth) {
        o.auth_file = "/tmp/keel-fuzz-auth.json";
        std::ofstream(o.auth_file) << R"({"users": [
            {"user": "a", "password": "p", "permissions": {"publish": {"deny": ["s.>"]}, "subscribe": {"deny": ["s.>"]}}},
            {"token": "t"}]})";
    }
    auto s = bus::Server::create(*b.loop, o);
    if (!s) std::abort();
    b.server = std::move(s).value();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    b.server->serve(Fd(sv[0]), "watcher", std::nullopt);
    b.watcher.reset(sv[1]);
    const char* hello =
        auth ? "CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"p\"}\r\nSUB > 1\r\n"
             : "CONNECT {\"verbose\":false}\r\nSUB > 1\r\n";
    if (::write(b.watcher.get(), hello, std::strlen(hello)) < 0) std::abort();
    return b;
}

void spin(Bus& b, int rounds) {
    for (int i = 0; i < rounds; ++i)
        (void)b.loop->run_once(std::chrono::milliseconds(0));
}

void drain(int fd) {
    char buf[65536];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
}

// The watcher must still get a PONG.
void check_watcher(Bus& b) {
    drain(b.watcher.get());
    if (::write(b.watcher.get(), "PING\r\n", 6) != 6) std::abort();
    std::string got;
    for (int i = 0; i < 50 && got.find("PONG\r\n") == std::string::npos; ++i) {
        spin(b, 2);
        char buf[65536];
        ssize_t n;
        while ((n = ::read(b.watcher.get(), buf, sizeof buf)) > 0)
            got.append(buf, static_cast<size_t>(n));
    }
    if (got.find("PONG\r\n") == std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Bus open_bus = make_bus(false);
    static Bus auth_bus = make_bus(true);
    if (size < 2) return 0;
    Bus& b = (data[0] & 1) ? auth_bus : open_bus;
    const size_t chunk = 1 + data[1] % 64;
    const size_t baseline = b.server->connection_count();

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
    b.server->serve(Fd(sv[0]), "fuzz", (data[0] & 2) ? std::optional<uid_t>(0) : std::nullopt);
    Fd client(sv[1]);
    for (size_t off = 2; off < size; off += chunk) {
        size_t n = std::min(chunk, size - off);
        if (::write(client.get(), data + off, n) < 0) break;  // the bus closed us
        spin(b, 2);
        drain(client.get());
        drain(b.watcher.get());
    }
    client.reset();
    spin(b, 4);
    if (b.server->connection_count() != baseline) std::abort();
    check_watcher(b);
    return 0;
}
