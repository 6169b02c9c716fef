// Limits the bus enforces, each with nats-server's -ERR text: connections,
// payload (checked on the control line, before any payload byte), control line,
// subscriptions per connection, and the authentication timeout.
#include <gtest/gtest.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

TEST(Limits, MaxConnectionsRefusesTheSixthAfterInfo) {
    BusProcess bus({"--max-connections", "5"});
    // Make sure the readiness probe's connection is gone before counting.
    bus.wait_stats([](const nlohmann::json& j) { return j.at("connections") == 1; }, slow(5s));
    std::vector<RawConn> conns;
    for (int i = 0; i < 5; ++i) {
        conns.push_back(RawConn::tcp(bus.port()));
        conns.back().hello(kQuiet);
    }
    RawConn sixth = RawConn::tcp(bus.port());
    EXPECT_EQ(sixth.info().rfind("INFO ", 0), 0u) << "nats-server sends INFO before refusing";
    auto d = sixth.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'maximum connections exceeded'\r\n");

    // The five are unaffected.
    for (auto& c : conns)
        EXPECT_TRUE(c.ping());

    // A slot freed is a slot usable again (the close is noticed asynchronously).
    conns.pop_back();
    const auto deadline = Clock::now() + slow(5s);
    bool admitted = false;
    while (!admitted && Clock::now() < deadline) {
        RawConn c = RawConn::tcp(bus.port());
        c.send(std::string("CONNECT ") + kQuiet + "\r\nPING\r\n");
        auto f = c.read_frame(slow(2s));
        admitted = f && f->op == "PONG";
        if (!admitted) ::poll(nullptr, 0, 10);
    }
    EXPECT_TRUE(admitted);
}

TEST(Limits, MaxPayloadIsCheckedBeforeThePayload) {
    BusProcess bus({"--max-payload", "1024"});
    RawConn c = RawConn::tcp(bus.port());
    EXPECT_EQ(c.info_json().at("max_payload"), 1024);
    c.hello(kQuiet);
    // Exactly at the limit is fine.
    RawConn sub = RawConn::tcp(bus.port());
    sub.hello(kQuiet);
    sub.send("SUB x 1\r\n");
    ASSERT_TRUE(sub.ping());
    ASSERT_TRUE(c.send("PUB x 1024\r\n" + std::string(1024, 'p') + "\r\n"));
    auto m = sub.read_frame(slow(5s));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->op, "MSG");
    EXPECT_EQ(m->payload.size(), 1024u);

    // Over it: refused on the control line alone; no payload byte is ever sent.
    ASSERT_TRUE(c.send("PUB x 2000\r\n"));
    auto d = c.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'Maximum Payload Violation'\r\n");
    EXPECT_TRUE(sub.ping());
}

TEST(Limits, MaxControlLine) {
    BusProcess bus({"--max-control-line", "256"});
    RawConn ok = RawConn::tcp(bus.port());
    ok.hello(kQuiet);
    ASSERT_TRUE(ok.send("SUB " + std::string(200, 'a') + " 1\r\n"));
    EXPECT_TRUE(ok.ping());

    // Whole line too long, without any newline: the bus does not wait for one.
    RawConn c = RawConn::tcp(bus.port());
    c.hello(kQuiet);
    ASSERT_TRUE(c.send("SUB " + std::string(400, 'a')));
    auto d = c.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'maximum control line exceeded'\r\n");

    // Split over several writes.
    RawConn s = RawConn::tcp(bus.port());
    s.hello(kQuiet);
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(s.send("PUB " + std::string(80, 'b')));
    d = s.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'maximum control line exceeded'\r\n");
    EXPECT_TRUE(ok.ping());
}

TEST(Limits, MaxSubscriptionsLeavesTheConnectionOpen) {
    BusProcess bus({"--max-subscriptions", "2"});
    RawConn c = RawConn::tcp(bus.port());
    c.hello(kQuiet);
    ASSERT_TRUE(c.send("SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n"));
    auto f = c.read_frame(slow(5s));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->line, "-ERR 'maximum subscriptions exceeded'");
    // Still open, and the first two work.
    ASSERT_TRUE(c.send("PUB b 2\r\nhi\r\nPUB c 2\r\nno\r\n"));
    std::vector<Frame> got;
    ASSERT_TRUE(c.ping(slow(5s), &got));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].subject, "b");
    EXPECT_EQ(got[0].payload, "hi");
}

