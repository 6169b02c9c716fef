// Service: one supervised service at run time — its state in the state table, its
// main process, readiness check, timers and captured output. The Supervisor decides
// when it should run (dependencies, facts, requests); the Service carries that out.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "init/manifest/service_spec.h"
#include "init/supervisor/connect_probe.h"
#include "init/supervisor/facts.h"
#include "init/supervisor/line_splitter.h"
#include "init/supervisor/listener.h"
#include "init/supervisor/log_file.h"
#include "init/supervisor/log_ring.h"
#include "init/supervisor/state_table.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::init {

class Cgroups;

// What every service shares; owned by the Supervisor, outlives the services.
struct ServiceContext {
    loop::EventLoop& loop;
    std::vector<std::string> base_env;
    Cgroups* cgroups = nullptr;  // null: no cgroup v2
    std::string log_dir;         // for log files
    SupervisorListener* listener = nullptr;
    std::function<void()> changed;  // a state changed: re-evaluate who should run
};

class Service {
  public:
    Service(ServiceContext& ctx, ServiceSpec spec);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    const ServiceSpec& spec() const { return spec_; }
    const std::string& name() const { return spec_.name; }
    State state() const { return state_; }
    pid_t pid() const { return pid_; }
    int restarts() const { return restarts_; }
    double since() const { return since_; }
    // Monotonic time the current run started (valid while pid() > 0).
    Duration started_at() const { return started_at_; }
    struct Exit {
        std::optional<int> code;
        int signal = 0;
    };
    const std::optional<Exit>& last_exit() const { return last_exit_; }
    const std::string& reason() const { return reason_; }
    const LogRing* log() const { return ring_.get(); }
    FactSet& facts() { return facts_; }

    // Starting, ready or stopping: something of it is up.
    bool active() const {
        return state_ == State::kStarting || state_ == State::kReady || state_ == State::kStopping;
    }
    bool ready() const { return state_ == State::kReady; }

    // Runs one input through the state table.
    void input(Input in);
    // The main process was reaped with this wait status.
    void exited(int wait_status);
    // A message arrived on the service's bus readiness subject.
    void bus_ready_message();
    // Clears a failed service so it can be started again.
    void reset();

  private:
    void enter(State s);
    void publish(const char* kind);
    void spawn();
    void spawn_failed(const std::string& why);
    void start_readiness();
    void stop_readiness();
    void signal_group(int sig);
    void decide(bool success);
    void on_exec_status();
    void on_notify();
    void on_output();
    void deliver_line(std::string_view line);
    Status open_output();

    ServiceContext& ctx_;
    ServiceSpec spec_;
    State state_ = State::kDown;
    pid_t pid_ = -1;
    double since_ = 0;
    Duration started_at_{0};
    int restarts_ = 0;
    int quick_failures_ = 0;
    bool fail_on_exit_ = false;  // stopped by a ready timeout: the exit is a failure
    std::optional<Exit> last_exit_;
    std::string reason_;

    loop::Timer timer_;  // the state's timeout (ready, stop, backoff)
    Fd exec_status_;
    loop::FdWatch exec_watch_;
    Fd notify_;
    loop::FdWatch notify_watch_;
    std::unique_ptr<ConnectProbe> probe_;

    Fd out_read_, out_write_;  // kept across runs: leftover writers never matter
    loop::FdWatch out_watch_;
    LineSplitter splitter_;
    std::unique_ptr<LogRing> ring_;  // created at the first line
    std::unique_ptr<LogFile> file_;
    bool file_error_reported_ = false;

    FactSet facts_;
};

}  // namespace keel::init
