#include "loop/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "base/sys.h"
#include "loop/fd_watch.h"
#include "loop/signal_watch.h"
#include "loop/timer.h"

namespace keel::loop {
namespace {

using namespace std::chrono_literals;

struct Pipe {
    Fd r, w;
    Pipe() {
        int fds[2];
        EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
        r.reset(fds[0]);
        w.reset(fds[1]);
    }
    void put(char c) { ASSERT_EQ(::write(w.get(), &c, 1), 1); }
};

std::unique_ptr<EventLoop> make_loop() {
    auto l = EventLoop::create();
    EXPECT_TRUE(l);
    return std::move(l).value();
}

TEST(EventLoop, FdWatchFiresOnReadable) {
    auto loop = make_loop();
    Pipe p;
    int calls = 0;
    FdWatch w;
    ASSERT_TRUE(w.start(*loop, p.r.get(), EPOLLIN, [&](uint32_t ev) {
        EXPECT_TRUE(ev & EPOLLIN);
        char c;
        ASSERT_EQ(::read(p.r.get(), &c, 1), 1);
        ++calls;
        loop->stop();
    }));
    p.put('x');
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(calls, 1);
}

TEST(EventLoop, WatchRemovedWhenDestroyed) {
    auto loop = make_loop();
    Pipe p;
    int calls = 0;
    {
        FdWatch w;
        ASSERT_TRUE(w.start(*loop, p.r.get(), EPOLLIN, [&](uint32_t) { ++calls; }));
    }
    p.put('x');
    ASSERT_TRUE(loop->run_once(20ms));
    EXPECT_EQ(calls, 0);
}

// A watcher destroyed by another watcher's callback in the same batch must not be called.
TEST(EventLoop, WatcherDestroyedDuringDispatchIsSkipped) {
    auto loop = make_loop();
    Pipe a, b;
    int a_calls = 0, b_calls = 0;
    auto wa = std::make_unique<FdWatch>();
    auto wb = std::make_unique<FdWatch>();
    ASSERT_TRUE(wa->start(*loop, a.r.get(), EPOLLIN, [&](uint32_t) {
        ++a_calls;
        wb.reset();
    }));
    ASSERT_TRUE(wb->start(*loop, b.r.get(), EPOLLIN, [&](uint32_t) {
        ++b_calls;
        wa.reset();
    }));
    a.put('x');
    b.put('y');
    ASSERT_TRUE(loop->run_once(100ms));
    EXPECT_EQ(a_calls + b_calls, 1);
}

TEST(EventLoop, TimersFireInDeadlineOrder) {
    auto loop = make_loop();
    std::vector<int> order;
    Timer t3(*loop, [&] {
        order.push_back(3);
        loop->stop();
    });
    Timer t1(*loop, [&] { order.push_back(1); });
    Timer t2(*loop, [&] { order.push_back(2); });
    t3.arm_after(30ms);
    t1.arm_after(10ms);
    t2.arm_after(20ms);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(EventLoop, CancelledAndDestroyedTimersDoNotFire) {
    auto loop = make_loop();
    int fired = 0;
    Timer a(*loop, [&] { ++fired; });
    a.arm_after(5ms);
    a.cancel();
    EXPECT_FALSE(a.armed());
    {
        Timer b(*loop, [&] { ++fired; });
        b.arm_after(5ms);
    }
    Timer end(*loop, [&] { loop->stop(); });
    end.arm_after(30ms);
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(fired, 0);
}

TEST(EventLoop, TimerCanRearmItselfAndRearmMovesIt) {
    auto loop = make_loop();
    int ticks = 0;
    std::unique_ptr<Timer> t;
    t = std::make_unique<Timer>(*loop, [&] {
        if (++ticks == 3)
            loop->stop();
        else
            t->arm_after(1ms);
    });
    t->arm_after(1ms);
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(ticks, 3);

    // Re-arming to a later deadline replaces the earlier one.
    int late = 0;
    Timer m(*loop, [&] {
        ++late;
        loop->stop();
    });
    m.arm_after(1ms);
    m.arm_after(40ms);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(late, 1);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 35ms);
}

TEST(EventLoop, ManyTimersStayOrdered) {
    auto loop = make_loop();
    std::vector<std::unique_ptr<Timer>> timers;
    std::vector<int> fired;
    for (int i = 0; i < 200; ++i) {
        int delay = (i * 37) % 50;  // shuffled deadlines
        timers.push_back(
            std::make_unique<Timer>(*loop, [&fired, delay] { fired.push_back(delay); }));
        timers.back()->arm_after(std::chrono::milliseconds(delay));
    }
    for (int i = 0; i < 200; i += 3)
        timers[static_cast<size_t>(i)]->cancel();
    Timer end(*loop, [&] { loop->stop(); });
    end.arm_after(80ms);
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(fired.size(), 200u - 67u);
    EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
}

TEST(EventLoop, DeferRunsAfterTheBatch) {
    auto loop = make_loop();
    std::vector<std::string> log;
    Timer t(*loop, [&] {
        log.push_back("timer");
        loop->defer([&] {
            log.push_back("deferred");
            loop->defer([&] {
                log.push_back("again");
                loop->stop();
            });
        });
    });
    t.arm_after(1ms);
    ASSERT_TRUE(loop->run());
    EXPECT_EQ(log, (std::vector<std::string>{"timer", "deferred", "again"}));
}

TEST(EventLoop, SignalsArriveAsEvents) {
    auto loop = make_loop();
    int got = 0;
    {
        SignalWatch s;
        ASSERT_TRUE(s.start(*loop, {SIGUSR1}, [&](int signo) {
            got = signo;
            loop->stop();
        }));
        ::kill(::getpid(), SIGUSR1);
        ASSERT_TRUE(loop->run());
    }
    EXPECT_EQ(got, SIGUSR1);
    // The mask is restored: SIGUSR1 is no longer blocked.
    sigset_t now;
    ::sigprocmask(SIG_BLOCK, nullptr, &now);
    EXPECT_FALSE(sigismember(&now, SIGUSR1));
}

// Two watches on one signal: stopping one must not unblock the other's signal.
TEST(EventLoop, SharedSignalStaysBlockedWhileAnyWatchLives) {
    auto loop = make_loop();
    auto blocked = [] {
        sigset_t now;
        ::sigprocmask(SIG_BLOCK, nullptr, &now);
        return sigismember(&now, SIGUSR2) == 1;
    };
    ASSERT_FALSE(blocked());
    {
        SignalWatch a, b;
        ASSERT_TRUE(a.start(*loop, {SIGUSR2}, [](int) {}));
        ASSERT_TRUE(b.start(*loop, {SIGUSR2, SIGUSR1}, [&](int) { loop->stop(); }));
        a.stop();
        EXPECT_TRUE(blocked());
        ::kill(::getpid(), SIGUSR2);  // would kill the test if it were unblocked
        ASSERT_TRUE(loop->run());
    }
    EXPECT_FALSE(blocked());
}

// A child forked without exec (keel luad's) inherits the parent's watches but
// not their claim on the signal: its own watch must block it again.
TEST(EventLoop, SignalWatchInAForkedChildBlocksItsSignalAgain) {
    auto loop = make_loop();
    SignalWatch parent;
    ASSERT_TRUE(parent.start(*loop, {SIGUSR1}, [](int) {}));
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // as luad's child does
        auto child_loop = EventLoop::create();
        if (!child_loop) _exit(2);
        int got = 0;
        {
            SignalWatch w;
            if (!w.start(**child_loop, {SIGUSR1}, [&](int s) {
                    got = s;
                    (*child_loop)->stop();
                }))
                _exit(3);
            ::kill(::getpid(), SIGUSR1);  // kills the child unless blocked
            if (!(*child_loop)->run()) _exit(4);
        }
        sigset_t now;
        ::sigprocmask(SIG_BLOCK, nullptr, &now);
        _exit(got == SIGUSR1 && !sigismember(&now, SIGUSR1) ? 0 : 5);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
}  // namespace keel::loop
