// SIGTERM: the bus stops listening at once, hands subscribers what was already
// published to them, closes everyone and exits 0 — within its 2 s grace even if
// a client never reads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

TEST(Shutdown, SigtermDeliversWhatWasPublishedThenExits) {
    BusProcess bus;
    // A small receive buffer: most of the backlog is in the bus's queue at SIGTERM.
    ConnOptions small;
    small.rcvbuf = 4096;
    RawConn sub = RawConn::tcp(bus.port(), small);
    sub.hello(kQuiet);
    ASSERT_TRUE(sub.send("SUB big 1\r\n"));
    ASSERT_TRUE(sub.ping());

    // 8 MiB: more than the kernel's socket buffers (4 MiB send + a small receive).
    const int kMessages = 2048;
    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(kQuiet);
    std::string batch;
    for (int i = 0; i < kMessages; ++i) {
        std::string body = std::to_string(100000 + i);
        body.resize(4096, '.');
        batch += "PUB big 4096\r\n" + body + "\r\n";
    }
    ASSERT_TRUE(pub.send(batch));
    ASSERT_TRUE(pub.ping());  // everything is routed: in sub's queue or socket

    const auto t0 = Clock::now();
    ASSERT_TRUE(bus.signal(SIGTERM));
    // The subscriber reads only now: every message arrives, then the close.
    int got = 0;
    for (; got < kMessages; ++got) {
        auto f = sub.read_frame(slow(5s));
        ASSERT_TRUE(f) << "message " << got << " of " << kMessages
                       << " lost (closed: " << sub.closed() << ")";
        ASSERT_EQ(f->op, "MSG");
        ASSERT_EQ(f->payload.substr(0, 6), std::to_string(100000 + got));
    }
    auto rest = sub.read_all_until_close(slow(5s));
    EXPECT_TRUE(rest.closed);
    EXPECT_EQ(rest.data, "");
    auto pub_rest = pub.read_all_until_close(slow(5s));
    EXPECT_TRUE(pub_rest.closed);

    auto st = bus.wait_exit(slow(5s));
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    ASSERT_TRUE(st) << "bus still running after SIGTERM";
    EXPECT_TRUE(st->exited_ok()) << st->describe();
    // The queue drains in milliseconds; the 2 s grace is for clients that do not read.
    EXPECT_LT(took, slow(1000ms)) << "waited for the grace although every queue had drained";
    EXPECT_TRUE(bus.wait_log("shutting down", slow(1s)));

    int err = 0;
    EXPECT_FALSE(RawConn::try_tcp(bus.port(), &err));
    EXPECT_EQ(err, ECONNREFUSED) << std::strerror(err);
    EXPECT_NE(::access(bus.socket_path().c_str(), F_OK), 0) << "socket file left behind";
    EXPECT_FALSE(RawConn::try_unix(bus.socket_path(), &err));
}

TEST(Shutdown, AClientThatNeverReadsDelaysExitByTheGraceOnly) {
    BusProcess bus;
    ConnOptions small;
    small.rcvbuf = 4096;
    RawConn stuck = RawConn::tcp(bus.port(), small);
    stuck.hello(kQuiet);
    ASSERT_TRUE(stuck.send("SUB s 1\r\n"));
    ASSERT_TRUE(stuck.ping());
    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(kQuiet);
    std::string batch;
    // 12 MiB: well past what the kernel buffers (4 MiB), well under --max-pending.
    for (int i = 0; i < 12 * 1024; ++i)
        batch += "PUB s 1024\r\n" + std::string(1024, 's') + "\r\n";
    ASSERT_TRUE(pub.send(batch));
    ASSERT_TRUE(pub.ping());
    auto stats = bus.stats();
    int64_t pending = 0;
    for (const auto& c : stats.at("connection_details"))
        pending += c.value("pending_bytes", int64_t{0});
    ASSERT_GT(pending, 1024 * 1024) << "the backlog is not in the bus: the test proves nothing";

    const auto t0 = Clock::now();
    ASSERT_TRUE(bus.signal(SIGTERM));
    // New connections are refused at once, while the bus waits for the stuck client.
    int err = 0;
    const auto refuse_deadline = Clock::now() + slow(1s);
    bool refused = false;
    while (!refused && Clock::now() < refuse_deadline) {
        auto c = RawConn::try_tcp(bus.port(), &err);
        refused = !c && err == ECONNREFUSED;
        if (!refused) ::poll(nullptr, 0, 5);
    }
    EXPECT_TRUE(refused) << "still accepting after SIGTERM";

    auto st = bus.wait_exit(slow(6s));
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    ASSERT_TRUE(st) << "bus still running after SIGTERM";
    EXPECT_TRUE(st->exited_ok()) << st->describe();
    EXPECT_GE(took, 1500ms) << "gave up on the stuck client before its grace";
    EXPECT_LT(took, slow(4s));
    auto d = stuck.read_all_until_close(slow(5s));
    EXPECT_TRUE(d.closed);
}

}  // namespace
}  // namespace keel::it

namespace keel::it {
namespace {

// --ready-fd promises that the bus is fully up, signal handling included: a
// supervisor that stops (SIGTERM) or reloads (SIGHUP) a service the moment it is
// ready must get a drain or a reload, never the signal's default action.
TEST(Shutdown, SignalsRightOnReadinessAreHandled) {
    const int kRounds = scaled(30, 3);
    for (int i = 0; i < kRounds; ++i) {
        int p[2];
        ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
        Fd r(p[0]), w(p[1]);
        Process::Spec spec{{KEEL_BIN, "bus", "--listen", "127.0.0.1:" + std::to_string(free_port()),
                            "--socket", "none", "--ready-fd", "3"},
                           std::nullopt,
                           true,
                           ""};
        spec.fd3 = w.get();
        Process bus(spec);
        w.reset();
        pollfd pf{r.get(), POLLIN, 0};
        char c = 0;
        ASSERT_EQ(::poll(&pf, 1, static_cast<int>(slow(10s).count())), 1);
        ASSERT_EQ(::read(r.get(), &c, 1), 1) << bus.out();
        if (i % 3 == 1) {
            ASSERT_TRUE(bus.signal(SIGHUP));
        }
        ASSERT_TRUE(bus.signal(i % 3 == 2 ? SIGINT : SIGTERM));
        auto st = bus.wait_exit(slow(5s));
        ASSERT_TRUE(st);
        ASSERT_TRUE(st->exited_ok()) << "round " << i << ": " << st->describe() << "\n"
                                     << bus.out();
    }
}

}  // namespace
}  // namespace keel::it
