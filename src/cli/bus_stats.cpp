// keel bus stats: ask a running bus for its statistics (the bus.stats request).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/bus_connection.h"

namespace keel::cli {

int bus_stats_main(int argc, char** argv) {
    ConnectArgs conn;
    bool json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    Args args("bus stats", "",
              "Prints connections, subscriptions, message and byte counts, slow consumers\n"
              "and per-connection details of a running bus.");
    args.flag("json", 'j', "print the raw JSON answer", &json);
    args.duration_option("timeout", "how long to wait [2s]", &timeout);
    add_connect_options(args, &conn);
    if (auto rc = args.parse(argc, argv)) return *rc;

    auto bus = BusConnection::open(conn);
    if (!bus) return fail("bus stats", bus.error().message(), kExitTemporary);
    bool done = false;
    int rc = kExitOk;
    (*bus)->client().request("bus.stats", "", timeout, [&](Result<bus::OwnedMessage> r) {
        done = true;
        if (!r) {
            rc = fail("bus stats", r.error().message(), kExitNo);
            return;
        }
        auto j = nlohmann::json::parse(r->data, nullptr, false);
        if (json || j.is_discarded()) {
            std::printf("%s\n", r->data.c_str());
            return;
        }
        std::printf("server      %s (%s) up %.0fs\n", j.value("server_name", "").c_str(),
                    j.value("version", "").c_str(), j.value("uptime_seconds", 0.0));
        std::printf("connections %llu now, %llu total\n", j.value("connections", 0ULL),
                    j.value("total_connections", 0ULL));
        std::printf("subscriptions %llu\n", j.value("subscriptions", 0ULL));
        std::printf("messages    in %llu (%llu bytes), out %llu (%llu bytes)\n",
                    j.value("in_msgs", 0ULL), j.value("in_bytes", 0ULL), j.value("out_msgs", 0ULL),
                    j.value("out_bytes", 0ULL));
        std::printf("slow consumers %llu\n", j.value("slow_consumers", 0ULL));
        std::printf("\n%-6s %-28s %-14s %5s %10s %10s %10s\n", "CID", "PEER", "NAME", "SUBS", "IN",
                    "OUT", "PENDING");
        for (const auto& c : j["connection_details"]) {
            std::printf("%-6llu %-28s %-14s %5llu %10llu %10llu %10llu\n", c.value("cid", 0ULL),
                        c.value("peer", "").c_str(), c.value("name", "").c_str(),
                        c.value("subscriptions", 0ULL), c.value("in_msgs", 0ULL),
                        c.value("out_msgs", 0ULL), c.value("pending_bytes", 0ULL));
        }
    });
    if (auto st = (*bus)->run_until([&] { return done; }); !st)
        return fail("bus stats", st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return rc;
}

}  // namespace keel::cli
