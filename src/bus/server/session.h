// Session: one client connection of the bus — its parser, its output queue, its
// subscriptions, its timers (connect, ping, write deadline) and its counters. The
// Server owns sessions and does the routing between them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/byte_buffer.h"
#include "base/fd.h"
#include "bus/protocol/handshake.h"
#include "bus/protocol/parser.h"
#include "bus/server/auth_config.h"
#include "bus/server/subscription.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::bus {

class Server;

enum class CloseReason {
    kClientClosed,
    kReadError,
    kWriteError,
    kProtocolViolation,
    kAuthViolation,
    kConnectTimeout,
    kMaxPayload,
    kMaxControlLine,
    kMaxConnections,
    kSlowConsumer,
    kStaleConnection,
    kBadClientProtocol,
    kNoRespondersNeedsHeaders,
    kServerShutdown,
};
const char* to_string(CloseReason r);

struct SessionCounters {
    uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0;
};

class Session final : public ParserSink {
  public:
    // `peer_uid` is set for unix-socket clients (SO_PEERCRED).
    Session(Server& server, uint64_t cid, Fd fd, std::string peer, std::optional<uid_t> peer_uid);
    ~Session() override;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Sends INFO, starts reading and the connect timeout; fails if the fd cannot be watched.
    Status start(const std::string& info_json, bool auth_required);

    uint64_t cid() const { return cid_; }
    const std::string& peer() const { return peer_; }
    const ConnectOptions& options() const { return opts_; }
    const User* user() const { return user_.get(); }
    bool closing() const { return closing_; }
    size_t pending_bytes() const { return out_.size(); }
    size_t subscription_count() const { return subs_.size(); }
    const SessionCounters& counters() const { return counters_; }
    std::chrono::nanoseconds started() const { return started_; }

    // Queues a message for this client; false if it was dropped (slow consumer).
    bool deliver(const Subscription& sub, std::string_view subject, std::string_view reply,
                 int64_t header_len, std::string_view payload);
    bool deny_filtered(std::string_view subject) const;
    void send_err(std::string_view text);
    void send_raw(std::string_view bytes);
    // Closes after a last attempt to write what is queued. Idempotent.
    void close(CloseReason reason);
    // Writes queued output; called once per loop batch for sessions with output.
    void flush();
    bool dirty() const { return dirty_; }
    void clear_dirty() { dirty_ = false; }
    // Re-checks the user against a reloaded configuration; false: no longer authorized.
    bool reauthorize(const AuthConfig& auth);
    // Unsubscribes (the trie forgets it once the current delivery pass ends).
    void remove_subscription(Subscription* sub);

    // ParserSink
    bool on_connect(std::string_view json) override;
    bool on_info(std::string_view json) override;
    bool on_pub(const MsgArgs& args, std::string_view payload) override;
    bool on_sub(std::string_view subject, std::string_view queue, std::string_view sid) override;
    bool on_unsub(std::string_view sid, int64_t max) override;
    bool on_ping() override;
    bool on_pong() override;
    bool on_err(std::string_view text) override;

  private:
    void on_events(uint32_t events);
    void on_readable();
    void handle_parse_error(ParseError e);
    void mark_dirty();
    void update_write_interest();
    void on_ping_timer();
    void on_write_timer();
    void ok() {
        if (opts_.verbose) send_raw("+OK\r\n");
    }

    Server& server_;
    const uint64_t cid_;
    Fd fd_;
    const std::string peer_;
    const std::optional<uid_t> peer_uid_;
    loop::FdWatch watch_;
    Parser parser_;
    ConnectOptions opts_;
    bool connected_ = false;
    std::shared_ptr<const User> user_;
    const Permissions* perms_ = nullptr;  // owned through user_
    std::unordered_map<std::string, bool> publish_cache_;
    std::string last_valid_subject_;

    ByteBuffer out_;
    bool dirty_ = false;
    bool closing_ = false;
    bool want_write_ = false;

    std::unordered_map<std::string, std::unique_ptr<Subscription>> subs_;  // by sid

    loop::Timer connect_timer_, ping_timer_, write_timer_;
    int pings_out_ = 0;
    std::chrono::nanoseconds last_activity_{0};
    std::chrono::nanoseconds stalled_since_{0};  // first EAGAIN of the current backlog
    std::chrono::nanoseconds started_{0};
    SessionCounters counters_;
};

}  // namespace keel::bus
