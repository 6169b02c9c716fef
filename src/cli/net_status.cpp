// keel net status / keel net monitor: what the network looks like and how it
// changes, from the daemon over the bus or (--local) from the kernel directly.
#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "loop/signal_watch.h"
#include "net/monitor.h"
#include "net/rtnl.h"
#include "net/state_json.h"

namespace keel::cli {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// `ip -br addr`-like lines, then the routes of the main table and others.
std::string render(const json& s) {
    std::string out;
    for (const auto& l : s.value("links", json::array())) {
        const std::string name = str(l, "ifname");
        char line[256];
        std::snprintf(line, sizeof line, "%-16s %-14s %-17s mtu %-6s", name.c_str(),
                      str(l, "operstate").c_str(), str(l, "address").c_str(),
                      str(l, "mtu").c_str());
        out += line;
        for (const auto& a : s.value("addresses", json::array()))
            if (str(a, "ifname") == name) out += " " + str(a, "local") + "/" + str(a, "prefixlen");
        out += "\n";
    }
    bool header = false;
    for (const auto& r : s.value("routes", json::array())) {
        if (str(r, "table") == "local" || str(r, "type") == "multicast") continue;
        if (!header) out += "routes:\n";
        header = true;
        std::string line = "  " + str(r, "dst");
        if (r.contains("gateway")) line += " via " + str(r, "gateway");
        if (r.contains("dev")) line += " dev " + str(r, "dev");
        line += " proto " + str(r, "protocol");
        if (r.value("metric", 0) != 0) line += " metric " + str(r, "metric");
        if (str(r, "table") != "main") line += " table " + str(r, "table");
        out += line + "\n";
    }
    for (const auto& [ifname, lease] : s.value("dhcp", json::object()).items())
        out += "dhcp " + ifname + ": " + str(lease, "address") + " from " + str(lease, "server") +
               "\n";
    if (s.contains("confirm_within"))
        out += "waiting for `keel net confirm`: reverting in " + str(s, "confirm_within") + " s\n";
    return out;
}

}  // namespace

int net_status_main(int argc, char** argv) {
    ConnectArgs conn;
    bool local = false, as_json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("net status", "",
              "Prints links, addresses and routes: as the daemon sees them (with its config,\n"
              "DHCP leases and any pending confirmation), or with --local from the kernel.");
    args.flag("local", 'l', "read this namespace's kernel state directly; no daemon needed",
              &local);
    args.flag("json", 'j', "print JSON (the net.status answer, shaped like `ip -j`)", &as_json);
    args.duration_option("timeout", "how long to wait for the daemon [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 printed, 1 the daemon did not answer, 100 bad usage, 111 bus or kernel "
        "unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;

    json status;
    if (local) {
        auto rtnl = net::Rtnl::open();
        if (!rtnl) return fail("net status", rtnl.error().message(), kExitTemporary);
        auto s = rtnl->state();
        if (!s) return fail("net status", s.error().message(), kExitTemporary);
        status = net::to_json(*s);
    } else {
        auto bus = BusConnection::open(conn);
        if (!bus)
            return fail("net status",
                        bus.error().message() + " (--local reads the kernel directly)",
                        kExitTemporary);
        bool done = false;
        int rc = kExitOk;
        (*bus)->client().request("net.status", "", timeout, [&](Result<bus::OwnedMessage> r) {
            done = true;
            if (!r) {
                rc = fail("net status",
                          r.error().message() + " on net.status: is `keel net` running?", kExitNo);
                return;
            }
            status = json::parse(r->data, nullptr, false);
            if (status.is_discarded())
                rc = fail("net status", "net.status answered with something not JSON", kExitNo);
        });
        if (auto st = (*bus)->run_until([&] { return done; }); !st)
            return fail("net status", st.error().message(), kExitTemporary);
        (*bus)->client().close();
        if (rc != kExitOk) return rc;
    }
    const std::string out = as_json ? status.dump(2) + "\n" : render(status);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

int net_monitor_main(int argc, char** argv) {
    ConnectArgs conn;
    bool local = false, as_json = false;
    int64_t ready_fd = -1;
    Args args("net monitor", "",
              "Prints net.* events as they happen: from the bus (what `keel net` publishes,\n"
              "DHCP and config events included), or with --local straight from the kernel.");
    args.flag("local", 'l', "watch this namespace's kernel directly; no bus or daemon needed",
              &local);
    args.flag("json", 'j', "one JSON object per event: {subject, data}", &as_json);
    args.option("ready-fd", 0, "FD", "write a newline to FD once watching", &ready_fd);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 on SIGINT/SIGTERM, 100 bad usage, 111 bus or kernel unreachable or lost.");
    if (auto rc = args.parse(argc, argv)) return *rc;

    auto print = [&](std::string_view subject, const std::string& data) {
        std::string line =
            as_json ? json{{"subject", subject}, {"data", json::parse(data, nullptr, false)}}.dump()
                    : std::string(subject) + " " + data;
        line += "\n";
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
    };
    bool stop = false;
    if (local) {
        auto loop = loop::EventLoop::create();
        if (!loop) return fail("net monitor", loop.error().message(), kExitTemporary);
        auto rtnl = net::Rtnl::open();
        if (!rtnl) return fail("net monitor", rtnl.error().message(), kExitTemporary);
        auto mon = net::Monitor::start(
            **loop, *rtnl, [&](const net::NetEvent& e) { print(e.subject(), e.data.dump()); });
        if (!mon) return fail("net monitor", mon.error().message(), kExitTemporary);
        loop::SignalWatch signals;
        (void)signals.start(**loop, {SIGINT, SIGTERM}, [&](int) { (*loop)->stop(); });
        signal_ready(ready_fd);
        if (auto st = (*loop)->run(); !st)
            return fail("net monitor", st.error().message(), kExitTemporary);
        return kExitOk;
    }
    auto bus = BusConnection::open(conn, /*reconnect=*/true);
    if (!bus) return fail("net monitor", bus.error().message(), kExitTemporary);
    auto& c = (*bus)->client();
    for (const char* s : {"net.link.>", "net.addr.>", "net.route.>", "net.dhcp.>", "net.config.>"})
        c.subscribe(s, [&](const bus::Message& m) { print(m.subject, std::string(m.data)); });
    loop::SignalWatch signals;
    (void)signals.start((*bus)->loop(), {SIGINT, SIGTERM}, [&](int) { stop = true; });
    c.flush(std::chrono::seconds(5), [&](Status st) {
        if (st) signal_ready(ready_fd);
    });
    if (auto st = (*bus)->run_until([&] { return stop; }); !st)
        return fail("net monitor", st.error().message(), kExitTemporary);
    c.close();
    return kExitOk;
}

}  // namespace keel::cli
