// ModuleWorker: runs a ModuleLoader on its own thread so that a slow module init
// (hardware probing can take seconds) never delays other events. Requests go in
// through a bounded queue; results come back on the event loop through an eventfd.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/fd.h"
#include "dev/module_loader.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"

namespace keel::dev {

class ModuleWorker {
  public:
    struct Job {
        std::string modalias, devpath;
    };
    using Done = std::function<void(const Job&, ModuleLoader::AliasResult&&)>;

    // `loop` must outlive the worker; `done` runs on the loop.
    static Result<std::unique_ptr<ModuleWorker>> start(loop::EventLoop& loop, ModuleConfig cfg,
                                                       std::string sysfs_root, Done done,
                                                       size_t max_queue = 4096);
    ~ModuleWorker();
    ModuleWorker(const ModuleWorker&) = delete;
    ModuleWorker& operator=(const ModuleWorker&) = delete;

    // False when the queue is full (the request is dropped and counted) or the
    // same alias is already waiting.
    bool submit(Job job);
    uint64_t dropped() const { return dropped_; }
    // Coldplug: jobs wait from hold() until release(). keel dev is ready once its
    // coldplug is on the bus; loading a dozen modules beside it (0.6 s of CPU under
    // QEMU's TCG, and the new devices' events) held that back for everyone.
    void hold();
    void release();
    // Jobs submitted whose results have not been delivered yet.
    size_t outstanding() const { return outstanding_; }

  private:
    ModuleWorker(ModuleConfig cfg, std::string sysfs_root, Done done, size_t max_queue, Fd event);
    void run();
    void deliver();

    ModuleLoader loader_;  // used by the worker thread only
    Done done_;
    size_t max_queue_;
    Fd event_;
    loop::FdWatch watch_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> in_;
    std::deque<std::pair<Job, ModuleLoader::AliasResult>> out_;
    bool held_ = false;
    bool stopping_ = false;
    uint64_t dropped_ = 0;
    size_t outstanding_ = 0;
    std::thread thread_;
};

}  // namespace keel::dev
