// The CLI verbs end to end against a real bus: what they print and how they
// exit (0 ok, 1 the negative answer, 100 usage, 111 temporary system error).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "integration/harness.h"

namespace keel::it {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// Waits until the bus lists a connection named `name` with `subs` subscriptions.
void wait_subscribed(const BusProcess& bus, const char* name, int subs, const Process& proc) {
    auto stats = bus.wait_stats(
        [&](const nlohmann::json& j) { return subscriptions_of(j, name) == subs; }, slow(10s));
    ASSERT_EQ(subscriptions_of(stats, name), subs) << name << " never subscribed\n" << proc.err();
}

TEST(Cli, PubAndSub) {
    BusProcess bus;
    auto sub = start_cli(
        {"sub", "--server", bus.url(), "--name", "it-sub", "--count", "3", "--json", "cli.>"});
    wait_subscribed(bus, "it-sub", 1, *sub);

    CliResult r = run_cli({"pub", "--server", bus.url(), "--count", "2", "cli.x", "hello"});
    ASSERT_EQ(r.code, 0) << r.describe();
    EXPECT_EQ(r.out, "");
    // DATA from standard input, with a header.
    r = run_cli({"pub", "--server", bus.url(), "-H", "X-Test:1", "cli.y"},
                std::string("from stdin"));
    ASSERT_EQ(r.code, 0) << r.describe();

    auto st = sub->wait_exit(slow(10s));
    ASSERT_TRUE(st) << "keel sub did not stop after --count 3: " << sub->out();
    EXPECT_TRUE(st->exited_ok()) << st->describe() << sub->err();
    EXPECT_EQ(sub->out(),
              "{\"data\":\"hello\",\"subject\":\"cli.x\"}\n"
              "{\"data\":\"hello\",\"subject\":\"cli.x\"}\n"
              "{\"data\":\"from stdin\",\"headers\":{\"X-Test\":[\"1\"]},\"subject\":\"cli.y\"}\n");
}

TEST(Cli, ReqAndReply) {
    BusProcess bus;
    auto reply = start_cli(
        {"reply", "--server", bus.url(), "--name", "it-reply", "--count", "1", "svc.echo", "pong"});
    wait_subscribed(bus, "it-reply", 1, *reply);

    CliResult r = run_cli({"req", "--server", bus.url(), "svc.echo", "ping"});
    EXPECT_EQ(r.code, 0) << r.describe();
    EXPECT_EQ(r.out, "pong\n");
    auto st = reply->wait_exit(slow(10s));
    ASSERT_TRUE(st) << "keel reply did not stop after --count 1";
    EXPECT_TRUE(st->exited_ok()) << st->describe() << reply->err();
    EXPECT_TRUE(contains(reply->out(), "svc.echo")) << reply->out();
    EXPECT_TRUE(contains(reply->out(), "\nping\n")) << reply->out();

    // Nobody answers: exit 1, naming the subject.
    r = run_cli({"req", "--server", bus.url(), "nobody.home", "x"});
    EXPECT_EQ(r.code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "no responders")) << r.describe();
    EXPECT_TRUE(contains(r.err, "nobody.home")) << r.describe();
    EXPECT_EQ(r.out, "");

    // Someone listens but never answers: a timeout, also exit 1.
    RawConn mute = RawConn::tcp(bus.port());
    mute.hello();
    ASSERT_TRUE(mute.send("SUB svc.mute 1\r\n"));
    ASSERT_TRUE(mute.ping());
    r = run_cli({"req", "--server", bus.url(), "--timeout", "200ms", "svc.mute", "x"});
    EXPECT_EQ(r.code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "timed out")) << r.describe();
    EXPECT_TRUE(contains(r.err, "svc.mute")) << r.describe();
}

