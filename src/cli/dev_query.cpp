// keel dev list|info|status: ask a running `keel dev` (dev.list, dev.info, dev.status).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/bus_connection.h"
#include "cli/verbs.h"

namespace keel::cli {

namespace {

// udevadm's export format: "P: DEVPATH", then "E: KEY=VALUE" lines, then a blank line.
void print_device(const nlohmann::ordered_json& d) {
    std::string out = "P: " + d.value("DEVPATH", std::string()) + "\n";
    for (auto it = d.begin(); it != d.end(); ++it)
        if (it.value().is_string())
            out += "E: " + it.key() + "=" + it.value().get<std::string>() + "\n";
    out += "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
}

// Sends `data` to `subject` and hands the parsed reply to `print`. Exit codes:
// 0 answered, 1 the daemon answered with an error or did not answer, 111 no bus.
int ask(const char* verb, const ConnectArgs& conn, const std::string& subject,
        const std::string& data, std::chrono::nanoseconds timeout,
        const std::function<void(const nlohmann::ordered_json&, const std::string&)>& print) {
    auto bus = BusConnection::open(conn);
    if (!bus) return fail(verb, bus.error().message(), kExitTemporary);
    int rc = kExitOk;
    bool done = false;
    (*bus)->client().request(subject, data, timeout, [&](Result<bus::OwnedMessage> r) {
        done = true;
        if (!r) {
            rc = fail(verb, r.error().message() + " on '" + subject + "' (is keel dev running?)",
                      kExitNo);
            return;
        }
        auto j = nlohmann::ordered_json::parse(r->data, nullptr, false);
        if (j.is_discarded()) {
            rc = fail(verb, "the answer on " + subject + " is not JSON", kExitNo);
            return;
        }
        if (j.is_object() && j.contains("error") && j["error"].is_string()) {
            rc = fail(verb, j["error"].get<std::string>(), kExitNo);
            return;
        }
        print(j, r->data);
    });
    if (auto st = (*bus)->run_until([&] { return done; }); !st)
        return fail(verb, st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return rc;
}

}  // namespace

int dev_list_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subsystem;
    bool json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("dev list", "",
              "Prints every device the kernel knows, with its properties (like udevadm info "
              "--export-db).");
    args.option("subsystem", 's', "NAME", "only devices of this subsystem (block, net, usb, ...)",
                &subsystem);
    args.flag("json", 'j', "print the JSON array as received", &json);
    args.duration_option("timeout", "how long to wait for keel dev [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 listed, 1 keel dev did not answer or failed, 111 no bus.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    nlohmann::ordered_json req = nlohmann::ordered_json::object();
    if (!subsystem.empty()) req["subsystem"] = subsystem;
    return ask("dev list", conn, "dev.list", req.dump(), timeout,
               [&](const nlohmann::ordered_json& j, const std::string& raw) {
                   if (json) {
                       std::printf("%s\n", raw.c_str());
                       return;
                   }
                   if (j.is_array())
                       for (const auto& d : j)
                           print_device(d);
               });
}

int dev_info_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string device;
    bool json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("dev info", "DEVICE", "Prints one device's properties (like udevadm info).");
    args.positional("DEVICE", "a DEVPATH (/devices/...), a /sys path or a device node (/dev/sda)",
                    &device, true);
    args.flag("json", 'j', "print the JSON object as received", &json);
    args.duration_option("timeout", "how long to wait for keel dev [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 found, 1 no such device or keel dev did not answer, 111 no bus.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    return ask("dev info", conn, "dev.info", device, timeout,
               [&](const nlohmann::ordered_json& j, const std::string& raw) {
                   if (json)
                       std::printf("%s\n", raw.c_str());
                   else
                       print_device(j);
               });
}

int dev_status_main(int argc, char** argv) {
    ConnectArgs conn;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    Args args("dev status", "",
              "Prints the running keel dev's counters: events, bus, modules (loaded, failed,\n"
              "unmatched aliases), firmware, rules.");
    args.duration_option("timeout", "how long to wait for keel dev [5s]", &timeout);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 answered, 1 keel dev did not answer, 111 no bus.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    return ask("dev status", conn, "dev.status", "", timeout,
               [](const nlohmann::ordered_json& j, const std::string&) {
                   std::printf("%s\n", j.dump(2).c_str());
               });
}

}  // namespace keel::cli
