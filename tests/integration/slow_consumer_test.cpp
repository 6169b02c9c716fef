// Slow consumer: a subscriber that stops reading is cut off once its backlog
// passes --max-pending (without an -ERR, as nats-server does), while the
// publisher and a subscriber that keeps up are not affected, and the bus's
// memory stays bounded by the limit rather than by the traffic.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

TEST(SlowConsumer, IsDroppedWhileFastSubscriberAndPublisherCarryOn) {
    BusProcess bus({"--max-pending", "1MiB"});
    // Not scaled down under sanitizers: the kernel alone buffers up to ~4 MiB for
    // the slow subscriber, and the traffic must be well past that.
    const int kMessages = 20000;
    const size_t kSize = 1024;
    const long idle_rss = bus.rss_kib();

    // The slow one never reads; a small receive buffer makes the kernel hold little
    // of the backlog, so the bus's own queue has to take it.
    ConnOptions small;
    small.rcvbuf = 4096;
    RawConn slow_sub = RawConn::tcp(bus.port(), small);
    slow_sub.hello(R"({"verbose":false,"pedantic":false,"name":"slow"})");
    ASSERT_TRUE(slow_sub.send("SUB data 1\r\n"));
    ASSERT_TRUE(slow_sub.ping());

    RawConn fast_sub = RawConn::tcp(bus.port());
    fast_sub.hello(R"({"verbose":false,"pedantic":false,"name":"fast"})");
    ASSERT_TRUE(fast_sub.send("SUB data 7\r\n"));
    ASSERT_TRUE(fast_sub.ping());

    RawConn pub = RawConn::tcp(bus.port());
    pub.hello(R"({"verbose":false,"pedantic":false,"name":"pub"})");

    // The fast subscriber reads on its own thread and checks the order.
    std::atomic<int> received{0};
    std::atomic<bool> fast_ok{true};
    std::string fast_problem;
    std::mutex mu;
    std::condition_variable progress;
    auto notify = [&] {
        std::lock_guard lock(mu);
        progress.notify_all();
    };
    std::thread reader([&] {
        for (int i = 0; i < kMessages; ++i) {
            auto f = fast_sub.read_frame(slow(20s));
            if (!f || f->op != "MSG" || f->sid != "7" || f->payload.size() != kSize ||
                f->payload.compare(0, 10, std::to_string(1000000000 + i)) != 0) {
                fast_problem = !f ? (fast_sub.closed() ? "connection closed" : "timed out")
                                  : "message " + std::to_string(i) + " wrong: " + f->line + " " +
                                        f->payload.substr(0, 10);
                fast_ok = false;
                notify();
                return;
            }
            received.store(i + 1, std::memory_order_release);
            if (i % 32 == 31) notify();
        }
        notify();
    });

    // The publisher goes as fast as the fast subscriber reads, never more than
    // 512 KiB ahead of it: that keeps a merely descheduled fast reader under the
    // 1 MiB limit (a reader that falls further behind *is* a slow consumer). The
    // slow subscriber gets everything too, and never reads.
    const int kWindow = static_cast<int>(512 * 1024 / (kSize + 32));
    long max_rss = idle_rss;
    std::string batch;
    int sent = 0;
    while (sent < kMessages && fast_ok) {
        batch.clear();
        for (int k = 0; k < 64 && sent < kMessages; ++k, ++sent) {
            std::string body = std::to_string(1000000000 + sent);
            body.resize(kSize, 'x');
            batch += "PUB data 1024\r\n" + body + "\r\n";
        }
        ASSERT_TRUE(pub.send(batch))
            << "the publisher was disconnected after " << sent << " messages";
        std::unique_lock lock(mu);
        progress.wait_for(lock, slow(20s), [&] {
            return !fast_ok || sent - received.load(std::memory_order_acquire) <= kWindow;
        });
        lock.unlock();
        if ((sent / 64) % 16 == 0) max_rss = std::max(max_rss, bus.rss_kib());
    }
    reader.join();
    ASSERT_TRUE(fast_ok) << "fast subscriber: " << fast_problem;
    EXPECT_EQ(received.load(), kMessages);

    // The publisher is still connected and was never told anything but PONG.
    std::vector<Frame> pub_frames;
    EXPECT_TRUE(pub.ping(slow(5s), &pub_frames));
    EXPECT_TRUE(pub_frames.empty()) << pub_frames.front().line;

    // The slow one was closed, without an -ERR: what it finds in its socket is
    // INFO's reply (PONG) and messages, then the end.
    auto d = slow_sub.read_all_until_close(slow(10s));
    EXPECT_TRUE(d.closed) << "the slow consumer is still connected";
    EXPECT_EQ(d.data.find("-ERR"), std::string::npos);
    EXPECT_LT(d.data.size(), size_t(kMessages) * kSize / 2)
        << "the slow consumer got most messages after all";

    // `keel bus stats` reports it.
    CliResult r = run_cli({"bus", "stats", "--json", "--server", bus.url()});
    ASSERT_EQ(r.code, 0) << r.describe();
    auto stats = nlohmann::json::parse(r.out);
    EXPECT_GE(stats.at("slow_consumers").get<int>(), 1);
    EXPECT_GE(stats.at("in_msgs").get<int>(), kMessages);
    // Its session is gone (nats-server's slow-consumer leak test): only the
    // publisher, the fast subscriber and the stats client remain.
    EXPECT_EQ(stats.at("connections").get<int>(), 3) << stats.dump(2);

    // Memory: bounded by the limit during the run, and given back after.
    const long after_rss = bus.rss_kib();
    std::printf("  bus RSS: idle %ld KiB, peak sampled %ld KiB, after %ld KiB\n", idle_rss, max_rss,
                after_rss);
    if (!kSanitized) {  // ASan's shadow memory and quarantine make RSS meaningless
        EXPECT_LT(max_rss, 64 * 1024);
        EXPECT_LT(after_rss, 2 * idle_rss + 16 * 1024);
    }
}

}  // namespace
}  // namespace keel::it
