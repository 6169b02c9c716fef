#include "cli/bench_report.h"

#include <algorithm>
#include <cmath>

#include "cli/bench_text.h"

namespace keel::cli::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double rate(double n, double seconds) {
    return seconds > 0 ? n / seconds : 0;
}

// One side (all publishers or all subscribers) as a whole: everything it moved,
// from the earliest start to the latest end.
struct Side {
    double msgs = 0, bytes = 0, seconds = 0;
};

Side aggregate(const std::vector<ConnTiming>& conns) {
    Side s;
    if (conns.empty()) return s;
    auto start = conns.front().start, end = conns.front().end;
    for (const auto& c : conns) {
        s.msgs += static_cast<double>(c.msgs);
        s.bytes += static_cast<double>(c.bytes);
        start = std::min(start, c.start);
        end = std::max(end, c.end);
    }
    s.seconds = std::chrono::duration<double>(end - start).count();
    return s;
}

Side side_of(const ConnTiming& c) {
    return {static_cast<double>(c.msgs), static_cast<double>(c.bytes), c.seconds()};
}

// "2,169,602 msgs/s ~ 33.11 MiB/s (2,000,000 msgs in 0.922 s)"
std::string rate_text(const Side& s) {
    return strf("%s msgs/s ~ %.2f MiB/s (%s msgs in %.3f s)",
                grouped(rate(s.msgs, s.seconds)).c_str(), rate(s.bytes, s.seconds) / kMiB,
                grouped(s.msgs).c_str(), s.seconds);
}

std::string side_text(const char* name, const std::vector<ConnTiming>& conns) {
    if (conns.empty()) return {};
    std::string out = strf("%s stats: %s\n", name, rate_text(aggregate(conns)).c_str());
    if (conns.size() < 2) return out;
    double lo = 1e300, hi = 0, sum = 0, sq = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
        const Side s = side_of(conns[i]);
        const double r = rate(s.msgs, s.seconds);
        lo = std::min(lo, r);
        hi = std::max(hi, r);
        sum += r;
        sq += r * r;
        out += strf(" [%zu] %s\n", i + 1, rate_text(s).c_str());
    }
    const double n = static_cast<double>(conns.size());
    const double avg = sum / n;
    out += strf(" min %s | avg %s | max %s | stddev %s msgs/s\n", grouped(lo).c_str(),
                grouped(avg).c_str(), grouped(hi).c_str(),
                grouped(std::sqrt(std::max(0.0, sq / n - avg * avg))).c_str());
    return out;
}

std::string side_json(const Side& s) {
    return strf(
        "\"msgs\":%.0f,\"bytes\":%.0f,\"seconds\":%.6f,\"msgs_per_sec\":%.1f,\"bytes_per_sec\":%."
        "1f",
        s.msgs, s.bytes, s.seconds, rate(s.msgs, s.seconds), rate(s.bytes, s.seconds));
}

std::string side_json(const std::vector<ConnTiming>& conns) {
    std::string out =
        strf("{\"connections\":%zu,", conns.size()) + side_json(aggregate(conns)) + ",\"each\":[";
    for (size_t i = 0; i < conns.size(); ++i)
        out += (i ? ",{" : "{") + side_json(side_of(conns[i])) + "}";
    return out + "]}";
}

std::string head_json(const char* mode, const RunInfo& info) {
    return strf("{\"mode\":\"%s\",\"server\":", mode) + json_string(info.server) +
           ",\"subject\":" + json_string(info.config.subject) +
           strf(",\"msgs\":%llu,\"size\":%zu,\"pubs\":%zu,\"subs\":%zu",
                static_cast<unsigned long long>(info.config.msgs), info.config.size, info.pubs,
                info.subs);
}

const char* plural(size_t n) {
    return n == 1 ? "" : "s";
}

struct Latency {
    double min, p50, p90, p99, p999, max, mean;  // microseconds
};

