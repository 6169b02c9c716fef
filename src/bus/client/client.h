// Client: asynchronous NATS client on the event loop, used by every Keel daemon
// and CLI verb. Connects over TCP or a unix socket, publishes (with headers),
// subscribes (wildcards, queue groups, auto-unsubscribe), sends requests through
// one wildcard inbox subscription, flushes with PING/PONG, and reconnects with
// backoff — re-subscribing and replaying publishes buffered during the outage,
// including those still queued for the connection that died (bounded, with a
// drop counter).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/byte_buffer.h"
#include "base/endpoint.h"
#include "base/fd.h"
#include "bus/protocol/handshake.h"
#include "bus/protocol/headers.h"
#include "bus/protocol/parser.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::bus {

struct Message {
    std::string_view subject;
    std::string_view reply;
    std::string_view data;
    const Headers* headers = nullptr;  // null when the message had none
};

// A message copied out of the receive buffer (request replies).
struct OwnedMessage {
    std::string subject, reply, data;
    Headers headers;
};

struct ClientOptions {
    // Tried in order; empty: $KEEL_BUS, else /run/keel/bus.sock then 127.0.0.1:4222.
    std::vector<Endpoint> servers;
    std::string name = "keel";
    std::string user, pass, token;  // URL credentials fill these when empty
    bool echo = true;
    bool reconnect = true;
    // When the very first connection fails: true keeps retrying (a daemon waiting
    // for the bus); false walks the server list once, then closes (a CLI tool).
    bool retry_on_failed_connect = true;
    int max_reconnect_attempts = -1;  // -1: forever
    std::chrono::nanoseconds reconnect_wait_min = std::chrono::milliseconds(100);
    std::chrono::nanoseconds reconnect_wait_max = std::chrono::seconds(5);
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(2);
    std::chrono::nanoseconds ping_interval = std::chrono::minutes(2);
    int max_pings_out = 2;
    // Publishes buffered while disconnected; beyond this they are dropped and counted.
    size_t reconnect_buffer = 8 * 1024 * 1024;
};

// The default server list, from $KEEL_BUS or the standard places.
std::vector<Endpoint> default_servers();
// Parses a comma-separated list of URLs ("nats://h:4222,unix:/run/keel/bus.sock").
Result<std::vector<Endpoint>> parse_server_list(std::string_view urls);

enum class ClientEvent {
    kConnected,     // first handshake done
    kDisconnected,  // lost the server; reconnecting if enabled
    kReconnected,   // handshake done again; subscriptions restored
    kError,         // -ERR from the server (detail: its text) or a connect failure
    kClosed,        // gave up or close() was called; nothing more will happen
};
const char* to_string(ClientEvent e);

class Client final : public ParserSink {
  public:
    using Handler = std::function<void(const Message&)>;
    using EventHandler = std::function<void(ClientEvent, std::string_view detail)>;
    using ReplyHandler = std::function<void(Result<OwnedMessage>)>;
    using DoneHandler = std::function<void(Status)>;

    // `loop` must outlive the client.
    Client(loop::EventLoop& loop, ClientOptions options);
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void on_event(EventHandler h) { event_handler_ = std::move(h); }
    // Starts connecting; the outcome arrives as an event.
    void connect();
    void close();

    bool connected() const { return state_ == State::kConnected; }
    bool closed() const { return state_ == State::kClosed; }
    const ServerInfo& server_info() const { return info_; }
    const Endpoint& endpoint() const;
    size_t pending_bytes() const { return out_.size(); }
    uint64_t dropped() const { return dropped_; }
    const std::string& last_error() const { return last_error_; }

