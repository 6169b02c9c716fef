#include "bus/server/session.h"

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/sys.h"
#include "bus/protocol/encoder.h"
#include "bus/protocol/errors.h"
#include "bus/protocol/subject.h"
#include "bus/server/server.h"

namespace keel::bus {
namespace {

constexpr size_t kEagerFlushBytes = 256 * 1024;
constexpr size_t kKeepOutputBytes = 256 * 1024;

}  // namespace

const char* to_string(CloseReason r) {
    switch (r) {
        case CloseReason::kClientClosed:
            return "client closed";
        case CloseReason::kReadError:
            return "read error";
        case CloseReason::kWriteError:
            return "write error";
        case CloseReason::kProtocolViolation:
            return "protocol violation";
        case CloseReason::kAuthViolation:
            return "authorization violation";
        case CloseReason::kConnectTimeout:
            return "no CONNECT in time";
        case CloseReason::kMaxPayload:
            return "maximum payload exceeded";
        case CloseReason::kMaxControlLine:
            return "maximum control line exceeded";
        case CloseReason::kMaxConnections:
            return "maximum connections exceeded";
        case CloseReason::kSlowConsumer:
            return "slow consumer";
        case CloseReason::kStaleConnection:
            return "stale connection";
        case CloseReason::kBadClientProtocol:
            return "invalid client protocol";
        case CloseReason::kNoRespondersNeedsHeaders:
            return "no responders requires headers";
        case CloseReason::kServerShutdown:
            return "server shutdown";
    }
    return "?";
}

Session::Session(Server& server, uint64_t cid, Fd fd, std::string peer,
                 std::optional<uid_t> peer_uid)
    : server_(server),
      cid_(cid),
      fd_(std::move(fd)),
      peer_(std::move(peer)),
      peer_uid_(peer_uid),
      parser_(Role::kServer, *this,
              ParserLimits{server.options().max_control_line, server.options().max_payload}),
      connect_timer_(server.loop(),
                     [this] {
                         // nats-server's words for it, with or without users: clients know them.
                         send_err(err::kAuthenticationTimeout);
                         close(CloseReason::kConnectTimeout);
                     }),
      ping_timer_(server.loop(), [this] { on_ping_timer(); }),
      write_timer_(server.loop(), [this] { on_write_timer(); }),
      started_(server.loop().now()) {}

Session::~Session() = default;

Status Session::start(const std::string& info_json, bool auth_required) {
    KEEL_TRY_STATUS(
        watch_.start(server_.loop(), fd_.get(), EPOLLIN, [this](uint32_t ev) { on_events(ev); }));
    // nats-server ends INFO with " \r\n"; some clients split on that space.
    send_raw("INFO ");
    send_raw(info_json);
    send_raw(" \r\n");
    if (auth_required) parser_.require_connect_first(true);
    if (const auto t = server_.options().connect_timeout; t.count() > 0)
        connect_timer_.arm_after(t);
    last_activity_ = server_.loop().now();
    ping_timer_.arm_after(server_.options().ping_interval);
    return {};
}

void Session::on_events(uint32_t events) {
    if (events & EPOLLOUT) {
        const bool had_backlog = !out_.empty();
        flush();
        // A shutdown learns that every queue has drained in the batch-end pass
        // (Server::flush_dirty); a backlog emptied here must reach that pass too.
        if (had_backlog && out_.empty()) mark_dirty();
    }
    if (!closing_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable();
}

void Session::on_readable() {
    // A few reads per wakeup keep one busy client from starving the others.
    for (int round = 0; round < 4 && !closing_; ++round) {
        auto n = sys::read(fd_.get(), server_.read_buffer(), server_.read_buffer_size());
        if (!n) {
            if (n.error().code() == EAGAIN) return;
            close(n.error().code() == ECONNRESET ? CloseReason::kClientClosed
                                                 : CloseReason::kReadError);
            return;
        }
        if (*n == 0) {
            close(CloseReason::kClientClosed);
            return;
        }
        ParseError e = parser_.feed(server_.read_buffer(), *n);
        if (e != ParseError::kNone) {
            handle_parse_error(e);
            return;
        }
        if (*n < server_.read_buffer_size()) return;
    }
}

void Session::handle_parse_error(ParseError e) {
    switch (e) {
        case ParseError::kNone:
        case ParseError::kStopped:
            return;
        case ParseError::kUnknownOp:
            send_err(err::kUnknownProtocol);
            close(CloseReason::kProtocolViolation);
            return;
        case ParseError::kAuthViolation:
            send_err(err::kAuthorizationViolation);
            close(CloseReason::kAuthViolation);
            return;
        case ParseError::kMaxControlLine:
            send_err(err::kMaxControlLine);
            close(CloseReason::kMaxControlLine);
            return;
        case ParseError::kMaxPayload:
            send_err(err::kMaxPayload);
            close(CloseReason::kMaxPayload);
            return;
        case ParseError::kBadArguments:
            close(CloseReason::kProtocolViolation);
            return;
    }
}

// ---- commands ----

bool Session::on_connect(std::string_view json) {
    auto parsed = parse_connect(json, opts_);
    if (!parsed) {
        log::debug("client %llu (%s): %s", static_cast<unsigned long long>(cid_), peer_.c_str(),
                   parsed.error().message().c_str());
        close(CloseReason::kProtocolViolation);
        return false;
    }
    opts_ = std::move(parsed).value();
    connect_timer_.cancel();
    const AuthConfig& auth = server_.auth();
    if (auth.required()) {
        user_ = auth.authenticate(opts_, peer_uid_);
        if (!user_) {
            log::info("client %llu (%s): authorization violation (user '%s')",
                      static_cast<unsigned long long>(cid_), peer_.c_str(), opts_.user.c_str());
            send_err(err::kAuthorizationViolation);
            close(CloseReason::kAuthViolation);
            return false;
        }
        perms_ = user_->permissions.get();
        publish_cache_.clear();
    }
    if (opts_.protocol < 0 || opts_.protocol > 1) {
        send_err(err::kBadClientProtocol);
        close(CloseReason::kBadClientProtocol);
        return false;
    }
    if (opts_.no_responders && !opts_.headers) {
        send_err(err::kNoRespondersNeedsHeaders);
        close(CloseReason::kNoRespondersNeedsHeaders);
        return false;
    }
    connected_ = true;
    parser_.require_connect_first(false);
    ok();
    return true;
}

bool Session::on_info(std::string_view json) {
    // Clients have no business sending INFO, but nats-server tolerates well-formed ones.
    if (!parse_info(json)) {
        close(CloseReason::kProtocolViolation);
        return false;
    }
    return true;
}

bool Session::on_pub(const MsgArgs& m, std::string_view payload) {
    last_activity_ = server_.loop().now();
    ++counters_.in_msgs;
    counters_.in_bytes += payload.size();
    server_.count_in(payload.size());
    if (m.header_len >= 0 && !opts_.headers) {
        // nats-server: HPUB without headers negotiated is a protocol error.
        close(CloseReason::kProtocolViolation);
        return false;
    }
    // Publishers mostly repeat one subject: validate each new one once.
    if (m.subject != last_valid_subject_) {
        if (!is_valid_publish_subject(m.subject)) {
            // A wildcard or malformed subject is never routed; pedantic clients are told.
            if (opts_.pedantic) send_err(err::kInvalidPublishSubject);
            return true;
        }
        last_valid_subject_.assign(m.subject);
    }
    if (perms_) {
        bool allowed;
        if (auto it = publish_cache_.find(std::string(m.subject)); it != publish_cache_.end()) {
            allowed = it->second;
        } else {
            allowed = perms_->can_publish(m.subject);
            if (publish_cache_.size() >= 1024) publish_cache_.clear();
            publish_cache_.emplace(std::string(m.subject), allowed);
        }
        if (!allowed) {
            send_err(err::publish_violation(m.subject));
            return true;
        }
    }
    ok();
    server_.route(this, m.subject, m.reply, m.header_len, payload);
    return !closing_;
}

bool Session::on_sub(std::string_view subject, std::string_view queue, std::string_view sid) {
    last_activity_ = server_.loop().now();
    bool filtered = false;
    if (perms_) {
        auto v = perms_->can_subscribe(subject, queue);
        if (v == Permissions::SubscribeVerdict::kDenied) {
            log::info("client %llu (%s): subscription to '%.*s' denied for user '%s'",
                      static_cast<unsigned long long>(cid_), peer_.c_str(),
                      static_cast<int>(subject.size()), subject.data(), user_->name.c_str());
            send_err(err::subscription_violation(subject, queue));
            return true;
        }
        filtered = v == Permissions::SubscribeVerdict::kAllowedFiltered;
    }
    const size_t max_subs = server_.options().max_subscriptions;
    if (max_subs && subs_.size() >= max_subs) {
        send_err(err::kMaxSubscriptions);
        return true;
    }
    if (!is_valid_subject(subject)) {
        send_err(err::kInvalidSubject);
        return true;
    }
    auto [it, inserted] = subs_.try_emplace(std::string(sid));
    if (inserted) {
        auto sub = std::make_unique<Subscription>();
        sub->subject = std::string(subject);
        sub->queue = std::string(queue);
        sub->sid = std::string(sid);
        sub->session = this;
        sub->deny_filter = filtered;
        server_.add_subscription(sub.get());
        it->second = std::move(sub);
    }
    ok();
    return true;
}

bool Session::on_unsub(std::string_view sid, int64_t max) {
    last_activity_ = server_.loop().now();
    if (auto it = subs_.find(std::string(sid)); it != subs_.end()) {
        Subscription* sub = it->second.get();
        if (max > 0 && static_cast<uint64_t>(max) > sub->delivered)
            sub->max = static_cast<uint64_t>(max);
        else
            remove_subscription(sub);
    }
    ok();
    return true;
}

bool Session::on_ping() {
    last_activity_ = server_.loop().now();
    send_raw("PONG\r\n");
    return true;
}

bool Session::on_pong() {
    pings_out_ = 0;
    return true;
}

bool Session::on_err(std::string_view text) {
    log::info("client %llu (%s) sent -ERR %.*s", static_cast<unsigned long long>(cid_),
              peer_.c_str(), static_cast<int>(text.size()), text.data());
    close(CloseReason::kProtocolViolation);
    return false;
}

void Session::remove_subscription(Subscription* sub) {
    auto it = subs_.find(sub->sid);
    if (it == subs_.end() || it->second.get() != sub) return;
    server_.retire_subscription(std::move(it->second));
    subs_.erase(it);
}

// ---- output ----

bool Session::deliver(const Subscription& sub, std::string_view subject, std::string_view reply,
                      int64_t header_len, std::string_view payload) {
    if (closing_) return false;
    if (header_len >= 0 && !opts_.headers) {
        // A client that did not ask for headers gets the body only.
        payload.remove_prefix(static_cast<size_t>(header_len));
        header_len = -1;
    }
    const size_t before = out_.size();
    encode::msg(out_, subject, sub.sid, reply, header_len, payload);
    const auto max_pending = static_cast<size_t>(server_.options().max_pending);
    // A big backlog goes to the kernel now rather than at the end of the batch: only
    // what the socket cannot take counts against max_pending.
    if (out_.size() > max_pending / 2 || out_.size() >= kEagerFlushBytes) {
        flush();
        if (closing_) return false;
    }
    if (out_.size() > max_pending) {
        // Slow consumer: nats-server closes without -ERR, and so do we. Publishers never wait.
        out_.clear();
        log::warning("client %llu (%s): slow consumer, %zu bytes pending; closing",
                     static_cast<unsigned long long>(cid_), peer_.c_str(), before);
        server_.count_slow_consumer();
        close(CloseReason::kSlowConsumer);
        return false;
    }
    ++counters_.out_msgs;
    counters_.out_bytes += payload.size();
    server_.count_out(payload.size());
    mark_dirty();
    return true;
}

bool Session::deny_filtered(std::string_view subject) const {
    return perms_ && perms_->delivery_denied(subject);
}

void Session::send_err(std::string_view text) {
    encode::err(out_, text);
    mark_dirty();
}

void Session::send_raw(std::string_view bytes) {
    out_.append(bytes);
    mark_dirty();
}

void Session::mark_dirty() {
    if (dirty_ || closing_) return;
    dirty_ = true;
    server_.mark_dirty(this);
}

void Session::flush() {
    while (!out_.empty()) {
        auto n = sys::write(fd_.get(), out_.data(), out_.size());
        if (!n) {
            if (n.error().code() == EAGAIN) break;
            out_.clear();
            if (!closing_) close(CloseReason::kWriteError);
            return;
        }
        out_.consume(*n);
        stalled_since_ = std::chrono::nanoseconds(0);
    }
    if (!out_.empty() && stalled_since_.count() == 0) {
        stalled_since_ = server_.loop().now();
        write_timer_.arm_after(server_.options().write_deadline);
    }
    if (out_.empty()) {
        write_timer_.cancel();
        // Only an exceptional burst's buffer goes back at once; freeing and
        // regrowing a working-size buffer on every drain costs page faults. A
        // client yet to send CONNECT (perhaps never) keeps none past its INFO.
        out_.release_if_idle(connected_ ? kKeepOutputBytes : 0);
    }
    update_write_interest();
}

void Session::update_write_interest() {
    bool want = !out_.empty();
    if (want == want_write_ || !watch_.active()) return;
    want_write_ = want;
    uint32_t ev = (closing_ ? 0u : static_cast<uint32_t>(EPOLLIN)) | (want ? EPOLLOUT : 0u);
    (void)watch_.set_events(ev);
}

void Session::on_write_timer() {
    // No byte could be written for a whole write deadline: the peer is not reading.
    if (out_.empty() || closing_) return;
    log::warning("client %llu (%s): slow consumer, write deadline exceeded; closing",
                 static_cast<unsigned long long>(cid_), peer_.c_str());
    server_.count_slow_consumer();
    out_.clear();
    close(CloseReason::kSlowConsumer);
}

void Session::on_ping_timer() {
    const auto interval = server_.options().ping_interval;
    const auto now = server_.loop().refresh_now();
    // Recent messages, subscription changes or PINGs from the client prove it is
    // alive (nats-server counts these, not PONGs); no PING needed then.
    if (now - last_activity_ >= interval) {
        if (pings_out_ + 1 > server_.options().max_pings_out) {
            send_err(err::kStaleConnection);
            close(CloseReason::kStaleConnection);
            return;
        }
        ++pings_out_;
        send_raw("PING\r\n");
    }
    // An idle connection gives its output buffer back.
    out_.release_if_idle(0);
    ping_timer_.arm_after(interval);
}

void Session::close(CloseReason reason) {
    if (closing_) return;
    closing_ = true;
    // The last words (an -ERR) go out before the socket closes, as far as the socket takes them.
    flush();
    connect_timer_.cancel();
    ping_timer_.cancel();
    write_timer_.cancel();
    watch_.stop();
    for (auto& [sid, sub] : subs_)
        server_.retire_subscription(std::move(sub));
    subs_.clear();
    (void)sys::shutdown(fd_.get(), SHUT_RDWR);
    server_.session_closed(this, reason);
}

bool Session::reauthorize(const AuthConfig& auth) {
    if (!connected_) return true;
    if (!auth.required()) {
        user_.reset();
        perms_ = nullptr;
        return true;
    }
    auto user = auth.authenticate(opts_, peer_uid_);
    if (!user) return false;
    user_ = std::move(user);
    perms_ = user_->permissions.get();
    publish_cache_.clear();
    // Subscriptions the new rules forbid go away, each with its -ERR.
    std::vector<Subscription*> denied;
    for (auto& [sid, sub] : subs_) {
        auto v = perms_ ? perms_->can_subscribe(sub->subject, sub->queue)
                        : Permissions::SubscribeVerdict::kAllowed;
        if (v == Permissions::SubscribeVerdict::kDenied)
            denied.push_back(sub.get());
        else
            sub->deny_filter = v == Permissions::SubscribeVerdict::kAllowedFiltered;
    }
    for (Subscription* s : denied) {
        send_err(err::subscription_violation(s->subject, s->queue));
        remove_subscription(s);
    }
    return true;
}

}  // namespace keel::bus
