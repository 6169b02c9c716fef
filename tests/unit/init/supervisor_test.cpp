// The supervisor with real processes and a real event loop, but no bus: ordering,
// readiness kinds, failures, backoff, stop escalation, facts, logs. (keel init with
// the bus, the CLI and PID 1 are tested in tests/integration/init_*_test.cpp.)
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "base/sys.h"
#include "init/manifest/manifest.h"
#include "init/supervisor/supervisor.h"
#include "loop/event_loop.h"
#include "loop/signal_watch.h"
#include "loop/timer.h"
#include "support/skip.h"

namespace keel::init {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kSlow = 4;
#else
constexpr int kSlow = 1;
#endif

struct Event {
    std::string name, kind;
    ServiceEvent e;
    Clock::time_point at;
};

class Recorder : public SupervisorListener {
  public:
    void on_service_event(const std::string& s, const ServiceEvent& e) override {
        events.push_back({s, e.kind, e, Clock::now()});
    }
    void on_log_line(const std::string& s, uint64_t, std::string_view line) override {
        lines[s].emplace_back(line);
    }
    void on_system_ready() override { ready = true; }

    // "name.kind" in order, optionally only for some services.
    std::vector<std::string> trace(const std::set<std::string>& only = {}) const {
        std::vector<std::string> out;
        for (const auto& e : events)
            if (only.empty() || only.count(e.name)) out.push_back(e.name + "." + e.kind);
        return out;
    }
    bool seen(const std::string& name, const std::string& kind, size_t times = 1) const {
        size_t n = 0;
        for (const auto& e : events)
            n += e.name == name && e.kind == kind;
        return n >= times;
    }
    const Event* last(const std::string& name, const std::string& kind) const {
        for (auto it = events.rbegin(); it != events.rend(); ++it)
            if (it->name == name && it->kind == kind) return &*it;
        return nullptr;
    }

    std::vector<Event> events;
    std::map<std::string, std::vector<std::string>> lines;
    bool ready = false;
};

// A supervisor over `services` (a JSON array), reaping through SIGCHLD like keel init.
class Rig {
  public:
    explicit Rig(const std::string& services) {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        char tmpl[] = "/tmp/keel-sup-XXXXXX";
        dir = ::mkdtemp(tmpl);
        loop = std::move(loop::EventLoop::create()).value();
        auto m = parse_services_section(services, "test");
        if (!m) throw std::runtime_error(m.error().message());
        SupervisorOptions o;
        o.base_env = {"PATH=/usr/bin:/bin", "DIR=" + dir};
        o.log_dir = dir;
        sup = std::make_unique<Supervisor>(*loop, o, &rec);
        (void)sigchld.start(*loop, {SIGCHLD}, [this](int) {
            for (;;) {
                auto r = sys::reap_any();
                if (!r || r->pid <= 0) return;
                if (!sup->child_exited(r->pid, r->status)) orphans.push_back(r->pid);
            }
        });
        sup->start(std::move(m->services));
    }
    ~Rig() {
        bool done = false;
        sup->shutdown([&] { done = true; });
        run_until([&] { return done; }, 20s);
        sup.reset();
        std::string cmd = "rm -rf '" + dir + "'";
        (void)!::system(cmd.c_str());
    }
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout * kSlow;
        while (!pred()) {
            if (Clock::now() > deadline) return false;
            (void)loop->run_once(std::chrono::milliseconds(20));
        }
        return true;
    }
    State state(const std::string& name) const { return sup->find(name)->state(); }
    std::string file(const std::string& name) const {
        auto r = sys::read_file(dir + "/" + name);
        return r ? *r : "";
    }

    std::string dir;
    std::unique_ptr<loop::EventLoop> loop;
    Recorder rec;
    std::unique_ptr<Supervisor> sup;
    loop::SignalWatch sigchld;
    std::vector<pid_t> orphans;
};

bool alive(pid_t pid) {
    return ::kill(pid, 0) == 0;
}

