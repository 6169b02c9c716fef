// keel bus: run the NATS-protocol message bus; `keel bus stats` asks a running one.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/log.h"
#include "bus/server/server.h"
#include "cli/args.h"
#include "cli/verbs.h"
#include "loop/event_loop.h"
#include "loop/signal_watch.h"

namespace keel::cli {

int bus_stats_main(int argc, char** argv);

namespace {

constexpr const char* kDefaultSocket = "/run/keel/bus.sock";

}  // namespace

int bus_main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "stats") == 0) return bus_stats_main(argc - 1, argv + 1);
    log::set_program("keel bus");

    bus::ServerOptions o;
    std::vector<std::string> listen = {"127.0.0.1:4222"};
    std::string socket = kDefaultSocket;
    bool socket_given = false, verbose = false;
    int64_t max_connections = static_cast<int64_t>(o.max_connections);
    int64_t max_control_line = static_cast<int64_t>(o.max_control_line);
    int64_t max_pings_out = o.max_pings_out, max_subs = 0;
    std::string socket_arg;
    int64_t ready_fd = -1;

    Args args("bus", "",
              "Runs the message bus: a NATS client-protocol server that official NATS\n"
              "clients talk to unchanged. `keel bus stats` prints a running bus's statistics.");
    args.list_option("listen", 'l', "HOST:PORT",
                     "TCP address to listen on (repeatable; 'none' for no TCP) [127.0.0.1:4222]",
                     &listen);
    args.option("socket", 's', "PATH",
                "unix socket to listen on ('none' to disable) [/run/keel/bus.sock]", &socket_arg);
    args.option("auth", 'a', "FILE",
                "users and permissions (JSON; see docs/bus.md); SIGHUP reloads it", &o.auth_file);
    args.option("name", 'n', "NAME", "server name announced in INFO", &o.name);
    args.size_option("max-payload", "largest message accepted [1MiB]", &o.max_payload);
    args.size_option("max-pending",
                     "output backlog after which a client is a slow consumer [64MiB]",
                     &o.max_pending);
    args.option("max-connections", 0, "N", "connections accepted at once [65536]",
                &max_connections);
    args.option("max-control-line", 0, "BYTES", "longest protocol line [4096]", &max_control_line);
    args.option("max-subscriptions", 0, "N", "subscriptions per connection (0: unlimited) [0]",
                &max_subs);
    args.duration_option("connect-timeout",
                         "time a client has to send CONNECT, with or without --auth (0: none) [2s]",
                         &o.connect_timeout);
    args.duration_option("auth-timeout", "the same as --connect-timeout (nats-server's name)",
                         &o.connect_timeout);
    args.duration_option("ping-interval", "idle time before the bus PINGs a client [2m]",
                         &o.ping_interval);
    args.option("max-pings-out", 0, "N", "unanswered PINGs before 'Stale Connection' [2]",
                &max_pings_out);
    args.duration_option("write-deadline",
                         "a client that takes no bytes this long is dropped [10s]",
                         &o.write_deadline);
    args.option("ready-fd", 0, "FD",
                "write a newline to FD once listening, then close it (s6-style readiness)",
                &ready_fd);
    args.flag("verbose", 'v', "log every connection", &verbose);
    args.epilog(
        "Signals: SIGTERM/SIGINT drain clients and exit; SIGHUP reloads --auth.\n"
        "Exit codes: 0 clean shutdown, 100 bad usage or configuration, 111 cannot listen.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (verbose) log::set_level(log::Level::kDebug);
    if (!socket_arg.empty()) {
        socket = socket_arg;
        socket_given = true;
    }
    if (max_connections < 1 || max_control_line < 16 || max_pings_out < 1 || max_subs < 0)
        return args.usage_error("limits must be positive");
    if (o.max_payload < 1) return args.usage_error("--max-payload must be positive");
    o.max_connections = static_cast<size_t>(max_connections);
    o.max_control_line = static_cast<size_t>(max_control_line);
    o.max_pings_out = static_cast<int>(max_pings_out);
    o.max_subscriptions = static_cast<size_t>(max_subs);

    for (const auto& l : listen) {
        if (l == "none") continue;
        auto ep = parse_endpoint(l);
        if (!ep) return args.usage_error(ep.error().message());
        o.listen.push_back(*ep);
    }
    // Without root the default socket directory is usually not ours to create: go on
    // with TCP only unless the socket was asked for.
    if (socket != "none") {
        bool usable =
            socket_given || ::access("/run", W_OK) == 0 || ::access("/run/keel", W_OK) == 0;
        if (usable) {
            auto ep = parse_endpoint(socket);
            if (!ep) return args.usage_error(ep.error().message());
            o.listen.push_back(*ep);
        } else {
            log::warning("not root: no unix socket at %s (use --socket PATH)", socket.c_str());
        }
    }
    if (o.listen.empty()) return args.usage_error("nothing to listen on");

    // A missing or broken users file is a configuration error (100), not a
    // temporary one, whatever errno says.
    if (!o.auth_file.empty()) {
        if (auto auth = bus::AuthConfig::load(o.auth_file); !auth) {
            log::fatal("%s", auth.error().message().c_str());
            return kExitUsage;
        }
    }
    ::signal(SIGPIPE, SIG_IGN);
    auto loop = loop::EventLoop::create();
    if (!loop) {
        log::fatal("%s", loop.error().message().c_str());
        return kExitTemporary;
    }
    auto server = bus::Server::create(**loop, o);
    if (!server) {
        log::fatal("%s", server.error().message().c_str());
        return server.error().code() ? kExitTemporary : kExitUsage;
    }
    for (const auto& l : (*server)->listeners())
        log::info("listening on %s", l->endpoint().to_string().c_str());

    loop::SignalWatch signals;
    bool stopping = false;
    auto st = signals.start(**loop, {SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
        if (sig == SIGHUP) {
            if (auto r = (*server)->reload_auth(); !r)
                log::error("reload failed, keeping the old users: %s", r.error().message().c_str());
            return;
        }
        if (stopping) return;
        stopping = true;
        log::info("shutting down (%s)", strsignal(sig));
        (*server)->shutdown([&] { (*loop)->stop(); });
    });
    if (!st) {
        log::fatal("%s", st.error().message().c_str());
        return kExitTemporary;
    }
    // Ready only once the signals are ours: a SIGHUP or SIGTERM sent on readiness
    // must reload or drain, not kill with the default action.
    if (ready_fd >= 0) {
        Fd ready(static_cast<int>(ready_fd));
        if (::write(ready.get(), "\n", 1) != 1)
            log::warning("cannot signal readiness on fd %lld", static_cast<long long>(ready_fd));
    }
    if (auto r = (*loop)->run(); !r) {
        log::fatal("%s", r.error().message().c_str());
        return kExitTemporary;
    }
    return kExitOk;
}

}  // namespace keel::cli
