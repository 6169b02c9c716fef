// The bus under hostile clients, in figures: connections that never send CONNECT,
// ten thousand connections each sending one malformed command, and a PUB whose
// announced size is over the limit with its body really sent. What they leave
// behind is read from /proc/PID/fd (open fds) and /proc/PID/status (RSS, and the
// peak since a reset through /proc/PID/clear_refs). RSS bounds are asserted in the
// release build only: sanitizers add shadow memory and quarantine of their own.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";
constexpr long kRssSlackKib = 1024;

// The test process needs an fd per connection (the bus raises its own limit).
void ensure_fd_limit(rlim_t want) {
    rlimit rl{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = std::min(want, rl.rlim_max);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
    ASSERT_GE(rl.rlim_cur, want) << "RLIMIT_NOFILE hard limit too low for this test";
}

long open_fds(pid_t pid) {
    std::error_code ec;
    long n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return ec ? -1 : n;
}

// A "Vm...:" figure of /proc/PID/status in KiB, or -1.
long status_kib(pid_t pid, std::string_view field) {
    const std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
    const size_t at = status.find(std::string(field) + ":");
    return at == std::string::npos
               ? -1
               : std::strtol(status.c_str() + at + field.size() + 1, nullptr, 10);
}

// Makes VmHWM (the peak RSS) start again from the current RSS.
void reset_peak_rss(pid_t pid) {
    std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/clear_refs").c_str(), "w");
    ASSERT_NE(f, nullptr) << "cannot open /proc/" << pid << "/clear_refs";
    std::fputs("5", f);
    ASSERT_EQ(std::fclose(f), 0) << "cannot reset the peak RSS of " << pid;
}

// Polls `value` until it is at most `bound` or the timeout passes; returns the last value.
long wait_at_most(const std::function<long()>& value, long bound, Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    long v = value();
    while (v > bound && Clock::now() < deadline) {
        ::poll(nullptr, 0, 20);
        v = value();
    }
    return v;
}

// The bus's RSS once it is back within the slack of `base` (at most 5 s after a
// storm); under sanitizers, whose own allocator keeps freed memory, at once.
long rss_after_storm(const BusProcess& bus, long base) {
    if (kSanitized) return bus.rss_kib();
    return wait_at_most([&] { return bus.rss_kib(); }, base + kRssSlackKib, 5s);
}

// A client connected with CONNECT for the whole test. Its round trips also order
// the bus's work: after two of them, connections closed before the first are reaped.
struct Keeper {
    explicit Keeper(uint16_t port) : conn(RawConn::tcp(port)) {
        conn.hello(kQuiet);
        EXPECT_TRUE(conn.ping());
    }
    RawConn conn;
};

// What a malformed command may draw before the bus closes: +OK for whatever well-formed
// commands came first (a client without CONNECT is verbose), an -ERR for a bad
// subject in one of them (the connection stays for the next), and one of the closing -ERRs.
bool acceptable_answer(std::string_view data) {
    static const std::string_view kLines[] = {
        "+OK",
        "-ERR 'Unknown Protocol Operation'",
        "-ERR 'maximum control line exceeded'",
        "-ERR 'Maximum Payload Violation'",
        "-ERR 'Invalid Subject'",
        "-ERR 'Invalid Publish Subject'",
    };
    while (!data.empty()) {
        const size_t end = data.find("\r\n");
        if (end == std::string_view::npos) return false;
        if (std::find(std::begin(kLines), std::end(kLines), data.substr(0, end)) ==
            std::end(kLines))
            return false;
        data.remove_prefix(end + 2);
    }
    return true;
}

// nats-server's TestShouldFail set (server/parser_test.go), as the parser's unit
// test has it; each is refused on these bytes alone, before or after CONNECT.
const char* const kShouldFail[] = {
    "xxx",
    "Px",
    "PIx",
    "PINx",
    " PING",
    "POx",
    "PONx",
    "+x",
    "+Ox",
    "-x",
    "-Ex",
    "-ERx",
    "-ERRx",
    "Cx",
    "COx",
    "CONx",
    "CONNx",
    "CONNEx",
    "CONNECx",
    "PUx",
    "PUB foo\r\n",
    "PUB  \r\n",
    "PUB foo bar       \r\n",
    "PUB foo 2\r\nok \r\n",
    "PUB foo 2\r\nok\r \n",
    "Sx",
    "SUx",
    "SUB\r\n",
    "SUB  \r\n",
    "SUB foo\r\n",
    "SUB foo bar baz 22\r\n",
    "Ux",
    "UNx",
    "UNSx",
    "UNSUx",
    "UNSUBx",
    "UNSUBUNSUB 1\r\n",
    "UNSUB_2\r\n",
    "UNSUB_UNSUB_UNSUB 2\r\n",
    "UNSUB_\t2\r\n",
    "UNSUB\r\n",
    "UNSUB \r\n",
    "UNSUB          \t       \r\n",
    "Ix",
    "INx",
    "INFx",
    "\r\n",
    "HPUB foo 20 12\r\n",
    "HPUB foo 12\r\n",
    "PUB foo -1\r\n",
    "PUB foo 1234567890\r\n",
    "MSG foo 1 2\r\nhi\r\n",
};

TEST(Hostile, SilentConnectionsAreClosedAndTheirMemoryGoesBack) {
    const int kConns = scaled(2000);
    ensure_fd_limit(kConns + 200);
    BusProcess bus;  // the defaults: no users, and the 2 s connect timeout
    Keeper keeper(bus.port());
    ASSERT_TRUE(keeper.conn.ping());
    const long base_fds = open_fds(bus.pid());
    const long base_rss = bus.rss_kib();
    ASSERT_GT(base_fds, 0);
    ASSERT_GT(base_rss, 0);

    // Each connects, takes the INFO, and says nothing more.
    const auto t0 = Clock::now();
    std::vector<RawConn> silent;
    silent.reserve(kConns);
    for (int i = 0; i < kConns; ++i)
        silent.push_back(RawConn::tcp(bus.port()));
    const auto opened = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    const long open_rss = bus.rss_kib();
    // All of them at once only if none has reached its timeout yet (a few hundred ms
    // are usual; a starved machine may take longer).
    const bool all_open = opened < Ms(1500);
    if (all_open) {
        EXPECT_EQ(open_fds(bus.pid()), base_fds + kConns);
    }

    // A quarter give up by themselves, half of those with an RST; the bus closes
    // every other one 2 s after it accepted it.
    for (int i = 1; i < kConns; i += 4) {
        if (i % 8 == 1) silent[i].set_linger_zero();
        silent[i].close();
    }
    auto first = silent.front().read_all_until_close(slow(10s));
    const auto first_closed = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    EXPECT_TRUE(first.closed);
    EXPECT_EQ(first.data, "-ERR 'Authentication Timeout'\r\n");
    EXPECT_GE(first_closed.count(), 1900) << "closed before the 2 s connect timeout";
    for (int i = 2; i < kConns; ++i) {
        if (i % 4 == 1) continue;
        auto d = silent[i].read_all_until_close(slow(10s));
        ASSERT_TRUE(d.closed) << "connection " << i << " still open";
        ASSERT_EQ(d.data, "-ERR 'Authentication Timeout'\r\n") << "connection " << i;
    }
    const auto all_closed = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    EXPECT_LT(all_closed, opened + slow(4s));
    silent.clear();

    EXPECT_TRUE(keeper.conn.ping()) << "the connected client was dropped too";
    const long fds = wait_at_most([&] { return open_fds(bus.pid()); }, base_fds, slow(5s));
    EXPECT_EQ(fds, base_fds);
    const long after_rss = rss_after_storm(bus, base_rss);
    std::printf(
        "  %d silent connections: opened in %lld ms, all closed after %lld ms; RSS %ld KiB "
        "before, %ld KiB with them open (%ld B each), %ld KiB after\n",
        kConns, static_cast<long long>(opened.count()), static_cast<long long>(all_closed.count()),
        base_rss, open_rss, (open_rss - base_rss) * 1024 / kConns, after_rss);
    if (!kSanitized) {
        EXPECT_LE(after_rss, base_rss + kRssSlackKib)
            << "RSS not given back 5 s after the storm: " << base_rss << " KiB before";
        if (all_open) {
            // It was 5 KiB each (a 4 KiB output buffer kept after INFO).
            EXPECT_LT((open_rss - base_rss) * 1024 / kConns, 2048)
                << "RSS per silent connection: " << base_rss << " -> " << open_rss << " KiB";
        }
    }
}

TEST(Hostile, ConnectTimeoutIsConfigurable) {
    {
        BusProcess bus({"--connect-timeout", "300ms"});
        RawConn good = RawConn::tcp(bus.port());
        good.hello(kQuiet);
        const auto t0 = Clock::now();
        RawConn silent = RawConn::tcp(bus.port());
        // Commands without CONNECT are served when there are no users, as in
        // nats-server, but do not stand in for it.
        RawConn pinger = RawConn::tcp(bus.port());
        ASSERT_TRUE(pinger.send("PING\r\n"));
        EXPECT_EQ(pinger.read_line(slow(2s)), "PONG");
        auto d = silent.read_all_until_close(slow(5s));
        const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
        EXPECT_TRUE(d.closed);
        EXPECT_EQ(d.data, "-ERR 'Authentication Timeout'\r\n");
        EXPECT_GE(took.count(), 250);
        EXPECT_LT(took, slow(2s));
        d = pinger.read_all_until_close(slow(5s));
        EXPECT_TRUE(d.closed);
        EXPECT_EQ(d.data, "-ERR 'Authentication Timeout'\r\n");
        EXPECT_TRUE(good.ping()) << "a client that sent CONNECT in time was timed out";
    }
    {
        // 0: no timeout, nats-server's behaviour without users.
        BusProcess bus({"--connect-timeout", "0"});
        RawConn silent = RawConn::tcp(bus.port());
        auto d = silent.read_all_until_close(2500ms);
        EXPECT_FALSE(d.closed) << "closed with --connect-timeout 0: " << d.data;
        EXPECT_TRUE(silent.ping());
    }
}

// One connection's misbehaviour: a TestShouldFail command (after a CONNECT every
// other time) or random bytes, possibly behind a verb, then end of input.
std::string malformed(int i, std::mt19937& rng) {
    const size_t n_fail = std::size(kShouldFail);
    if (i % 2 == 0) {
        const std::string bad = kShouldFail[(i / 2) % n_fail];
        return (i / 2 / n_fail) % 2 ? std::string("CONNECT ") + kQuiet + "\r\n" + bad : bad;
    }
    static const char* const kPrefixes[] = {"", "PUB ", "SUB ", "UNSUB ", "CONNECT ", "HPUB "};
    std::string junk(std::uniform_int_distribution<size_t>(1, 512)(rng), '\0');
    for (auto& ch : junk)
        ch = static_cast<char>(rng() & 0xff);
    return kPrefixes[(i / 2) % std::size(kPrefixes)] + junk;
}

TEST(Hostile, TenThousandMalformedConnectionsLeaveNothingBehind) {
    const int kConns = scaled(10000, 10);
    const int kBatch = 50;
    ensure_fd_limit(kBatch + 200);
    BusProcess bus;
    Keeper keeper(bus.port());
    ASSERT_TRUE(keeper.conn.ping());
    const long base_fds = open_fds(bus.pid());
    const long base_rss = bus.rss_kib();

    // A client connected throughout, PINGing as fast as it is answered.
    RawConn pinger = RawConn::tcp(bus.port());
    pinger.hello(kQuiet);
    std::atomic<bool> stop{false};
    std::atomic<int> pongs{0}, lost{0};
    std::thread ping_thread([&] {
        while (!stop) {
            if (pinger.ping(slow(5s)))
                ++pongs;
            else
                ++lost;
            if (lost) return;
        }
    });

    const unsigned seed = 20261207;
    std::mt19937 rng(seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto t0 = Clock::now();
    int not_closed = 0, bad_err = 0;
    std::string example;
    for (int start = 0; start < kConns; start += kBatch) {
        std::vector<RawConn> batch;
        const int n = std::min(kBatch, kConns - start);
        for (int k = 0; k < n; ++k) {
            batch.push_back(RawConn::tcp(bus.port()));
            batch.back().send(malformed(start + k, rng));  // may fail once the bus has closed
            batch.back().shutdown_write();
        }
        for (auto& c : batch) {
            auto d = c.read_all_until_close(slow(5s));
            not_closed += d.closed ? 0 : 1;
            if (!acceptable_answer(d.data)) {
                ++bad_err;
                example = d.data;
            }
        }
    }
    const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
    stop = true;
    ping_thread.join();
    EXPECT_EQ(not_closed, 0) << "connections the bus left open";
    EXPECT_EQ(bad_err, 0) << "unexpected answer, e.g. " << example;
    EXPECT_EQ(lost, 0) << "a PING of the client connected throughout went unanswered";
    EXPECT_GT(pongs, 0);
    EXPECT_TRUE(keeper.conn.ping());

    const long fds = wait_at_most([&] { return open_fds(bus.pid()); }, base_fds + 1, slow(5s));
    EXPECT_EQ(fds, base_fds + 1) << "open fds: the baseline plus the pinger's";
    const long after_rss = rss_after_storm(bus, base_rss);
    std::printf(
        "  %d malformed connections in %lld ms, %d PINGs answered meanwhile; fds %ld -> "
        "%ld (+1: the pinger); RSS %ld KiB -> %ld KiB\n",
        kConns, static_cast<long long>(took.count()), pongs.load(), base_fds, fds, base_rss,
        after_rss);
    if (!kSanitized) {
        EXPECT_LE(after_rss, base_rss + kRssSlackKib);
    }
}

TEST(Hostile, OversizedPublishIsRefusedWithoutBufferingItsBody) {
    BusProcess bus;  // max_payload 1 MiB
    Keeper keeper(bus.port());
    RawConn sub = RawConn::tcp(bus.port());
    sub.hello(kQuiet);
    ASSERT_TRUE(sub.send("SUB big 1\r\n"));
    ASSERT_TRUE(sub.ping());

    const size_t kBody = 2 * 1024 * 1024;
    const std::string body(kBody, 'b');
    for (const std::string line : {"PUB big 2097152\r\n", "HPUB big 12 2097152\r\n"}) {
        SCOPED_TRACE(line);
        RawConn c = RawConn::tcp(bus.port());
        c.hello(R"({"verbose":false,"pedantic":false,"headers":true})");
        reset_peak_rss(bus.pid());
        const long base_rss = bus.rss_kib();

        // The control line, and straight after it the whole body, as a client that
        // ignores the announced max_payload would; the bus answers meanwhile.
        const auto t0 = Clock::now();
        std::atomic<size_t> body_sent{0};
        std::thread sender([&] {
            if (!c.send(line)) return;
            std::string_view rest = body;
            const auto deadline = Clock::now() + slow(5s);
            while (!rest.empty() && Clock::now() < deadline) {
                ssize_t n = ::send(c.fd(), rest.data(), rest.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    rest.remove_prefix(static_cast<size_t>(n));
                    body_sent += static_cast<size_t>(n);
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    return;  // the bus closed the connection
                } else {
                    pollfd p{c.fd(), POLLOUT, 0};
                    ::poll(&p, 1, 10);
                }
            }
        });
        auto d = c.read_all_until_close(slow(5s));
        const auto took = std::chrono::duration_cast<Ms>(Clock::now() - t0);
        sender.join();
        const long peak = status_kib(bus.pid(), "VmHWM");
        EXPECT_TRUE(d.closed);
        EXPECT_EQ(d.data, "-ERR 'Maximum Payload Violation'\r\n");
        EXPECT_LT(took, slow(100ms)) << "closed " << took.count() << " ms after the PUB line";
        EXPECT_GT(body_sent, 0u) << "no byte of the body was sent";
        std::printf(
            "  %.*s: closed after %lld ms, %zu body bytes sent; bus RSS %ld KiB, peak "
            "since the PUB %ld KiB\n",
            static_cast<int>(line.size() - 2), line.data(), static_cast<long long>(took.count()),
            body_sent.load(), base_rss, peak);
        if (!kSanitized) {
            EXPECT_LT(peak - base_rss, kRssSlackKib) << "the body was buffered: peak RSS " << peak
                                                     << " KiB against " << base_rss << " KiB";
        }
    }
    // Nothing reached the subscriber, and the bus serves on.
    std::vector<Frame> got;
    EXPECT_TRUE(sub.ping(slow(5s), &got));
    EXPECT_TRUE(got.empty()) << got.size() << " messages reached the subscriber";
    EXPECT_TRUE(keeper.conn.ping());
}

}  // namespace
}  // namespace keel::it