TEST(Supervisor, DependencyOrderAndReverseStop) {
    auto rig = std::make_unique<Rig>(R"([
      {"name": "c", "argv": ["sleep", "100"], "depends": ["b"]},
      {"name": "b", "argv": ["sleep", "100"], "depends": ["a"], "readiness": "notify",
       "env": {"X": "1"}},
      {"name": "a", "argv": ["sh", "-c", "sleep 0.2; echo >&3; exec sleep 100"], "readiness": "notify"}])");
    // b never notifies: c must wait behind it.
    ASSERT_TRUE(rig->run_until([&] { return rig->rec.seen("b", "starting"); }, 5s));
    EXPECT_EQ(rig->rec.trace(), (std::vector<std::string>{"a.starting", "a.ready", "b.starting"}));
    EXPECT_EQ(rig->state("c"), State::kDown);
    EXPECT_FALSE(rig->rec.ready);
    auto status = rig->sup->status_json("c");
    EXPECT_EQ(status["services"][0]["state"], "waiting");
    EXPECT_EQ(status["services"][0]["waiting_for"], nlohmann::json::array({"b"}));
    rig.reset();
}

TEST(Supervisor, StartsInOrderStopsInReverse) {
    Rig rig(R"([
      {"name": "web", "argv": ["sleep", "100"], "depends": ["db"]},
      {"name": "db", "argv": ["sh", "-c", "echo >&3; exec sleep 100"], "readiness": "notify"},
      {"name": "migrate", "type": "oneshot", "argv": ["sh", "-c", "echo migrated"], "depends": ["db"]},
      {"name": "app", "argv": ["sleep", "100"], "depends": ["migrate", "web"]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 5s));
    auto t = rig.rec.trace();
    auto pos = [&](const std::string& e) { return std::find(t.begin(), t.end(), e) - t.begin(); };
    EXPECT_LT(pos("db.ready"), pos("web.starting"));
    EXPECT_LT(pos("db.ready"), pos("migrate.starting"));
    EXPECT_LT(pos("migrate.ready"), pos("app.starting"));
    EXPECT_LT(pos("web.ready"), pos("app.starting"));
    EXPECT_EQ(rig.rec.lines["migrate"], std::vector<std::string>{"migrated"});

    rig.rec.events.clear();
    bool done = false;
    rig.sup->shutdown([&] { done = true; });
    ASSERT_TRUE(rig.run_until([&] { return done; }, 5s));
    t = rig.rec.trace();
    EXPECT_LT(pos("app.stopped"), pos("web.stopped"));
    EXPECT_LT(pos("app.stopped"), pos("migrate.stopped"));
    EXPECT_LT(pos("web.stopped"), pos("db.stopped"));
    EXPECT_LT(pos("migrate.stopped"), pos("db.stopped"));
    EXPECT_EQ(t.size(), 4u);
}

TEST(Supervisor, ReadinessKinds) {
    // A free TCP port and a unix socket path the services will listen on.
    int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    ::close(probe);
    char tmpl[] = "/tmp/keel-sock-XXXXXX";
    std::string sockdir = ::mkdtemp(tmpl);
    std::string sock = sockdir + "/s.sock";

    using nlohmann::json;
    std::string listen_tcp =
        "import socket,time\ntime.sleep(0.3)\ns=socket.socket()\ns.bind(('127.0.0.1'," +
        std::to_string(port) + "))\ns.listen()\ntime.sleep(100)";
    std::string listen_unix =
        "import socket,time\ntime.sleep(0.3)\ns=socket.socket(socket.AF_UNIX)\ns.bind('" + sock +
        "')\ns.listen()\ntime.sleep(100)";
    json services = json::array(
        {{{"name", "started"}, {"argv", {"sleep", "100"}}},
         {{"name", "notify"},
          {"argv", {"sh", "-c", "sleep 0.3; echo >&4; exec sleep 100"}},
          {"readiness", "notify:4"}},
         {{"name", "tcp"},
          {"argv", {"python3", "-c", listen_tcp}},
          {"readiness", "tcp:" + std::to_string(port)}},
         {{"name", "unix"},
          {"argv", {"python3", "-c", listen_unix}},
          {"readiness", "unix:" + sock}},
         {{"name", "bus"}, {"argv", {"sleep", "100"}}, {"readiness", "bus:app.hello"}}});
    Rig rig(services.dump());
    ASSERT_TRUE(rig.run_until(
        [&] {
            return rig.rec.seen("started", "ready") && rig.rec.seen("notify", "ready") &&
                   rig.rec.seen("tcp", "ready") && rig.rec.seen("unix", "ready");
        },
        10s))
        << testing::PrintToString(rig.rec.trace());
    auto took = [&](const std::string& n) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            rig.rec.last(n, "ready")->at - rig.rec.last(n, "starting")->at);
    };
    EXPECT_LT(took("started"), 200ms);
    for (auto n : {"notify", "tcp", "unix"})
        EXPECT_GE(took(n), 250ms) << n;
    EXPECT_EQ(rig.state("bus"), State::kStarting);
    rig.sup->on_bus_message("app.other", "");
    EXPECT_EQ(rig.state("bus"), State::kStarting);
    rig.sup->on_bus_message("app.hello", "");
    EXPECT_EQ(rig.state("bus"), State::kReady);
    EXPECT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 1s));
    ::unlink(sock.c_str());
    ::rmdir(sockdir.c_str());
}

