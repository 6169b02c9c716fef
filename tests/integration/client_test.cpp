// The C++ client (src/bus/client) against the real bus: reconnecting after the
// bus is killed and restarted on the same port (subscriptions restored,
// publishes made while away delivered), request/reply and its failures, flush,
// and auto-unsubscribe.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include "base/endpoint.h"
#include "base/sys.h"
#include "bus/client/client.h"
#include "integration/harness.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"

namespace keel::it {
namespace {

using bus::Client;
using bus::ClientEvent;

struct Received {
    std::string subject, data;
};

class ClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto l = loop::EventLoop::create();
        ASSERT_TRUE(l) << l.error().message();
        loop_ = std::move(l).value();
    }

    std::unique_ptr<Client> make_client(const BusProcess& bus, const std::string& name) {
        bus::ClientOptions o;
        o.servers = {*parse_endpoint("127.0.0.1:" + std::to_string(bus.port()))};
        o.name = name;
        o.reconnect_wait_min = std::chrono::milliseconds(20);
        o.reconnect_wait_max = std::chrono::milliseconds(200);
        auto c = std::make_unique<Client>(*loop_, o);
        c->on_event([this, name](ClientEvent e, std::string_view detail) {
            events_.push_back(name + ":" + bus::to_string(e) +
                              (detail.empty() ? "" : " " + std::string(detail)));
        });
        return c;
    }

    bool connect(Client& c) {
        c.connect();
        return run_until(
                   *loop_, [&] { return c.connected() || c.closed(); }, slow(5s)) &&
               c.connected();
    }

    bool flush(Client& c) {
        bool done = false;
        Status result;
        c.flush(slow(5s), [&](Status st) {
            result = st;
            done = true;
        });
        if (!run_until(
                *loop_, [&] { return done; }, slow(6s)))
            return false;
        return result.ok();
    }

    bool saw_event(std::string_view text) const {
        for (const auto& e : events_)
            if (e.find(text) != std::string::npos) return true;
        return false;
    }
    std::string all_events() const {
        std::string s;
        for (const auto& e : events_)
            s += e + "\n";
        return s;
    }

    std::unique_ptr<loop::EventLoop> loop_;
    std::vector<std::string> events_;
};

TEST_F(ClientTest, ReconnectsRestoresSubscriptionsAndReplaysBufferedPublishes) {
    BusProcess bus;
    auto c = make_client(bus, "survivor");
    ASSERT_TRUE(connect(*c)) << all_events();
    EXPECT_TRUE(saw_event("survivor:connected"));

    std::vector<Received> got;
    c->subscribe("r.>", [&](const bus::Message& m) {
        got.push_back({std::string(m.subject), std::string(m.data)});
    });
    ASSERT_TRUE(c->publish("r.before", "1").ok());
    ASSERT_TRUE(run_until(
        *loop_, [&] { return got.size() == 1; }, slow(5s)));

    // Kill -9: no goodbye, sockets reset by the kernel.
    ASSERT_TRUE(bus.signal(SIGKILL));
    auto st = bus.wait_exit(slow(5s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->signal, SIGKILL);
    ASSERT_TRUE(run_until(
        *loop_, [&] { return saw_event("survivor:disconnected"); }, slow(5s)))
        << all_events();
    EXPECT_FALSE(c->connected());

    // While away: publishes are buffered (well within the 8 MiB reconnect buffer).
    ASSERT_TRUE(c->publish("r.while.away", "2").ok());
    ASSERT_TRUE(c->publish("r.while.away", "3").ok());
    EXPECT_EQ(c->dropped(), 0u);
    // A reconnect attempt fails against the dead port before the bus is back.
    const size_t before = events_.size();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return events_.size() > before; }, slow(5s)));
    EXPECT_TRUE(events_.back().rfind("survivor:error", 0) == 0) << all_events();
    EXPECT_FALSE(c->connected());

    bus.restart();  // same port
    ASSERT_TRUE(run_until(
        *loop_, [&] { return saw_event("survivor:reconnected"); }, slow(10s)))
        << all_events();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return got.size() == 3; }, slow(5s)))
        << "buffered publishes not delivered after the reconnect; got " << got.size();
    EXPECT_EQ(got[1].subject, "r.while.away");
    EXPECT_EQ(got[1].data, "2");
    EXPECT_EQ(got[2].data, "3");

    // The subscription is live on the new bus for other publishers too.
    RawConn raw = RawConn::tcp(bus.port());
    raw.hello();
    ASSERT_TRUE(raw.send("PUB r.after 1\r\n4\r\n"));
    ASSERT_TRUE(raw.ping());
    ASSERT_TRUE(run_until(
        *loop_, [&] { return got.size() == 4; }, slow(5s)));
    EXPECT_EQ(got[3].subject, "r.after");
    auto stats = bus.stats();
    EXPECT_EQ(subscriptions_of(stats, "survivor"), 1) << stats.dump(2);
    c->close();
}

