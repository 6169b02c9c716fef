// keel pub SUBJECT [DATA]: publish DATA (or stdin) once or --count times.
#include <unistd.h>

#include <cstdio>

#include "cli/bus_connection.h"
#include "cli/message_input.h"
#include "cli/verbs.h"

namespace keel::cli {

int pub_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject, reply;
    MessageInput msg;
    int64_t count = 1;
    Args args("pub", "SUBJECT [DATA]",
              "Publishes DATA, or standard input when DATA is absent, to SUBJECT.");
    args.positional("SUBJECT", "subject to publish to", &subject, true);
    msg.add_to(args, "message body (default: read standard input)");
    args.option("count", 'c', "N", "publish the message N times [1]", &count);
    args.option("reply", 'r', "SUBJECT", "reply subject to send with the message", &reply);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 published and flushed, 1 refused by the bus (e.g. permissions),\n"
        "100 bad usage, 111 bus unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (count < 1) return args.usage_error("--count must be at least 1");
    if (auto st = msg.finish(); !st) return args.usage_error(st.error().message());

    auto bus = BusConnection::open(conn);
    if (!bus) return fail("pub", bus.error().message(), kExitTemporary);
    auto& c = (*bus)->client();
    for (int64_t i = 0; i < count; ++i) {
        if (auto st = c.publish(subject, msg.data, reply, msg.headers_or_null()); !st)
            return fail("pub", st.error().message(), kExitUsage);
        // Keep memory bounded on large counts: let the socket take what is queued.
        if (c.pending_bytes() > 1024 * 1024) {
            if (auto st = (*bus)->run_until([&] { return c.pending_bytes() < 256 * 1024; }); !st)
                return fail("pub", st.error().message(), kExitTemporary);
        }
    }
    if (auto st = (*bus)->flush_and_close(); !st) return fail("pub", st.error().message(), kExitNo);
    return kExitOk;
}

}  // namespace keel::cli
