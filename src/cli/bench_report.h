// The summary of a `keel bench` run: a human-readable one in the style of
// `nats bench`, or one JSON object (what bench/bus/run reads).
#pragma once

#include <string>

#include "cli/bench_run.h"

namespace keel::cli::bench {

struct RunInfo {
    std::string server;  // as given
    BenchConfig config;
    size_t pubs = 0, subs = 0;
};

std::string pubsub_text(const RunInfo& info, const PubSubResult& r);
std::string pubsub_json(const RunInfo& info, const PubSubResult& r);
std::string request_text(const RunInfo& info, const RequestResult& r);
std::string request_json(const RunInfo& info, const RequestResult& r);

// Nearest-rank percentile of ascending `sorted` (p in [0, 100]); 0 when empty.
uint64_t percentile(const std::vector<uint64_t>& sorted, double p);

}  // namespace keel::cli::bench
