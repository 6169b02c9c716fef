// Runner: starts the commands rules ask for (no shell: argv as given, the device's
// properties as the environment), at most `max_running` at a time with a bounded
// queue behind them (overflow dropped and counted), each killed after `timeout`.
// Children are watched through pidfds; nothing blocks the loop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"

namespace keel::dev {

class Runner {
  public:
    struct Options {
        size_t max_running = 8;
        size_t max_queued = 256;
        std::chrono::nanoseconds timeout = std::chrono::seconds(60);
    };
    Runner(loop::EventLoop& loop, Options o) : loop_(loop), opts_(o) {}
    ~Runner();  // kills and reaps what still runs
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    void run(std::vector<std::string> argv, std::vector<std::string> env);
    size_t running() const { return running_.size(); }
    uint64_t dropped() const { return dropped_; }
    uint64_t failed() const { return failed_; }

  private:
    struct Job {
        std::vector<std::string> argv, env;
    };
    struct Child {
        pid_t pid = -1;
        std::string name;
        Fd pidfd;
        loop::FdWatch watch;
        std::unique_ptr<loop::Timer> timer;
    };
    void start(Job job);
    void finished(Child* c);

    loop::EventLoop& loop_;
    Options opts_;
    std::deque<Job> queue_;
    std::vector<std::unique_ptr<Child>> running_;
    uint64_t dropped_ = 0, failed_ = 0;
};

}  // namespace keel::dev