TEST(Supervisor, ReadyTimeoutIsAFailure) {
    Rig rig(
        R"([{"name": "mute", "argv": ["sleep", "100"], "readiness": "notify", "ready_timeout": "300ms",
                 "restart": "never"}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("mute", "failed"); }, 5s));
    EXPECT_EQ(rig.rec.last("mute", "failed")->e.reason, "not ready within the ready timeout");
    EXPECT_EQ(rig.state("mute"), State::kFailed);
}

TEST(Supervisor, OneshotFailureBlocksDependents) {
    Rig rig(R"([
      {"name": "setup", "type": "oneshot", "argv": ["sh", "-c", "echo cannot set up >&2; exit 4"]},
      {"name": "app", "argv": ["sleep", "100"], "depends": ["setup"]},
      {"name": "other", "argv": ["sleep", "100"]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 5s));
    const Event* f = rig.rec.last("setup", "failed");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->e.exit_code, 4);
    EXPECT_EQ(f->e.reason, "exit code 4");
    EXPECT_EQ(rig.rec.lines["setup"], std::vector<std::string>{"cannot set up"});
    EXPECT_FALSE(rig.rec.seen("app", "starting"));
    EXPECT_EQ(rig.state("other"), State::kReady);
    auto st = rig.sup->status_json("app")["services"][0];
    EXPECT_EQ(st["waiting_for"], nlohmann::json::array({"setup"}));
    // Starting the oneshot again (fixed) lets the dependent run.
    EXPECT_TRUE(rig.sup->start_service("setup"));
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("setup", "failed", 2); }, 5s));
}

TEST(Supervisor, ExecFailureNamesTheProgram) {
    Rig rig(R"([{"name": "ghost", "argv": ["/nonexistent/prog"], "restart": "never"},
                {"name": "nopath", "argv": ["no-such-program-anywhere"], "restart": "never"},
                {"name": "baduser", "argv": ["true"], "user": "no-such-user-x", "restart": "never"}])");
    ASSERT_TRUE(rig.run_until(
        [&] {
            return rig.rec.seen("ghost", "failed") && rig.rec.seen("nopath", "failed") &&
                   rig.rec.seen("baduser", "failed");
        },
        5s));
    EXPECT_EQ(rig.rec.last("ghost", "failed")->e.reason,
              "cannot exec /nonexistent/prog: No such file or directory");
    EXPECT_EQ(rig.rec.last("nopath", "failed")->e.reason,
              "program 'no-such-program-anywhere' not found in PATH");
    EXPECT_EQ(rig.rec.last("baduser", "failed")->e.reason, "unknown user 'no-such-user-x'");
}

TEST(Supervisor, CrashLoopBacksOffThenGivesUp) {
    Rig rig(R"([{"name": "crash", "argv": ["sh", "-c", "exit 2"], "restart_delay": "100ms",
                 "restart_delay_max": "30s", "restart_limit": 3}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("crash", "failed"); }, 10s));
    std::vector<Clock::time_point> starts;
    std::vector<double> delays;
    for (const auto& e : rig.rec.events) {
        if (e.kind == "starting") starts.push_back(e.at);
        if (e.kind == "restarting")
            delays.push_back(std::chrono::duration<double>(e.e.delay).count());
    }
    ASSERT_EQ(starts.size(), 4u);  // the first run and 3 restarts
    const std::chrono::milliseconds want[] = {100ms, 200ms, 400ms};
    for (size_t i = 1; i < starts.size(); ++i) {
        auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(starts[i] - starts[i - 1]);
        EXPECT_GE(gap, want[i - 1]) << "gap " << i;
        EXPECT_LT(gap, want[i - 1] + 150ms * kSlow) << "gap " << i;
    }
    ASSERT_EQ(delays.size(), 3u);
    EXPECT_NEAR(delays[2], 0.4, 0.05);
    EXPECT_EQ(rig.sup->find("crash")->restarts(), 3);
    EXPECT_NE(rig.rec.last("crash", "failed")->e.reason.find("crash loop"), std::string::npos);
    // Failed stays failed: nothing restarts it by itself.
    rig.run_until([] { return false; }, 300ms);
    EXPECT_EQ(rig.state("crash"), State::kFailed);
}

