// Server: the bus. Owns the listeners and the sessions, routes every published
// message through the subject trie into subscribers' output queues, and writes
// each queue once per loop batch. Single-threaded on one EventLoop.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "bus/protocol/handshake.h"
#include "bus/server/auth_config.h"
#include "bus/server/listener.h"
#include "bus/server/server_options.h"
#include "bus/server/session.h"
#include "bus/server/subject_trie.h"
#include "loop/event_loop.h"
#include "loop/timer.h"

namespace keel::bus {

struct ServerCounters {
    uint64_t total_connections = 0;
    uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0;
    uint64_t slow_consumers = 0;
};

class Server {
  public:
    // Opens every listener and loads the auth file; the first failure is returned.
    static Result<std::unique_ptr<Server>> create(loop::EventLoop& loop, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serves an already connected socket as a client (listeners call this; so can
    // tests, fuzzers and socket activation). `peer_uid` is for unix peers.
    void serve(Fd fd, std::string peer, std::optional<uid_t> peer_uid);

    // SIGHUP: re-reads the auth file; clients whose credentials still hold stay connected.
    Status reload_auth();
    // SIGTERM: stops accepting, lets clients drain their queues (bounded by
    // shutdown_grace), closes them all, then calls `done`.
    void shutdown(std::function<void()> done);

    const ServerOptions& options() const { return options_; }
    loop::EventLoop& loop() { return loop_; }
    const AuthConfig& auth() const { return auth_; }
    const std::vector<std::unique_ptr<Listener>>& listeners() const { return listeners_; }
    const ServerCounters& counters() const { return counters_; }
    size_t connection_count() const { return sessions_.size(); }
    size_t subscription_count() const { return trie_.size(); }
    std::string stats_json() const;

    // ---- used by sessions ----
    void route(Session* from, std::string_view subject, std::string_view reply, int64_t header_len,
               std::string_view payload);
    void add_subscription(Subscription* sub) { trie_.insert(sub); }
    // Takes a subscription out of service; the trie forgets it after the current delivery pass.
    void retire_subscription(std::unique_ptr<Subscription> sub);
    void mark_dirty(Session* s);
    void session_closed(Session* s, CloseReason reason);
    char* read_buffer() { return read_buffer_.get(); }
    size_t read_buffer_size() const { return kReadBufferSize; }
    void count_in(size_t bytes) {
        ++counters_.in_msgs;
        counters_.in_bytes += bytes;
    }
    void count_out(size_t bytes) {
        ++counters_.out_msgs;
        counters_.out_bytes += bytes;
    }
    void count_slow_consumer() { ++counters_.slow_consumers; }

  private:
    static constexpr size_t kReadBufferSize = 64 * 1024;
    // After this many connections closed, freed heap goes back to the OS a little
    // later (once per storm, never on the message path).
    static constexpr size_t kTrimAfterClosed = 64;
    static constexpr std::chrono::milliseconds kTrimDelay{1000};
    using InternalHandler = std::function<void(std::string_view subject, std::string_view reply,
                                               std::string_view payload)>;
    struct InternalRequest {
        const InternalHandler* handler;
        std::string subject, reply, payload;
    };

    Server(loop::EventLoop& loop, ServerOptions options);
    bool deliver_one(Session* from, Subscription& sub, std::string_view subject,
                     std::string_view reply, int64_t header_len, std::string_view payload);
    void send_no_responders(Session* from, std::string_view reply);
    void finish_route();
    void flush_dirty();
    void reap_closed();
    void trim_heap();
    void add_internal(const std::string& subject, InternalHandler handler);
    void publish_internal(std::string_view subject, std::string_view payload);
    void check_drained();
    uint64_t next_random();

    loop::EventLoop& loop_;
    ServerOptions options_;
    AuthConfig auth_;
    ServerInfo info_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
    uint64_t next_cid_ = 1;
    SubjectTrie trie_;
    std::unique_ptr<char[]> read_buffer_;
    ServerCounters counters_;
    std::chrono::nanoseconds started_{0};

    int route_depth_ = 0;
    std::vector<std::unique_ptr<Subscription>> retired_;
    std::vector<InternalRequest> internal_requests_;
    std::vector<std::pair<std::unique_ptr<Subscription>, std::unique_ptr<InternalHandler>>>
        internal_subs_;

    std::vector<Session*> dirty_;
    bool flush_scheduled_ = false;
    std::vector<Session*> closed_;
    bool reap_scheduled_ = false;
    uint64_t rng_state_;

    bool draining_ = false;
    std::function<void()> drained_;
    loop::Timer grace_timer_;

    size_t closed_since_trim_ = 0;
    loop::Timer trim_timer_{loop_, [this] { trim_heap(); }};
};

}  // namespace keel::bus
