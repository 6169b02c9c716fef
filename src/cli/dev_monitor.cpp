// keel dev monitor: print device events as they happen (like udevadm monitor):
// from the bus (hardware.*, what keel dev published) or, with --kernel, straight
// from the kernel's uevent socket.
#include <signal.h>
#include <time.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "dev/device.h"
#include "dev/uevent_parser.h"
#include "dev/uevent_socket.h"
#include "loop/fd_watch.h"
#include "loop/signal_watch.h"

namespace keel::cli {

namespace {

std::string stamp() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    char buf[32];
    std::snprintf(buf, sizeof buf, "[%ld.%06ld]", static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000);
    return buf;
}

void print_event(const char* who, const dev::Device& d, bool properties, bool json) {
    std::string out;
    if (json) {
        out = d.to_json() + "\n";
    } else {
        char head[64];
        std::snprintf(head, sizeof head, "%-6s %s %-7.*s ", who, stamp().c_str(),
                      static_cast<int>(d.action().size()), d.action().data());
        out = head + std::string(d.devpath()) + " (" + std::string(d.subsystem()) + ")\n";
        if (properties) {
            for (const auto& [k, v] : d.properties())
                out += k + "=" + v + "\n";
            out += "\n";
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

dev::Device from_json(std::string_view data) {
    dev::Device d;
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            if (it.value().is_string()) d.set(it.key(), it.value().get<std::string>());
    return d;
}

}  // namespace

int dev_monitor_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subsystem;
    bool kernel = false, properties = false, json = false;
    int64_t count = 0, ready_fd = -1;
    Args args("dev monitor", "", "Prints device events as they happen (like udevadm monitor).");
    args.flag("kernel", 'k', "read the kernel's uevents directly (needs no bus or keel dev; root)",
              &kernel);
    args.option("subsystem", 's', "NAME", "only this subsystem", &subsystem);
    args.flag("property", 'p', "print every property under each event", &properties);
    args.flag("json", 'j', "one JSON object per event", &json);
    args.option("count", 'n', "N", "exit after N events [unlimited]", &count);
    args.option("ready-fd", 0, "FD", "write a newline to FD once listening", &ready_fd);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 after --count events or on SIGINT/SIGTERM, 111 bus or socket unavailable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (count < 0) return args.usage_error("--count must not be negative");
    int64_t seen = 0;
    bool stop = false;
    auto one = [&] {
        if (count && ++seen >= count) stop = true;
    };

    if (kernel) {
        auto loop = loop::EventLoop::create();
        auto sock = dev::UeventSocket::open(1 << 20);
        if (!loop || !sock)
            return fail("dev monitor", (!loop ? loop.error() : sock.error()).message(),
                        kExitTemporary);
        dev::UeventView view;
        loop::FdWatch watch;
        (void)watch.start(**loop, sock->fd(), EPOLLIN, [&](uint32_t) {
            for (;;) {
                auto r = sock->receive();
                if (!r || r->kind == dev::UeventSocket::Kind::kEmpty) return;
                if (r->kind == dev::UeventSocket::Kind::kOverflow) {
                    std::fprintf(
                        stderr,
                        "keel dev monitor: the kernel dropped events (receive queue full)\n");
                    continue;
                }
                if (r->kind != dev::UeventSocket::Kind::kMessage) continue;
                if (auto st = dev::parse_uevent(r->data, &view); !st) {
                    std::fprintf(stderr, "keel dev monitor: %s\n", st.error().message().c_str());
                    continue;
                }
                if (!subsystem.empty() && view.subsystem != subsystem) continue;
                print_event("KERNEL", dev::Device::from_uevent(view), properties, json);
                one();
                if (stop) return;
            }
        });
        loop::SignalWatch signals;
        (void)signals.start(**loop, {SIGINT, SIGTERM}, [&](int) { stop = true; });
        signal_ready(ready_fd);
        while (!stop)
            if (auto st = (*loop)->run_once(std::chrono::milliseconds(-1)); !st)
                return fail("dev monitor", st.error().message(), kExitTemporary);
        return kExitOk;
    }

    auto bus = BusConnection::open(conn, /*reconnect=*/true);
    if (!bus) return fail("dev monitor", bus.error().message(), kExitTemporary);
    const std::string subject =
        subsystem.empty() ? "hardware.>" : "hardware." + dev::subject_token(subsystem) + ".*";
    (*bus)->client().subscribe(subject, [&](const bus::Message& m) {
        if (stop) return;
        if (json) {
            std::string out(m.data);
            out += '\n';
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout);
        } else {
            print_event("KEEL", from_json(m.data), properties, false);
        }
        one();
    });
    loop::SignalWatch signals;
    (void)signals.start((*bus)->loop(), {SIGINT, SIGTERM}, [&](int) { stop = true; });
    (*bus)->client().flush(std::chrono::seconds(5), [&](Status st) {
        if (st) signal_ready(ready_fd);
    });
    if (auto st = (*bus)->run_until([&] { return stop; }); !st)
        return fail("dev monitor", st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return kExitOk;
}

}  // namespace keel::cli