    // Fails only for an invalid subject or a payload over the server's max_payload.
    Status publish(std::string_view subject, std::string_view data, std::string_view reply = {},
                   const Headers* headers = nullptr);
    // Returns the subscription id. `max` > 0 unsubscribes after that many messages.
    uint64_t subscribe(std::string_view subject, Handler handler, std::string_view queue = {},
                       uint64_t max = 0);
    // `after` > 0: stop once that many messages in total have been delivered.
    void unsubscribe(uint64_t sid, uint64_t after = 0);
    // A request nobody subscribes to fails at once with kNoResponders (the
    // server's 503), one that is not answered in time with "timed out".
    void request(std::string_view subject, std::string_view data, std::chrono::nanoseconds timeout,
                 ReplyHandler handler, const Headers* headers = nullptr);
    static constexpr const char* kNoResponders = "no responders";
    // Completes when the server has processed everything sent before it.
    void flush(std::chrono::nanoseconds timeout, DoneHandler done);
    // Unsubscribes everything, waits for in-flight messages, then closes.
    void drain(std::chrono::nanoseconds timeout, DoneHandler done);

  private:
    enum class State {
        kIdle,
        kConnecting,
        kAwaitInfo,
        kAwaitPong,
        kConnected,
        kWaitRetry,
        kClosed
    };
    struct Sub {
        std::string subject, queue;
        Handler handler;
        uint64_t max = 0, received = 0;
    };
    struct PendingRequest {
        ReplyHandler handler;
        std::unique_ptr<loop::Timer> timer;
    };
    struct PendingFlush {
        DoneHandler done;
        std::unique_ptr<loop::Timer> timer;
        uint64_t id;
    };

    // ParserSink
    bool on_info(std::string_view json) override;
    bool on_msg(const MsgArgs& args, std::string_view payload) override;
    bool on_ping() override;
    bool on_pong() override;
    bool on_ok() override { return true; }
    bool on_err(std::string_view text) override;

    void try_next_server();
    void on_socket(uint32_t events);
    void on_connected_socket();
    void read_socket();
    void send_connect();
    void handshake_done();
    void lost(const std::string& why);
    void drop_parser();
    void requeue_unsent();
    void schedule_write();
    void write_out();
    void emit(ClientEvent e, std::string_view detail);
    void on_inbox(const Message& m);
    void fail_flushes(const std::string& why);
    void fire_flush();
    void on_ping_timer();
    void queue_sub(uint64_t sid, const Sub& s);

    loop::EventLoop& loop_;
    ClientOptions opts_;
    State state_ = State::kIdle;
    size_t server_index_ = 0;
    int attempts_ = 0;
    bool ever_connected_ = false;
    Fd fd_;
    loop::FdWatch watch_;
    std::unique_ptr<Parser> parser_;
    std::unique_ptr<Parser> retired_parser_;  // dropped during feed(), freed after it
    bool in_feed_ = false;
    ServerInfo info_;
    ByteBuffer out_;          // bytes for the current connection
    size_t out_partial_ = 0;  // leading bytes of out_ that may continue a half-written command
    ByteBuffer backlog_;      // publishes made while not connected
    bool write_scheduled_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards deferred callbacks
    uint64_t dropped_ = 0;
    std::string last_error_;
    EventHandler event_handler_;

    std::map<uint64_t, std::shared_ptr<Sub>> subs_;
    uint64_t next_sid_ = 1;
    std::string inbox_prefix_;  // "_INBOX.<random>."
    uint64_t inbox_sid_ = 0;
    uint64_t next_request_ = 1;
    std::map<std::string, PendingRequest, std::less<>> requests_;
    std::deque<PendingFlush> flushes_;  // in the order their PINGs were (or will be) sent
    size_t flushes_sent_ = 0;           // how many of flushes_ have a PING on the wire
    std::deque<bool> pings_;            // PINGs on the wire: true = a flush's, false = keepalive
    uint64_t next_flush_ = 1;

    loop::Timer retry_timer_, connect_timer_, ping_timer_;
    int pings_out_ = 0;
    std::chrono::nanoseconds backoff_{0};
    Headers scratch_headers_;
};

}  // namespace keel::bus
