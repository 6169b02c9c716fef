// Churn: tens of thousands of distinct subjects published to, and subscribed to
// and unsubscribed from again. The bus's match cache and subject trie must not
// keep what is no longer used: memory comes back to where it was.
#include <gtest/gtest.h>

#include "integration/harness.h"

namespace keel::it {
namespace {

constexpr const char* kQuiet = "{\"verbose\":false,\"pedantic\":false}";

TEST(Churn, DistinctSubjectsDoNotAccumulate) {
    BusProcess bus;
    RawConn wild = RawConn::tcp(bus.port());
    wild.hello(kQuiet);
    ASSERT_TRUE(wild.send("SUB churn.> 1\r\n"));
    ASSERT_TRUE(wild.ping());
    RawConn c = RawConn::tcp(bus.port());
    c.hello(kQuiet);
    const long idle_rss = bus.rss_kib();

    const int kSubjects = scaled(50000, 5);
    const int kBatch = 1000;
    long peak_rss = idle_rss;
    int delivered = 0;
    for (int start = 0; start < kSubjects; start += kBatch) {
        std::string batch;
        for (int i = start; i < start + kBatch; ++i) {
            const std::string subject = "churn." + std::to_string(i) + ".x" + std::to_string(i * 7);
            // Subscribe, publish once, unsubscribe: every subject is new and then gone.
            batch += "SUB " + subject + " s" + std::to_string(i) + "\r\n";
            batch += "PUB " + subject + " 2\r\nhi\r\n";
            batch += "UNSUB s" + std::to_string(i) + "\r\n";
        }
        ASSERT_TRUE(c.send(batch));
        std::vector<Frame> got;
        ASSERT_TRUE(c.ping(slow(10s), &got));
        ASSERT_EQ(got.size(), static_cast<size_t>(kBatch)) << "batch at " << start;
        got.clear();
        ASSERT_TRUE(wild.ping(slow(10s), &got));
        delivered += static_cast<int>(got.size());
        peak_rss = std::max(peak_rss, bus.rss_kib());
    }
    EXPECT_EQ(delivered, kSubjects);

    auto stats = bus.stats();
    EXPECT_EQ(stats.at("subscriptions").get<int>(), 2) << "wild's and the probe's inbox only";
    const long after_rss = bus.rss_kib();
    std::printf("  bus RSS: idle %ld KiB, peak %ld KiB, after %d subjects %ld KiB\n", idle_rss,
                peak_rss, kSubjects, after_rss);
    if (!kSanitized) {
        EXPECT_LT(peak_rss, idle_rss + 16 * 1024);
        EXPECT_LT(after_rss, idle_rss + 8 * 1024);
    }
}

}  // namespace
}  // namespace keel::it
