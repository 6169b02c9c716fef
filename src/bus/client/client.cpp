#include "bus/client/client.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "base/random.h"
#include "base/sys.h"
#include "bus/protocol/encoder.h"
#include "bus/protocol/subject.h"

namespace keel::bus {

const char* to_string(ClientEvent e) {
    switch (e) {
        case ClientEvent::kConnected:
            return "connected";
        case ClientEvent::kDisconnected:
            return "disconnected";
        case ClientEvent::kReconnected:
            return "reconnected";
        case ClientEvent::kError:
            return "error";
        case ClientEvent::kClosed:
            return "closed";
    }
    return "?";
}

Result<std::vector<Endpoint>> parse_server_list(std::string_view urls) {
    std::vector<Endpoint> out;
    while (!urls.empty()) {
        auto comma = urls.find(',');
        std::string_view one = urls.substr(0, comma);
        urls = comma == std::string_view::npos ? std::string_view() : urls.substr(comma + 1);
        if (one.empty()) continue;
        out.push_back(KEEL_TRY(parse_endpoint(one)));
    }
    if (out.empty()) return Error("no server address given");
    return out;
}

std::vector<Endpoint> default_servers() {
    if (const char* env = std::getenv("KEEL_BUS"); env && *env) {
        if (auto list = parse_server_list(env)) return *list;
    }
    return {*parse_endpoint("unix:/run/keel/bus.sock"), *parse_endpoint("127.0.0.1:4222")};
}

Client::Client(loop::EventLoop& loop, ClientOptions options)
    : loop_(loop),
      opts_(std::move(options)),
      retry_timer_(loop, [this] { try_next_server(); }),
      connect_timer_(loop, [this] { lost("connection timed out"); }),
      ping_timer_(loop, [this] { on_ping_timer(); }) {
    if (opts_.servers.empty()) opts_.servers = default_servers();
    for (const auto& ep : opts_.servers) {
        if (opts_.user.empty() && !ep.user.empty()) {
            opts_.user = ep.user;
            opts_.pass = ep.password;
        }
        if (opts_.token.empty() && !ep.token.empty()) opts_.token = ep.token;
    }
    inbox_prefix_ = "_INBOX." + random_token(22) + ".";
}

Client::~Client() {
    *alive_ = false;
    watch_.stop();
}

const Endpoint& Client::endpoint() const {
    return opts_.servers[server_index_ % opts_.servers.size()];
}

void Client::emit(ClientEvent e, std::string_view detail) {
    if (event_handler_) event_handler_(e, detail);
}

void Client::connect() {
    if (state_ != State::kIdle) return;
    server_index_ = 0;
    attempts_ = 0;
    try_next_server();
}

void Client::try_next_server() {
    if (state_ == State::kClosed) return;
    const Endpoint& ep = endpoint();
    ++attempts_;
    bool in_progress = false;
    auto fd = connect_to(ep, &in_progress);
    if (!fd) {
        lost(fd.error().message());
        return;
    }
    fd_ = std::move(fd).value();
    parser_ =
        std::make_unique<Parser>(Role::kClient, *this, ParserLimits{4096 * 16, 64 * 1024 * 1024});
    out_.clear();
    out_partial_ = 0;
    pings_.clear();
    flushes_sent_ = 0;
    pings_out_ = 0;
    state_ = in_progress ? State::kConnecting : State::kAwaitInfo;
    auto st = watch_.start(loop_, fd_.get(), in_progress ? EPOLLOUT : EPOLLIN,
                           [this](uint32_t ev) { on_socket(ev); });
    if (!st) {
        lost(st.error().message());
        return;
    }
    connect_timer_.arm_after(opts_.connect_timeout);
}

void Client::on_socket(uint32_t events) {
    if (state_ == State::kConnecting) {
        auto err = sys::socket_error(fd_.get());
        if (!err || *err != 0) {
            lost("cannot connect to " + endpoint().to_string() + ": " +
                 std::string(std::strerror(err ? *err : EIO)));
            return;
        }
        on_connected_socket();
        return;
    }
    if (events & EPOLLOUT) write_out();
    if (fd_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_socket();
}

void Client::on_connected_socket() {
    state_ = State::kAwaitInfo;
    (void)watch_.set_events(EPOLLIN);
}

void Client::read_socket() {
    char buf[64 * 1024];
    for (int round = 0; round < 8 && fd_; ++round) {
        auto n = sys::read(fd_.get(), buf, sizeof buf);
        if (!n) {
            if (n.error().code() == EAGAIN) return;
            lost(n.error().message());
            return;
        }
        if (*n == 0) {
            lost(last_error_.empty() ? "server closed the connection" : last_error_);
            return;
        }
        in_feed_ = true;
        ParseError e = parser_->feed(buf, *n);
        in_feed_ = false;
        retired_parser_.reset();
        if (!parser_) return;  // closed or lost by a callback
        if (e != ParseError::kNone && e != ParseError::kStopped) {
            lost(std::string("protocol error from server: ") + bus::to_string(e));
            return;
        }
        if (*n < sizeof buf) return;
    }
}

bool Client::on_info(std::string_view json) {
    auto info = parse_info(json);
    if (!info) {
        lost(info.error().message());
        return false;
    }
    info_ = std::move(info).value();
    if (state_ == State::kAwaitInfo) send_connect();
    return true;
}

void Client::send_connect() {
    ConnectOptions c;
    c.verbose = false;
    c.pedantic = false;
    c.echo = opts_.echo;
    c.headers = info_.headers;
    c.no_responders = info_.headers;
    c.protocol = 1;
    c.name = opts_.name;
    c.lang = "c++";
    c.version = KEEL_VERSION;
    c.user = opts_.user;
    c.pass = opts_.pass;
    c.auth_token = opts_.token;
    encode::line(out_, "CONNECT", to_json(c));
    out_.append("PING\r\n");
    state_ = State::kAwaitPong;
    write_out();
}

void Client::handshake_done() {
    connect_timer_.cancel();
    state_ = State::kConnected;
    attempts_ = 0;
    backoff_ = std::chrono::nanoseconds(0);
    last_error_.clear();
    // Subscriptions first, then what was published while away, then pending flushes.
    for (const auto& [sid, s] : subs_)
        queue_sub(sid, *s);
    if (!backlog_.empty()) {
        out_.append(backlog_.data(), backlog_.size());
        backlog_.clear();
        backlog_.release_if_idle(0);
    }
    for (; flushes_sent_ < flushes_.size(); ++flushes_sent_) {
        out_.append("PING\r\n");
        pings_.push_back(true);
    }
    write_out();
    ping_timer_.arm_after(opts_.ping_interval);
    const bool first = !ever_connected_;
    ever_connected_ = true;
    emit(first ? ClientEvent::kConnected : ClientEvent::kReconnected, endpoint().to_string());
}

void Client::queue_sub(uint64_t sid, const Sub& s) {
    const std::string id = std::to_string(sid);
    encode::sub(out_, s.subject, s.queue, id);
    if (s.max) encode::unsub(out_, id, s.max);
}

void Client::lost(const std::string& why) {
    if (state_ == State::kClosed) return;
    const bool was_connected = state_ == State::kConnected;
    watch_.stop();
    fd_.reset();
    drop_parser();
    connect_timer_.cancel();
    ping_timer_.cancel();
    requeue_unsent();
    pings_.clear();
    fail_flushes(why);
    if (was_connected)
        emit(ClientEvent::kDisconnected, why);
    else
        emit(ClientEvent::kError, why);
    last_error_ = why;
    if (state_ == State::kClosed) return;  // an event handler closed us
    const int servers = static_cast<int>(opts_.servers.size());
    if (!opts_.reconnect || (!ever_connected_ && !opts_.retry_on_failed_connect)) {
        // Still walk the list once on the first connect (unix socket, then TCP).
        if (!ever_connected_ && attempts_ < servers) {
            ++server_index_;
            state_ = State::kWaitRetry;
            retry_timer_.arm_after(std::chrono::nanoseconds(0));
            return;
        }
        state_ = State::kClosed;
        emit(ClientEvent::kClosed, why);
        return;
    }
    if (opts_.max_reconnect_attempts >= 0 &&
        attempts_ > (opts_.max_reconnect_attempts + 1) * servers) {
        state_ = State::kClosed;
        emit(ClientEvent::kClosed, why);
        return;
    }
    ++server_index_;
    state_ = State::kWaitRetry;
    // Try each server once quickly, then back off between rounds.
    if (server_index_ % opts_.servers.size() != 0) {
        retry_timer_.arm_after(std::chrono::nanoseconds(0));
        return;
    }
    backoff_ = backoff_.count() == 0 ? opts_.reconnect_wait_min
                                     : std::min(backoff_ * 2, opts_.reconnect_wait_max);
    retry_timer_.arm_after(backoff_);
}

void Client::close() {
    if (state_ == State::kClosed) return;
    if (fd_ && !out_.empty()) write_out();
    state_ = State::kClosed;
    watch_.stop();
    fd_.reset();
    drop_parser();
    retry_timer_.cancel();
    connect_timer_.cancel();
    ping_timer_.cancel();
    fail_flushes("connection closed");
    auto requests = std::move(requests_);
    requests_.clear();
    for (auto& [token, r] : requests)
        r.handler(Error("connection closed"));
    emit(ClientEvent::kClosed, "closed");
}

namespace {

// Re-encodes the publishes found in unsent bytes into the reconnect buffer.
class Requeue final : public ParserSink {
  public:
    Requeue(ByteBuffer& backlog, size_t limit, uint64_t& dropped)
        : backlog_(backlog), limit_(limit), dropped_(dropped) {}
    bool on_pub(const MsgArgs& a, std::string_view payload) override {
        const size_t hdr = a.header_len > 0 ? static_cast<size_t>(a.header_len) : 0;
        if (backlog_.size() + payload.size() + a.subject.size() + a.reply.size() + 64 > limit_) {
            ++dropped_;
            return true;
        }
        encode::pub(backlog_, a.subject, a.reply, payload.substr(0, hdr), payload.substr(hdr));
        return true;
    }

  private:
    ByteBuffer& backlog_;
    const size_t limit_;
    uint64_t& dropped_;
};

}  // namespace

void Client::requeue_unsent() {
    // The connection died with bytes still queued for it: its publishes go to the
    // reconnect buffer, to be sent when a connection is back (subscriptions and
    // flushes are replayed from their own state). A command cut by a partial
    // write cannot be resent; it counts as dropped.
    if (out_.size() > out_partial_) {
        Requeue sink(backlog_, opts_.reconnect_buffer, dropped_);
        Parser p(Role::kServer, sink, ParserLimits{SIZE_MAX, -1});
        (void)p.feed(out_.data() + out_partial_, out_.size() - out_partial_);
    }
    if (out_partial_ > 0) ++dropped_;
    out_partial_ = 0;
    out_.clear();
}

void Client::drop_parser() {
    // A handler may close us while the parser is still on the stack: keep it alive
    // until feed() returns.
    if (in_feed_)
        retired_parser_ = std::move(parser_);
    else
        parser_.reset();
}

// ---- output ----

void Client::schedule_write() {
    if (write_scheduled_ || state_ != State::kConnected) return;
    // Large backlogs go out now; small ones wait for the end of the loop batch so
    // that many publishes share one write.
    if (out_.size() >= 64 * 1024) {
        write_out();
        return;
    }
    write_scheduled_ = true;
    std::weak_ptr<bool> alive = alive_;
    loop_.defer([this, alive] {
        if (alive.expired()) return;
        write_scheduled_ = false;
        write_out();
    });
}

namespace {
constexpr size_t kKeepOutputBytes = 16 * 1024;
}  // namespace

void Client::write_out() {
    if (!fd_ || state_ == State::kConnecting) return;
    bool wrote = false;
    while (!out_.empty()) {
        auto n = sys::write(fd_.get(), out_.data(), out_.size());
        if (!n) {
            if (n.error().code() == EAGAIN) break;
            lost(n.error().message());
            return;
        }
        out_.consume(*n);
        out_partial_ = out_partial_ > *n ? out_partial_ - *n : 0;
        wrote = true;
    }
    // What is left may begin in the middle of a command; whatever is appended
    // from now on starts on a command boundary.
    if (wrote && !out_.empty()) out_partial_ = out_.size();
    // A burst (a daemon's start-up, a replayed backlog) leaves a large buffer
    // behind: give it back once drained, keeping a small one for steady traffic.
    out_.release_if_idle(kKeepOutputBytes);
    (void)watch_.set_events(out_.empty() ? EPOLLIN : (EPOLLIN | EPOLLOUT));
}

Status Client::publish(std::string_view subject, std::string_view data, std::string_view reply,
                       const Headers* headers) {
    if (!is_valid_publish_subject(subject))
        return Error("invalid subject '" + std::string(subject) + "'");
    std::string hdr = headers && !headers->empty() ? encode_headers(*headers) : std::string();
    if (info_.max_payload > 0 && static_cast<int64_t>(hdr.size() + data.size()) > info_.max_payload)
        return Error("message of " + std::to_string(hdr.size() + data.size()) +
                     " bytes exceeds the server's max payload of " +
                     std::to_string(info_.max_payload));
    if (state_ == State::kClosed) return Error("connection closed");
    if (state_ != State::kConnected) {
        if (backlog_.size() + data.size() + hdr.size() + subject.size() + 64 >
            opts_.reconnect_buffer) {
            ++dropped_;
            return {};
        }
        encode::pub(backlog_, subject, reply, hdr, data);
        return {};
    }
    encode::pub(out_, subject, reply, hdr, data);
    schedule_write();
    return {};
}

uint64_t Client::subscribe(std::string_view subject, Handler handler, std::string_view queue,
                           uint64_t max) {
    const uint64_t sid = next_sid_++;
    auto s = std::make_shared<Sub>();
    s->subject = std::string(subject);
    s->queue = std::string(queue);
    s->handler = std::move(handler);
    s->max = max;
    subs_.emplace(sid, s);
    if (state_ == State::kConnected) {
        queue_sub(sid, *s);
        schedule_write();
    }
    return sid;
}

void Client::unsubscribe(uint64_t sid, uint64_t after) {
    auto it = subs_.find(sid);
    if (it == subs_.end()) return;
    if (after > 0 && after > it->second->received) {
        it->second->max = after;
    } else {
        subs_.erase(it);
        after = 0;
    }
    if (state_ == State::kConnected) {
        encode::unsub(out_, std::to_string(sid), after);
        schedule_write();
    }
}

void Client::flush(std::chrono::nanoseconds timeout, DoneHandler done) {
    if (state_ == State::kClosed) {
        done(Error("connection closed"));
        return;
    }
    const uint64_t id = next_flush_++;
    auto timer = std::make_unique<loop::Timer>(loop_, [this, id] {
        for (auto it = flushes_.begin(); it != flushes_.end(); ++it) {
            if (it->id != id) continue;
            DoneHandler cb = std::move(it->done);
            // Keep the slot (its PONG is still due) but forget the callback.
            it->done = nullptr;
            if (cb) cb(Error("flush timed out"));
            return;
        }
    });
    timer->arm_after(timeout);
    flushes_.push_back({std::move(done), std::move(timer), id});
    if (state_ == State::kConnected) {
        out_.append("PING\r\n");
        pings_.push_back(true);
        ++flushes_sent_;
        schedule_write();
    }
}

void Client::fire_flush() {
    if (flushes_.empty() || flushes_sent_ == 0) return;
    PendingFlush f = std::move(flushes_.front());
    flushes_.pop_front();
    --flushes_sent_;
    if (f.done) f.done({});
}

void Client::fail_flushes(const std::string& why) {
    auto all = std::move(flushes_);
    flushes_.clear();
    flushes_sent_ = 0;
    for (auto& f : all)
        if (f.done) f.done(Error(why));
}

void Client::drain(std::chrono::nanoseconds timeout, DoneHandler done) {
    for (const auto& [sid, s] : subs_)
        if (state_ == State::kConnected) encode::unsub(out_, std::to_string(sid), 0);
    // Messages already on their way are still delivered: handlers stay until the flush.
    flush(timeout, [this, done = std::move(done)](Status st) {
        subs_.clear();
        close();
        done(st);
    });
}

void Client::request(std::string_view subject, std::string_view data,
                     std::chrono::nanoseconds timeout, ReplyHandler handler,
                     const Headers* headers) {
    if (!inbox_sid_) {
        inbox_sid_ = subscribe(inbox_prefix_ + "*", [this](const Message& m) { on_inbox(m); });
    }
    const std::string token = std::to_string(next_request_++);
    const std::string reply = inbox_prefix_ + token;
    if (auto st = publish(subject, data, reply, headers); !st) {
        handler(st.error());
        return;
    }
    auto timer = std::make_unique<loop::Timer>(loop_, [this, token] {
        auto it = requests_.find(token);
        if (it == requests_.end()) return;
        ReplyHandler h = std::move(it->second.handler);
        requests_.erase(it);
        h(Error("request timed out"));
    });
    timer->arm_after(timeout);
    requests_.emplace(token, PendingRequest{std::move(handler), std::move(timer)});
}

void Client::on_inbox(const Message& m) {
    std::string_view token = m.subject.substr(inbox_prefix_.size());
    auto it = requests_.find(token);
    if (it == requests_.end()) return;  // late reply after a timeout
    ReplyHandler h = std::move(it->second.handler);
    requests_.erase(it);
    if (m.headers && m.headers->status == 503 && m.data.empty()) {
        h(Error(kNoResponders));
        return;
    }
    OwnedMessage om{std::string(m.subject), std::string(m.reply), std::string(m.data), {}};
    if (m.headers) om.headers = *m.headers;
    h(std::move(om));
}

// ---- input ----

bool Client::on_msg(const MsgArgs& a, std::string_view payload) {
    uint64_t sid = 0;
    for (char c : a.sid)
        sid = sid * 10 + static_cast<uint64_t>(c - '0');
    auto it = subs_.find(sid);
    if (it == subs_.end()) return true;  // unsubscribed while in flight
    Message m{a.subject, a.reply, payload, nullptr};
    if (a.header_len >= 0) {
        auto h = parse_headers(payload.substr(0, static_cast<size_t>(a.header_len)));
        scratch_headers_ = h ? std::move(h).value() : Headers{};
        m.headers = &scratch_headers_;
        m.data = payload.substr(static_cast<size_t>(a.header_len));
    }
    // Held by value: the handler may unsubscribe itself.
    std::shared_ptr<Sub> s = it->second;
    ++s->received;
    if (s->max && s->received >= s->max) subs_.erase(it);
    std::weak_ptr<bool> alive = alive_;
    s->handler(m);
    return !alive.expired() && state_ != State::kClosed;
}

bool Client::on_ping() {
    out_.append("PONG\r\n");
    write_out();
    return true;
}

bool Client::on_pong() {
    if (state_ == State::kAwaitPong) {
        handshake_done();
        return true;
    }
    pings_out_ = 0;
    if (pings_.empty()) return true;
    bool is_flush = pings_.front();
    pings_.pop_front();
    if (is_flush) fire_flush();
    return state_ != State::kClosed;
}

bool Client::on_err(std::string_view text) {
    std::string t(text);
    if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') t = t.substr(1, t.size() - 2);
    last_error_ = t;
    emit(ClientEvent::kError, t);
    return state_ != State::kClosed;
}

void Client::on_ping_timer() {
    if (state_ != State::kConnected) return;
    if (pings_out_ + 1 > opts_.max_pings_out) {
        lost("stale connection");
        return;
    }
    ++pings_out_;
    out_.append("PING\r\n");
    pings_.push_back(false);
    write_out();
    ping_timer_.arm_after(opts_.ping_interval);
}

}  // namespace keel::bus