TEST(Limits, AuthenticationTimeout) {
    TempDir dir;
    const std::string auth = dir.file("auth.json");
    write_file_atomic(auth, R"({"users":[{"user":"u","password":"p"}]})");
    BusProcess::Options o;
    o.args = {"--auth", auth, "--auth-timeout", "300ms"};
    o.probe_connect = R"({"verbose":false,"pedantic":false,"user":"u","pass":"p"})";
    BusProcess bus(o);

    RawConn c = RawConn::tcp(bus.port());
    EXPECT_EQ(c.info_json().at("auth_required"), true);
    const auto t0 = Clock::now();
    auto d = c.read_all_until_close(slow(5s));
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'Authentication Timeout'\r\n");
    EXPECT_GE(took.count(), 200);
    EXPECT_LT(took, slow(3s));

    // A client that does CONNECT in time is not timed out later.
    RawConn good = RawConn::tcp(bus.port());
    good.hello(R"({"verbose":false,"pedantic":false,"user":"u","pass":"p"})");
    RawConn probe = RawConn::tcp(bus.port());
    probe.read_all_until_close(slow(5s));  // another auth timeout: at least 300 ms passed
    EXPECT_TRUE(good.ping());

    // Any command before CONNECT is an authorization violation.
    RawConn early = RawConn::tcp(bus.port());
    early.send("PING\r\n");
    d = early.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data, "-ERR 'Authorization Violation'\r\n");
}

TEST(Limits, StaleConnection) {
    BusProcess bus({"--ping-interval", "200ms", "--max-pings-out", "2"});
    RawConn silent = RawConn::tcp(bus.port());
    silent.hello(kQuiet);
    RawConn lively = RawConn::tcp(bus.port());
    lively.hello(kQuiet);

    // The silent one is PINGed twice, then dropped; the lively one answers every
    // PING meanwhile and stays.
    const auto t0 = Clock::now();
    const auto deadline = t0 + slow(5s);
    std::vector<std::string> silent_lines;
    int pings = 0;
    while (!silent.closed() && Clock::now() < deadline) {
        if (auto line = silent.read_line(Ms(10))) silent_lines.push_back(*line);
        if (auto f = lively.read_frame(Ms(10))) {
            EXPECT_EQ(f->op, "PING");
            ++pings;
            ASSERT_TRUE(lively.send("PONG\r\n"));
        }
    }
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    EXPECT_TRUE(silent.closed());
    EXPECT_EQ(silent_lines, (std::vector<std::string>{"PING", "PING", "-ERR 'Stale Connection'"}));
    EXPECT_GE(took.count(), 500);
    EXPECT_GE(pings, 2);
    EXPECT_TRUE(lively.ping());
}

TEST(Limits, WriteDeadlineDropsAClientThatTakesNothing) {
    BusProcess bus({"--write-deadline", "300ms"});
    ConnOptions small;
    small.rcvbuf = 4096;
    RawConn stuck = RawConn::tcp(bus.port(), small);
    stuck.hello(kQuiet);
    ASSERT_TRUE(stuck.send("SUB w 1\r\n"));
    ASSERT_TRUE(stuck.ping());
    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(kQuiet);
    // 8 MiB: past the kernel's buffers, far below the 64 MiB --max-pending.
    std::string batch;
    for (int i = 0; i < 8 * 1024; ++i)
        batch += "PUB w 1024\r\n" + std::string(1024, 'w') + "\r\n";
    ASSERT_TRUE(pub.send(batch));
    ASSERT_TRUE(pub.ping());
    const auto t0 = Clock::now();
    auto stats = bus.wait_stats([](const nlohmann::json& j) { return j.at("slow_consumers") == 1; },
                                slow(5s));
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    EXPECT_EQ(stats.at("slow_consumers"), 1);
    EXPECT_LT(took, slow(2s));
    auto d = stuck.read_all_until_close(slow(10s));
    EXPECT_TRUE(d.closed);
    EXPECT_EQ(d.data.find("-ERR"), std::string::npos);
    EXPECT_TRUE(pub.ping());
}

}  // namespace
}  // namespace keel::it
