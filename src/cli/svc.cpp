// keel svc status|start|stop|restart|logs: ask keel init over the bus.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "loop/signal_watch.h"

namespace keel::cli {

namespace {

using nlohmann::json;

// One request to init; the reply's JSON, or an error (exit code in *code).
Result<json> ask(BusConnection& bus, const std::string& subject, const std::string& data,
                 std::chrono::nanoseconds timeout) {
    std::optional<Result<json>> out;
    bus.client().request(subject, data, timeout, [&](Result<bus::OwnedMessage> r) {
        if (!r) {
            out = Error(r.error().message() + " on '" + subject + "' (is keel init on this bus?)");
            return;
        }
        auto j = json::parse(r->data, nullptr, false);
        if (j.is_discarded())
            out = Error("bad reply on '" + subject + "': " + r->data);
        else
            out = std::move(j);
    });
    auto st = bus.run_until([&] { return out.has_value(); });
    if (!st) return st.error();
    return std::move(*out);
}

std::string duration_text(const json& seconds) {
    if (!seconds.is_number()) return "-";
    double s = seconds.get<double>();
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.1fs", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else if (s < 86400)
        std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, int(s) / 60 % 60);
    else
        std::snprintf(buf, sizeof buf, "%dd%02dh", int(s) / 86400, int(s) / 3600 % 24);
    return buf;
}

std::string exit_text(const json& e) {
    if (!e.is_object()) return "-";
    if (e["exit_code"].is_number()) return "exit " + std::to_string(e["exit_code"].get<int>());
    if (e["signal"].is_number() && e["signal"].get<int>() > 0) {
        const char* abbrev = sigabbrev_np(e["signal"].get<int>());
        return std::string("SIG") + (abbrev ? abbrev : "?");
    }
    return "-";
}

int print_status(const json& st, bool as_json) {
    if (as_json) {
        std::printf("%s\n", st.dump(2).c_str());
        return kExitOk;
    }
    std::printf("%-20s %-9s %8s %10s %8s  %s\n", "NAME", "STATE", "PID", "UPTIME", "RESTARTS",
                "LAST EXIT");
    for (const auto& s : st["services"]) {
        std::string pid = s["pid"].is_number() ? std::to_string(s["pid"].get<int>()) : "-";
        std::string extra;
        if (s.contains("waiting_for")) {
            extra = "  waiting for";
            for (const auto& w : s["waiting_for"])
                extra += " " + w.get<std::string>();
        } else if (s.contains("reason") && s["state"] == "failed") {
            extra = "  " + s["reason"].get<std::string>();
        }
        std::printf("%-20s %-9s %8s %10s %8d  %s%s\n", s["name"].get<std::string>().c_str(),
                    s["state"].get<std::string>().c_str(), pid.c_str(),
                    duration_text(s["uptime"]).c_str(), s["restarts"].get<int>(),
                    exit_text(s["last_exit"]).c_str(), extra.c_str());
    }
    if (st.contains("bus") && st["bus"]["dropped"].get<uint64_t>() > 0)
        std::printf("(%llu events dropped while the bus was away)\n",
                    static_cast<unsigned long long>(st["bus"]["dropped"].get<uint64_t>()));
    if (st.contains("console") && st["console"]["dropped_lines"].get<uint64_t>() > 0)
        std::printf(
            "(%llu of init's own log lines dropped: its console was not being read)\n",
            static_cast<unsigned long long>(st["console"]["dropped_lines"].get<uint64_t>()));
    return kExitOk;
}

int logs(BusConnection& bus, const std::string& name, int64_t lines, bool follow,
         std::chrono::nanoseconds timeout) {
    // Follow: subscribe before asking for the backlog, then skip live lines it already had.
    std::vector<std::pair<uint64_t, std::string>> early;
    uint64_t next_seq = 0;
    bool have_backlog = false, stop = false;
    auto print = [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
    };
    if (follow) {
        bus.client().subscribe("log." + name, [&](const bus::Message& m) {
            uint64_t seq = 0;
            if (m.headers)
                seq =
                    std::strtoull(std::string(m.headers->get("Keel-Log-Seq")).c_str(), nullptr, 10);
            if (!have_backlog)
                early.emplace_back(seq, std::string(m.data));
            else if (seq == 0 || seq >= next_seq)
                print(m.data);
        });
    }
    auto r = ask(bus, "init.logs", json{{"name", name}, {"lines", lines}}.dump(), timeout);
    if (!r) return fail("svc", r.error().message(), kExitTemporary);
    if (r->contains("error")) return fail("svc", (*r)["error"].get<std::string>(), kExitNo);
    for (const auto& l : (*r)["lines"])
        print(l["line"].get<std::string>());
    if (!follow) return kExitOk;
    next_seq = (*r)["next_seq"].get<uint64_t>();
    have_backlog = true;
    for (const auto& [seq, line] : early)
        if (seq == 0 || seq >= next_seq) print(line);
    loop::SignalWatch signals;
    (void)signals.start(bus.loop(), {SIGINT, SIGTERM}, [&](int) { stop = true; });
    auto st = bus.run_until([&] { return stop; });
    if (!st) return fail("svc", st.error().message(), kExitTemporary);
    return kExitOk;
}

}  // namespace

