#include "init/bus_link.h"

#include "base/line_writer.h"
#include "base/log.h"
#include "base/sys.h"
#include "init/supervisor/supervisor.h"

namespace keel::init {

using nlohmann::json;

namespace {

// The service name a request carries: plain text, or JSON {"name": ...} / "name".
std::string name_of(std::string_view data) {
    auto j = json::parse(data, nullptr, false);
    if (!j.is_discarded()) {
        if (j.is_string()) return j.get<std::string>();
        if (j.is_object() && j.contains("name") && j["name"].is_string())
            return j["name"].get<std::string>();
    }
    std::string s(data);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

}  // namespace

BusLink::BusLink(loop::EventLoop& loop, bus::ClientOptions options, PowerFn power, ReadyFn ready,
                 double init_uptime)
    : client_(loop, std::move(options)),
      power_(std::move(power)),
      on_ready_(std::move(ready)),
      init_uptime_(init_uptime) {}

BusLink::~BusLink() {
    client_.close();
}

void BusLink::start(Supervisor& sup) {
    sup_ = &sup;
    client_.on_event([this](bus::ClientEvent e, std::string_view detail) {
        switch (e) {
            case bus::ClientEvent::kConnected:
                log::info("connected to the bus at %s", client_.endpoint().to_string().c_str());
                break;
            case bus::ClientEvent::kReconnected:
                log::info("reconnected to the bus (%llu events dropped while it was away so far)",
                          static_cast<unsigned long long>(client_.dropped()));
                break;
            case bus::ClientEvent::kDisconnected:
                log::warning("lost the bus (%.*s): supervising on, events are buffered",
                             static_cast<int>(detail.size()), detail.data());
                break;
            default:
                break;
        }
    });
    for (const char* subject : {"init.status", "init.logs", "ps.*"})
        client_.subscribe(subject, [this](const bus::Message& m) { on_request(m); });
    client_.subscribe("init.ready", [this](const bus::Message& m) { on_ready_request(m); });
    for (const char* verb : {"start", "stop", "restart", "poweroff", "reboot"})
        client_.subscribe(std::string("init.") + verb,
                          [this, verb](const bus::Message& m) { on_control(m, verb); });
    for (const auto& subject : sup.watched_subjects())
        client_.subscribe(
            subject, [this](const bus::Message& m) { sup_->on_bus_message(m.subject, m.data); });
    client_.connect();
}

void BusLink::reply(const bus::Message& m, const json& body) {
    if (m.reply.empty()) return;
    (void)client_.publish(m.reply, body.dump());
}

void BusLink::on_request(const bus::Message& m) {
    if (m.subject == "init.status") {
        std::string only = name_of(m.data);
        json st = sup_->status_json(only);
        if (!only.empty() && st["services"].empty())
            return reply(m, {{"error", "no service '" + only + "'"}});
        st["bus"] = {{"connected", client_.connected()}, {"dropped", client_.dropped()}};
        // init's own log lines its stderr (the console) did not take: waiting, dropped.
        const LineWriter* w = log::line_writer();
        st["console"] = {{"dropped_lines", w ? w->dropped_lines() : 0},
                         {"buffered_bytes", w ? w->buffered_bytes() : 0}};
        // A client that subscribed too late for system.ready learns when it was; `time`
        // and `uptime` are one moment, to place the services' `since` on the boot clock.
        st["time"] = sys::unix_time();
        st["uptime"] = sys::uptime();
        st["init_uptime"] = init_uptime_;
        st["ready_uptime"] = ready_uptime_ < 0 ? json(nullptr) : json(ready_uptime_);
        return reply(m, st);
    }
    if (m.subject == "init.logs") {
        auto req = json::parse(m.data, nullptr, false);
        std::string name = name_of(m.data);
        size_t lines = 1000;
        if (req.is_object() && req.contains("lines") && req["lines"].is_number_unsigned())
            lines = req["lines"].get<size_t>();
        auto r = sup_->logs_json(name, lines);
        return reply(m, r ? *r : json{{"error", r.error().message()}});
    }
    // ps.<name>
    auto r = sup_->ps_json(std::string(m.subject.substr(3)));
    reply(m, r ? *r : json{{"error", r.error().message()}});
}

void BusLink::on_ready_request(const bus::Message& m) {
    if (m.reply.empty()) return;
    if (ready_) return reply(m, *ready_);
    // Held until ready; bounded, as anyone may ask: the oldest askers (most
    // likely timed out already) are forgotten first.
    constexpr size_t kMaxWaiters = 256;
    if (ready_waiters_.size() == kMaxWaiters) ready_waiters_.pop_front();
    ready_waiters_.emplace_back(m.reply);
}

void BusLink::on_control(const bus::Message& m, const std::string& verb) {
    if (verb == "poweroff" || verb == "reboot") {
        reply(m, {{"ok", true}, {"action", verb}});
        power_(verb);
        return;
    }
    std::string name = name_of(m.data);
    Status st = verb == "start"  ? sup_->start_service(name)
                : verb == "stop" ? sup_->stop_service(name)
                                 : sup_->restart_service(name);
    if (!st) return reply(m, {{"error", st.error().message()}});
    reply(m, {{"ok", true}, {"name", name}, {"action", verb}});
}

void BusLink::publish_json(const std::string& subject, const json& body) {
    if (auto st = client_.publish(subject, body.dump()); !st)
        log::warning("cannot publish %s: %s", subject.c_str(), st.error().message().c_str());
}

void BusLink::on_service_event(const std::string& service, const ServiceEvent& e) {
    json j = {{"name", service},
              {"pid", e.pid > 0 ? json(e.pid) : json(nullptr)},
              {"exit_code", e.exit_code ? json(*e.exit_code) : json(nullptr)},
              {"signal", e.signal},
              {"restarts", e.restarts},
              {"since", e.since}};
    if (!e.reason.empty()) j["reason"] = e.reason;
    if (std::string_view(e.kind) == "restarting")
        j["delay"] = std::chrono::duration<double>(e.delay).count();
    log::debug("service.%s.%s %s", service.c_str(), e.kind, j.dump().c_str());
    publish_json("service." + service + "." + e.kind, j);
}

void BusLink::on_log_line(const std::string& service, uint64_t seq, std::string_view line) {
    log_headers_.fields.clear();
    log_headers_.add("Keel-Log-Seq", std::to_string(seq));
    (void)client_.publish("log." + service, line, {}, &log_headers_);
}

void BusLink::on_system_ready() {
    log::info("system ready");
    json services = json::object();
    for (const auto& s : sup_->services())
        services[s->name()] = to_string(s->state());
    ready_uptime_ = sys::uptime();
    ready_ = json{{"time", sys::unix_time()},
                  {"uptime", ready_uptime_},
                  {"init_uptime", init_uptime_},
                  {"services", services}};
    publish_json("system.ready", *ready_);
    for (const auto& to : ready_waiters_)
        (void)client_.publish(to, ready_->dump());
    ready_waiters_.clear();
    if (on_ready_) on_ready_();
}

void BusLink::publish_shutdown(const std::string& action) {
    publish_json("system.shutdown", {{"action", action}, {"time", sys::unix_time()}});
}

void BusLink::flush(std::chrono::nanoseconds timeout, std::function<void()> done) {
    if (!client_.connected()) return done();
    client_.flush(timeout, [done = std::move(done)](Status) { done(); });
}

void BusLink::finish(std::chrono::nanoseconds timeout, std::function<void()> done) {
    if (!client_.connected()) {
        client_.close();
        return done();
    }
    client_.flush(timeout, [done = std::move(done)](Status) { done(); });
}

}  // namespace keel::init
