// keel run, for real (as root): a Tree with busybox and the real keel written
// by write_directory, run as a container with keel init as PID 1 running the
// bus and a service; the host reaches the bus over the veth with the official
// NATS client; SIGINT to keel run powers it off, leaving no veth, mount,
// staging directory or process behind, and the rootfs unchanged.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "image/writers.h"
#include "integration/image_tree.h"
#include "integration/nats_js.h"

namespace keel::it {
namespace {

using nlohmann::json;

std::optional<Missing> why_no_containers() {
    if (::geteuid() != 0) return Missing{"root", "needs root (namespaces, mounts, veth)"};
    if (::system("unshare --pid --mount --net --uts --ipc --fork true 2>/dev/null") != 0)
        return Missing{"namespaces", "unshare of mount/PID/net/UTS/IPC namespaces is refused here"};
    if (::access("/bin/busybox", X_OK) != 0)
        return Missing{"busybox", "no /bin/busybox (busybox-static)"};
    if (auto why = nats_client_missing()) return *why;
    return std::nullopt;
}

json container_manifest() {
    return {{"hostname", "keel-box"},
            {"services",
             json::array({
                 {{"name", "bus"},
                  {"argv", {"/usr/bin/keel", "bus", "--listen", "0.0.0.0:4222", "--ready-fd", "3"}},
                  {"readiness", "notify"}},
                 {{"name", "ticker"},
                  {"argv", {"/bin/sh", "-c", "hostname > /tmp/ticker.host; exec sleep 1000"}}},
             })}};
}

std::string listing(const std::string& dir) {
    return command_output("cd '" + dir + "' && find . -printf '%p %m %s %l\\n' | sort");
}

TEST(ImageRun, KeelInitRunsTheTreeInNamespacesReachableOverTheVethAndStopsCleanly) {
    KEEL_SKIP_IF_MISSING(why_no_containers());
    TempDir dir;
    image::NoProgress quiet;
    std::string rootfs = dir.file("rootfs");
    ASSERT_TRUE(image::write_directory(base_tree(container_manifest(), KEEL_BIN), rootfs, quiet));
    const std::string before = listing(rootfs);

    std::string state_path = dir.file("state.json");
    Process run(Process::Spec{{KEEL_BIN, "run", rootfs, "--state", state_path}});
    ASSERT_TRUE(run.wait_output("bus: nats://", slow(10s), true)) << run.err();
    json state = json::parse(read_text(state_path));
    std::string url = state["bus"], ifname = state["interface"];
    pid_t pid = state["pid"];
    EXPECT_TRUE(std::filesystem::exists("/sys/class/net/" + ifname));
    EXPECT_EQ(url, "nats://" + state["address"].get<std::string>() + ":4222");

    // The bus inside, from the host over the veth: init answers for its service.
    json ps;
    auto deadline = Clock::now() + slow(20s);
    for (;;) {
        try {
            ps = json::parse(nats_request(url, "ps.ticker", ""));
            if (ps.value("state", "") == "ready") break;
        } catch (const std::exception&) {
        }
        ASSERT_LT(Clock::now(), deadline) << run.err() << ps.dump();
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_GT(ps.value("pid", 0), 1);
    // PID 1 of its own namespace is keel init; the host name is the manifest's.
    std::string comm = read_text("/proc/" + std::to_string(pid) + "/comm");
    EXPECT_EQ(comm, "init\n");
    EXPECT_NE(read_text("/proc/" + std::to_string(pid) + "/status")
                  .find("NSpid:\t" + std::to_string(pid) + "\t1\n"),
              std::string::npos);
    NatsWatcher watch(url, {"system.>"});

    ASSERT_TRUE(run.signal(SIGINT));
    auto st = run.wait_exit(slow(30s));
    ASSERT_TRUE(st) << run.err();
    EXPECT_TRUE(st->exited_ok()) << st->describe() << "\n" << run.err();
    EXPECT_NE(run.err().find("powered off"), std::string::npos) << run.err();
    EXPECT_TRUE(watch.wait_for("system.shutdown", slow(2s))) << run.err();

    // Nothing left: the veth pair, the container's processes, its mounts.
    EXPECT_FALSE(std::filesystem::exists("/sys/class/net/" + ifname));
    EXPECT_NE(::kill(pid, 0), 0);
    EXPECT_EQ(read_text("/proc/self/mountinfo").find("keel-run"), std::string::npos);
    EXPECT_EQ(command_output("ls -d /run/keel-run-* /tmp/keel-run-* 2>/dev/null || true"), "");
    // The overlay kept the image as written.
    EXPECT_EQ(listing(rootfs), before);
}

// The container shares the host's clock: nothing in it may set it (a time daemon
// of the system, as the demo's ntpd, would move the host's). Only read here.
TEST(ImageRun, TheContainerCannotSetTheHostsClockOrLoadModulesIntoItsKernel) {
    KEEL_SKIP_IF_MISSING(why_no_containers());
    TempDir dir;
    image::NoProgress quiet;
    std::string rootfs = dir.file("rootfs");
    ASSERT_TRUE(image::write_directory(base_tree(container_manifest(), KEEL_BIN), rootfs, quiet));
    auto r = run_cli({"run", rootfs, "--no-address", "--", "/bin/sh", "-c",
                      "grep -E '^Cap(Eff|Bnd):' /proc/self/status"},
                     std::nullopt, slow(30s));
    ASSERT_EQ(r.code, 0) << r.describe();
    for (const char* set : {"CapEff:", "CapBnd:"}) {
        size_t at = r.out.find(set);
        ASSERT_NE(at, std::string::npos) << r.describe();
        uint64_t caps = std::stoull(r.out.substr(at + std::strlen(set)), nullptr, 16);
        EXPECT_EQ(caps & (uint64_t{1} << 25), 0u) << set << " has CAP_SYS_TIME: " << r.out;
        EXPECT_EQ(caps & (uint64_t{1} << 16), 0u) << set << " has CAP_SYS_MODULE: " << r.out;
        EXPECT_NE(caps & (uint64_t{1} << 21), 0u) << set << " lost CAP_SYS_ADMIN too: " << r.out;
    }
}

TEST(ImageRun, ExplainsWhatIsWrong) {
    KEEL_SKIP_IF_MISSING(why_no_containers());
    TempDir dir;
    auto r = run_cli({"run", dir.path()});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("has no /init"), std::string::npos) << r.describe();
    r = run_cli({"run", dir.file("missing")});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("missing"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace keel::it

namespace keel::it {
namespace {

// keel build|boot|run exec keel-image beside keel; without it, a clear error.
TEST(ImageForward, NamesTheMissingHostTool) {
    TempDir dir;
    std::filesystem::copy_file(KEEL_BIN, dir.file("keel"));
    Process p(Process::Spec{{dir.file("keel"), "boot", "--help"}});
    auto st = p.wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->code, 100);
    EXPECT_NE(p.err().find("cannot run " + dir.file("keel-image")), std::string::npos) << p.err();
    auto boot = run_cli({"boot", "--kernel", dir.file("nope"), "--initrd", dir.file("nope")});
    EXPECT_EQ(boot.code, 100) << boot.describe();
    EXPECT_NE(boot.err.find("cannot read " + dir.file("nope")), std::string::npos)
        << boot.describe();
    // Beside the real build it reaches keel-image's own help.
    auto r = run_cli({"run", "--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("Usage: keel run"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace keel::it
