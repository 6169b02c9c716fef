#include "dev/module_worker.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>

#include "base/sys.h"

namespace keel::dev {

namespace {
constexpr std::chrono::seconds kIdleDrop{10};
}  // namespace

ModuleWorker::ModuleWorker(ModuleConfig cfg, std::string sysfs_root, Done done, size_t max_queue,
                           Fd event)
    : loader_(std::move(cfg), std::move(sysfs_root)),
      done_(std::move(done)),
      max_queue_(max_queue),
      event_(std::move(event)) {}

Result<std::unique_ptr<ModuleWorker>> ModuleWorker::start(loop::EventLoop& loop, ModuleConfig cfg,
                                                          std::string sysfs_root, Done done,
                                                          size_t max_queue) {
    auto ev = KEEL_TRY(sys::eventfd());
    std::unique_ptr<ModuleWorker> w(new ModuleWorker(std::move(cfg), std::move(sysfs_root),
                                                     std::move(done), max_queue, std::move(ev)));
    KEEL_TRY_STATUS(
        w->watch_.start(loop, w->event_.get(), EPOLLIN, [p = w.get()](uint32_t) { p->deliver(); }));
    // The worker takes no signals: they belong to the loop's signalfd, and a signal
    // left unblocked in this thread would get the default action (death).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    w->thread_ = std::thread([p = w.get()] { p->run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return w;
}

ModuleWorker::~ModuleWorker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

bool ModuleWorker::submit(Job job) {
    {
        std::lock_guard lock(mu_);
        for (const auto& j : in_)
            if (j.modalias == job.modalias) return false;
        if (in_.size() >= max_queue_) {
            ++dropped_;
            return false;
        }
        in_.push_back(std::move(job));
        ++outstanding_;
    }
    cv_.notify_one();
    return true;
}

void ModuleWorker::hold() {
    std::lock_guard lock(mu_);
    held_ = true;
}

void ModuleWorker::release() {
    {
        std::lock_guard lock(mu_);
        held_ = false;
    }
    cv_.notify_one();
}

void ModuleWorker::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            // Idle for a while: the module index goes (it is read again, in some
            // tens of milliseconds, for the next hotplugged device).
            auto work = [&] { return stopping_ || (!in_.empty() && !held_); };
            if (!cv_.wait_for(lock, kIdleDrop, work)) {
                lock.unlock();
                if (loader_.drop_index()) ::malloc_trim(0);
                lock.lock();
                cv_.wait(lock, work);
            }
            if (stopping_) return;
            job = std::move(in_.front());
            in_.pop_front();
        }
        auto result = loader_.load_alias(job.modalias);
        bool idle;
        {
            std::lock_guard lock(mu_);
            out_.emplace_back(std::move(job), std::move(result));
            idle = in_.empty();
        }
        // Loading the index and the modules leaves freed memory behind: return it
        // to the system once the work is done (the daemon's idle footprint).
        if (idle) ::malloc_trim(0);
        uint64_t one = 1;
        (void)sys::write(event_.get(), &one, sizeof one);
    }
}

void ModuleWorker::deliver() {
    uint64_t n;
    (void)sys::read(event_.get(), &n, sizeof n);
    std::deque<std::pair<Job, ModuleLoader::AliasResult>> ready;
    {
        std::lock_guard lock(mu_);
        ready.swap(out_);
        outstanding_ -= ready.size();
    }
    for (auto& [job, result] : ready)
        done_(job, std::move(result));
}

}  // namespace keel::dev