TEST(Supervisor, StopTimeoutKillsTheWholeGroup) {
    Rig rig(
        R"([{"name": "stubborn", "argv": ["sh", "-c", "trap '' TERM; sleep 100 & echo $! > $DIR/child; wait"],
                 "stop_timeout": "300ms"}])");
    ASSERT_TRUE(rig.run_until([&] { return !rig.file("child").empty(); }, 5s));
    pid_t child = std::stoi(rig.file("child"));
    pid_t main = rig.sup->find("stubborn")->pid();
    ASSERT_TRUE(alive(child));
    auto t0 = Clock::now();
    ASSERT_TRUE(rig.sup->stop_service("stubborn"));
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("stubborn", "stopped"); }, 5s));
    auto took = Clock::now() - t0;
    EXPECT_GE(took, 300ms);
    EXPECT_EQ(rig.rec.last("stubborn", "stopped")->e.signal, SIGKILL);
    EXPECT_FALSE(alive(main));
    // The background child (same process group) went too, and was reaped as an orphan.
    ASSERT_TRUE(rig.run_until([&] { return !alive(child); }, 2s));
}

TEST(Supervisor, OrphanedGrandchildIsReaped) {
    Rig rig(R"([{"name": "daemon", "type": "oneshot",
                 "argv": ["sh", "-c", "(setsid sh -c 'echo $$ > $DIR/gc; sleep 0.3' &) ; exit 0"]}])");
    ASSERT_TRUE(rig.run_until(
        [&] { return rig.rec.seen("daemon", "ready") && !rig.file("gc").empty(); }, 5s));
    pid_t gc = std::stoi(rig.file("gc"));
    ASSERT_TRUE(rig.run_until(
        [&] { return std::find(rig.orphans.begin(), rig.orphans.end(), gc) != rig.orphans.end(); },
        5s));
    EXPECT_FALSE(alive(gc));  // reaped: no zombie left behind
}

TEST(Supervisor, DependencyRestartCyclesDependents) {
    Rig rig(
        R"([{"name": "db", "argv": ["sh", "-c", "echo >&3; exec sleep 100"], "readiness": "notify",
                 "restart_delay": "100ms"},
                {"name": "app", "argv": ["sleep", "100"], "depends": ["db"]},
                {"name": "ui", "argv": ["sleep", "100"], "depends": ["app"]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 5s));
    // The dependency crashes: dependents go down, and come back once it is ready again.
    rig.rec.events.clear();
    ::kill(rig.sup->find("db")->pid(), SIGKILL);
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("ui", "ready"); }, 5s));
    auto t = rig.rec.trace();
    auto pos = [&](const std::string& e) { return std::find(t.begin(), t.end(), e) - t.begin(); };
    EXPECT_LT(pos("db.restarting"), pos("app.stopped"));
    EXPECT_LT(pos("ui.stopped"), pos("app.stopped"));
    EXPECT_LT(pos("db.ready"), pos("app.starting"));
    EXPECT_LT(pos("app.ready"), pos("ui.starting"));
    EXPECT_EQ(rig.rec.last("db", "restarting")->e.signal, SIGKILL);

    // An explicit restart: dependents stop first, the service restarts, they return.
    rig.rec.events.clear();
    ASSERT_TRUE(rig.sup->restart_service("db"));
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("ui", "ready"); }, 5s));
    t = rig.rec.trace();
    EXPECT_EQ(t, (std::vector<std::string>{"ui.stopped", "app.stopped", "db.stopped", "db.starting",
                                           "db.ready", "app.starting", "app.ready", "ui.starting",
                                           "ui.ready"}));
}

