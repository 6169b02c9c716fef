#include "cli/bench_run.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <thread>

#include "base/byte_buffer.h"
#include "base/random.h"
#include "base/sys.h"
#include "bus/protocol/encoder.h"
#include "cli/bench_text.h"

namespace keel::cli::bench {
namespace {

// Publishers write pre-encoded frames in chunks of this size: one system call
// moves thousands of small messages, so the publisher costs the server's CPU
// almost nothing.
constexpr size_t kChunkBytes = 256 * 1024;
// Each chunk ends with a PING. A publisher runs at most kMaxPingsOut PINGs ahead
// of the server's PONGs, so it never gets more than ~2 MiB ahead of what the
// server has processed (nats bench's publishers flush periodically too).
constexpr uint64_t kMaxPingsOut = 8;

constexpr std::string_view kPing = "PING\r\n";

unsigned long long ull(uint64_t v) {
    return v;
}

Status publish(BenchConn& c, std::string_view chunk, size_t frame_len, uint64_t count, size_t size,
               ConnTiming& t) {
    const uint64_t per_chunk = chunk.size() / frame_len;
    uint64_t left = count;
    t.start = sys::monotonic_now();
    while (left > 0) {
        const uint64_t n = std::min(per_chunk, left);
        left -= n;
        iovec iov[2] = {{const_cast<char*>(chunk.data()), static_cast<size_t>(n) * frame_len},
                        {const_cast<char*>(kPing.data()), kPing.size()}};
        KEEL_TRY_STATUS(c.writev_all(iov, 2));
        c.count_pings_sent(1);
        while (c.pings_sent() - c.pongs() > kMaxPingsOut)
            KEEL_TRY_STATUS(c.read_some());
    }
    // The last PING's PONG says the server has processed every message.
    KEEL_TRY_STATUS(c.wait_pongs(c.pings_sent()));
    t.end = sys::monotonic_now();
    t.msgs = count;
    t.bytes = count * size;
    return {};
}

Status receive(BenchConn& c, uint64_t expected, ConnTiming& t) {
    while (c.msgs() < expected) {
        const uint64_t before = c.msgs();
        if (auto st = c.read_some(); !st)
            return Error(st.error().message() +
                         strf(" after %llu of %llu messages", ull(c.msgs()), ull(expected)));
        if (c.msgs() != before) {
            // One clock read per read(), not per message: the chunk's messages all arrived now.
            const auto now = sys::monotonic_now();
            if (before == 0) t.start = now;
            t.end = now;
        }
    }
    if (c.msgs() > expected)
        return Error(
            strf("%s: received %llu messages, expected %llu (another publisher on the subject?)",
                 c.role().c_str(), ull(c.msgs()), ull(expected)));
    if (c.wrong_size())
        return Error(strf("%s: %llu messages had the wrong payload size", c.role().c_str(),
                          ull(c.wrong_size())));
    t.msgs = c.msgs();
    t.bytes = c.payload_bytes();
    return {};
}

std::string join_errors(const std::vector<Status>& all) {
    std::string out;
    for (const auto& st : all) {
        if (st) continue;
        if (!out.empty()) out += "; ";
        out += st.error().message();
    }
    return out;
}

}  // namespace

Result<PubSubResult> run_pubsub(const BenchConfig& cfg,
                                std::vector<std::unique_ptr<BenchConn>>& pubs,
                                std::vector<std::unique_ptr<BenchConn>>& subs) {
    // Every subscription is in place (the server answered a PING after it) before anyone publishes.
    for (auto& s : subs) {
        ByteBuffer b;
        bus::encode::sub(b, cfg.subject, {}, "1");
        KEEL_TRY_STATUS(s->write_all(b.view()));
        KEEL_TRY_STATUS(s->flush());
        s->expect_payload_size(static_cast<int64_t>(cfg.size));
    }

    const std::string payload(cfg.size, 'k');
    ByteBuffer frame;
    bus::encode::pub(frame, cfg.subject, {}, {}, payload);
    const size_t frame_len = frame.size();
    const size_t per_chunk = std::max<size_t>(1, kChunkBytes / frame_len);
    std::string chunk;
    chunk.reserve(per_chunk * frame_len);
    for (size_t i = 0; i < per_chunk; ++i)
        chunk.append(frame.view());

    PubSubResult r;
    r.pubs.resize(pubs.size());
    r.subs.resize(subs.size());
    std::vector<Status> pub_status(pubs.size()), sub_status(subs.size());
    std::latch go(1);
    std::vector<std::thread> sub_threads, pub_threads;
    for (size_t i = 0; i < subs.size(); ++i)
        sub_threads.emplace_back(
            [&, i] { sub_status[i] = receive(*subs[i], cfg.msgs, r.subs[i]); });
    const uint64_t share = pubs.empty() ? 0 : cfg.msgs / pubs.size();
    const uint64_t extra = pubs.empty() ? 0 : cfg.msgs % pubs.size();
    for (size_t i = 0; i < pubs.size(); ++i) {
        const uint64_t count = share + (i < extra ? 1 : 0);
        pub_threads.emplace_back([&, i, count] {
            go.wait();
            pub_status[i] = publish(*pubs[i], chunk, frame_len, count, cfg.size, r.pubs[i]);
        });
    }
    go.count_down();
    bool pub_failed = false;
    for (size_t i = 0; i < pub_threads.size(); ++i) {
        pub_threads[i].join();
        pub_failed |= !pub_status[i].ok();
    }
    // Subscribers would wait for messages that never come.
    if (pub_failed)
        for (auto& s : subs)
            s->abort();
    for (auto& t : sub_threads)
        t.join();

    std::string errors = join_errors(pub_status);
    if (!pub_failed) {
        std::string sub_errors = join_errors(sub_status);
        if (!sub_errors.empty()) errors += (errors.empty() ? "" : "; ") + sub_errors;
    }
    if (!errors.empty()) return Error(errors);
    return r;
}

// ---- request/reply ----

Status Responder::serve() {
    for (;;) {
        KEEL_TRY_STATUS(read_some());
        if (!out_.empty()) {
            KEEL_TRY_STATUS(write_all(out_.view()));
            out_.clear();
        }
    }
}

bool Responder::on_msg(const bus::MsgArgs& args, std::string_view payload) {
    if (args.reply.empty()) return true;
    bus::encode::pub(out_, args.reply, {}, {}, payload);
    ++answered_;
    return true;
}

Status Requester::request(std::string_view frame, std::string_view reply_subject) {
    replied_ = false;
    no_responders_ = false;
    expected_ = reply_subject;
    KEEL_TRY_STATUS(write_all(frame));
    while (!replied_) {
        KEEL_TRY_STATUS(read_some());
        if (no_responders_) return Error("requester: no responders");
    }
    return {};
}

bool Requester::on_msg(const bus::MsgArgs& args, std::string_view payload) {
    // HMSG with status 503: nobody is subscribed to the request subject.
    if (args.header_len >= 0 && payload.substr(0, 12) == "NATS/1.0 503") {
        no_responders_ = true;
        return true;
    }
    if (args.subject == expected_)
        replied_ = true;
    else
        ++stray_;
    return true;
}

Result<RequestResult> run_request(const BenchConfig& cfg, Responder& responder,
                                  Requester& requester) {
    ByteBuffer b;
    bus::encode::sub(b, cfg.subject, {}, "1");
    KEEL_TRY_STATUS(responder.write_all(b.view()));
    KEEL_TRY_STATUS(responder.flush());
    const std::string inbox = "_INBOX." + random_token(22);
    b.clear();
    bus::encode::sub(b, inbox + ".*", {}, "1");
    KEEL_TRY_STATUS(requester.write_all(b.view()));
    KEEL_TRY_STATUS(requester.flush());

    std::atomic<bool> stopping{false};
    Status responder_status;
    std::thread serving([&] {
        auto st = responder.serve();
        if (!stopping.load()) responder_status = st;
    });

    const std::string payload(cfg.size, 'k');
    std::string reply = inbox + ".";
    const size_t prefix = reply.size();
    RequestResult r;
    r.latencies_ns.reserve(cfg.msgs);
    ByteBuffer frame;
    Status status;
    const auto t0 = sys::monotonic_now();
    for (uint64_t i = 0; i < cfg.msgs; ++i) {
        char digits[20];
        reply.resize(prefix);
        reply.append(digits, bus::encode::put_uint(digits, i));
        frame.clear();
        bus::encode::pub(frame, cfg.subject, reply, {}, payload);
        const auto start = sys::monotonic_now();
        status = requester.request(frame.view(), reply);
        if (!status) break;
        r.latencies_ns.push_back(static_cast<uint64_t>((sys::monotonic_now() - start).count()));
    }
    r.elapsed = sys::monotonic_now() - t0;
    r.requests = r.latencies_ns.size();
    stopping.store(true);
    responder.abort();
    serving.join();
    if (!responder_status) return Error(responder_status.error().message());
    if (!status)
        return Error(status.error().message() + strf(" after %llu of %llu requests on '%s'",
                                                     ull(r.requests), ull(cfg.msgs),
                                                     cfg.subject.c_str()));
    std::sort(r.latencies_ns.begin(), r.latencies_ns.end());
    return r;
}

}  // namespace keel::cli::bench