TEST_F(ClientTest, RequestReplyTimeoutAndNoResponders) {
    BusProcess bus;
    auto server = make_client(bus, "server");
    auto caller = make_client(bus, "caller");
    ASSERT_TRUE(connect(*server));
    ASSERT_TRUE(connect(*caller));

    server->subscribe("svc.add", [&](const bus::Message& m) {
        const auto sep = m.data.find('+');
        const int sum = std::stoi(std::string(m.data.substr(0, sep))) +
                        std::stoi(std::string(m.data.substr(sep + 1)));
        (void)server->publish(m.reply, std::to_string(sum));
    });
    int silent_calls = 0;
    server->subscribe("svc.silent", [&](const bus::Message&) { ++silent_calls; });
    ASSERT_TRUE(flush(*server));

    std::optional<Result<bus::OwnedMessage>> answer;
    caller->request("svc.add", "2+3", slow(5s),
                    [&](Result<bus::OwnedMessage> r) { answer = std::move(r); });
    ASSERT_TRUE(run_until(
        *loop_, [&] { return answer.has_value(); }, slow(6s)));
    ASSERT_TRUE(answer->ok()) << answer->error().message();
    EXPECT_EQ((*answer)->data, "5");

    // Many in flight at once, each answered to its own request.
    std::map<int, std::string> answers;
    for (int i = 0; i < 50; ++i) {
        caller->request("svc.add", std::to_string(i) + "+1000", slow(5s),
                        [&answers, i](Result<bus::OwnedMessage> r) {
                            answers[i] = r ? r->data : "error: " + r.error().message();
                        });
    }
    ASSERT_TRUE(run_until(
        *loop_, [&] { return answers.size() == 50; }, slow(6s)));
    for (const auto& [i, a] : answers)
        EXPECT_EQ(a, std::to_string(i + 1000));

    // A responder that never answers: the request times out.
    answer.reset();
    const auto t0 = Clock::now();
    caller->request("svc.silent", "?", Ms(200),
                    [&](Result<bus::OwnedMessage> r) { answer = std::move(r); });
    ASSERT_TRUE(run_until(
        *loop_, [&] { return answer.has_value(); }, slow(5s)));
    ASSERT_FALSE(answer->ok());
    EXPECT_EQ(answer->error().message(), "request timed out");
    EXPECT_GE(Clock::now() - t0, Ms(190));
    EXPECT_EQ(silent_calls, 1);

    // Nobody listening: the bus says so at once (status 503), long before the timeout.
    answer.reset();
    const auto t1 = Clock::now();
    caller->request("svc.nobody", "?", slow(5s),
                    [&](Result<bus::OwnedMessage> r) { answer = std::move(r); });
    ASSERT_TRUE(run_until(
        *loop_, [&] { return answer.has_value(); }, slow(5s)));
    ASSERT_FALSE(answer->ok());
    EXPECT_EQ(answer->error().message(), "no responders");
    EXPECT_LT(Clock::now() - t1, slow(2s));
}

TEST_F(ClientTest, FlushAndAutoUnsubscribe) {
    BusProcess bus;
    auto c = make_client(bus, "counter");
    ASSERT_TRUE(connect(*c));
    ASSERT_TRUE(flush(*c));

    int seen = 0;
    const uint64_t sid = c->subscribe("cnt", [&](const bus::Message&) { ++seen; });
    c->unsubscribe(sid, 3);
    ASSERT_TRUE(flush(*c));  // SUB and UNSUB are at the bus
    auto stats = bus.stats();
    EXPECT_EQ(subscriptions_of(stats, "counter"), 1);

    RawConn raw = RawConn::tcp(bus.port());
    raw.hello();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(raw.send("PUB cnt 1\r\nx\r\n"));
    ASSERT_TRUE(raw.ping());
    ASSERT_TRUE(flush(*c));  // everything the bus sent before the PONG has been handled
    EXPECT_EQ(seen, 3);
    // The bus forgot the subscription after the third message.
    stats = bus.wait_stats(
        [](const nlohmann::json& j) { return subscriptions_of(j, "counter") == 0; }, slow(5s));
    EXPECT_EQ(subscriptions_of(stats, "counter"), 0);

    // subscribe(max) does the same from the start.
    int seen2 = 0;
    c->subscribe(
        "cnt2", [&](const bus::Message&) { ++seen2; }, {}, 2);
    ASSERT_TRUE(flush(*c));
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(raw.send("PUB cnt2 1\r\ny\r\n"));
    ASSERT_TRUE(raw.ping());
    ASSERT_TRUE(flush(*c));
    EXPECT_EQ(seen2, 2);

    // A plain unsubscribe stops delivery at once.
    int seen3 = 0;
    const uint64_t sid3 = c->subscribe("cnt3", [&](const bus::Message&) { ++seen3; });
    ASSERT_TRUE(flush(*c));
    c->unsubscribe(sid3);
    ASSERT_TRUE(flush(*c));
    ASSERT_TRUE(raw.send("PUB cnt3 1\r\nz\r\n"));
    ASSERT_TRUE(raw.ping());
    ASSERT_TRUE(flush(*c));
    EXPECT_EQ(seen3, 0);

    // A payload over the bus's max_payload is refused locally.
    EXPECT_FALSE(c->publish("big", std::string(1024 * 1024 + 1, 'b')).ok());
    EXPECT_FALSE(c->publish("bad.*", "x").ok());

    // Flush fails once the connection is closed.
    c->close();
    bool done = false;
    Status result;
    c->flush(slow(1s), [&](Status st) {
        result = st;
        done = true;
    });
    EXPECT_TRUE(done);
    EXPECT_FALSE(result.ok());
}