// The process among `pids` that holds the client end of `accepted` (a loopback
// TCP connection), or -1: the client socket's inode from /proc/net/tcp, looked
// for among each process's fds.
pid_t client_of(int accepted, const std::vector<pid_t>& pids) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(accepted, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return -1;
    char local[32];
    std::snprintf(local, sizeof local, "0100007F:%04X", ntohs(peer.sin_port));
    std::istringstream tcp(slurp("/proc/net/tcp"));
    std::string inode;
    for (std::string line; inode.empty() && std::getline(tcp, line);) {
        std::istringstream f(line);
        std::string sl, loc, rem, st, queues, timer, retransmits, uid, timeout, ino;
        f >> sl >> loc >> rem >> st >> queues >> timer >> retransmits >> uid >> timeout >> ino;
        if (loc == local) inode = ino;
    }
    for (pid_t pid : pids) {
        std::error_code ec;
        for (const auto& e :
             std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
            if (std::filesystem::read_symlink(e.path(), ec).string() == "socket:[" + inode + "]")
                return pid;
    }
    return -1;
}

// A stand-in on `port` accepts and hangs up until every one of `pids` has
// connected (and so been turned away) at least once; false after the timeout.
bool turn_away_each(uint16_t port, std::vector<pid_t> pids, Ms timeout) {
    Fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l.get(), 16))
        return false;
    auto deadline = Clock::now() + timeout;
    while (!pids.empty() && Clock::now() < deadline) {
        pollfd p{l.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;
        Fd c(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) continue;
        std::erase(pids, client_of(c.get(), pids));
    }
    return pids.empty();
}

int in_msgs_of(const nlohmann::json& stats, std::string_view name) {
    for (const auto& c : stats.at("connection_details"))
        if (c.value("name", "") == name) return c.value("in_msgs", 0);
    return -1;
}

// --wait: a device booting, whose bus comes up first and its services later.
TEST(Cli, WaitKeepsTryingForTheBusAndForAResponder) {
    const uint16_t port = free_port();
    const std::string url = "nats://127.0.0.1:" + std::to_string(port);
    auto req = start_cli(
        {"req", "--server", url, "--name", "it-req", "--wait", "20s", "svc.late", "ping"});
    auto sub = start_cli({"sub", "--server", url, "--wait", "20s", "--count", "1", "svc.note"});
    // The bus comes up only once both have found the port closed to them.
    ASSERT_TRUE(turn_away_each(port, {req->pid(), sub->pid()}, slow(10s)))
        << req->err() << sub->err();
    BusProcess::Options o;
    o.port = port;
    BusProcess bus(o);
    // The request meets no responders at first, and is asked again.
    auto st = bus.wait_stats([](const nlohmann::json& j) { return in_msgs_of(j, "it-req") >= 2; },
                             slow(10s));
    ASSERT_GE(in_msgs_of(st, "it-req"), 2) << st.dump(1);
    auto reply = start_cli({"reply", "--server", bus.url(), "--count", "1", "svc.late", "pong"});
    auto r = req->wait_exit(slow(20s));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, 0) << req->err();
    EXPECT_EQ(req->out(), "pong\n");
    auto pub = run_cli({"pub", "--server", bus.url(), "svc.note", "hello"});
    auto s = sub->wait_exit(slow(20s));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->code, 0) << sub->err();
    EXPECT_TRUE(contains(sub->out(), "hello")) << sub->out();

    // A bus that never comes: given up after the wait, naming it.
    const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
    auto late = run_cli({"req", "--server", nowhere, "--wait", "500ms", "x", "y"});
    EXPECT_EQ(late.code, 111) << late.describe();
    EXPECT_TRUE(contains(late.err, nowhere)) << late.describe();
    // No responder within the wait: exit 1.
    auto none = run_cli({"req", "--server", bus.url(), "--wait", "500ms", "nobody.home", "x"});
    EXPECT_EQ(none.code, 1) << none.describe();
    EXPECT_TRUE(contains(none.err, "no responders")) << none.describe();
}

