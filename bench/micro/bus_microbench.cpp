// Per-message cost of the bus hot paths, in isolation: the parser on a PUB
// stream (what the server reads) and a MSG stream (what subscribers read), the
// subject trie's match for a hot subject and for ever-new reply subjects, and
// the MSG encoder. Items/s here is an upper bound for `keel bus` on one core.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "base/byte_buffer.h"
#include "bus/protocol/encoder.h"
#include "bus/protocol/parser.h"
#include "bus/protocol/subject.h"
#include "bus/server/subject_trie.h"

namespace {

using namespace keel;
using namespace keel::bus;

struct CountingSink final : ParserSink {
    uint64_t msgs = 0, bytes = 0;
    bool on_pub(const MsgArgs&, std::string_view p) override {
        ++msgs;
        bytes += p.size();
        return true;
    }
    bool on_msg(const MsgArgs&, std::string_view p) override {
        ++msgs;
        bytes += p.size();
        return true;
    }
};

// About 256 KiB of identical frames, as a socket read would deliver them.
std::string frames(bool server_side, size_t size, size_t* count) {
    ByteBuffer one;
    const std::string payload(size, 'k');
    if (server_side)
        encode::pub(one, "bench.bus", {}, {}, payload);
    else
        encode::msg(one, "bench.bus", "1", {}, -1, payload);
    std::string out;
    *count = std::max<size_t>(1, 256 * 1024 / one.size());
    for (size_t i = 0; i < *count; ++i)
        out.append(one.view());
    return out;
}

void parse(benchmark::State& state, Role role) {
    size_t count = 0;
    const std::string data =
        frames(role == Role::kServer, static_cast<size_t>(state.range(0)), &count);
    CountingSink sink;
    Parser parser(role, sink);
    for (auto _ : state) {
        if (parser.feed(data) != ParseError::kNone) state.SkipWithError("parse error");
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void BM_ParsePub(benchmark::State& state) {
    parse(state, Role::kServer);
}
void BM_ParseMsg(benchmark::State& state) {
    parse(state, Role::kClient);
}
BENCHMARK(BM_ParsePub)->Arg(16)->Arg(1024);
BENCHMARK(BM_ParseMsg)->Arg(16)->Arg(1024);

// A trie with `state.range(0)` subscriptions spread over a few levels.
struct Trie {
    std::vector<std::unique_ptr<Subscription>> subs;
    SubjectTrie trie;
    explicit Trie(int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            auto s = std::make_unique<Subscription>();
            s->subject = "svc." + std::to_string(i % 50) + ".item." + std::to_string(i);
            s->sid = std::to_string(i);
            trie.insert(s.get());
            subs.push_back(std::move(s));
        }
        for (const char* p : {"bench.bus", "bench.*", "_INBOX.abcdefghijklmnopqrstuv.*"}) {
            auto s = std::make_unique<Subscription>();
            s->subject = p;
            s->sid = p;
            trie.insert(s.get());
            subs.push_back(std::move(s));
        }
    }
};

// The same subject again and again: the match cache's best case (a pub/sub stream).
void BM_TrieMatchHot(benchmark::State& state) {
    Trie t(state.range(0));
    for (auto _ : state)
        benchmark::DoNotOptimize(t.trie.match("bench.bus").plain.size());
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TrieMatchHot)->Arg(10)->Arg(10000);

// A new reply subject every time (request/reply): always a cache miss.
void BM_TrieMatchUniqueReply(benchmark::State& state) {
    Trie t(state.range(0));
    std::string subject = "_INBOX.abcdefghijklmnopqrstuv.";
    const size_t prefix = subject.size();
    uint64_t i = 0;
    for (auto _ : state) {
        subject.resize(prefix);
        subject += std::to_string(i++);
        benchmark::DoNotOptimize(t.trie.match(subject).plain.size());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_TrieMatchUniqueReply)->Arg(10)->Arg(10000);

void BM_ValidPublishSubject(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(is_valid_publish_subject("bench.bus"));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ValidPublishSubject);

void BM_EncodeMsg(benchmark::State& state) {
    const std::string payload(static_cast<size_t>(state.range(0)), 'k');
    ByteBuffer out;
    for (auto _ : state) {
        encode::msg(out, "bench.bus", "1", {}, -1, payload);
        if (out.size() > 256 * 1024) out.clear();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_EncodeMsg)->Arg(16)->Arg(1024);

}  // namespace
