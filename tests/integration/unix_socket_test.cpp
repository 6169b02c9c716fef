// The unix socket: where and how it is created, that clients (the CLI) work
// over it, that it goes away on SIGTERM, and SO_PEERCRED logins ("unix_uid").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

TEST(UnixSocket, CreatedWithMode0660InANewDirectoryAndRemovedOnSigterm) {
    TempDir tmp;
    const std::string parent = tmp.file("run/keel");
    BusProcess::Options o;
    o.socket_path = parent + "/bus.sock";
    BusProcess bus(o);

    struct stat st {};
    ASSERT_EQ(::stat(parent.c_str(), &st), 0) << "parent directory not created";
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_EQ(::stat(bus.socket_path().c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u) << std::oct << (st.st_mode & 07777);

    // Raw protocol over the socket.
    RawConn raw = RawConn::unix_socket(bus.socket_path());
    EXPECT_EQ(raw.info().rfind("INFO ", 0), 0u);
    raw.hello();

    // The CLI over the socket: sub first (ready once the bus lists its subscription), then pub.
    auto sub = start_cli({"sub", "--server", bus.unix_url(), "--name", "it-sub", "--count", "2",
                          "--json", "greet.*"});
    auto stats = bus.wait_stats(
        [](const nlohmann::json& j) { return subscriptions_of(j, "it-sub") == 1; }, slow(10s));
    ASSERT_EQ(subscriptions_of(stats, "it-sub"), 1) << "keel sub never subscribed\n" << sub->err();
    for (const char* who : {"world", "unix"}) {
        CliResult r = run_cli({"pub", "--server", bus.unix_url(), std::string("greet.") + who,
                               std::string("hi ") + who});
        ASSERT_EQ(r.code, 0) << r.describe();
    }
    auto st_sub = sub->wait_exit(slow(10s));
    ASSERT_TRUE(st_sub) << "keel sub did not exit after --count 2\n" << sub->out() << sub->err();
    EXPECT_TRUE(st_sub->exited_ok()) << st_sub->describe() << "\n" << sub->err();
    EXPECT_EQ(sub->out(),
              "{\"data\":\"hi world\",\"subject\":\"greet.world\"}\n"
              "{\"data\":\"hi unix\",\"subject\":\"greet.unix\"}\n");
    // The unix peer is recorded with its credentials.
    stats = bus.stats();
    bool seen_unix_peer = false;
    for (const auto& c : stats.at("connection_details"))
        if (c.value("peer", "").rfind("unix:uid=" + std::to_string(::getuid()) + ",", 0) == 0)
            seen_unix_peer = true;
    EXPECT_TRUE(seen_unix_peer) << stats.dump(2);

    raw.close();
    ASSERT_TRUE(bus.signal(SIGTERM));
    auto st_bus = bus.wait_exit(slow(5s));
    ASSERT_TRUE(st_bus);
    EXPECT_TRUE(st_bus->exited_ok()) << st_bus->describe();
    EXPECT_NE(::access(bus.socket_path().c_str(), F_OK), 0) << "socket file left behind";
}

TEST(UnixSocket, PeerCredentialsLogIn) {
    TempDir tmp;
    const std::string auth = tmp.file("auth.json");
    write_file_atomic(auth, R"({"users":[{"user":"local","unix_uid":)" +
                                std::to_string(::getuid()) +
                                R"(},{"user":"bob","password":"pw"}]})");
    BusProcess::Options o;
    o.args = {"--auth", auth};
    o.probe_connect = R"({"verbose":false,"pedantic":false,"user":"bob","pass":"pw"})";
    BusProcess bus(o);

    // Unix socket, no credentials: logged in as the uid's user.
    RawConn local = RawConn::unix_socket(bus.socket_path());
    EXPECT_EQ(local.info_json().at("auth_required"), true);
    local.hello(R"({"verbose":false,"pedantic":false,"name":"local-conn"})");
    auto stats = bus.stats();
    std::string user;
    for (const auto& c : stats.at("connection_details"))
        if (c.value("name", "") == "local-conn") user = c.value("user", "");
    EXPECT_EQ(user, "local");

    // TCP, no credentials: refused.
    RawConn anon = RawConn::tcp(bus.port());
    anon.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n");
    auto d = anon.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");

    // TCP, claiming the uid-mapped user by name: no password, no peer credentials, refused.
    RawConn claim = RawConn::tcp(bus.port());
    claim.send("CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"local\"}\r\nPING\r\n");
    d = claim.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");

    // Wrong password, then the right one.
    RawConn wrong = RawConn::tcp(bus.port());
    wrong.send(
        "CONNECT "
        "{\"verbose\":false,\"pedantic\":false,\"user\":\"bob\",\"pass\":\"nope\"}\r\nPING\r\n");
    d = wrong.read_all_until_close(slow(5s));
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");
    RawConn bob = RawConn::tcp(bus.port());
    bob.hello(R"({"verbose":false,"pedantic":false,"user":"bob","pass":"pw"})");

    // Both logged-in clients can talk to each other.
    ASSERT_TRUE(local.send("SUB chat 1\r\n"));
    ASSERT_TRUE(local.ping());
    ASSERT_TRUE(bob.send("PUB chat 2\r\nhi\r\n"));
    std::vector<Frame> got;
    ASSERT_TRUE(bob.ping());
    ASSERT_TRUE(local.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload, "hi");

    // The CLI over the unix socket needs no credentials either.
    CliResult r = run_cli({"pub", "--server", bus.unix_url(), "chat", "from cli"});
    EXPECT_EQ(r.code, 0) << r.describe();
    r = run_cli({"pub", "--server", bus.url(), "chat", "from cli"});
    EXPECT_NE(r.code, 0) << r.describe();
    EXPECT_NE(r.err.find("Authorization Violation"), std::string::npos) << r.describe();
}

TEST(UnixSocket, StaleSocketFileFromACrashIsReplaced) {
    BusProcess bus;
    ASSERT_TRUE(bus.signal(SIGKILL));
    ASSERT_TRUE(bus.wait_exit(slow(5s)));
    struct stat st {};
    ASSERT_EQ(::stat(bus.socket_path().c_str(), &st), 0)
        << "a killed bus cannot clean up: the file stays";
    int err = 0;
    EXPECT_FALSE(RawConn::try_unix(bus.socket_path(), &err));
    EXPECT_EQ(err, ECONNREFUSED);

    bus.restart();
    RawConn c = RawConn::unix_socket(bus.socket_path());
    c.hello();
    EXPECT_TRUE(c.ping());
}

}  // namespace
}  // namespace keel::it
