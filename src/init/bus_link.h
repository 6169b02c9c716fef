// BusLink: init on the bus. Publishes service.<name>.<event>, log.<name>,
// system.ready and system.shutdown; answers init.status, init.ready (once the
// system is ready: system.ready's payload for whoever connected after it was
// published), init.start|stop|restart, init.logs, init.poweroff|reboot and
// ps.<name>; feeds fact and readiness subjects
// to the supervisor. Supervision never waits for it: while the bus is down the
// client buffers publishes (bounded; overflow counted and reported in init.status).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bus/client/client.h"
#include "init/supervisor/listener.h"

namespace keel::init {

class Supervisor;

class BusLink final : public SupervisorListener {
  public:
    using PowerFn = std::function<void(const std::string& action)>;  // "poweroff" | "reboot"
    using ReadyFn = std::function<void()>;

    // `loop` must outlive the link. `init_uptime`: sys::uptime() when init started, for
    // system.ready and init.status (how long the kernel and init's own start took).
    BusLink(loop::EventLoop& loop, bus::ClientOptions options, PowerFn power, ReadyFn ready,
            double init_uptime);
    ~BusLink() override;

    // Subscribes and connects; `sup` must outlive the link.
    void start(Supervisor& sup);
    void publish_shutdown(const std::string& action);
    // Calls `done` once what was published reached the bus (or after `timeout`, or
    // at once when the bus is away).
    void flush(std::chrono::nanoseconds timeout, std::function<void()> done);
    // Waits (bounded) for buffered events to reach the bus, then closes.
    void finish(std::chrono::nanoseconds timeout, std::function<void()> done);
    bus::Client& client() { return client_; }

    void on_service_event(const std::string& service, const ServiceEvent& e) override;
    void on_log_line(const std::string& service, uint64_t seq, std::string_view line) override;
    void on_system_ready() override;

  private:
    void reply(const bus::Message& m, const nlohmann::json& body);
    void on_request(const bus::Message& m);
    void on_control(const bus::Message& m, const std::string& verb);
    void on_ready_request(const bus::Message& m);
    void publish_json(const std::string& subject, const nlohmann::json& body);

    bus::Client client_;
    PowerFn power_;
    ReadyFn on_ready_;
    Supervisor* sup_ = nullptr;
    bus::Headers log_headers_;
    std::optional<nlohmann::json> ready_;    // system.ready's payload, once published
    std::deque<std::string> ready_waiters_;  // init.ready reply subjects until then
    double init_uptime_;
    double ready_uptime_ = -1;  // sys::uptime() when system.ready went out
};

}  // namespace keel::init
