// keel init as PID 1 of new PID, mount and UTS namespaces (unshare, as root): early
// mounts, hostname, orphan reaping, shutdown in order on SIGTERM ending the
// namespace, reboot over the bus, and the emergency shell for a broken manifest.
// Inside a PID namespace reboot(2) ends the namespace: poweroff shows as its init
// killed by SIGINT, reboot as SIGHUP.
#include <sys/stat.h>

#include "integration/init_fixture.h"

namespace keel::it {
namespace {

bool contains(const std::string& h, std::string_view n) {
    return h.find(n) != std::string::npos;
}

bool host_tmp_is_mount() {
    struct stat a, b;
    return ::stat("/tmp", &a) == 0 && ::stat("/", &b) == 0 && a.st_dev != b.st_dev;
}

class Pid1 : public testing::Test {
  protected:
    void SetUp() override {
        KEEL_SKIP_IF_MISSING(pid1_unavailable());
        KEEL_SKIP_IF_MISSING(nats_client_missing());
    }
};

TEST_F(Pid1, BootsReapsAndPowersOffInOrder) {
    const bool tmp_was_mount = host_tmp_is_mount();
    json m = {
        {"hostname", "keel-pid1-test"},
        {"services",
         {{{"name", "bus"}},
          {{"name", "probe"},
           {"type", "oneshot"},
           {"argv",
            {"sh", "-c", "hostname; cat /proc/1/comm; stat -f -c %T /tmp; stat -f -c %T /run"}}},
          {{"name", "db"},
           {"readiness", "notify"},
           {"argv", {"sh", "-c", "echo >&3; exec sleep 1000"}}},
          {{"name", "web"}, {"depends", {"db"}}, {"argv", {"sleep", "1000"}}},
          {{"name", "orphans"},
           {"type", "oneshot"},
           {"argv", {"sh", "-c", "(sleep 0.3 &); (sh -c 'sleep 0.4' &); exit 0"}}}}}};
    InitProcess init(m, /*pid1=*/true);
    pid_t init_pid = init_pid_of(init.proc().pid());
    ASSERT_GT(init_pid, 0) << init.log();
    ASSERT_TRUE(init.wait_ready(slow(10s))) << init.log();

    CliResult r = init.svc({"logs", "probe"});
    ASSERT_EQ(r.code, 0) << r.describe();
    EXPECT_EQ(r.out, "keel-pid1-test\nkeel\ntmpfs\ntmpfs\n") << init.log();
    EXPECT_EQ(host_tmp_is_mount(), tmp_was_mount);  // its mounts stayed in its namespace
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    EXPECT_NE(std::string(host), "keel-pid1-test");

    // The double-forked grandchildren (sleep 0.3, sleep 0.4) were reparented to PID 1
    // and are reaped once they exit: wait until PID 1's only children are the
    // services (the bus, and db's and web's `sleep 1000`), none of them a zombie.
    // An exiting process has no cmdline yet is no zombie: it counts as a stray.
    auto strays = [&] {
        auto kids = children_of(init_pid);
        std::erase_if(kids, [](const ProcEntry& k) {
            std::string argv = read_file("/proc/" + std::to_string(k.pid) + "/cmdline");
            return k.state != 'Z' && (contains(argv, "1000") || contains(argv, "bus"));
        });
        return kids;
    };
    for (auto deadline = Clock::now() + slow(5s); !strays().empty() && Clock::now() < deadline;)
        std::this_thread::sleep_for(10ms);
    for (const ProcEntry& k : strays())
        ADD_FAILURE() << "child " << k.pid << " of PID 1 left (state " << k.state << ", "
                      << read_file("/proc/" + std::to_string(k.pid) + "/cmdline") << ")\n"
                      << init.log();

    NatsWatcher w(init.url(), {"service.>", "system.>"});
    ASSERT_TRUE(init.proc().signal(SIGTERM) || ::kill(init_pid, SIGTERM) == 0);
    ::kill(init_pid, SIGTERM);
    auto st = init.proc().wait_exit(slow(15s));
    ASSERT_TRUE(st) << "the namespace did not end\n" << init.log();
    EXPECT_EQ(st->signal, SIGINT) << st->describe() << "\n"
                                  << init.log();  // reboot(POWER_OFF) in a PID namespace
    EXPECT_TRUE(contains(init.log(), "powering off")) << init.log();
    EXPECT_TRUE(w.wait_for("system.shutdown", slow(2s)));
    // The last event init sends: the watcher may print it a moment after init is gone.
    EXPECT_TRUE(w.wait_for("service.db.stopped", slow(2s)));
    auto subjects = w.subjects();
    auto pos = [&](const std::string& s) {
        return std::find(subjects.begin(), subjects.end(), s) - subjects.begin();
    };
    EXPECT_LT(pos("service.web.stopped"), pos("service.db.stopped"))
        << testing::PrintToString(subjects);
    EXPECT_LT(pos("system.shutdown"), pos("service.web.stopped"))
        << testing::PrintToString(subjects);
    EXPECT_LT(pos("service.db.stopped"), static_cast<long>(subjects.size()));
}

TEST_F(Pid1, RebootOverTheBus) {
    json m = {{"services", {{{"name", "bus"}}, {{"name", "idle"}, {"argv", {"sleep", "1000"}}}}}};
    // Words the kernel passes on from its command line do not stop PID 1.
    InitProcess init(m, /*pid1=*/true, {"splash", "single"});
    ASSERT_TRUE(init.wait_ready(slow(10s))) << init.log();
    CliResult r = run_cli({"reboot", "--server", init.url()});
    EXPECT_EQ(r.code, 0) << r.describe();
    auto st = init.proc().wait_exit(slow(15s));
    ASSERT_TRUE(st) << init.log();
    EXPECT_EQ(st->signal, SIGHUP) << st->describe() << "\n"
                                  << init.log();  // reboot(RESTART) in a PID namespace
    EXPECT_TRUE(contains(init.log(), "rebooting")) << init.log();
}

TEST_F(Pid1, BrokenManifestGivesAnEmergencyShellThenBoots) {
    TempDir dir("/var/tmp");
    std::string shell = dir.file("shell");
    write_file_atomic(shell, "#!/bin/sh\necho EMERGENCY SHELL RAN\n");
    ::chmod(shell.c_str(), 0755);
    std::string manifest = dir.file("system.json");
    write_file_atomic(manifest, "{\"services\": [{\"name\": \"x\"}]}");
    Process init({{"/usr/bin/unshare", "--pid", "--mount", "--uts", "--fork", "--kill-child",
                   "--propagation", "private", KEEL_BIN, "init", "--manifest", manifest,
                   "--state-dir", dir.file("state"), "--emergency-shell", shell, "--server",
                   "nats://127.0.0.1:" + std::to_string(free_port())},
                  std::nullopt,
                  true,
                  "",
                  -1});
    ASSERT_TRUE(init.wait_output("EMERGENCY SHELL RAN", slow(10s))) << init.out();
    EXPECT_TRUE(contains(init.out(),
                         "keel init: fatal: " + manifest + ": $.services[0]: missing \"argv\"") ||
                contains(init.out(), manifest + ": $.services[0].argv: must name a program"))
        << init.out();
    EXPECT_TRUE(init.running());  // PID 1 did not exit

    // Fixed: the next round after the shell boots it.
    write_file_atomic(manifest,
                      json{{"services",
                            {{{"name", "x"},
                              {"type", "oneshot"},
                              {"argv", {"sh", "-c", "echo booted > " + dir.file("out")}}}}}}
                          .dump());
    auto deadline = Clock::now() + slow(10s);
    while (Clock::now() < deadline && read_file(dir.file("out")).empty())
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(read_file(dir.file("out")), "booted\n") << init.out();
    pid_t init_pid = init_pid_of(init.pid());
    ASSERT_GT(init_pid, 0);
    ::kill(init_pid, SIGTERM);
    auto st = init.wait_exit(slow(15s));
    ASSERT_TRUE(st) << init.out();
    EXPECT_EQ(st->signal, SIGINT) << st->describe() << init.out();
}

}  // namespace
}  // namespace keel::it
