// Supervisor: all services of a manifest. Decides who should run — wanted, every
// wanted fact holding, every dependency ready — and starts them in dependency
// order, stops dependents before what they depend on, brings dependents back when
// a dependency is ready again, and announces when the system has settled. It never
// needs the bus: requests and facts come in through plain calls.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "init/manifest/service_spec.h"
#include "init/supervisor/listener.h"
#include "init/supervisor/service.h"

namespace keel::init {

class Cgroups;

struct SupervisorOptions {
    std::vector<std::string> base_env;  // environment every service starts from
    std::string log_dir;                // for services with log.file
    Cgroups* cgroups = nullptr;
    // The service started first and stopped last (the bus), if the manifest has it.
    std::string first_service = "bus";
    // At shutdown, once only the first service is left: called with a continuation
    // that lets it stop (keel init flushes its events to the bus first).
    std::function<void(std::function<void()>)> before_last_stop;
};

class Supervisor {
  public:
    // `loop` and `listener` must outlive the supervisor.
    Supervisor(loop::EventLoop& loop, SupervisorOptions options, SupervisorListener* listener);
    ~Supervisor();

    // Takes the services (already in dependency order)...
    void load(std::vector<ServiceSpec> services);
    // ...and wants them all up.
    void run();
    void start(std::vector<ServiceSpec> services) {
        load(std::move(services));
        run();
    }

    Status start_service(const std::string& name);
    Status stop_service(const std::string& name);
    Status restart_service(const std::string& name);
    // Stops everything (dependents first, the first service last); `done` runs once
    // nothing is left running.
    void shutdown(std::function<void()> done);
    bool shutting_down() const { return shutting_down_; }

    // A reaped child; false when it was not a service's main process (an orphan).
    bool child_exited(pid_t pid, int wait_status);
    // A bus message, for facts and bus readiness.
    void on_bus_message(std::string_view subject, std::string_view payload);
    // Subjects whose messages matter (facts, bus readiness).
    std::vector<std::string> watched_subjects() const;

    const Service* find(const std::string& name) const;
    const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
    bool system_ready() const { return announced_ready_; }

    nlohmann::json status_json(const std::string& only = {}) const;
    Result<nlohmann::json> ps_json(const std::string& name) const;
    Result<nlohmann::json> logs_json(const std::string& name, size_t max_lines) const;

  private:
    Service* find_mut(const std::string& name);
    void evaluate();
    void evaluate_now();
    std::vector<Service*> dependents_of(const Service& s) const;

    loop::EventLoop& loop_;
    SupervisorOptions opts_;
    SupervisorListener* listener_;
    std::unique_ptr<ServiceContext> ctx_;
    std::vector<std::unique_ptr<Service>> services_;  // dependency order
    std::vector<std::vector<size_t>> deps_;           // indexes into services_
    std::vector<bool> wanted_, restart_pending_;
    bool shutting_down_ = false;
    std::function<void()> shutdown_done_;
    bool announced_ready_ = false;
    enum class LastStop { kNotYet, kAsked, kGo } last_stop_ = LastStop::kNotYet;
    bool evaluating_ = false, again_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace keel::init
