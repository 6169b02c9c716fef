// keel sub SUBJECT: print messages until --count or a signal.
#include <signal.h>

#include <cstdio>

#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/verbs.h"
#include "loop/signal_watch.h"

namespace keel::cli {

int sub_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject, queue;
    int64_t count = 0;
    bool json = false, raw = false;
    int64_t ready_fd = -1;
    Args args("sub", "SUBJECT", "Prints every message on SUBJECT (wildcards * and > allowed).");
    args.positional("SUBJECT", "subject or wildcard pattern", &subject, true);
    args.option("queue", 'q', "GROUP", "join a queue group: each message goes to one member",
                &queue);
    args.option("count", 'c', "N", "exit after N messages [unlimited]", &count);
    args.flag("json", 'j', "one JSON object per message: {subject, reply, data, headers}", &json);
    args.flag("raw", 'r', "print only the message data", &raw);
    args.option("ready-fd", 0, "FD", "write a newline to FD once subscribed (s6-style readiness)",
                &ready_fd);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 after --count messages or on SIGINT/SIGTERM, 111 bus lost.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (count < 0) return args.usage_error("--count must not be negative");
    const MessageFormat format = json  ? MessageFormat::kJson
                                 : raw ? MessageFormat::kRaw
                                       : MessageFormat::kHuman;

    auto bus = BusConnection::open(conn, /*reconnect=*/true);
    if (!bus) return fail("sub", bus.error().message(), kExitTemporary);
    auto& c = (*bus)->client();
    uint64_t received = 0;
    bool stop = false;
    c.subscribe(
        subject,
        [&](const bus::Message& m) {
            ++received;
            std::string line = format_message(m, received, format);
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fflush(stdout);
            if (count && received >= static_cast<uint64_t>(count)) stop = true;
        },
        queue, static_cast<uint64_t>(count));
    loop::SignalWatch signals;
    (void)signals.start((*bus)->loop(), {SIGINT, SIGTERM}, [&](int) { stop = true; });
    // The subscription is in place once the bus answers a PING sent after it.
    c.flush(std::chrono::seconds(5), [&](Status st) {
        if (st) signal_ready(ready_fd);
    });
    auto st = (*bus)->run_until([&] { return stop; });
    if (!st) return fail("sub", st.error().message(), kExitTemporary);
    c.close();
    return kExitOk;
}

}  // namespace keel::cli