int svc_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string command, name;
    bool name_given = false, as_json = false, follow = false;
    int64_t lines = 100;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("svc", "COMMAND [NAME]",
              "Asks keel init over the bus. COMMAND: status [NAME], start NAME, stop NAME,\n"
              "restart NAME, logs NAME [-f].");
    args.positional("COMMAND", "status, start, stop, restart or logs", &command, true);
    args.positional("NAME", "service name", &name, false, &name_given);
    args.flag("json", 'j', "status: print init's JSON answer", &as_json);
    args.flag("follow", 'f', "logs: keep printing new lines until interrupted", &follow);
    args.option("lines", 'n', "N", "logs: how many past lines to print [100]", &lines);
    args.duration_option("timeout", "how long to wait for init's answer [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 done, 1 init said no (unknown service...), 100 bad usage, 111 bus or init "
        "unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    bool needs_name = command != "status";
    if (command != "status" && command != "start" && command != "stop" && command != "restart" &&
        command != "logs")
        return args.usage_error("unknown command '" + command + "'");
    if (needs_name && !name_given) return args.usage_error(command + " needs a service NAME");
    if (lines < 0) return args.usage_error("--lines must not be negative");

    auto bus = BusConnection::open(conn, /*reconnect=*/follow);
    if (!bus) return fail("svc", bus.error().message(), kExitTemporary);
    if (command == "logs") return logs(**bus, name, lines, follow, timeout);

    std::string subject = command == "status" ? "init.status" : "init." + command;
    auto r = ask(**bus, subject, name, timeout);
    if (!r) return fail("svc", r.error().message(), kExitTemporary);
    if (r->contains("error")) return fail("svc", (*r)["error"].get<std::string>(), kExitNo);
    if (command == "status") return print_status(*r, as_json);
    return kExitOk;
}

// keel poweroff / keel reboot: ask init to shut the system down.
static int power_main(const char* verb, int argc, char** argv) {
    ConnectArgs conn;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args(verb, "",
              std::string("Asks keel init over the bus to stop every service and ") +
                  (std::strcmp(verb, "reboot") == 0 ? "reboot." : "power off."));
    args.duration_option("timeout", "how long to wait for init's answer [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 init is shutting down, 100 bad usage, 111 bus or init unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto bus = BusConnection::open(conn);
    if (!bus) return fail(verb, bus.error().message(), kExitTemporary);
    auto r = ask(**bus, std::string("init.") + verb, "", timeout);
    if (!r) return fail(verb, r.error().message(), kExitTemporary);
    if (r->contains("error")) return fail(verb, (*r)["error"].get<std::string>(), kExitNo);
    return kExitOk;
}

int poweroff_main(int argc, char** argv) {
    return power_main("poweroff", argc, argv);
}
int reboot_main(int argc, char** argv) {
    return power_main("reboot", argc, argv);
}

}  // namespace keel::cli
