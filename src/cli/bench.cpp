// keel bench SUBJECT: measure a NATS-protocol server (keel bus, nats-server):
// pub/sub throughput with N publishers and M subscribers, or request/reply latency.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bus/client/client.h"
#include "bus/protocol/subject.h"
#include "cli/args.h"
#include "cli/bench_conn.h"
#include "cli/bench_report.h"
#include "cli/bench_run.h"
#include "cli/bench_text.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"

namespace keel::cli {
namespace {

// "250000", "250k", "10M" (decimal multiples: message counts, not sizes).
std::optional<uint64_t> parse_count(const std::string& s) {
    if (s.empty() || s[0] < '0' || s[0] > '9' || s.size() > 12) return std::nullopt;
    char* end = nullptr;
    const uint64_t n = std::strtoull(s.c_str(), &end, 10);
    const std::string_view unit(end);
    if (unit.empty()) return n;
    if (unit == "k" || unit == "K") return n * 1000;
    if (unit == "m" || unit == "M") return n * 1000 * 1000;
    return std::nullopt;
}

// Opens one connection, to `server` or, when none was given, to the first
// default server that answers (which then serves every other connection).
template <typename Conn, typename... A>
Result<std::unique_ptr<Conn>> open_conn(std::vector<bench::ServerSpec>& servers, const A&... a) {
    std::string errors;
    for (size_t i = 0; i < servers.size(); ++i) {
        auto c = std::make_unique<Conn>(a...);
        auto st = c->open(servers[i]);
        if (st) {
            if (i > 0) servers.erase(servers.begin(), servers.begin() + static_cast<long>(i));
            servers.resize(1);
            return c;
        }
        if (!errors.empty()) errors += "; ";
        errors += st.error().message();
    }
    return Error(errors);
}

}  // namespace

int bench_main(int argc, char** argv) {
    ConnectArgs conn;
    conn.name = "keel-bench";
    std::string subject, msgs_text = "100000";
    int64_t pubs = 1, subs = 0, size = 128;
    bool request = false, json = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
    Args args("bench", "SUBJECT",
              "Measures a NATS-protocol server (keel bus or nats-server). Pub/sub mode runs --pub\n"
              "publisher and --sub subscriber connections, each in its own thread, moving --msgs\n"
              "messages of --size bytes; every subscriber must receive every message. --request\n"
              "mode measures request/reply latency: one responder, one requester, one request at a "
              "time.");
    args.positional("SUBJECT", "subject to publish and subscribe on", &subject, true);
    args.option("pub", 0, "N", "publisher connections [1]", &pubs);
    args.option("sub", 0, "M", "subscriber connections [0]", &subs);
    args.option("msgs", 0, "COUNT",
                "messages in all, split across publishers (k and M suffixes: x1000, x1000000); "
                "requests in --request mode [100000]",
                &msgs_text);
    args.size_option("size", "payload size [128]", &size);
    args.flag("request", 0, "request/reply latency instead of pub/sub throughput", &request);
    args.flag("json", 0, "print one JSON object instead of the summary", &json);
    args.duration_option("timeout", "longest silence from the server before the run fails [10s]",
                         &timeout);
    add_connect_options(args, &conn);
    args.epilog(
        "Publish rate: first write to the PONG after the last message. Subscribe rate: first to\n"
        "last message received. MiB/s counts payload bytes. Latency is round trip, in "
        "microseconds.\n"
        "Exit codes: 0 ok, 1 the run failed (lost messages, -ERR, timeout), 100 bad usage,\n"
        "111 cannot connect.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    auto msgs = parse_count(msgs_text);
    if (!msgs || *msgs == 0)
        return args.usage_error("--msgs wants a positive count, e.g. 100000 or 5M");
    if (pubs < 0 || subs < 0 || pubs > 1024 || subs > 1024)
        return args.usage_error("--pub and --sub take 0 to 1024");
    if (!request && pubs == 0) return args.usage_error("--pub must be at least 1");
    if (timeout.count() <= 0) return args.usage_error("--timeout must be positive");
    // Messages are published to SUBJECT itself; a wildcard would reach nobody.
    if (!bus::is_valid_publish_subject(subject))
        return args.usage_error(
            "SUBJECT must be a literal subject (no wildcards, no empty tokens): '" + subject + "'");

    std::vector<bench::ServerSpec> servers;
    std::vector<Endpoint> endpoints;
    if (conn.server.empty()) {
        endpoints = bus::default_servers();
    } else {
        auto list = bus::parse_server_list(conn.server);
        if (!list) return args.usage_error(list.error().message());
        endpoints = std::move(list).value();
    }
    for (const auto& ep : endpoints) {
        bench::ServerSpec spec;
        spec.endpoint = ep;
        spec.display = ep.to_string();
        spec.timeout = timeout;
        spec.user = conn.user;
        spec.password = conn.password;
        spec.token = conn.token;
        spec.name = conn.name;
        servers.push_back(std::move(spec));
    }

    ::signal(SIGPIPE, SIG_IGN);
    bench::RunInfo info;
    info.config.subject = subject;
    info.config.msgs = *msgs;
    info.config.size = static_cast<size_t>(size);

    auto check_size = [&](const bench::BenchConn& c) -> std::optional<int> {
        if (size > c.max_payload())
            return args.usage_error(bench::strf("--size %lld exceeds the server's max_payload %lld",
                                                static_cast<long long>(size),
                                                static_cast<long long>(c.max_payload())));
        return std::nullopt;
    };

    if (request) {
        auto responder = open_conn<bench::Responder>(servers);
        if (!responder) return fail("bench", responder.error().message(), kExitTemporary);
        if (auto rc = check_size(**responder)) return *rc;
        auto requester = open_conn<bench::Requester>(servers);
        if (!requester) return fail("bench", requester.error().message(), kExitTemporary);
        info.server = servers.front().display;
        info.pubs = info.subs = 1;
        auto r = bench::run_request(info.config, **responder, **requester);
        if (!r) return fail("bench", r.error().message(), kExitNo);
        std::string out = json ? bench::request_json(info, *r) : bench::request_text(info, *r);
        std::fwrite(out.data(), 1, out.size(), stdout);
        return kExitOk;
    }

    std::vector<std::unique_ptr<bench::BenchConn>> pub_conns, sub_conns;
    for (int64_t i = 0; i < subs + pubs; ++i) {
        const bool is_sub = i < subs;
        std::string role = is_sub ? "subscriber " + std::to_string(i + 1)
                                  : "publisher " + std::to_string(i - subs + 1);
        auto c = open_conn<bench::BenchConn>(servers, role);
        if (!c) return fail("bench", c.error().message(), kExitTemporary);
        if (auto rc = check_size(**c)) return *rc;
        (is_sub ? sub_conns : pub_conns).push_back(std::move(c).value());
    }
    info.server = servers.front().display;
    info.pubs = pub_conns.size();
    info.subs = sub_conns.size();
    auto r = bench::run_pubsub(info.config, pub_conns, sub_conns);
    if (!r) return fail("bench", r.error().message(), kExitNo);
    std::string out = json ? bench::pubsub_json(info, *r) : bench::pubsub_text(info, *r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return kExitOk;
}

}  // namespace keel::cli
