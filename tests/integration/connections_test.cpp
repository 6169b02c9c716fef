// Many connections at once: 1,000 raw clients each CONNECT, SUB and PING; one
// PUB reaches every one of them; after they close, the bus forgets them all.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

// The test process needs an fd per connection (the bus raises its own limit).
void ensure_fd_limit(rlim_t want) {
    rlimit rl{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = std::min(want, rl.rlim_max);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
    ASSERT_GE(rl.rlim_cur, want) << "RLIMIT_NOFILE hard limit too low for this test";
}

TEST(Connections, AThousandAtOnce) {
    const int kConns = 1000;
    ensure_fd_limit(kConns + 200);
    // Every client connects before any sends CONNECT: slower than the 2 s connect
    // timeout under a sanitizer on a busy machine.
    BusProcess bus({"--connect-timeout", "1m"});

    std::vector<RawConn> conns;
    conns.reserve(kConns);
    for (int i = 0; i < kConns; ++i)
        conns.push_back(RawConn::tcp(bus.port()));
    // Everyone talks first, then everyone listens: the bus sees them all at once.
    for (int i = 0; i < kConns; ++i) {
        ASSERT_TRUE(conns[i].send("CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"c" +
                                  std::to_string(i) + "\"}\r\nSUB fanout " + std::to_string(i) +
                                  "\r\nPING\r\n"));
    }
    for (int i = 0; i < kConns; ++i) {
        auto f = conns[i].read_frame(slow(10s));
        ASSERT_TRUE(f) << "connection " << i << " got no PONG";
        ASSERT_EQ(f->op, "PONG") << "connection " << i << ": " << f->line;
    }
    auto stats = bus.stats();
    EXPECT_EQ(client_connections(stats), kConns);
    EXPECT_EQ(stats.at("subscriptions").get<int>(), kConns + 1);  // + the probe's inbox

    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(R"({"verbose":false,"pedantic":false,"name":"pub"})");
    ASSERT_TRUE(pub.send("PUB fanout 5\r\nhello\r\n"));
    ASSERT_TRUE(pub.ping());
    for (int i = 0; i < kConns; ++i) {
        auto f = conns[i].read_frame(slow(10s));
        ASSERT_TRUE(f) << "connection " << i << " got nothing";
        ASSERT_EQ(f->op, "MSG") << "connection " << i;
        EXPECT_EQ(f->sid, std::to_string(i));
        EXPECT_EQ(f->payload, "hello");
    }

    // Half leave with a FIN, half with an RST.
    for (int i = 0; i < kConns; ++i) {
        if (i % 2) conns[i].set_linger_zero();
        conns[i].close();
    }
    pub.close();
    stats = bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 0; },
                           slow(10s));
    EXPECT_EQ(client_connections(stats), 0) << stats.at("connections");
    EXPECT_EQ(stats.at("subscriptions").get<int>(), 1) << "subscriptions left behind";
    EXPECT_GE(stats.at("total_connections").get<int>(), kConns + 1);

    // Publishing to the subject everyone left must find no one (and touch no
    // freed subscription: under ASan a stale trie entry is a crash here).
    RawConn last = RawConn::tcp(bus.port());
    last.hello(R"({"verbose":false,"pedantic":false,"name":"last"})");
    ASSERT_TRUE(last.send("SUB fanout 1\r\nPUB fanout 3\r\nbye\r\n"));
    std::vector<Frame> got;
    ASSERT_TRUE(last.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload, "bye");
    EXPECT_TRUE(bus.running());
}

// A queue group whose members come and go: each message goes to exactly one
// current member, and members that left (FIN or RST) are forgotten.
TEST(Connections, QueueGroupMembersLeaving) {
    const int kMembers = 200;
    ensure_fd_limit(kMembers + 200);
    BusProcess bus;
    std::vector<RawConn> members;
    for (int i = 0; i < kMembers; ++i) {
        members.push_back(RawConn::tcp(bus.port()));
        ASSERT_TRUE(members.back().send(
            "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB jobs workers 1\r\nPING\r\n"));
    }
    for (auto& m : members)
        ASSERT_TRUE(m.read_until("PONG\r\n", slow(10s)));
    RawConn pub = RawConn::tcp(bus.port());
    pub.hello();

    // Everyone reads what it got; the total must be exactly what was published.
    auto collect = [&](int from, int to) {
        int total = 0;
        for (int i = from; i < to; ++i) {
            std::vector<Frame> got;
            EXPECT_TRUE(members[i].ping(slow(5s), &got)) << "member " << i;
            for (const auto& f : got)
                EXPECT_EQ(f.op, "MSG");
            total += static_cast<int>(got.size());
        }
        return total;
    };
    std::string batch;
    for (int i = 0; i < 1000; ++i)
        batch += "PUB jobs 3\r\njob\r\n";
    ASSERT_TRUE(pub.send(batch));
    ASSERT_TRUE(pub.ping());
    EXPECT_EQ(collect(0, kMembers), 1000);

    // The first half leaves, alternately with FIN and RST.
    for (int i = 0; i < kMembers / 2; ++i) {
        if (i % 2) members[i].set_linger_zero();
        members[i].close();
    }
    auto stats = bus.wait_stats(
        [&](const nlohmann::json& j) { return client_connections(j) == kMembers / 2 + 1; },
        slow(10s));
    ASSERT_EQ(client_connections(stats), kMembers / 2 + 1);
    EXPECT_EQ(stats.at("subscriptions").get<int>(), kMembers / 2 + 1);  // + the probe's inbox

    ASSERT_TRUE(pub.send(batch));
    ASSERT_TRUE(pub.ping());
    EXPECT_EQ(collect(kMembers / 2, kMembers), 1000) << "messages went to members that had left";

    members.clear();
    stats = bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 1; },
                           slow(10s));
    EXPECT_EQ(stats.at("subscriptions").get<int>(), 1);
    // Nobody left in the group: publishing finds no one and harms nothing.
    ASSERT_TRUE(pub.send("PUB jobs 3\r\njob\r\n"));
    EXPECT_TRUE(pub.ping());
}

}  // namespace
}  // namespace keel::it
