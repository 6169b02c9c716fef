// keel init as PID 1 of a new PID namespace, abused: its stdout and stderr a pipe
// nobody reads while a service prints as fast as it can and init's own log lines
// come in a burst; every signal there is, from outside the namespace and from
// inside; 5,000 double-forked orphans exiting at once. It must keep answering,
// keep reaping, and never die.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "base/signals.h"
#include "integration/init_fixture.h"

namespace keel::it {
namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

bool wait_until(const std::function<bool()>& pred, Ms timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

char state_of(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

std::string name_of(int sig) {
    const char* n = signal_to_name(sig);
    return n ? std::string("SIG") + n : std::to_string(sig);
}

class Pid1Abuse : public testing::Test {
  protected:
    void SetUp() override {
        KEEL_SKIP_IF_MISSING(pid1_unavailable());
    }
};

TEST_F(Pid1Abuse, AConsoleNobodyReadsNeverStopsInit) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    Fd unread(p[0]), console(p[1]);  // the read end stays open and is never read
    json m = {{"services",
               {{{"name", "bus"}},
                {{"name", "chatty"}, {"argv", {"yes", "a service printing as fast as it can"}}},
                // An orphan every 50 ms: a stuck init would leave them all zombies.
                {{"name", "orphans"},
                 {"argv", {"sh", "-c", "while :; do (sleep 0.01 &); sleep 0.05; done"}}},
                {{"name", "idle"}, {"argv", {"sleep", "1000"}}}}}};
    InitProcess init(m, /*pid1=*/true, {}, console.get());
    console.reset();
    pid_t init_pid = init_pid_of(init.proc().pid());
    ASSERT_GT(init_pid, 0);
    ASSERT_TRUE(init.wait_ready(slow(20s)));

    // A burst of init's own log lines, each "ignoring ...": real-time signals queue
    // (one line each), and 3,000 SIGHUPs, the figure that stopped init before.
    for (int i = 0; i < 10000; ++i)
        ASSERT_EQ(::kill(init_pid, SIGRTMIN + 3), 0);
    for (int i = 0; i < 3000; ++i)
        ASSERT_EQ(::kill(init_pid, SIGHUP), 0);
    json st;
    ASSERT_TRUE(init.wait_status(
        [&](const json& s) {
            st = s;
            return s["console"]["dropped_lines"].get<uint64_t>() > 0;
        },
        slow(20s)))
        << st.dump();
    int in_pipe = 0;
    ASSERT_EQ(::ioctl(unread.get(), FIONREAD, &in_pipe), 0);
    EXPECT_GT(in_pipe, 60000) << "the console pipe should be full";

    std::vector<double> req_ms, svc_ms;
    for (int i = 0; i < scaled(20); ++i) {
        auto t0 = Clock::now();
        CliResult r = run_cli({"req", "init.status", "--server", init.url(), "--timeout", "2s"});
        req_ms.push_back(ms_since(t0));
        ASSERT_EQ(r.code, 0) << r.describe();
        EXPECT_GT(json::parse(r.out)["console"]["dropped_lines"].get<uint64_t>(), 0u);
        t0 = Clock::now();
        r = init.svc({"status"});
        svc_ms.push_back(ms_since(t0));
        ASSERT_EQ(r.code, 0) << r.describe();
        EXPECT_NE(r.out.find("of init's own log lines dropped"), std::string::npos) << r.out;
    }
    std::printf(
        "[ figures  ] init.status under the flood: median %.1f ms, max %.1f ms; "
        "keel svc status: median %.1f ms, max %.1f ms\n",
        median(req_ms), *std::max_element(req_ms.begin(), req_ms.end()), median(svc_ms),
        *std::max_element(svc_ms.begin(), svc_ms.end()));
    // The bound is the release build's: a sanitized keel takes longer than that just to
    // start, and the sanitized init and bus share the CPUs with the flood.
    if (!kSanitized) {
        EXPECT_LT(median(req_ms), 100.0);
        EXPECT_LT(median(svc_ms), 100.0);
    }

    // Children are reaped: a restart completes (the stop waits for the exit), and the
    // orphans' zombies go.
    json idle = init.service("idle");
    ASSERT_EQ(init.svc({"restart", "idle"}).code, 0);
    EXPECT_TRUE(init.wait_status(
        [&](const json& s) {
            for (const auto& x : s["services"])
                if (x["name"] == "idle") return x["state"] == "ready" && x["pid"] != idle["pid"];
            return false;
        },
        slow(5s)));
    std::vector<pid_t> zombies;
    for (const auto& c : children_of(init_pid))
        if (c.state == 'Z') zombies.push_back(c.pid);
    EXPECT_TRUE(wait_until(
        [&] {
            return std::none_of(zombies.begin(), zombies.end(),
                                [](pid_t z) { return state_of(z) == 'Z'; });
        },
        slow(2s)))
        << zombies.size() << " zombies stayed";
    EXPECT_EQ(init.service("chatty")["state"], "ready");
    EXPECT_NE(state_of(init_pid), 'T');
    unread.reset();  // unshare, writing its last words to the full pipe, gets EPIPE and ends
}

TEST_F(Pid1Abuse, EverySignalHasItsMeaningOrIsIgnoredAndNoneKillsIt) {
    // Every signal but the five that stop the machine (below) and SIGKILL/SIGSTOP.
    std::vector<int> ignored;
    for (int s = 1; s <= SIGRTMAX; ++s)
        if (s != SIGKILL && s != SIGSTOP && s != SIGTERM && s != SIGINT && s != SIGUSR1 &&
            s != SIGUSR2 && s != SIGPWR)
            ignored.push_back(s);
    // From inside the namespace too, SIGKILL and SIGSTOP included: the kernel drops
    // those (and any signal init has no handler for) on their way to its init.
    std::string list;
    for (int s : ignored)
        list += " " + std::to_string(s);
    json m = {{"services",
               {{{"name", "bus"}},
                {{"name", "idle"}, {"argv", {"sleep", "1000"}}},
                {{"name", "inside"},
                 {"type", "oneshot"},
                 {"argv",
                  {"sh", "-c",
                   "for s in" + list + " 9 19; do kill -$s 1 || exit 1; done; echo sent"}}}}}};
    InitProcess init(m, /*pid1=*/true);
    pid_t init_pid = init_pid_of(init.proc().pid());
    ASSERT_GT(init_pid, 0);
    ASSERT_TRUE(init.wait_ready(slow(20s))) << init.log();
    EXPECT_EQ(init.service("inside")["state"], "done") << init.log();
    json idle = init.service("idle");

    // From outside (the parent namespace), each of them; SIGCONT last, as a stop
    // signal (SIGTSTP, SIGTTIN, SIGTTOU) discards a SIGCONT still pending.
    for (int s : ignored) {
        if (s == SIGCONT) continue;
        ASSERT_EQ(::kill(init_pid, s), 0) << name_of(s);
    }
    ASSERT_EQ(::kill(init_pid, SIGCONT), 0);
    // Logged and ignored; SIGCHLD means "reap"; SIGPIPE and SIGXFSZ are ignored outright
    // (init's own writes raise them); 32 and 33 are glibc's own (unblockable through
    // it), and the kernel drops them as init has no handler for them.
    for (int s : ignored) {
        if (s == SIGCHLD || s == SIGPIPE || s == SIGXFSZ || (s > 31 && s < SIGRTMIN)) continue;
        EXPECT_TRUE(init.wait_log("ignoring " + name_of(s) + "\n", slow(5s))) << name_of(s) << "\n"
                                                                              << init.log();
    }
    EXPECT_TRUE(process_alive(init_pid));
    EXPECT_EQ(init.service("idle")["pid"], idle["pid"]) << "a service was restarted";
    EXPECT_EQ(init.status()["shutting_down"], false);

    // SIGSTOP (and SIGKILL) from an ancestor namespace are the kernel's: they reach
    // the namespace's init whatever it does. Stopped, it answers again once continued.
    ASSERT_EQ(::kill(init_pid, SIGSTOP), 0);
    EXPECT_TRUE(wait_until([&] { return state_of(init_pid) == 'T'; }, slow(2s)));
    ASSERT_EQ(::kill(init_pid, SIGCONT), 0);
    EXPECT_EQ(init.service("idle")["pid"], idle["pid"]);
}

TEST_F(Pid1Abuse, PowerSignalsStopTheMachine) {
    // In a PID namespace reboot(2) ends it: its init killed by SIGINT for poweroff,
    // SIGHUP for reboot. SIGPWR is how lxc and other container managers stop one.
    const std::pair<int, int> cases[] = {{SIGTERM, SIGINT},
                                         {SIGUSR2, SIGINT},
                                         {SIGPWR, SIGINT},
                                         {SIGINT, SIGHUP},
                                         {SIGUSR1, SIGHUP}};
    for (auto [sig, end] : cases) {
        SCOPED_TRACE(name_of(sig));
        json m = {
            {"services", {{{"name", "bus"}}, {{"name", "idle"}, {"argv", {"sleep", "1000"}}}}}};
        InitProcess init(m, /*pid1=*/true);
        pid_t init_pid = init_pid_of(init.proc().pid());
        ASSERT_GT(init_pid, 0);
        ASSERT_TRUE(init.wait_ready(slow(20s))) << init.log();
        ASSERT_EQ(::kill(init_pid, sig), 0);
        auto st = init.proc().wait_exit(slow(15s));
        ASSERT_TRUE(st) << init.log();
        EXPECT_EQ(st->signal, end) << st->describe() << "\n" << init.log();
        EXPECT_TRUE(init.log().find(end == SIGINT ? "powering off" : "rebooting") !=
                    std::string::npos)
            << init.log();
    }
}

TEST_F(Pid1Abuse, FiveThousandOrphansAreReapedWithinTwoSeconds) {
    const int kOrphans = scaled(5000);  // the sanitizer build scans /proc slower
    TempDir dir("/var/tmp");            // seen the same from inside the namespace
    const std::string go = dir.file("go");
    ASSERT_EQ(::mkfifo(go.c_str(), 0600), 0);
    json m = {{"services",
               {{{"name", "bus"}},
                {{"name", "storm"},
                 {"type", "oneshot"},
                 {"argv", {ORPHAN_TOOL, std::to_string(kOrphans), go}}}}}};
    InitProcess init(m, /*pid1=*/true);
    pid_t init_pid = init_pid_of(init.proc().pid());
    ASSERT_GT(init_pid, 0);
    // The tool's processes keep its name: init's children by that name are the orphans
    // (once their middle process exited) and the tool itself.
    auto storm = [&] {
        auto kids = children_of(init_pid);
        return std::count_if(kids.begin(), kids.end(),
                             [](const ProcEntry& c) { return c.comm == "keel-test-orpha"; });
    };
    ASSERT_TRUE(wait_until([&] { return storm() == kOrphans + 1; }, slow(60s)))
        << storm() << " of " << kOrphans << "\n"
        << init.log();

    // init.status asked back to back while the orphans go.
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0}, failed{0};
    std::atomic<long> worst_us{0};
    std::thread asker([&] {
        while (!stop) {
            auto t0 = Clock::now();
            CliResult r =
                run_cli({"req", "init.status", "--server", init.url(), "--timeout", "2s"});
            long us = static_cast<long>(ms_since(t0) * 1000);
            if (r.code == 0)
                ++answered;
            else
                ++failed;
            if (us > worst_us) worst_us = us;
        }
    });
    int fd = ::open(go.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto t0 = Clock::now();
    ASSERT_EQ(::write(fd, "go\n", 3), 3);
    ::close(fd);
    bool gone = wait_until([&] { return storm() == 0; }, slow(2s));
    double took = ms_since(t0);
    int before = answered;
    wait_until([&] { return answered > before; }, slow(2s));  // one more answer after them
    stop = true;
    asker.join();
    std::printf(
        "[ figures  ] %d orphans reaped in %.0f ms; init.status answered %d times "
        "meanwhile (worst %.1f ms)\n",
        kOrphans, took, answered.load(), worst_us.load() / 1000.0);
    EXPECT_TRUE(gone) << storm() << " left after " << took << " ms";
    for (const auto& c : children_of(init_pid))
        EXPECT_NE(c.state, 'Z') << "zombie " << c.pid << " (" << c.comm << ")";
    EXPECT_EQ(failed.load(), 0);
    EXPECT_GT(answered.load(), before);
    EXPECT_EQ(init.service("storm")["state"], "done");
}

}  // namespace
}  // namespace keel::it
