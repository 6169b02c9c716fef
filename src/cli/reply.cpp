// keel reply SUBJECT RESPONSE: a tiny responder.
#include <signal.h>

#include <cstdio>

#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/verbs.h"
#include "loop/signal_watch.h"

namespace keel::cli {

int reply_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject, response, queue;
    int64_t count = 0;
    bool quiet = false;
    int64_t ready_fd = -1;
    Args args("reply", "SUBJECT RESPONSE",
              "Answers every request on SUBJECT with RESPONSE, printing each request.");
    args.positional("SUBJECT", "subject to serve (wildcards allowed)", &subject, true);
    args.positional("RESPONSE", "body of every reply", &response, true);
    args.option("queue", 'q', "GROUP",
                "queue group, so several responders share the load [keel-reply]", &queue);
    args.option("count", 'c', "N", "exit after N requests [unlimited]", &count);
    args.flag("quiet", 0, "do not print the requests", &quiet);
    args.option("ready-fd", 0, "FD", "write a newline to FD once serving (s6-style readiness)",
                &ready_fd);
    add_connect_options(args, &conn);
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (queue.empty()) queue = "keel-reply";

    auto bus = BusConnection::open(conn, /*reconnect=*/true);
    if (!bus) return fail("reply", bus.error().message(), kExitTemporary);
    auto& c = (*bus)->client();
    uint64_t served = 0;
    bool stop = false;
    c.subscribe(
        subject,
        [&](const bus::Message& m) {
            ++served;
            if (!quiet) {
                std::string line = format_message(m, served, MessageFormat::kHuman);
                std::fwrite(line.data(), 1, line.size(), stdout);
                std::fflush(stdout);
            }
            if (!m.reply.empty()) (void)c.publish(m.reply, response);
            if (count && served >= static_cast<uint64_t>(count)) stop = true;
        },
        queue);
    loop::SignalWatch signals;
    (void)signals.start((*bus)->loop(), {SIGINT, SIGTERM}, [&](int) { stop = true; });
    c.flush(std::chrono::seconds(5), [&](Status st) {
        if (st) signal_ready(ready_fd);
    });
    auto st = (*bus)->run_until([&] { return stop; });
    if (!st) return fail("reply", st.error().message(), kExitTemporary);
    if (auto f = (*bus)->flush_and_close(); !f)
        return fail("reply", f.error().message(), kExitTemporary);
    return kExitOk;
}

}  // namespace keel::cli