TEST_F(ClientTest, ReconnectBufferIsBoundedAndCountsDrops) {
    BusProcess bus;
    bus::ClientOptions o;
    o.servers = {*parse_endpoint("127.0.0.1:" + std::to_string(bus.port()))};
    o.reconnect_wait_min = std::chrono::milliseconds(20);
    o.reconnect_wait_max = std::chrono::milliseconds(100);
    o.reconnect_buffer = 4096;
    Client c(*loop_, o);
    bool reconnected = false, disconnected = false;
    c.on_event([&](ClientEvent e, std::string_view) {
        if (e == ClientEvent::kDisconnected) disconnected = true;
        if (e == ClientEvent::kReconnected) reconnected = true;
    });
    ASSERT_TRUE(connect(c));
    int got = 0;
    c.subscribe("buf", [&](const bus::Message&) { ++got; });
    ASSERT_TRUE(flush(c));

    ASSERT_TRUE(bus.signal(SIGKILL));
    ASSERT_TRUE(bus.wait_exit(slow(5s)));
    ASSERT_TRUE(run_until(
        *loop_, [&] { return disconnected; }, slow(5s)));
    for (int i = 0; i < 10; ++i)
        ASSERT_TRUE(c.publish("buf", std::string(1000, 'b')).ok());
    EXPECT_GT(c.dropped(), 0u) << "10 KB buffered in a 4 KiB reconnect buffer";
    EXPECT_LT(c.dropped(), 10u);

    bus.restart();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return reconnected; }, slow(10s)));
    // The replayed publishes precede the flush's PING, so their echoes precede its PONG.
    ASSERT_TRUE(flush(c));
    EXPECT_EQ(got, 10 - static_cast<int>(c.dropped()));
}

// A daemon may start before the bus: by default the client keeps trying until
// the bus appears. A CLI tool (retry_on_failed_connect = false) gives up after
// one pass over its servers instead.
TEST_F(ClientTest, FirstConnectBeforeTheBusExists) {
    const uint16_t port = free_port();
    bus::ClientOptions o;
    o.servers = {*parse_endpoint("127.0.0.1:" + std::to_string(port))};
    o.reconnect_wait_min = std::chrono::milliseconds(20);
    o.reconnect_wait_max = std::chrono::milliseconds(100);

    bus::ClientOptions once = o;
    once.retry_on_failed_connect = false;
    Client quitter(*loop_, once);
    std::string quit_reason;
    quitter.on_event([&](ClientEvent e, std::string_view detail) {
        if (e == ClientEvent::kClosed) quit_reason = std::string(detail);
    });
    quitter.connect();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return quitter.closed(); }, slow(5s)));
    EXPECT_NE(quit_reason.find("Connection refused"), std::string::npos) << quit_reason;

    Client patient(*loop_, o);
    int failures = 0;
    patient.on_event([&](ClientEvent e, std::string_view) {
        if (e == ClientEvent::kError) ++failures;
    });
    patient.connect();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return failures >= 2; }, slow(5s)));
    EXPECT_FALSE(patient.closed());

    BusProcess::Options bo;
    bo.port = port;
    BusProcess bus(bo);
    ASSERT_TRUE(run_until(
        *loop_, [&] { return patient.connected(); }, slow(5s)));
    ASSERT_TRUE(flush(patient));
}

