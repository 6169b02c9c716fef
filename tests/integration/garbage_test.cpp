// Garbage on the wire: random bytes, binary junk, endless lines, commands cut
// short. Every bad client gets one of the closing -ERRs (or is closed silently,
// as nats-server does for malformed arguments); the bus stays up, and a
// well-behaved client connected the whole time never notices.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

// The -ERRs a garbage-sending client may see. All of them close the connection
// except the subject ones, which random bytes can reach through a well-formed SUB.
bool allowed_err(const std::string& text) {
    static const char* const kAllowed[] = {
        "'Unknown Protocol Operation'", "'maximum control line exceeded'",
        "'Maximum Payload Violation'", "'Invalid Subject'", "'Invalid Publish Subject'"};
    for (const char* a : kAllowed)
        if (text == a) return true;
    return false;
}

// Every "-ERR ..." line in what the bus sent back.
std::vector<std::string> errs_in(const std::string& data) {
    std::vector<std::string> out;
    for (size_t at = data.find("-ERR "); at != std::string::npos; at = data.find("-ERR ", at + 1)) {
        size_t end = data.find("\r\n", at);
        out.push_back(
            data.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5));
    }
    return out;
}

// A client that does everything right, for the whole test.
class GoodClient {
  public:
    explicit GoodClient(uint16_t port) : pub_(RawConn::tcp(port)), sub_(RawConn::tcp(port)) {
        pub_.hello(kQuiet);
        sub_.hello(kQuiet);
        EXPECT_TRUE(sub_.send("SUB good.> 1\r\n"));
        EXPECT_TRUE(sub_.ping());
    }
    // PING/PONG on both connections, and one message from one to the other.
    void check() {
        ++seq_;
        const std::string body = "m" + std::to_string(seq_);
        ASSERT_TRUE(pub_.ping()) << "the publisher lost its connection";
        ASSERT_TRUE(
            pub_.send("PUB good.x " + std::to_string(body.size()) + "\r\n" + body + "\r\n"));
        std::vector<Frame> got;
        ASSERT_TRUE(pub_.ping());  // the bus has routed it
        ASSERT_TRUE(sub_.ping(slow(5s), &got)) << "the subscriber lost its connection";
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].op, "MSG");
        EXPECT_EQ(got[0].payload, body);
    }

  private:
    RawConn pub_, sub_;
    int seq_ = 0;
};

struct Outcome {
    std::string data;
    bool closed;
};

// Sends `bytes`, then (if `end_input`) half-closes so a parser still waiting for
// more cannot keep the connection open; returns what came back until the close.
Outcome throw_garbage(uint16_t port, std::string_view bytes, bool end_input) {
    RawConn c = RawConn::tcp(port);
    c.send(bytes);  // may fail part-way once the bus has closed: that is fine
    if (end_input) c.shutdown_write();
    auto d = c.read_all_until_close(slow(5s));
    return {std::move(d.data), d.closed};
}

void expect_only_allowed_errs(const Outcome& o, const std::string& what) {
    EXPECT_TRUE(o.closed) << what << ": not closed";
    for (const auto& e : errs_in(o.data))
        EXPECT_TRUE(allowed_err(e)) << what << ": unexpected -ERR " << e;
}

TEST(Garbage, RandomBytesNeverHurtOtherClients) {
    BusProcess bus;
    GoodClient good(bus.port());
    good.check();

    const unsigned seed = 20240611;
    std::mt19937 rng(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    const int iterations = scaled(2000, 10);
    std::map<std::string, int> outcomes;
    for (int i = 0; i < iterations; ++i) {
        std::uniform_int_distribution<size_t> len(1, 16 * 1024);
        std::string junk(len(rng), '\0');
        for (auto& ch : junk)
            ch = static_cast<char>(rng() & 0xff);
        // Every other one starts like a real command, to reach deeper parser states.
        static const char* const kPrefixes[] = {"PUB ",  "SUB ", "UNSUB ", "CONNECT ",
                                                "HPUB ", "PING", "MSG "};
        if (i % 2) junk = kPrefixes[(i / 2) % 7] + junk;
        Outcome o = throw_garbage(bus.port(), junk, /*end_input=*/true);
        expect_only_allowed_errs(o, "random #" + std::to_string(i));
        auto e = errs_in(o.data);
        ++outcomes[e.empty() ? std::string("closed silently") : e.back()];
        if (i % 25 == 0) good.check();
        if (::testing::Test::HasFailure()) break;
    }
    good.check();
    EXPECT_TRUE(bus.running());
    for (const auto& [what, n] : outcomes)
        std::printf("  %4d x %s\n", n, what.c_str());
}

TEST(Garbage, SpecificJunk) {
    BusProcess bus;
    GoodClient good(bus.port());

    // Binary junk: not a verb.
    Outcome o =
        throw_garbage(bus.port(), std::string("\x00\xff\xfe\x01\x02garbage\r\n", 14), false);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.data, "-ERR 'Unknown Protocol Operation'\r\n");
    o = throw_garbage(bus.port(), "HELLO world\r\n", false);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.data, "-ERR 'Unknown Protocol Operation'\r\n");
    good.check();

    // Huge lines without a newline: the bus stops at the limit (4096), it does not
    // wait for the end of the line or buffer it.
    for (const char* verb : {"PUB ", "SUB ", "PUB foo "}) {
        o = throw_garbage(bus.port(), verb + std::string(64 * 1024, 'a'), false);
        EXPECT_TRUE(o.closed) << verb;
        EXPECT_EQ(o.data, "-ERR 'maximum control line exceeded'\r\n") << verb;
    }
    // The same, a byte short of the limit plus a second line split in small writes.
    {
        RawConn c = RawConn::tcp(bus.port());
        c.hello(kQuiet);
        for (int i = 0; i < 64; ++i)
            c.send("SUB " + std::string(100, 'x'));
        auto d = c.read_all_until_close(slow(5s));
        EXPECT_TRUE(d.closed);
        EXPECT_EQ(d.data, "-ERR 'maximum control line exceeded'\r\n");
    }
    good.check();

    // Partial commands, then the client goes away: nothing to answer, nothing to leak.
    const std::string partials[] = {
        "PUB foo 10\r\nabc",      "SUB foo", "CONNECT {\"verbose\":", "PU",
        "HPUB foo 10 20\r\nNATS", "UNSUB",   "PUB good.x 5\r\nhel"};
    for (const auto& p : partials) {
        RawConn c = RawConn::tcp(bus.port());
        c.send(p);
        c.close();
    }
    // Malformed arguments: closed without an -ERR, like nats-server.
    for (const char* bad : {"PUB\r\n", "PUB foo bar baz qux 5\r\n", "PUB foo -1\r\n", "SUB\r\n",
                            "UNSUB\r\n", "PUB foo notanumber\r\n"}) {
        o = throw_garbage(bus.port(), std::string("CONNECT ") + kQuiet + "\r\n" + bad, false);
        EXPECT_TRUE(o.closed) << bad;
        for (const auto& e : errs_in(o.data))
            EXPECT_TRUE(allowed_err(e)) << bad << ": " << e;
    }
    good.check();
    // Only the good client's two connections remain.
    auto stats = bus.wait_stats([](const nlohmann::json& j) { return client_connections(j) == 2; },
                                slow(5s));
    EXPECT_EQ(client_connections(stats), 2) << stats.dump(2);
    // None of the cut-off "PUB good.x" reached the subscriber: good.check() asserts
    // it saw exactly its own message each time.
    good.check();
}

}  // namespace
}  // namespace keel::it
