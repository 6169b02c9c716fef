#include "dev/runner.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "base/log.h"
#include "base/sys_kernel.h"

namespace keel::dev {

Runner::~Runner() {
    for (auto& c : running_) {
        ::kill(c->pid, SIGKILL);
        int status = 0;
        ::waitpid(c->pid, &status, 0);  // killed: it exits at once
    }
}

void Runner::run(std::vector<std::string> argv, std::vector<std::string> env) {
    if (running_.size() < opts_.max_running) {
        start({std::move(argv), std::move(env)});
        return;
    }
    if (queue_.size() >= opts_.max_queued) {
        ++dropped_;
        log::warning("run queue full (%zu): not running %s", queue_.size(),
                     argv.empty() ? "" : argv[0].c_str());
        return;
    }
    queue_.push_back({std::move(argv), std::move(env)});
}

void Runner::start(Job job) {
    auto pid = sys::spawn(job.argv, job.env);
    if (!pid) {
        ++failed_;
        log::error("%s", pid.error().message().c_str());
        return;
    }
    auto c = std::make_unique<Child>();
    c->pid = *pid;
    c->name = job.argv[0];
    auto fd = sys::pidfd_open(*pid);
    if (!fd) {
        // Cannot watch it: wait for it here rather than leave a zombie.
        int status = 0;
        ::waitpid(*pid, &status, 0);
        return;
    }
    c->pidfd = std::move(*fd);
    Child* raw = c.get();
    (void)c->watch.start(loop_, c->pidfd.get(), EPOLLIN, [this, raw](uint32_t) { finished(raw); });
    c->timer = std::make_unique<loop::Timer>(loop_, [this, raw] {
        log::warning("%s (pid %d) ran over %llds: killing it", raw->name.c_str(), raw->pid,
                     static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::seconds>(opts_.timeout).count()));
        ::kill(raw->pid, SIGKILL);
    });
    c->timer->arm_after(opts_.timeout);
    running_.push_back(std::move(c));
}

void Runner::finished(Child* c) {
    auto st = sys::reap(c->pid);
    if (st && *st == -1) return;  // not yet
    if (st && !(WIFEXITED(*st) && WEXITSTATUS(*st) == 0)) {
        ++failed_;
        if (WIFEXITED(*st))
            log::warning("%s exited with %d", c->name.c_str(), WEXITSTATUS(*st));
        else
            log::warning("%s killed by signal %d", c->name.c_str(), WTERMSIG(*st));
    }
    c->watch.stop();
    c->timer->cancel();
    // The child record owns the watch whose callback this is: free it after the batch.
    loop_.defer([this, c] {
        auto it = std::find_if(running_.begin(), running_.end(),
                               [c](const auto& p) { return p.get() == c; });
        if (it != running_.end()) running_.erase(it);
        if (!queue_.empty() && running_.size() < opts_.max_running) {
            Job next = std::move(queue_.front());
            queue_.pop_front();
            start(std::move(next));
        }
    });
}

}  // namespace keel::dev