// A handler may close its own client while more messages of the same read are
// still to be parsed (ASan catches a parser freed under its own feet).
TEST_F(ClientTest, HandlerMayCloseItsClient) {
    BusProcess bus;
    auto sub = make_client(bus, "sub");
    auto pub = make_client(bus, "pub");
    ASSERT_TRUE(connect(*sub));
    ASSERT_TRUE(connect(*pub));
    int seen = 0;
    sub->subscribe("close.me", [&](const bus::Message&) {
        ++seen;
        sub->close();
    });
    ASSERT_TRUE(flush(*sub));
    for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(pub->publish("close.me", "x"));
    ASSERT_TRUE(flush(*pub));
    ASSERT_TRUE(run_until(
        *loop_, [&] { return sub->closed(); }, slow(5s)));
    EXPECT_EQ(seen, 1);
    EXPECT_TRUE(saw_event("sub:closed"));
}

// A server that takes the handshake and then reads nothing, so the client's
// publishes pile up unsent; closing it makes the client fail over to the real bus.
class StuckServer {
  public:
    StuckServer() {
        auto l = listen_on(*parse_endpoint("127.0.0.1:0"));
        if (!l) throw std::runtime_error(l.error().message());
        listener_ = std::move(l).value();
        port_ = *local_port(listener_.get());
    }
    uint16_t port() const { return port_; }
    // Accepts the client and answers its CONNECT + PING; the event loop must run meanwhile.
    bool accept_and_greet(loop::EventLoop& loop) {
        bool done = false;
        loop::FdWatch w;
        (void)w.start(loop, listener_.get(), EPOLLIN, [&](uint32_t) {
            auto c = sys::accept(listener_.get(), nullptr, nullptr);
            if (!c || !c->valid()) return;
            conn_ = std::move(c).value();
            const std::string info =
                "INFO {\"server_id\":\"stuck\",\"headers\":true,\"max_payload\":1048576} \r\n";
            (void)sys::write(conn_.get(), info.data(), info.size());
        });
        loop::FdWatch r;
        std::string got;
        return run_until(
            loop,
            [&] {
                if (conn_.valid() && !r.active())
                    (void)r.start(loop, conn_.get(), EPOLLIN, [&](uint32_t) {
                        char buf[4096];
                        auto n = sys::read(conn_.get(), buf, sizeof buf);
                        if (n && *n > 0) got.append(buf, *n);
                        if (!done && got.find("PING\r\n") != std::string::npos) {
                            (void)sys::write(conn_.get(), "PONG\r\n", 6);
                            done = true;
                        }
                    });
                if (done) r.stop();
                return done;
            },
            slow(5s));
    }
    void reset() {
        linger lg{1, 0};  // RST: nothing buffered reaches anyone
        ::setsockopt(conn_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        conn_.reset();
    }

  private:
    Fd listener_, conn_;
    uint16_t port_ = 0;
};

// Publishes still queued in the client when its connection dies are sent over
// the next connection, not silently lost.
TEST_F(ClientTest, UnsentPublishesSurviveALostConnection) {
    BusProcess bus;
    StuckServer stuck;
    bus::ClientOptions o;
    o.servers = {*parse_endpoint("127.0.0.1:" + std::to_string(stuck.port())),
                 *parse_endpoint("127.0.0.1:" + std::to_string(bus.port()))};
    o.reconnect_wait_min = std::chrono::milliseconds(10);
    o.reconnect_buffer = 64 * 1024 * 1024;
    Client pub(*loop_, o);
    pub.connect();
    ASSERT_TRUE(stuck.accept_and_greet(*loop_));
    ASSERT_TRUE(run_until(
        *loop_, [&] { return pub.connected(); }, slow(5s)));

    auto sub = make_client(bus, "sub");
    ASSERT_TRUE(connect(*sub));
    std::vector<int> got;
    sub->subscribe("seq",
                   [&](const bus::Message& m) { got.push_back(std::stoi(std::string(m.data))); });
    ASSERT_TRUE(flush(*sub));

    // Publish until the stuck server's socket is full and a backlog stays in the client.
    const std::string pad(200, 'p');
    int n = 0;
    while (pub.pending_bytes() < 2 * 1024 * 1024) {
        ASSERT_TRUE(pub.publish("seq", std::to_string(n++) + " " + pad));
        if (n % 1000 == 0) (void)loop_->run_once(Ms(0));
        ASSERT_LT(n, 2000000) << "the stuck server's socket never filled";
    }
    stuck.reset();
    ASSERT_TRUE(run_until(
        *loop_, [&] { return !got.empty() && got.back() == n - 1; }, slow(10s)))
        << "last received " << (got.empty() ? -1 : got.back()) << " of " << n - 1;
    // What reached the dead socket is gone; everything after it arrives, once and in order.
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end());
    EXPECT_EQ(static_cast<size_t>(got.back() - got.front() + 1), got.size());
    EXPECT_LE(pub.dropped(), 1u);
}

}  // namespace
}  // namespace keel::it