TEST(Cli, UnreachableBusIsExit111NamingTheAddress) {
    const uint16_t port = free_port();  // nobody listens there
    const std::string addr = "127.0.0.1:" + std::to_string(port);
    for (auto args : {std::vector<std::string>{"pub", "--server", addr, "x", "y"},
                      std::vector<std::string>{"req", "--server", addr, "x", "y"},
                      std::vector<std::string>{"sub", "--server", addr, "x"},
                      std::vector<std::string>{"bus", "stats", "--server", addr}}) {
        CliResult r = run_cli(args);
        EXPECT_EQ(r.code, 111) << args[0] << ": " << r.describe();
        EXPECT_TRUE(contains(r.err, addr)) << r.describe();
    }
    // sub and reply reconnect when a bus they had goes away, but one that was never
    // there is an error at once, as are refused credentials.
    CliResult r = run_cli({"reply", "--server", addr, "svc", "x"});
    EXPECT_EQ(r.code, 111) << r.describe();
    {
        TempDir auth_dir;
        const std::string auth = auth_dir.file("auth.json");
        write_file_atomic(auth, R"({"users":[{"user":"u","password":"p"}]})");
        BusProcess::Options o;
        o.args = {"--auth", auth};
        o.probe_connect = R"({"verbose":false,"pedantic":false,"user":"u","pass":"p"})";
        BusProcess bus(o);
        r = run_cli({"sub", "--server", bus.url(), "--user", "u", "--password", "wrong", "x"});
        EXPECT_EQ(r.code, 111) << r.describe();
        EXPECT_TRUE(contains(r.err, "Authorization Violation")) << r.describe();
    }
    TempDir tmp;
    const std::string path = tmp.file("nobody.sock");
    r = run_cli({"pub", "--server", "unix:" + path, "x", "y"});
    EXPECT_EQ(r.code, 111) << r.describe();
    EXPECT_TRUE(contains(r.err, path)) << r.describe();
}

TEST(Cli, UsageAndHelp) {
    struct Case {
        std::vector<std::string> args;
        const char* says;
        bool usage = true;  // followed by the usage line
    };
    const Case bad[] = {
        {{"pub"}, "missing SUBJECT"},
        {{"pub", "--bogus", "x"}, "unknown option --bogus"},
        {{"pub", "--count", "0", "x", "y"}, "--count"},
        {{"pub", "--count", "many", "x", "y"}, "bad value 'many'"},
        {{"sub"}, "missing SUBJECT"},
        {{"req", "a", "b", "c"}, "unexpected argument 'c'"},
        {{"reply", "svc"}, "missing RESPONSE"},
        {{"bus", "--max-connections", "0", "--socket", "none"}, "limits must be positive"},
        {{"bus", "--listen", "127.0.0.1:99999", "--socket", "none"}, "99999"},
        {{"bus", "--listen", "no.such.host.invalid:4222", "--socket", "none"},
         "cannot listen on no.such.host.invalid",
         false},
        {{"nosuchverb"}, "unknown verb 'nosuchverb'"},
        {{}, "Usage: keel VERB"},
    };
    for (const auto& c : bad) {
        CliResult r = run_cli(c.args);
        const std::string what = c.args.empty() ? "(no args)" : c.args[0];
        EXPECT_EQ(r.code, 100) << what << ": " << r.describe();
        EXPECT_TRUE(contains(r.err, c.says)) << what << ": " << r.describe();
        if (c.usage) {
            EXPECT_TRUE(contains(r.err, "Usage: keel")) << what << ": " << r.describe();
        }
    }

    struct Help {
        std::vector<std::string> args;
        std::vector<const char*> lists;
    };
    const Help helps[] = {
        {{"--help"}, {"bus", "pub", "sub", "req", "reply"}},
        {{"pub", "--help"},
         {"Usage: keel pub", "--server", "--count", "--header", "--user", "--password"}},
        {{"sub", "-h"}, {"Usage: keel sub", "--queue", "--count", "--json"}},
        {{"req", "--help"}, {"Usage: keel req", "--timeout"}},
        {{"reply", "--help"}, {"Usage: keel reply", "--queue"}},
        {{"bus", "--help"},
         {"Usage: keel bus", "--listen", "--socket", "--auth", "--max-payload", "--max-pending",
          "--max-connections", "--max-control-line", "--max-subscriptions", "--connect-timeout",
          "--auth-timeout", "--ping-interval", "--max-pings-out", "--write-deadline", "SIGHUP"}},
        {{"bus", "stats", "--help"}, {"--json", "--server"}},
    };
    for (const auto& h : helps) {
        CliResult r = run_cli(h.args);
        EXPECT_EQ(r.code, 0) << h.args[0] << ": " << r.describe();
        for (const char* word : h.lists)
            EXPECT_TRUE(contains(r.out, word)) << word << " missing\n" << r.describe();
        EXPECT_EQ(r.err, "");
    }
}

