#include "init/supervisor/service.h"

#include <fcntl.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/sys.h"
#include "init/manifest/manifest.h"
#include "init/supervisor/cgroups.h"
#include "init/supervisor/spawn.h"

namespace keel::init {

Service::Service(ServiceContext& ctx, ServiceSpec spec)
    : ctx_(ctx),
      spec_(std::move(spec)),
      timer_(ctx.loop, [this] { input(Input::kTimeout); }),
      facts_(spec_.wants_facts) {
    since_ = sys::unix_time();
}

Service::~Service() {
    stop_readiness();
    out_watch_.stop();
}

void Service::enter(State s) {
    if (s != state_) since_ = sys::unix_time();
    state_ = s;
}

void Service::publish(const char* kind) {
    if (!ctx_.listener) return;
    ServiceEvent e{kind};
    e.pid = pid_ > 0 ? pid_ : 0;
    if (last_exit_ && std::string_view(kind) != "starting" && std::string_view(kind) != "ready") {
        e.exit_code = last_exit_->code;
        e.signal = last_exit_->signal;
    }
    if (std::string_view(kind) == "ready" && spec_.type == ServiceType::kOneshot && last_exit_)
        e.exit_code = last_exit_->code;
    e.restarts = restarts_;
    e.since = since_;
    e.reason = reason_;
    if (state_ == State::kBackoff) e.delay = timer_.deadline() - ctx_.loop.refresh_now();
    ctx_.listener->on_service_event(spec_.name, e);
}

void Service::input(Input in) {
    Transition t = transition(state_, in);
    log::debug("%s: %s + %s -> %s", spec_.name.c_str(), to_string(state_), to_string(in),
               to_string(t.next));
    State before = state_;
    enter(t.next);
    switch (t.action) {
        case Action::kNone:
            break;
        case Action::kSpawn:
            if (before == State::kBackoff) ++restarts_;
            spawn();
            break;
        case Action::kMarkReady:
            timer_.cancel();
            stop_readiness();
            reason_.clear();
            publish("ready");
            break;
        case Action::kReadyFail:
            fail_on_exit_ = true;
            reason_ = "not ready within the ready timeout";
            log::warning("%s: %s", spec_.name.c_str(), reason_.c_str());
            [[fallthrough]];
        case Action::kSignalStop:
            stop_readiness();
            if (pid_ <= 0) {  // a finished oneshot: nothing runs
                enter(State::kDown);
                publish("stopped");
                break;
            }
            signal_group(spec_.stop_signal);
            signal_group(SIGCONT);
            timer_.arm_after(spec_.stop_timeout);
            break;
        case Action::kKillGroup:
            log::warning("%s: still running %.1fs after %s: killing its process group",
                         spec_.name.c_str(),
                         std::chrono::duration<double>(spec_.stop_timeout).count(),
                         signal_name(spec_.stop_signal).c_str());
            signal_group(SIGKILL);
            if (ctx_.cgroups) ctx_.cgroups->kill(spec_.name);
            break;
        case Action::kDecide:
            decide(last_exit_ && last_exit_->code == 0);
            break;
        case Action::kStopped:
            if (fail_on_exit_) {
                decide(false);
                break;
            }
            publish("stopped");
            break;
        case Action::kCancel:
            timer_.cancel();
            publish("stopped");
            break;
    }
    if (state_ != before && ctx_.changed) ctx_.changed();
}

void Service::decide(bool success) {
    Duration ran = ctx_.loop.refresh_now() - started_at_;
    Decision d = decide_after_exit(spec_, RunEnd{success, ran}, quick_failures_);
    quick_failures_ = d.quick_failures;
    fail_on_exit_ = false;
    enter(d.next);
    switch (d.next) {
        case State::kReady:
            publish("ready");
            break;
        case State::kDown:
            publish("stopped");
            break;
        case State::kBackoff:
            if (reason_.empty()) reason_ = success ? "exited" : "failed";
            timer_.arm_after(d.delay);
            publish("restarting");
            break;
        default:
            if (reason_.empty()) reason_ = success ? "exited" : "failed";
            if (spec_.restart_limit > 0 && quick_failures_ > spec_.restart_limit)
                reason_ = "crash loop: " + std::to_string(quick_failures_) +
                          " short runs in a row (" + reason_ + ")";
            log::error("%s: failed: %s", spec_.name.c_str(), reason_.c_str());
            publish("failed");
            break;
    }
}

Status Service::open_output() {
    if (out_read_) return {};
    auto p = KEEL_TRY(sys::pipe());
    KEEL_TRY_STATUS(sys::set_nonblocking(p.first.get(), true));
    out_read_ = std::move(p.first);
    out_write_ = std::move(p.second);
    return out_watch_.start(ctx_.loop, out_read_.get(), EPOLLIN, [this](uint32_t) { on_output(); });
}

void Service::spawn_failed(const std::string& why) {
    reason_ = why;
    log::error("%s: cannot start: %s", spec_.name.c_str(), why.c_str());
    last_exit_ = Exit{127, 0};
    started_at_ = ctx_.loop.refresh_now();
    input(Input::kExited);
}

void Service::spawn() {
    timer_.cancel();
    reason_.clear();
    fail_on_exit_ = false;
    if (auto st = open_output(); !st) return spawn_failed(st.error().message());
    auto plan = make_spawn_plan(spec_, ctx_.base_env);
    if (!plan) return spawn_failed(plan.error().message());
    plan->output_fd = out_write_.get();

    Fd notify_write, cgroup;
    if (spec_.type == ServiceType::kLongrun && spec_.readiness.kind == Readiness::Kind::kNotify) {
        auto p = sys::pipe();
        if (!p) return spawn_failed(p.error().message());
        notify_ = std::move(p->first);
        notify_write = std::move(p->second);
        (void)sys::set_nonblocking(notify_.get(), true);
        plan->notify_src = notify_write.get();
        plan->notify_fd = spec_.readiness.notify_fd;
    }
    if (ctx_.cgroups) {
        auto fd = ctx_.cgroups->prepare(spec_.name, spec_.memory_max, spec_.pids_max);
        if (!fd) return spawn_failed("cgroup: " + fd.error().message());
        cgroup = std::move(fd).value();
        plan->cgroup_fd = cgroup.get();
    }
    auto child = init::spawn(*plan);
    if (!child) return spawn_failed(child.error().message());
    pid_ = child->pid;
    started_at_ = ctx_.loop.refresh_now();
    exec_status_ = std::move(child->exec_status);
    (void)sys::set_nonblocking(exec_status_.get(), true);
    (void)exec_watch_.start(ctx_.loop, exec_status_.get(), EPOLLIN,
                            [this](uint32_t) { on_exec_status(); });
    publish("starting");
    if (spec_.type == ServiceType::kLongrun) {
        start_readiness();
        if (spec_.ready_timeout.count() > 0) timer_.arm_after(spec_.ready_timeout);
    }
}

void Service::start_readiness() {
    switch (spec_.readiness.kind) {
        case Readiness::Kind::kStarted:
            break;  // exec success (end of file on the status pipe) makes it ready
        case Readiness::Kind::kNotify:
            (void)notify_watch_.start(ctx_.loop, notify_.get(), EPOLLIN,
                                      [this](uint32_t) { on_notify(); });
            break;
        case Readiness::Kind::kTcp:
        case Readiness::Kind::kUnix: {
            Endpoint ep;
            if (spec_.readiness.kind == Readiness::Kind::kTcp) {
                ep.host = "127.0.0.1";
                ep.port = spec_.readiness.port;
            } else {
                ep.kind = Endpoint::Kind::kUnix;
                ep.path = spec_.readiness.target;
            }
            probe_ =
                std::make_unique<ConnectProbe>(ctx_.loop, ep, [this] { input(Input::kReady); });
            probe_->start();
            break;
        }
        case Readiness::Kind::kBus:
            break;  // the supervisor forwards messages on the subject
    }
}

void Service::stop_readiness() {
    notify_watch_.stop();
    notify_.reset();
    probe_.reset();
}

void Service::bus_ready_message() {
    if (state_ == State::kStarting && spec_.type == ServiceType::kLongrun &&
        spec_.readiness.kind == Readiness::Kind::kBus)
        input(Input::kReady);
}

void Service::on_exec_status() {
    ExecFailure f{};
    auto n = sys::read(exec_status_.get(), &f, sizeof f);
    if (n && *n == 0) {  // end of file: exec succeeded
        exec_watch_.stop();
        exec_status_.reset();
        if (state_ == State::kStarting && spec_.type == ServiceType::kLongrun &&
            spec_.readiness.kind == Readiness::Kind::kStarted)
            input(Input::kReady);
        return;
    }
    if (n && *n == sizeof f) {
        reason_ = describe(f, spec_.argv[0]);
        log::error("%s: %s", spec_.name.c_str(), reason_.c_str());
    }
    exec_watch_.stop();
    exec_status_.reset();
}

void Service::on_notify() {
    char buf[256];
    auto n = sys::read(notify_.get(), buf, sizeof buf);
    if (n && *n > 0 && std::string_view(buf, *n).find('\n') != std::string_view::npos) {
        if (state_ == State::kStarting) input(Input::kReady);
        return;
    }
    if (!n && n.error().code() == EAGAIN) return;
    notify_watch_.stop();  // closed without a newline: never ready this way
}

void Service::on_output() {
    char buf[16384];
    for (int i = 0; i < 8; ++i) {  // bounded per wakeup: one chatty service cannot starve the rest
        auto n = sys::read(out_read_.get(), buf, sizeof buf);
        if (!n || *n == 0) return;
        splitter_.feed(std::string_view(buf, *n),
                       [this](std::string_view line) { deliver_line(line); });
        if (*n < sizeof buf) return;
    }
}

void Service::deliver_line(std::string_view line) {
    if (!ring_) ring_ = std::make_unique<LogRing>(spec_.log.ring_bytes);
    uint64_t seq = ring_->append(line, sys::unix_time());
    if (spec_.log.file && !ctx_.log_dir.empty()) {
        if (!file_)
            file_ = std::make_unique<LogFile>(ctx_.log_dir + "/" + spec_.name + ".log",
                                              spec_.log.file_max, spec_.log.file_keep);
        if (auto st = file_->append(line); !st && !file_error_reported_) {
            file_error_reported_ = true;
            log::error("%s: log file: %s", spec_.name.c_str(), st.error().message().c_str());
        } else if (st) {
            file_error_reported_ = false;
        }
    }
    if (ctx_.listener) ctx_.listener->on_log_line(spec_.name, seq, line);
}

void Service::signal_group(int sig) {
    if (pid_ <= 0) return;
    // Until the child's setsid() the group does not exist yet: signal the child itself.
    if (::kill(-pid_, sig) < 0) (void)sys::kill(pid_, sig);
}

void Service::exited(int wait_status) {
    // Output written just before the exit is still in the pipe: take it first so
    // the lines come before the event.
    on_output();
    if (exec_status_) on_exec_status();
    Exit e;
    if (WIFEXITED(wait_status))
        e.code = WEXITSTATUS(wait_status);
    else if (WIFSIGNALED(wait_status))
        e.signal = WTERMSIG(wait_status);
    last_exit_ = e;
    if (reason_.empty() && !(e.code && *e.code == 0))
        reason_ =
            e.code ? "exit code " + std::to_string(*e.code) : "killed by " + signal_name(e.signal);
    pid_t pid = pid_;
    pid_ = -1;
    timer_.cancel();
    stop_readiness();
    if (state_ == State::kStopping) {
        // Asked to stop: whatever the service left in its group goes too.
        (void)sys::kill(-pid, SIGKILL);
        if (ctx_.cgroups) ctx_.cgroups->kill(spec_.name);
    }
    input(Input::kExited);
    if (ctx_.cgroups && pid_ <= 0) ctx_.cgroups->remove(spec_.name);
}

void Service::reset() {
    if (state_ != State::kFailed) return;
    quick_failures_ = 0;
    reason_.clear();
    enter(State::kDown);
}

}  // namespace keel::init
