// The two benchmarks of `keel bench`, run over connections the caller opened:
// pub/sub throughput (N publishers, M subscribers, one thread each) and
// request/reply latency (one responder thread, one requester).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/byte_buffer.h"
#include "base/result.h"
#include "cli/bench_conn.h"

namespace keel::cli::bench {

struct BenchConfig {
    std::string subject;
    uint64_t msgs = 100000;  // pub/sub: total over all publishers; request: number of requests
    size_t size = 128;       // payload bytes
};

// What one connection did, on the monotonic clock. For publishers: first write to
// the PONG answering the last PING. For subscribers: first to last message received.
struct ConnTiming {
    uint64_t msgs = 0;
    uint64_t bytes = 0;  // payload bytes
    std::chrono::nanoseconds start{0}, end{0};
    double seconds() const { return std::chrono::duration<double>(end - start).count(); }
};

struct PubSubResult {
    std::vector<ConnTiming> pubs, subs;
};

// Subscribes every subscriber (and waits for the server to confirm) before any
// publisher starts; fails if a subscriber misses or garbles a message.
Result<PubSubResult> run_pubsub(const BenchConfig& cfg,
                                std::vector<std::unique_ptr<BenchConn>>& pubs,
                                std::vector<std::unique_ptr<BenchConn>>& subs);

struct RequestResult {
    uint64_t requests = 0;
    std::chrono::nanoseconds elapsed{0};
    std::vector<uint64_t> latencies_ns;  // sorted ascending
};

// `responder` answers on cfg.subject; `requester` sends cfg.msgs requests one at a time.
class Responder;
class Requester;
Result<RequestResult> run_request(const BenchConfig& cfg, Responder& responder,
                                  Requester& requester);

// Connections of the request benchmark (their on_msg does the work).
class Responder final : public BenchConn {
  public:
    Responder() : BenchConn("responder") {}
    Status serve();  // answers until the connection is aborted
    uint64_t answered() const { return answered_; }

  private:
    bool on_msg(const bus::MsgArgs& args, std::string_view payload) override;
    ByteBuffer out_;
    uint64_t answered_ = 0;
};

class Requester final : public BenchConn {
  public:
    Requester() : BenchConn("requester") {}
    // Sends one request (pre-encoded `frame`) and reads until the reply on `reply_subject`.
    Status request(std::string_view frame, std::string_view reply_subject);

  private:
    bool on_msg(const bus::MsgArgs& args, std::string_view payload) override;
    std::string_view expected_;
    bool replied_ = false;
    bool no_responders_ = false;
    uint64_t stray_ = 0;
};

}  // namespace keel::cli::bench