TEST(Cli, PublishRefusedByPermissionsIsReported) {
    TempDir tmp;
    const std::string auth = tmp.file("auth.json");
    write_file_atomic(auth, R"({"users":[{"user":"limited","password":"pw",
        "permissions":{"publish":{"allow":["ok.>"],"deny":["ok.forbidden"]}}}]})");
    BusProcess::Options o;
    o.args = {"--auth", auth};
    o.probe_connect = R"({"verbose":false,"pedantic":false,"user":"limited","pass":"pw"})";
    BusProcess bus(o);

    CliResult r = run_cli(
        {"pub", "--server", bus.url(), "--user", "limited", "--password", "pw", "ok.fine", "x"});
    EXPECT_EQ(r.code, 0) << r.describe();
    r = run_cli({"pub", "--server", bus.url(), "--user", "limited", "--password", "pw",
                 "ok.forbidden", "x"});
    EXPECT_EQ(r.code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "Permissions Violation for Publish to \"ok.forbidden\""))
        << r.describe();
    r = run_cli(
        {"pub", "--server", bus.url(), "--user", "limited", "--password", "pw", "elsewhere", "x"});
    EXPECT_EQ(r.code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "Permissions Violation for Publish to \"elsewhere\""))
        << r.describe();
    // Bad credentials: the connection itself is refused.
    r = run_cli(
        {"pub", "--server", bus.url(), "--user", "limited", "--password", "wrong", "ok.fine", "x"});
    EXPECT_NE(r.code, 0) << r.describe();
    EXPECT_TRUE(contains(r.err, "Authorization Violation")) << r.describe();
}

TEST(Cli, BusStats) {
    BusProcess bus;
    RawConn named = RawConn::tcp(bus.port());
    named.hello(R"({"verbose":false,"pedantic":false,"name":"visible-client"})");
    ASSERT_TRUE(named.send("SUB a.b 1\r\n"));
    ASSERT_TRUE(named.ping());

    CliResult r = run_cli({"bus", "stats", "--server", bus.url()});
    ASSERT_EQ(r.code, 0) << r.describe();
    EXPECT_TRUE(contains(r.out, "connections 2 now"))
        << r.out;  // visible-client and the stats client
    EXPECT_TRUE(contains(r.out, "slow consumers 0")) << r.out;
    EXPECT_TRUE(contains(r.out, "visible-client")) << r.out;

    r = run_cli({"bus", "stats", "--json", "--server", bus.url()});
    ASSERT_EQ(r.code, 0) << r.describe();
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("connections"), 2);
    EXPECT_EQ(subscriptions_of(j, "visible-client"), 1);
}

TEST(Cli, BusStartupFailures) {
    // The port is taken: 111, naming the address.
    BusProcess other;
    const std::string addr = "127.0.0.1:" + std::to_string(other.port());
    CliResult r = run_cli({"bus", "--listen", addr, "--socket", "none"});
    EXPECT_EQ(r.code, 111) << r.describe();
    EXPECT_TRUE(contains(r.err, "cannot listen on " + addr)) << r.describe();
    EXPECT_TRUE(contains(r.err, "Address already in use")) << r.describe();

    // A broken auth file: 100, naming the file.
    TempDir tmp;
    const std::string auth = tmp.file("auth.json");
    write_file_atomic(auth, "{\"users\": [ nope");
    r = run_cli({"bus", "--listen", "127.0.0.1:" + std::to_string(free_port()), "--socket", "none",
                 "--auth", auth});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_TRUE(contains(r.err, auth)) << r.describe();
}

TEST(Cli, SubSurvivesABusRestart) {
    BusProcess bus;
    auto sub = start_cli(
        {"sub", "--server", bus.url(), "--name", "it-sub", "--count", "2", "--raw", "again"});
    wait_subscribed(bus, "it-sub", 1, *sub);
    CliResult r = run_cli({"pub", "--server", bus.url(), "again", "one"});
    ASSERT_EQ(r.code, 0) << r.describe();
    ASSERT_TRUE(sub->wait_output("one\n", slow(5s)));

    ASSERT_TRUE(bus.signal(SIGKILL));
    ASSERT_TRUE(bus.wait_exit(slow(5s)));
    bus.restart();
    wait_subscribed(bus, "it-sub", 1, *sub);  // it came back by itself
    r = run_cli({"pub", "--server", bus.url(), "again", "two"});
    ASSERT_EQ(r.code, 0) << r.describe();
    auto st = sub->wait_exit(slow(10s));
    ASSERT_TRUE(st) << sub->out() << sub->err();
    EXPECT_TRUE(st->exited_ok()) << st->describe();
    EXPECT_EQ(sub->out(), "one\ntwo\n");
}

}  // namespace
}  // namespace keel::it
