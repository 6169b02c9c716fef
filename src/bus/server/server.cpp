#include "bus/server/server.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/random.h"
#include "bus/protocol/encoder.h"
#include "bus/protocol/errors.h"

namespace keel::bus {
namespace {

// Connections need fds: take the hard limit, as nats-server does.
void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace

Server::Server(loop::EventLoop& loop, ServerOptions options)
    : loop_(loop),
      options_(std::move(options)),
      read_buffer_(new char[kReadBufferSize]),
      started_(loop.now()),
      grace_timer_(loop, [this] {
          size_t stuck = 0;
          for (auto& [cid, s] : sessions_)
              stuck += s->pending_bytes() > 0 ? 1 : 0;
          log::warning("shutdown: %zu clients did not take their messages in time", stuck);
          draining_ = false;
          for (auto& [cid, s] : sessions_)
              s->close(CloseReason::kServerShutdown);
          reap_closed();
          if (drained_) drained_();
      }) {
    random_bytes(&rng_state_, sizeof rng_state_);
    rng_state_ |= 1;
}

Server::~Server() {
    // Nothing may be deferred to a loop batch that would run after we are gone.
    flush_scheduled_ = reap_scheduled_ = true;
    for (auto& l : listeners_)
        l->close();
    for (auto& [cid, s] : sessions_)
        s->close(CloseReason::kServerShutdown);
    closed_.clear();
    sessions_.clear();
}

Result<std::unique_ptr<Server>> Server::create(loop::EventLoop& loop, ServerOptions options) {
    std::unique_ptr<Server> s(new Server(loop, std::move(options)));
    if (!s->options_.auth_file.empty())
        s->auth_ = KEEL_TRY(AuthConfig::load(s->options_.auth_file));
    if (s->options_.max_payload > s->options_.max_pending)
        return Error("max payload (" + std::to_string(s->options_.max_payload) +
                     ") must not exceed max pending (" + std::to_string(s->options_.max_pending) +
                     ")");
    raise_fd_limit();
    s->info_.server_id = "N" + random_token(55);  // nats-server ids: N + 55 base32 characters
    s->info_.server_name = s->options_.name.empty() ? s->info_.server_id : s->options_.name;
    s->info_.max_payload = s->options_.max_payload;
    s->info_.auth_required = s->auth_.required();
    Server* self = s.get();
    for (const Endpoint& ep : s->options_.listen) {
        auto l = std::make_unique<Listener>(
            loop, ep, [self](Fd fd, std::string peer, std::optional<uid_t> uid) {
                self->serve(std::move(fd), std::move(peer), uid);
            });
        KEEL_TRY_STATUS(l->open());
        if (ep.kind == Endpoint::Kind::kTcp && s->info_.host.empty()) {
            s->info_.host = l->endpoint().host;
            s->info_.port = l->endpoint().port;
        }
        s->listeners_.push_back(std::move(l));
    }
    s->add_internal("bus.stats",
                    [self](std::string_view, std::string_view reply, std::string_view) {
                        if (!reply.empty()) self->publish_internal(reply, self->stats_json());
                    });
    return s;
}

void Server::serve(Fd fd, std::string peer, std::optional<uid_t> peer_uid) {
    if (draining_) return;  // fd closes here
    ++counters_.total_connections;
    const uint64_t cid = next_cid_++;
    ServerInfo info = info_;
    info.client_id = cid;
    if (peer.rfind("unix", 0) != 0) info.client_ip = peer.substr(0, peer.rfind(':'));
    if (!info.client_ip.empty() && info.client_ip.front() == '[')
        info.client_ip = info.client_ip.substr(1, info.client_ip.size() - 2);
    auto session = std::make_unique<Session>(*this, cid, std::move(fd), std::move(peer), peer_uid);
    Session* s = session.get();
    if (auto st = s->start(to_json(info), auth_.required()); !st) {
        log::warning("cannot serve client %s: %s", s->peer().c_str(), st.error().message().c_str());
        return;
    }
    if (sessions_.size() >= options_.max_connections) {
        // nats-server sends INFO first, then the refusal.
        sessions_.emplace(cid, std::move(session));
        s->send_err(err::kMaxConnections);
        s->close(CloseReason::kMaxConnections);
        return;
    }
    sessions_.emplace(cid, std::move(session));
    log::debug("client %llu connected from %s", static_cast<unsigned long long>(cid),
               s->peer().c_str());
}

uint64_t Server::next_random() {
    // xorshift64*: queue member selection needs speed and spread, not secrecy.
    rng_state_ ^= rng_state_ >> 12;
    rng_state_ ^= rng_state_ << 25;
    rng_state_ ^= rng_state_ >> 27;
    return rng_state_ * 0x2545F4914F6CDD1DULL;
}

void Server::route(Session* from, std::string_view subject, std::string_view reply,
                   int64_t header_len, std::string_view payload) {
    const MatchResult& r = trie_.match(subject);
    ++route_depth_;
    bool delivered = false;
    for (Subscription* sub : r.plain)
        delivered |= deliver_one(from, *sub, subject, reply, header_len, payload);
    for (const auto& group : r.queues) {
        const size_t n = group.size();
        const size_t start = static_cast<size_t>(next_random() % n);
        for (size_t k = 0; k < n; ++k) {
            if (deliver_one(from, *group[(start + k) % n], subject, reply, header_len, payload)) {
                delivered = true;
                break;
            }
        }
    }
    --route_depth_;
    if (!delivered && from && !reply.empty() && from->options().no_responders)
        send_no_responders(from, reply);
    if (route_depth_ == 0) finish_route();
}

bool Server::deliver_one(Session* from, Subscription& sub, std::string_view subject,
                         std::string_view reply, int64_t header_len, std::string_view payload) {
    if (sub.closed) return false;
    Session* to = sub.session;
    if (!to) {
        for (auto& [isub, handler] : internal_subs_) {
            if (isub.get() == &sub)
                internal_requests_.push_back({handler.get(), std::string(subject),
                                              std::string(reply), std::string(payload)});
        }
        return true;
    }
    if (to == from && !from->options().echo) return false;
    if (sub.deny_filter && to->deny_filtered(subject)) return false;
    ++sub.delivered;
    if (sub.max && sub.delivered > sub.max) {
        to->remove_subscription(&sub);
        return false;
    }
    bool ok = to->deliver(sub, subject, reply, header_len, payload);
    if (sub.max && sub.delivered == sub.max) to->remove_subscription(&sub);
    return ok;
}

void Server::send_no_responders(Session* from, std::string_view reply) {
    // The status goes to the requester's own subscription for the reply subject.
    const MatchResult& r = trie_.match(reply);
    for (Subscription* sub : r.plain) {
        if (sub->session != from || sub->closed) continue;
        std::string line =
            "HMSG " + std::string(reply) + " " + sub->sid + " 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";
        from->send_raw(line);
        return;
    }
}

void Server::retire_subscription(std::unique_ptr<Subscription> sub) {
    sub->closed = true;
    if (route_depth_ > 0) {
        retired_.push_back(std::move(sub));
        return;
    }
    trie_.remove(sub.get());
}

void Server::finish_route() {
    for (auto& sub : retired_)
        trie_.remove(sub.get());
    retired_.clear();
    // The bus's own responders run outside the delivery pass they were matched in.
    while (!internal_requests_.empty()) {
        auto batch = std::move(internal_requests_);
        internal_requests_.clear();
        for (auto& req : batch)
            (*req.handler)(req.subject, req.reply, req.payload);
    }
}

void Server::add_internal(const std::string& subject, InternalHandler handler) {
    auto sub = std::make_unique<Subscription>();
    sub->subject = subject;
    sub->sid = "internal";
    trie_.insert(sub.get());
    internal_subs_.emplace_back(std::move(sub),
                                std::make_unique<InternalHandler>(std::move(handler)));
}

void Server::publish_internal(std::string_view subject, std::string_view payload) {
    route(nullptr, subject, {}, -1, payload);
}

void Server::mark_dirty(Session* s) {
    dirty_.push_back(s);
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    loop_.defer([this] { flush_dirty(); });
}

void Server::flush_dirty() {
    flush_scheduled_ = false;
    auto batch = std::move(dirty_);
    dirty_.clear();
    for (Session* s : batch) {
        s->clear_dirty();
        if (!s->closing()) s->flush();
    }
    if (draining_) check_drained();
}

void Server::session_closed(Session* s, CloseReason reason) {
    log::debug("client %llu (%s) closed: %s", static_cast<unsigned long long>(s->cid()),
               s->peer().c_str(), to_string(reason));
    closed_.push_back(s);
    if (reap_scheduled_) return;
    reap_scheduled_ = true;
    loop_.defer([this] { reap_closed(); });
}

void Server::reap_closed() {
    reap_scheduled_ = false;
    auto batch = std::move(closed_);
    closed_.clear();
    for (Session* s : batch) {
        std::erase(dirty_, s);
        sessions_.erase(s->cid());
    }
    closed_since_trim_ += batch.size();
    if (closed_since_trim_ >= kTrimAfterClosed && !trim_timer_.armed())
        trim_timer_.arm_after(kTrimDelay);
    if (draining_) check_drained();
}

void Server::trim_heap() {
    // Closed sessions leave their memory scattered through the heap, and glibc
    // gives back by itself only a free top of it: without this a connection
    // storm's memory would stay with the bus for good.
    closed_since_trim_ = 0;
    ::malloc_trim(0);
}

Status Server::reload_auth() {
    if (options_.auth_file.empty()) return {};
    auto fresh = AuthConfig::load(options_.auth_file);
    if (!fresh) return fresh.error();
    auth_ = std::move(fresh).value();
    info_.auth_required = auth_.required();
    size_t dropped = 0;
    for (auto& [cid, s] : sessions_) {
        if (s->closing() || s->reauthorize(auth_)) continue;
        s->send_err(err::kAuthorizationViolation);
        s->close(CloseReason::kAuthViolation);
        ++dropped;
    }
    log::info("reloaded %s; %zu clients no longer authorized", options_.auth_file.c_str(), dropped);
    return {};
}

void Server::shutdown(std::function<void()> done) {
    for (auto& l : listeners_)
        l->close();
    drained_ = std::move(done);
    draining_ = true;
    for (auto& [cid, s] : sessions_) {
        if (!s->closing()) s->flush();
    }
    grace_timer_.arm_after(options_.shutdown_grace);
    check_drained();
}

void Server::check_drained() {
    for (auto& [cid, s] : sessions_)
        if (!s->closing() && s->pending_bytes() > 0) return;
    draining_ = false;
    grace_timer_.cancel();
    for (auto& [cid, s] : sessions_)
        s->close(CloseReason::kServerShutdown);
    reap_closed();
    if (auto done = std::move(drained_)) done();
}

std::string Server::stats_json() const {
    using nlohmann::json;
    const auto now = loop_.now();
    auto seconds = [&](std::chrono::nanoseconds since) {
        return std::chrono::duration<double>(now - since).count();
    };
    json conns = json::array();
    for (const auto& [cid, s] : sessions_) {
        const auto& c = s->counters();
        json j = {{"cid", cid},
                  {"peer", s->peer()},
                  {"name", s->options().name},
                  {"lang", s->options().lang},
                  {"version", s->options().version},
                  {"subscriptions", s->subscription_count()},
                  {"pending_bytes", s->pending_bytes()},
                  {"in_msgs", c.in_msgs},
                  {"in_bytes", c.in_bytes},
                  {"out_msgs", c.out_msgs},
                  {"out_bytes", c.out_bytes},
                  {"uptime_seconds", seconds(s->started())}};
        if (s->user()) j["user"] = s->user()->name;
        conns.push_back(std::move(j));
    }
    json j = {{"server_id", info_.server_id},
              {"server_name", info_.server_name},
              {"version", info_.version},
              {"uptime_seconds", seconds(started_)},
              {"connections", sessions_.size()},
              {"total_connections", counters_.total_connections},
              {"subscriptions", trie_.size() - internal_subs_.size()},
              {"in_msgs", counters_.in_msgs},
              {"in_bytes", counters_.in_bytes},
              {"out_msgs", counters_.out_msgs},
              {"out_bytes", counters_.out_bytes},
              {"slow_consumers", counters_.slow_consumers},
              {"max_payload", options_.max_payload},
              {"max_connections", options_.max_connections},
              {"connection_details", std::move(conns)}};
    return j.dump();
}

}  // namespace keel::bus
