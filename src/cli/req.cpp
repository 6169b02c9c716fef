// keel req SUBJECT [DATA]: send a request and print the reply.
#include <cstdio>
#include <functional>

#include "cli/bus_connection.h"
#include "cli/message_format.h"
#include "cli/message_input.h"
#include "cli/verbs.h"
#include "loop/timer.h"

namespace keel::cli {

int req_main(int argc, char** argv) {
    ConnectArgs conn;
    std::string subject;
    MessageInput msg;
    bool json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    Args args("req", "SUBJECT [DATA]",
              "Sends a request (DATA, or standard input) and prints the reply's data.");
    args.positional("SUBJECT", "subject of the service", &subject, true);
    msg.add_to(args, "request body (default: read standard input)");
    args.duration_option("timeout", "how long to wait for the reply [2s]", &timeout);
    args.flag("json", 'j', "print the reply as JSON {subject, data, headers}", &json);
    add_connect_options(args, &conn);
    args.epilog(
        "Exit codes: 0 replied, 1 no responders or timeout, 100 bad usage, 111 bus unreachable.\n"
        "With --wait, no responders is asked again until that time has passed.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (auto st = msg.finish(); !st) return args.usage_error(st.error().message());

    auto deadline = std::chrono::steady_clock::now() + conn.wait;
    auto bus = BusConnection::open(conn);
    if (!bus) return fail("req", bus.error().message(), kExitTemporary);
    bool done = false;
    int rc = kExitOk;
    // With --wait, "no responders" is asked again until then: on a device
    // still booting the bus is up before the services that answer.
    std::function<void()> ask;
    loop::Timer retry((*bus)->loop(), [&] { ask(); });
    ask = [&] {
        (*bus)->client().request(
            subject, msg.data, timeout,
            [&](Result<bus::OwnedMessage> r) {
                if (!r && r.error().message() == bus::Client::kNoResponders &&
                    std::chrono::steady_clock::now() + std::chrono::milliseconds(100) < deadline) {
                    retry.arm_after(std::chrono::milliseconds(100));
                    return;
                }
                done = true;
                if (!r) {
                    rc = fail("req", r.error().message() + " on '" + subject + "'", kExitNo);
                    return;
                }
                bus::Message m{r->subject, r->reply, r->data,
                               r->headers.empty() ? nullptr : &r->headers};
                std::string out =
                    json ? format_message(m, 1, MessageFormat::kJson) : r->data + "\n";
                std::fwrite(out.data(), 1, out.size(), stdout);
            },
            msg.headers_or_null());
    };
    ask();
    if (auto st = (*bus)->run_until([&] { return done; }); !st)
        return fail("req", st.error().message(), kExitTemporary);
    (*bus)->client().close();
    return rc;
}

}  // namespace keel::cli
