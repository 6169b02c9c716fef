#include "init/init_daemon.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "base/line_writer.h"
#include "base/log.h"
#include "base/random.h"
#include "base/sys.h"
#include "init/bus_link.h"
#include "init/log_drain.h"
#include "init/manifest/manifest.h"
#include "init/pid1/emergency_shell.h"
#include "init/pid1/loopback.h"
#include "init/pid1/mounts.h"
#include "init/pid1/power.h"
#include "init/supervisor/cgroups.h"
#include "init/supervisor/supervisor.h"
#include "loop/signal_watch.h"
#include "loop/timer.h"

extern char** environ;

namespace keel::init {

namespace {

constexpr auto kFinalGrace = std::chrono::seconds(3);  // SIGTERM to leftovers, then SIGKILL
constexpr auto kShellRespawn = std::chrono::seconds(2);

class InitDaemon {
  public:
    InitDaemon(const InitOptions& o, loop::EventLoop& loop, double started)
        : o_(o),
          loop_(loop),
          started_(started),
          grace_timer_(loop, [this] { final_kill(); }),
          end_timer_(loop, [this] { finish(); }),
          shell_timer_(loop, [this] { try_boot(); }) {}

    int run();

  private:
    void on_signal(int sig);
    void reap();
    void try_boot();
    void boot(Manifest m);
    void power(const std::string& action);
    void services_down();
    void final_kill();
    void finish();
    std::vector<std::string> service_env() const;

    const InitOptions& o_;
    loop::EventLoop& loop_;
    double started_;  // sys::uptime() on entry
    LogDrain log_drain_;
    loop::SignalWatch signals_;
    std::unique_ptr<Cgroups> cgroups_;
    std::unique_ptr<BusLink> link_;
    std::unique_ptr<Supervisor> sup_;
    pid_t shell_ = -1;
    std::string action_;  // set once shutdown began
    bool final_phase_ = false, finished_ = false, powered_off_ = false;
    loop::Timer grace_timer_, end_timer_, shell_timer_;
    int exit_code_ = 0;
};

std::vector<std::string> InitDaemon::service_env() const {
    std::vector<std::string> env;
    bool has_path = false;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        if (kv.rfind("KEEL_BUS=", 0) == 0 && !o_.server.empty()) continue;
        has_path |= kv.rfind("PATH=", 0) == 0;
        env.emplace_back(kv);
    }
    if (!has_path)
        env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    // Services find the bus where init does.
    if (!o_.server.empty()) env.push_back("KEEL_BUS=" + o_.server);
    return env;
}

int InitDaemon::run() {
    // Raised by init's own writes (a log reader gone, a file size limit): ignored
    // outright, not read from the signalfd, where logging them would raise them again.
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGXFSZ, SIG_IGN);
    // Before anything logs: a console or pipe nobody drains must never stop init.
    if (auto st = log_drain_.start(loop_); !st)
        log::warning("stderr: %s (logging blocks)", st.error().message().c_str());
    // Every signal it may be sent comes through the loop: a few have a meaning
    // (on_signal), the rest are logged and ignored, and none can kill it. SIGKILL and
    // SIGSTOP cannot be caught: the kernel keeps them from PID 1 of a namespace
    // when they come from inside it, but not from an ancestor namespace.
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGPIPE);
    sigdelset(&all, SIGXFSZ);
    auto st = signals_.start(loop_, all, [this](int sig) { on_signal(sig); });
    if (!st) {
        log::fatal("cannot watch signals: %s", st.error().message().c_str());
        return 111;
    }
    if (o_.pid1) {
        ::umask(022);
        (void)::chdir("/");
        mount_early();
        // With /proc mounted now, stderr can get a non-blocking description of its own.
        if (log::line_writer() && log::line_writer()->mode() == LineWriter::Mode::kPollFirst)
            (void)log_drain_.start(loop_);
        if (auto lo = bring_loopback_up(); !lo) log::warning("%s", lo.error().message().c_str());
        trap_ctrl_alt_del();
    } else if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        log::warning("cannot become a subreaper: orphans of services go to PID 1");
    }
    auto m = load_manifest(o_.manifest, o_.services_only);
    if (!m) {
        log::fatal("%s", m.error().message().c_str());
        if (!o_.pid1) return 100;
        try_boot();  // emergency shell, retried until the manifest is fixed
    } else {
        boot(std::move(m).value());
    }
    while (!finished_) {
        if (auto r = loop_.run_once(std::chrono::milliseconds(-1)); !r) {
            log::error("%s", r.error().message().c_str());
            if (!o_.pid1) return 111;
        }
    }
    return exit_code_;
}

// PID 1 without a usable manifest: the shell, and after it the manifest again.
void InitDaemon::try_boot() {
    if (!action_.empty()) return;
    if (shell_ < 0) {
        auto m = load_manifest(o_.manifest, o_.services_only);
        if (m) return boot(std::move(m).value());
        log::error("%s", m.error().message().c_str());
        auto pid = start_emergency_shell(o_.emergency_shell);
        if (!pid) {
            log::error("%s: waiting for SIGTERM (poweroff) or SIGINT (reboot)",
                       pid.error().message().c_str());
            return;
        }
        log::error("starting an emergency shell (%s); the manifest is read again when it exits",
                   o_.emergency_shell.c_str());
        shell_ = *pid;
    }
}