Latency latency(const RequestResult& r) {
    auto us = [&](double p) { return static_cast<double>(percentile(r.latencies_ns, p)) / 1000.0; };
    double sum = 0;
    for (uint64_t v : r.latencies_ns)
        sum += static_cast<double>(v);
    const double mean =
        r.latencies_ns.empty() ? 0 : sum / static_cast<double>(r.latencies_ns.size()) / 1000.0;
    return {us(0), us(50), us(90), us(99), us(99.9), us(100), mean};
}

}  // namespace

uint64_t percentile(const std::vector<uint64_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
    const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
    return sorted[std::min(i, sorted.size() - 1)];
}

std::string pubsub_text(const RunInfo& info, const PubSubResult& r) {
    std::string out = strf(
        "keel bench: pub/sub on '%s' at %s: %s msgs x %zu B, %zu publisher%s, %zu subscriber%s\n\n",
        info.config.subject.c_str(), info.server.c_str(),
        grouped(static_cast<double>(info.config.msgs)).c_str(), info.config.size, info.pubs,
        plural(info.pubs), info.subs, plural(info.subs));
    out += side_text("Pub", r.pubs);
    out += side_text("Sub", r.subs);
    if (r.subs.size() > 1) {
        const Side s = aggregate(r.subs);
        out += strf("Delivered: %s msgs to %zu subscribers, aggregate %s msgs/s ~ %.2f MiB/s\n",
                    grouped(s.msgs).c_str(), r.subs.size(),
                    grouped(rate(s.msgs, s.seconds)).c_str(), rate(s.bytes, s.seconds) / kMiB);
    }
    return out;
}

std::string pubsub_json(const RunInfo& info, const PubSubResult& r) {
    std::vector<ConnTiming> all = r.pubs;
    all.insert(all.end(), r.subs.begin(), r.subs.end());
    const Side total = aggregate(all);
    return head_json("pubsub", info) + ",\"pub\":" + side_json(r.pubs) +
           ",\"sub\":" + side_json(r.subs) +
           strf(",\"total\":{\"msgs\":%.0f,\"seconds\":%.6f,\"msgs_per_sec\":%.1f}}\n", total.msgs,
                total.seconds, rate(total.msgs, total.seconds));
}

std::string request_text(const RunInfo& info, const RequestResult& r) {
    const double secs = std::chrono::duration<double>(r.elapsed).count();
    const Latency l = latency(r);
    return strf(
        "keel bench: request/reply on '%s' at %s: %s requests x %zu B, one at a time\n\n"
        "Requests: %s req/s (%s in %.3f s)\n"
        "Latency (us): min %.1f | p50 %.1f | p90 %.1f | p99 %.1f | p99.9 %.1f | max %.1f | mean "
        "%.1f\n",
        info.config.subject.c_str(), info.server.c_str(),
        grouped(static_cast<double>(info.config.msgs)).c_str(), info.config.size,
        grouped(rate(static_cast<double>(r.requests), secs)).c_str(),
        grouped(static_cast<double>(r.requests)).c_str(), secs, l.min, l.p50, l.p90, l.p99, l.p999,
        l.max, l.mean);
}

std::string request_json(const RunInfo& info, const RequestResult& r) {
    const double secs = std::chrono::duration<double>(r.elapsed).count();
    const Latency l = latency(r);
    return head_json("request", info) + strf(
                                            ",\"requests\":%llu,\"seconds\":%.6f,\"requests_per_"
                                            "sec\":%.1f,\"latency_us\":{\"min\":%.2f,"
                                            "\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p99_9\":%.2f,"
                                            "\"max\":%.2f,\"mean\":%.2f}}\n",
                                            static_cast<unsigned long long>(r.requests), secs,
                                            rate(static_cast<double>(r.requests), secs), l.min,
                                            l.p50, l.p90, l.p99, l.p999, l.max, l.mean);
}

}  // namespace keel::cli::bench
