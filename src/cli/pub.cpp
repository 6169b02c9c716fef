// keel pub SUBJECT [DATA]: publish DATA (or stdin) once or --count times.
#include <unistd.h>

#include <cstdio>

#include "base/sys.h"
#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/verbs.h"

namespace keel::cli {

int pub_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject, data, reply;
    bool have_data = false;
    int64_t count = 1;
    std::vector<std::string> header_args;
    Args args("pub", "SUBJECT [DATA]", "Publishes DATA, or standard input when DATA is absent, to SUBJECT.");
    args.positional("SUBJECT", "subject to publish to", &subject, true);
    args.positional("DATA", "message body (default: read standard input)", &data, false, &have_data);
    args.option("count", 'c', "N", "publish the message N times [1]", &count);
    args.list_option("header", 'H', "KEY:VALUE", "add a header (repeatable)", &header_args);
    args.option("reply", 'r', "SUBJECT", "reply subject to send with the message", &reply);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 published and flushed, 1 refused by the bus (e.g. permissions),\n"
                "100 bad usage, 111 bus unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (count < 1) return args.usage_error("--count must be at least 1");
    bus::Headers headers;
    for (const auto& h : header_args)
        if (!add_header_arg(headers, h)) return args.usage_error("bad header '" + h + "' (want KEY:VALUE)");
    if (!have_data) {
        auto in = sys::read_all(0);
        if (!in) return args.usage_error("cannot read standard input: " + in.error().message());
        data = std::move(in).value();
    }

    auto bus = BusConnection::open(conn);
    if (!bus) return fail("pub", bus.error().message(), kExitTemporary);
    auto& c = (*bus)->client();
    for (int64_t i = 0; i < count; ++i) {
        if (auto st = c.publish(subject, data, reply, headers.empty() ? nullptr : &headers); !st)
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
