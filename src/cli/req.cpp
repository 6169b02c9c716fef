// keel req SUBJECT [DATA]: send a request and print the reply.
#include <cstdio>

#include "base/sys.h"
#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/verbs.h"

namespace keel::cli {

int req_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject, data;
    bool have_data = false, json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    std::vector<std::string> header_args;
    Args args("req", "SUBJECT [DATA]", "Sends a request (DATA, or standard input) and prints the reply's data.");
    args.positional("SUBJECT", "subject of the service", &subject, true);
    args.positional("DATA", "request body (default: read standard input)", &data, false, &have_data);
    args.duration_option("timeout", "how long to wait for the reply [2s]", &timeout);
    args.list_option("header", 'H', "KEY:VALUE", "add a header (repeatable)", &header_args);
    args.flag("json", 'j', "print the reply as JSON {subject, data, headers}", &json);
    add_connect_options(args, &conn);
    args.epilog("Exit codes: 0 replied, 1 no responders or timeout, 100 bad usage, 111 bus unreachable.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    bus::Headers headers;
    for (const auto& h : header_args)
        if (!add_header_arg(headers, h)) return args.usage_error("bad header '" + h + "' (want KEY:VALUE)");
    if (!have_data) {
        auto in = sys::read_all(0);
        if (!in) return args.usage_error("cannot read standard input: " + in.error().message());
        data = std::move(in).value();
    }

    auto bus = BusConnection::open(conn);
    if (!bus) return fail("req", bus.error().message(), kExitTemporary);
    bool done = false;
    int rc = kExitOk;
    (*bus)->client().request(subject, data, timeout, [&](Result<bus::OwnedMessage> r) {
        done = true;
        if (!r) {
            rc = fail("req", r.error().message() + " on '" + subject + "'", kExitNo);
            return;
        }
        bus::Message m{r->subject, r->reply, r->data, r->headers.empty() ? nullptr : &r->headers};
        std::string out = json ? format_message(m, 1, MessageFormat::kJson) : r->data + "\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
    }, headers.empty() ? nullptr : &headers);
    if (auto st = (*bus)->run_until([&] { return done; }); !st) return fail("req", st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return rc;
}

}  // namespace keel::cli
