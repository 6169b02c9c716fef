// Clients that vanish in the middle of a payload — with a FIN or an RST — leave
// nothing behind: no partial message is delivered, no session or buffer is
// kept, and the bus's memory returns to where it was.
#include <gtest/gtest.h>

#include <random>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

TEST(AbruptDisconnect, MidPayloadLeavesNoTrace) {
    BusProcess bus;
    RawConn sub = RawConn::tcp(bus.port());
    sub.hello(R"({"verbose":false,"pedantic":false,"name":"sub"})");
    ASSERT_TRUE(sub.send("SUB foo 1\r\n"));
    ASSERT_TRUE(sub.ping());

    // Warm up (first connections, first large buffers), then take the baseline.
    auto wave = [&](int n, std::mt19937& rng, int round) {
        std::vector<RawConn> conns;
        std::uniform_int_distribution<size_t> part(0, 99999);
        for (int i = 0; i < n; ++i) {
            RawConn c = RawConn::tcp(bus.port());
            std::string bytes =
                (i % 3 == 0 ? std::string("CONNECT ") + kQuiet + "\r\n" : std::string()) +
                "PUB foo 100000\r\n" + std::string(part(rng), 'p');
            ASSERT_TRUE(c.send(bytes)) << "round " << round << " client " << i;
            conns.push_back(std::move(c));
        }
        // All of them hold a partial message in the bus at once; then they go,
        // half with an RST.
        for (int i = 0; i < n; ++i) {
            if ((i + round) % 2) conns[i].set_linger_zero();
            conns[i].close();
        }
    };
    std::mt19937 rng(7);
    wave(20, rng, -1);
    bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 1; }, slow(10s));
    const long idle_rss = bus.rss_kib();

    const int kRounds = scaled(100, 5);
    const int kPerRound = 40;
    for (int round = 0; round < kRounds; ++round) {
        wave(kPerRound, rng, round);
        if (::testing::Test::HasFatalFailure()) return;
        // The subscriber saw nothing, and the bus is alive.
        std::vector<Frame> got;
        ASSERT_TRUE(sub.ping(slow(5s), &got)) << "round " << round;
        ASSERT_TRUE(got.empty()) << "partial message delivered: " << got.front().line;
    }

    auto stats = bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 1; },
                                slow(10s));
    EXPECT_EQ(client_connections(stats), 1) << "sessions left behind: " << stats.at("connections");
    // Only the stats probes have published (empty payloads): no cut-off PUB was counted.
    EXPECT_EQ(stats.at("in_bytes").get<int>(), 0) << "a cut-off PUB was counted as a message";
    EXPECT_GE(stats.at("total_connections").get<int>(), kRounds * kPerRound);

    // A complete message still goes through, and is the only one.
    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(kQuiet);
    ASSERT_TRUE(pub.send("PUB foo 100000\r\n" + std::string(100000, 'z') + "\r\n"));
    ASSERT_TRUE(pub.ping());
    std::vector<Frame> got;
    ASSERT_TRUE(sub.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload, std::string(100000, 'z'));
    pub.close();

    bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 1; }, slow(10s));
    const long after_rss = bus.rss_kib();
    std::printf("  bus RSS: idle %ld KiB, after %d partial messages %ld KiB\n", idle_rss,
                kRounds * kPerRound, after_rss);
    if (!kSanitized) {
        EXPECT_LT(after_rss, 2 * idle_rss + 4 * 1024);
    }
}

}  // namespace
}  // namespace keel::it
