// SIGHUP re-reads --auth: users removed are disconnected with 'Authorization
// Violation', subscriptions the new rules forbid are dropped with their
// Permissions Violation, everything else carries on. A broken file changes
// nothing but the log.
#include <gtest/gtest.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

const char* const kV1 = R"({"users":[
  {"user":"alice","password":"a","permissions":{"subscribe":{"allow":["news.>","secret.>"]}}},
  {"user":"bob","password":"b","permissions":{"publish":{"deny":["news.>"]}}},
  {"user":"carol","password":"c"}]})";
// bob is gone; alice may no longer subscribe to secret.>
const char* const kV2 = R"({"users":[
  {"user":"alice","password":"a","permissions":{"subscribe":{"allow":["news.>","secret.>"],"deny":["secret.>"]}}},
  {"user":"carol","password":"c"}]})";

std::string login(const char* user, const char* pass, const char* name = nullptr) {
    return std::string(R"({"verbose":false,"pedantic":false,"user":")") + user + R"(","pass":")" +
           pass + R"(","name":")" + (name ? name : user) + R"("})";
}

TEST(Reload, SighupAppliesNewUsersAndPermissionsToConnectedClients) {
    TempDir tmp;
    const std::string auth = tmp.file("auth.json");
    write_file_atomic(auth, kV1);
    BusProcess::Options o;
    o.args = {"--auth", auth};
    o.probe_connect = login("carol", "c");
    BusProcess bus(o);

    RawConn alice = RawConn::tcp(bus.port());
    alice.hello(login("alice", "a"));
    ASSERT_TRUE(alice.send("SUB news.today 1\r\nSUB secret.plans 2\r\n"));
    ASSERT_TRUE(alice.ping());
    RawConn bob = RawConn::tcp(bus.port());
    bob.hello(login("bob", "b"));
    ASSERT_TRUE(bob.send("SUB news.today 1\r\n"));
    ASSERT_TRUE(bob.ping());
    RawConn carol = RawConn::tcp(bus.port());
    carol.hello(login("carol", "c"));

    // Before: alice gets both subjects.
    ASSERT_TRUE(carol.send("PUB news.today 1\r\n1\r\nPUB secret.plans 1\r\n2\r\n"));
    ASSERT_TRUE(carol.ping());
    std::vector<Frame> got;
    ASSERT_TRUE(alice.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 2u);

    write_file_atomic(auth, kV2);
    ASSERT_TRUE(bus.signal(SIGHUP));

    // bob: told, then closed (after the message he had been sent earlier).
    auto d = bob.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed) << "bob is still connected";
    EXPECT_EQ(d.data, "MSG news.today 1 1\r\n1\r\n-ERR 'Authorization Violation'\r\n");

    // alice: told about the one subscription, and still connected.
    auto f = alice.read_frame(slow(5s));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->line, "-ERR 'Permissions Violation for Subscription to \"secret.plans\"'");
    ASSERT_TRUE(alice.ping());
    EXPECT_TRUE(bus.wait_log("1 clients no longer authorized", slow(2s))) << bus.log();

    // secret.plans no longer reaches her; news.today still does.
    ASSERT_TRUE(carol.send("PUB secret.plans 1\r\n3\r\nPUB news.today 1\r\n4\r\n"));
    ASSERT_TRUE(carol.ping());
    got.clear();
    ASSERT_TRUE(alice.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].subject, "news.today");
    EXPECT_EQ(got[0].payload, "4");
    // New subscriptions follow the new rules too, without closing her connection.
    ASSERT_TRUE(alice.send("SUB secret.other 3\r\n"));
    f = alice.read_frame(slow(5s));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->line, "-ERR 'Permissions Violation for Subscription to \"secret.other\"'");
    EXPECT_TRUE(alice.ping());

    // bob cannot come back; alice can still log in.
    RawConn bob2 = RawConn::tcp(bus.port());
    bob2.send("CONNECT " + login("bob", "b") + "\r\nPING\r\n");
    d = bob2.read_all_until_close(slow(5s));
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");
    RawConn alice2 = RawConn::tcp(bus.port());
    alice2.hello(login("alice", "a", "alice2"));

    auto stats = bus.stats();
    EXPECT_EQ(subscriptions_of(stats, "alice"), 1) << stats.dump(2);
}

TEST(Reload, BrokenFileKeepsTheOldUsers) {
    TempDir tmp;
    const std::string auth = tmp.file("auth.json");
    write_file_atomic(auth, kV1);
    BusProcess::Options o;
    o.args = {"--auth", auth};
    o.probe_connect = login("carol", "c");
    BusProcess bus(o);

    RawConn alice = RawConn::tcp(bus.port());
    alice.hello(login("alice", "a"));
    ASSERT_TRUE(alice.send("SUB secret.plans 2\r\n"));
    ASSERT_TRUE(alice.ping());
    RawConn bob = RawConn::tcp(bus.port());
    bob.hello(login("bob", "b"));

    for (const char* broken : {"{\"users\": [", R"({"users":[{"user":"x"}]})", R"({"userz":[]})"}) {
        SCOPED_TRACE(broken);
        const size_t before = bus.log().size();
        write_file_atomic(auth, broken);
        ASSERT_TRUE(bus.signal(SIGHUP));
        // The error is logged, naming the file.
        ASSERT_TRUE(bus.wait_log("reload failed, keeping the old users: " + auth, slow(5s), before))
            << bus.log().substr(before);

        // Nobody was touched: no -ERR, still connected, subscription still live.
        std::vector<Frame> frames;
        ASSERT_TRUE(bob.ping(slow(5s), &frames));
        EXPECT_TRUE(frames.empty()) << frames.front().line;
        ASSERT_TRUE(bob.send("PUB secret.plans 2\r\nok\r\n"));
        ASSERT_TRUE(bob.ping());
        frames.clear();
        ASSERT_TRUE(alice.ping(slow(5s), &frames));
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0].op, "MSG");
        // The old users still log in, and still with their passwords only.
        RawConn again = RawConn::tcp(bus.port());
        again.hello(login("bob", "b"));
        RawConn wrong = RawConn::tcp(bus.port());
        wrong.send("CONNECT " + login("bob", "x") + "\r\nPING\r\n");
        EXPECT_EQ(wrong.read_all_until_close(slow(5s)).data, "-ERR 'Authorization Violation'\r\n");
    }
    EXPECT_TRUE(bus.running());

    // A good file again takes effect.
    write_file_atomic(auth, kV2);
    ASSERT_TRUE(bus.signal(SIGHUP));
    auto d = bob.read_all_until_close(slow(5s));
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");
}

}  // namespace
}  // namespace keel::it
