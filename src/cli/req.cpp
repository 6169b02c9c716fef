// keel req SUBJECT [DATA]: send a request and print the reply.
#include <cstdio>

#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/message_input.h"
#include "cli/verbs.h"

namespace keel::cli {

int req_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject;
    MessageInput msg;
    bool json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    Args args("req", "SUBJECT [DATA]", "Sends a request (DATA, or standard input) and prints the reply's data.");
    args.positional("SUBJECT", "subject of the service", &subject, true);
    msg.add_to(args, "request body (default: read standard input)");
    args.duration_option("timeout", "how long to wait for the reply [2s]", &timeout);
    args.flag("json", 'j', "print the reply as JSON {subject, data, headers}", &json);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 replied, 1 no responders or timeout, 100 bad usage, 111 bus unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (auto st = msg.finish(); !st) return args.usage_error(st.error().message());

    auto bus = BusConnection::open(conn);
    if (!bus) return fail("req", bus.error().message(), kExitTemporary);
    bool done = false;
    int rc = kExitOk;
    (*bus)->client().request(subject, msg.data, timeout, [&](Result<bus::OwnedMessage> r) {
        done = true;
        if (!r) {
            rc = fail("req", r.error().message() + " on '" + subject + "'", kExitNo);
            return;
        }
        bus::Message m{r->subject, r->reply, r->data, r->headers.empty() ? nullptr : &r->headers};
        std::string out = json ? format_message(m, 1, MessageFormat::kJson) : r->data + "\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
    }, msg.headers_or_null());
    if (auto st = (*bus)->run_until([&] { return done; }); !st) return fail("req", st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return rc;
}

}  // namespace keel::cli