TEST(Supervisor, FactsStartAndStop) {
    Rig rig(R"([{"name": "uploader", "argv": ["sleep", "100"], "wants_facts": ["net.link.eth0.up"]},
                {"name": "backup", "argv": ["sleep", "100"],
                 "wants_facts": [{"on": "hardware.block.add", "off": "hardware.block.remove", "match": {"DEVNAME": "sdb1"}}]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 5s));  // nothing wanted runs: settled
    EXPECT_EQ(rig.state("uploader"), State::kDown);
    rig.sup->on_bus_message("net.link.eth0.up", "{}");
    ASSERT_TRUE(rig.run_until([&] { return rig.state("uploader") == State::kReady; }, 5s));
    rig.sup->on_bus_message("hardware.block.add", R"({"DEVNAME": "sdc1"})");
    EXPECT_EQ(rig.state("backup"), State::kDown);
    rig.sup->on_bus_message("hardware.block.add", R"({"DEVNAME": "sdb1"})");
    ASSERT_TRUE(rig.run_until([&] { return rig.state("backup") == State::kReady; }, 5s));
    rig.sup->on_bus_message("net.link.eth0.down", "{}");
    ASSERT_TRUE(rig.run_until([&] { return rig.state("uploader") == State::kDown; }, 5s));
    EXPECT_TRUE(rig.rec.seen("uploader", "stopped"));
    EXPECT_EQ(rig.state("backup"), State::kReady);
    rig.sup->on_bus_message("net.link.eth0.up", "{}");
    ASSERT_TRUE(rig.run_until([&] { return rig.state("uploader") == State::kReady; }, 5s));
    EXPECT_EQ(rig.sup->watched_subjects().size(), 4u);
}

TEST(Supervisor, LogsToRingAndFile) {
    Rig rig(R"([{"name": "talk", "type": "oneshot", "log": {"file": true, "ring": "1KiB"},
                 "argv": ["sh", "-c", "for i in $(seq 1 200); do echo line $i; done; echo err >&2; printf tail"]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.seen("talk", "ready"); }, 5s));
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.lines["talk"].size() == 201; }, 2s))
        << rig.rec.lines["talk"].size();
    EXPECT_EQ(rig.rec.lines["talk"].back(), "err");  // "tail" has no newline yet
    auto logs = rig.sup->logs_json("talk", 1000);
    ASSERT_TRUE(logs);
    EXPECT_LT((*logs)["lines"].size(), 200u);  // bounded by the 1 KiB ring
    EXPECT_EQ((*logs)["lines"].back()["line"], "err");
    EXPECT_EQ((*logs)["next_seq"], 202);
    EXPECT_EQ(rig.file("talk.log").substr(0, 14), "line 1\nline 2\n");
    EXPECT_FALSE(rig.sup->logs_json("nobody", 10));
}

TEST(Supervisor, HardeningIsApplied) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root to change user and capabilities");
    Rig rig(
        R"([{"name": "h", "type": "oneshot", "user": "nobody", "umask": "077", "no_new_privs": true,
                 "rlimits": {"nofile": 77},
                 "capabilities": {"bounding": ["net_bind_service"], "ambient": ["net_bind_service"]},
                 "argv": ["sh", "-c", "id -u; umask; ulimit -n; grep -E '^(NoNewPrivs|CapAmb|CapBnd)' /proc/self/status"]}])");
    ASSERT_TRUE(rig.run_until(
        [&] { return rig.rec.seen("h", "ready") || rig.rec.seen("h", "failed"); }, 5s));
    ASSERT_TRUE(rig.rec.seen("h", "ready")) << rig.rec.last("h", "failed")->e.reason;
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.lines["h"].size() >= 6; }, 2s));
    auto& l = rig.rec.lines["h"];
    EXPECT_EQ(l[0], "65534");
    EXPECT_EQ(l[1], "0077");
    EXPECT_EQ(l[2], "77");
    EXPECT_EQ(l[3], "CapBnd:\t0000000000000400");
    EXPECT_EQ(l[4], "CapAmb:\t0000000000000400");
    EXPECT_EQ(l[5], "NoNewPrivs:\t1");
}

TEST(Supervisor, PsReportsTheProcess) {
    Rig rig(R"([{"name": "tree", "argv": ["sh", "-c", "sleep 100 & sleep 100 & wait"]}])");
    ASSERT_TRUE(rig.run_until([&] { return rig.rec.ready; }, 5s));
    pid_t pid = rig.sup->find("tree")->pid();
    nlohmann::json ps;
    ASSERT_TRUE(rig.run_until(
        [&] {
            ps = *rig.sup->ps_json("tree");
            return ps["children"].size() == 2;
        },
        3s))
        << ps.dump();
    EXPECT_EQ(ps["pid"], pid);
    EXPECT_GT(ps["rss_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(ps["state"], "ready");
    EXPECT_FALSE(rig.sup->ps_json("nope"));
}

}  // namespace
}  // namespace keel::init