void InitDaemon::boot(Manifest m) {
    if (o_.pid1 && !m.hostname.empty()) {
        if (auto st = sys::sethostname(m.hostname); !st)
            log::warning("%s", st.error().message().c_str());
    }
    std::string log_dir = o_.state_dir + "/log";
    if (auto st = sys::make_dirs(log_dir, 0750); !st)
        log::warning("state directory: %s (log files disabled)", st.error().message().c_str());
    // Side by side (tests, containers, PID namespaces) each supervisor needs cgroups of its own.
    std::string cgroup_name = o_.cgroup_name;
    if (cgroup_name.empty())
        cgroup_name =
            o_.pid1 && in_initial_pid_namespace() ? "keel" : "keel-init-" + random_token(8);
    cgroups_ = Cgroups::open(loop_, o_.cgroup_root, cgroup_name);

    bus::ClientOptions co;
    if (!o_.server.empty()) {
        auto servers = bus::parse_server_list(o_.server);
        if (servers)
            co.servers = *servers;
        else
            log::error("--server: %s (using the defaults)", servers.error().message().c_str());
    }
    co.name = "keel-init";
    co.retry_on_failed_connect = true;
    co.reconnect_wait_min = std::chrono::milliseconds(50);
    co.reconnect_wait_max = std::chrono::seconds(1);
    co.reconnect_buffer = 1024 * 1024;
    link_ = std::make_unique<BusLink>(
        loop_, co, [this](const std::string& action) { power(action); },
        [this] {
            if (o_.ready_fd >= 0) {
                Fd ready(o_.ready_fd);
                (void)sys::write(ready.get(), "\n", 1);
            }
        },
        started_);
    SupervisorOptions so;
    so.base_env = service_env();
    so.log_dir = log_dir;
    so.cgroups = cgroups_.get();
    so.before_last_stop = [this](std::function<void()> go) {
        link_->flush(std::chrono::milliseconds(500), go);
    };
    sup_ = std::make_unique<Supervisor>(loop_, so, link_.get());
    log::info("starting %zu services", m.services.size());
    sup_->load(std::move(m.services));
    link_->start(*sup_);  // subscribes to the services' fact and readiness subjects
    sup_->run();
}

void InitDaemon::on_signal(int sig) {
    switch (sig) {
        case SIGCHLD:
            return reap();
        case SIGTERM:
        case SIGUSR2:
        case SIGPWR:  // how lxc and other container managers stop a container's init
            return power(o_.pid1 ? "poweroff" : "stop");
        case SIGINT:
        case SIGUSR1:
            return power(o_.pid1 ? "reboot" : "stop");
        default:
            log::info("ignoring %s", signal_name(sig).c_str());
    }
}

void InitDaemon::reap() {
    for (;;) {
        auto r = sys::reap_any();
        if (!r) {
            log::error("%s", r.error().message().c_str());
            return;
        }
        if (r->pid <= 0) {
            if (r->pid < 0 && final_phase_) finish();  // nothing left at all
            return;
        }
        if (r->pid == shell_) {
            shell_ = -1;
            log::info("emergency shell exited; reading the manifest again");
            shell_timer_.arm_after(kShellRespawn);
            continue;
        }
        if (sup_ && sup_->child_exited(r->pid, r->status)) continue;
        log::debug("reaped orphan %d", r->pid);
    }
}

void InitDaemon::power(const std::string& action) {
    if (!action_.empty()) {
        log::info("already shutting down (%s)", action_.c_str());
        return;
    }
    action_ = action;
    log::info("shutdown (%s): stopping services", action.c_str());
    shell_timer_.cancel();
    if (link_) link_->publish_shutdown(action);
    if (sup_)
        sup_->shutdown([this] { services_down(); });
    else
        services_down();
}

void InitDaemon::services_down() {
    if (!o_.pid1) {
        log::info("all services stopped");
        auto exit = [this] {
            if (link_)
                link_->finish(std::chrono::milliseconds(500), [this] { finished_ = true; });
            else
                finished_ = true;
        };
        if (cgroups_) {
            // Bounded: leftovers got SIGKILL and go within milliseconds.
            end_timer_.arm_after(std::chrono::seconds(2));
            cgroups_->remove_all(exit);
        } else {
            exit();
        }
        return;
    }
    // Whatever is left (orphans, the emergency shell): SIGTERM, a grace period, SIGKILL.
    final_phase_ = true;
    signal_all(SIGTERM);
    grace_timer_.arm_after(kFinalGrace);
    reap();
}

void InitDaemon::final_kill() {
    signal_all(SIGKILL);
    // Every process is now dying; SIGCHLD reaps them, and the last one ends it (finish).
    end_timer_.arm_after(std::chrono::seconds(1));
}

void InitDaemon::finish() {
    if (!o_.pid1) {  // the cgroups did not empty in time
        finished_ = true;
        return;
    }
    if (finished_ || powered_off_) return;
    powered_off_ = true;
    grace_timer_.cancel();
    end_timer_.cancel();
    if (cgroups_) cgroups_->remove_all([] {});
    if (link_) link_.reset();
    power_off(action_);
    // Only reached when reboot(2) failed: stay alive, PID 1 must never exit.
    log::error("staying up; nothing is supervised any more");
}

}  // namespace

int run_init(const InitOptions& options) {
    const double started = sys::uptime();  // before anything: userspace time counts from here
    log::set_program("keel init");
    auto loop = loop::EventLoop::create();
    if (!loop) {
        log::fatal("%s", loop.error().message().c_str());
        return 111;
    }
    InitDaemon d(options, **loop, started);
    int code = d.run();
    // Its last lines, if the reader is slow: waited for, but not forever.
    if (LineWriter* w = log::line_writer()) (void)w->flush_within(std::chrono::milliseconds(500));
    return code;
}

}  // namespace keel::init
