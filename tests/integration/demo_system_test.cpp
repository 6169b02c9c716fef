// The demo system end to end, as its user runs it: examples/demo/system.lua
// built by keel build, then
//  - as a container (keel run): readiness (init.ready: system.ready's payload)
//    seen from the host over the veth, DHCP from keel run,
//    ps.<svc> answered, a service killed from outside restarted, a clean stop;
//  - under QEMU (keel boot, TCG here and in CI): readiness through the
//    forwarded bus port, DHCP from QEMU's user network, ssh to dropbear, a USB
//    stick plugged with keel vm -> hardware.block.add -> the automount script
//    mounts it and says so on toast.in (seen by the official NATS client),
//    unplugged, and keel poweroff ends QEMU with status 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "demo_system.h"
#include "harness.h"
#include "integration/image_tree.h"
#include "integration/nats_js.h"

namespace keel::it {
namespace {

using nlohmann::json;

// The state file keel boot / keel run write once started.
std::optional<json> wait_state(Process& p, const std::string& path, Ms timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && p.running()) {
        auto j = json::parse(slurp(path), nullptr, false);
        if (j.is_object()) return j;
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

json request(const std::string& url, const std::string& subject, const std::string& data = "",
             const std::string& timeout = "10s") {
    auto r =
        run_cli({"req", subject, data, "--server", url, "--timeout", timeout, "--wait", timeout},
                std::nullopt, slow(300s));
    auto j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json{{"error", r.describe()}} : j;
}

// The host PID of the process a container knows as `nspid`.
pid_t host_pid(pid_t container_init, pid_t nspid) {
    char ns[64] = {}, mine[64] = {};
    std::string want = "/proc/" + std::to_string(container_init) + "/ns/pid";
    if (::readlink(want.c_str(), ns, sizeof ns - 1) <= 0) return -1;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::memset(mine, 0, sizeof mine);
        if (::readlink((e.path() / "ns/pid").c_str(), mine, sizeof mine - 1) <= 0) continue;
        if (std::string(mine) != ns) continue;
        std::istringstream st(slurp(e.path() / "status"));
        for (std::string line; std::getline(st, line);)
            if (line.rfind("NSpid:", 0) == 0 && line.ends_with("\t" + std::to_string(nspid)))
                return std::stoi(name);
    }
    return -1;
}

std::optional<Missing> why_no_container() {
    if (::geteuid() != 0) return Missing{"root", "keel run needs root"};
    if (::access("/bin/busybox", X_OK) != 0)
        return Missing{"busybox", "no /bin/busybox (busybox-static)"};
    if (host_kernel().empty())
        return Missing{"linux-image-amd64", "no /boot/vmlinuz-*-amd64 (linux-image-amd64)"};
    if (auto why = nats_client_missing()) return *why;
    return std::nullopt;
}

TEST(DemoSystem, RunsAsAContainerRestartsAKilledServiceAndStopsCleanly) {
    KEEL_SKIP_IF_MISSING(why_no_container());
    auto demo = build_demo();
    ASSERT_EQ(demo.error, "");
    TempDir dir;
    const std::string state_path = dir.file("run.json");
    Process run(Process::Spec{{KEEL_BIN, "run", demo.out + "/rootfs", "--state", state_path}});
    auto state = wait_state(run, state_path, slow(30s));
    ASSERT_TRUE(state) << run.err();
    const std::string url = (*state)["bus"];
    EXPECT_TRUE((*state)["dhcp"].get<bool>()) << state->dump();
    // Ready (in a container that is a matter of milliseconds: system.ready is
    // published before a host client can subscribe, so init.ready, which
    // answers with its payload, is asked), with eth0's address from keel run's
    // DHCP server (the definition asks for DHCP, as under QEMU).
    auto ready = request(url, "init.ready", "", kSanitized ? "120s" : "60s");
    auto services = ready["services"];
    ASSERT_TRUE(services.is_object()) << ready.dump() << run.err();
    for (const char* s : {"bus", "dev", "net", "ssh", "httpd", "toast", "automount"})
        EXPECT_EQ(services.value(s, ""), "ready") << s << ": " << services.dump();
    json dhcp;
    auto deadline = Clock::now() + slow(30s);
    do {  // udhcpc's first lease takes a moment after net is ready
        dhcp = request(url, "net.status")["dhcp"]["eth0"];
    } while (dhcp.value("event", "") != "bound" && Clock::now() < deadline &&
             (std::this_thread::sleep_for(200ms), true));
    EXPECT_EQ(dhcp.value("address", ""), (*state)["address"].get<std::string>() + "/30")
        << dhcp.dump();

    // ps.<svc> over the veth; then httpd killed from the host is restarted by init.
    NatsWatcher watch(url, {"service.>", "system.>"});
    auto ps = request(url, "ps.httpd");
    ASSERT_EQ(ps.value("state", ""), "ready") << ps.dump();
    pid_t victim = host_pid((*state)["pid"].get<pid_t>(), ps["pid"].get<pid_t>());
    ASSERT_GT(victim, 0) << ps.dump();
    size_t mark = watch.count();
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    auto restarting = watch.wait_for("service.httpd.restarting", slow(30s), mark);
    ASSERT_TRUE(restarting) << json(watch.messages()).dump();
    EXPECT_EQ(json::parse(restarting->value("data", "{}")).value("signal", 0), SIGKILL);
    ASSERT_TRUE(watch.wait_for("service.httpd.ready", slow(30s), mark))
        << json(watch.messages()).dump();
    auto again = request(url, "ps.httpd");
    EXPECT_EQ(again.value("restarts", 0), 1) << again.dump();
    EXPECT_NE(again["pid"], ps["pid"]) << again.dump();

    // Ctrl-C: init stops every service and powers the container off.
    ASSERT_TRUE(run.signal(SIGINT));
    auto st = run.wait_exit(slow(60s));
    ASSERT_TRUE(st) << run.err();
    EXPECT_TRUE(st->exited_ok()) << st->describe() << run.err();
    EXPECT_NE(run.err().find("container powered off"), std::string::npos) << run.err();
    EXPECT_TRUE(watch.wait_for("system.shutdown", slow(5s), mark));
    EXPECT_TRUE(watch.wait_for("service.ssh.stopped", slow(5s), mark));
    EXPECT_FALSE(
        std::filesystem::exists("/sys/class/net/" + (*state)["interface"].get<std::string>()));
}

std::optional<Missing> why_no_qemu() {
    if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
        return Missing{"qemu-system-x86_64", "qemu-system-x86_64 is not installed"};
    if (host_kernel().empty())
        return Missing{"linux-image-amd64", "no /boot/vmlinuz-*-amd64 (linux-image-amd64)"};
    if (::access("/usr/sbin/mkfs.vfat", X_OK) != 0)
        return Missing{"mkfs.vfat", "no mkfs.vfat (dosfstools)"};
    if (::access("/usr/bin/ssh", X_OK) != 0) return Missing{"ssh", "no ssh (openssh-client)"};
    if (auto why = nats_client_missing()) return *why;
    return std::nullopt;
}

TEST(DemoSystem, BootsUnderQemuServesSshAutomountsAUsbStickAndPowersOff) {
    KEEL_SKIP_IF_MISSING(why_no_qemu());
    auto demo = build_demo();
    ASSERT_EQ(demo.error, "");
    TempDir dir;
    const std::string state_path = dir.file("boot.json"), log = dir.file("console.log");
    Process boot(Process::Spec{{KEEL_BIN, "boot", demo.out, "--headless", "--state", state_path,
                                "--log", log, "--memory", kSanitized ? "1536M" : "256M"}});
    auto state = wait_state(boot, state_path, slow(30s));
    ASSERT_TRUE(state) << boot.err();
    const std::string url = (*state)["bus"];

    // The host reaches the guest only once eth0 has its lease, well after
    // system.ready went out (net is ready when it has started DHCP): init.ready
    // answers with that payload.
    auto ready = request(url, "init.ready", "", kSanitized ? "400s" : "240s");
    auto services = ready["services"];
    ASSERT_TRUE(services.is_object()) << ready.dump() << slurp(log);
    for (const char* s : {"bus", "dev", "net", "ssh", "httpd", "toast", "getty", "automount"})
        EXPECT_EQ(services.value(s, ""), "ready") << s << ": " << services.dump();

    // DHCP from QEMU's user network (that lease is how this test got here).
    auto net = request(url, "net.status");
    EXPECT_EQ(net["dhcp"]["eth0"].value("event", ""), "bound") << net.dump();
    EXPECT_EQ(net["dhcp"]["eth0"].value("address", ""), "10.0.2.15/24") << net.dump();
    EXPECT_EQ(net["dhcp"]["eth0"]["routers"], json::array({"10.0.2.2"})) << net.dump();

    // ssh to dropbear through the forwarded port, with the demo's test key.
    std::string key = dir.file("key");
    std::filesystem::copy_file(repo_file("tests/data/demo_ssh_key"), key);
    ::chmod(key.c_str(), 0600);
    Process ssh(Process::Spec{
        {"/usr/bin/ssh", "-p", std::to_string((*state)["ssh_port"].get<int>()), "-i", key, "-o",
         "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=30", "demo@127.0.0.1", "echo hello from $(hostname) as $(id -un)"}});
    auto ssh_exit = ssh.wait_exit(slow(60s));
    ASSERT_TRUE(ssh_exit) << ssh.err();
    EXPECT_TRUE(ssh_exit->exited_ok()) << ssh_exit->describe() << ssh.err();
    EXPECT_NE(ssh.out().find("hello from keel-demo as demo"), std::string::npos)
        << ssh.out() << ssh.err();

    // A vfat stick: plugged, mounted by the automount script, announced; unplugged.
    const std::string stick = dir.file("stick.img");
    Process mkfs(Process::Spec{{"/usr/sbin/mkfs.vfat", "-C", "-n", "KEELTEST", stick, "4096"}});
    ASSERT_TRUE(mkfs.wait_exit(slow(20s)).value_or(ExitStatus{}).exited_ok()) << mkfs.err();
    NatsWatcher watch(url, {"hardware.block.>", "toast.in"});
    auto plug = run_cli({"vm", "plug", state_path, stick}, std::nullopt, slow(30s));
    ASSERT_EQ(plug.code, 0) << plug.describe();
    EXPECT_EQ(plug.out, "plugged " + stick + " as stick\n");
    auto added = watch.wait_for("hardware.block.add", slow(60s));
    ASSERT_TRUE(added) << slurp(log);
    auto dev = json::parse(added->value("data", "{}"));
    EXPECT_EQ(dev.value("ID_BUS", ""), "usb") << dev.dump();
    EXPECT_EQ(dev.value("ID_FS_TYPE", ""), "vfat") << dev.dump();
    EXPECT_EQ(dev.value("ID_FS_LABEL", ""), "KEELTEST") << dev.dump();
    // Mounting makes the kernel ask /sbin/modprobe (keel's) for fs-vfat.
    auto toast = watch.wait_for("toast.in", slow(30s));
    ASSERT_TRUE(toast) << json(watch.messages()).dump() << request(url, "init.logs", "automount");
    EXPECT_EQ(toast->value("data", ""), "a USB stick was plugged in!");
    auto logs = request(url, "init.logs", R"({"name": "automount"})");
    EXPECT_NE(logs.dump().find("on /media/KEELTEST"), std::string::npos) << logs.dump();

    size_t before = watch.count();
    auto unplug = run_cli({"vm", "unplug", state_path, "stick"}, std::nullopt, slow(30s));
    ASSERT_EQ(unplug.code, 0) << unplug.describe();
    EXPECT_TRUE(watch.wait_for("hardware.block.remove", slow(30s), before)) << slurp(log);
    auto gone = watch.wait_for("toast.in", slow(30s), before);
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->value("data", ""), "the USB stick is gone");

    // keel poweroff through the forwarded port: services stop, the guest powers
    // off, QEMU and keel boot exit 0, and the state file goes with them.
    auto off = run_cli({"poweroff", "--server", url}, std::nullopt, slow(30s));
    EXPECT_EQ(off.code, 0) << off.describe();
    auto st = boot.wait_exit(slow(90s));
    ASSERT_TRUE(st) << slurp(log);
    EXPECT_TRUE(st->exited_ok()) << st->describe() << slurp(log) << boot.err();
    EXPECT_NE(slurp(log).find("powering off"), std::string::npos) << slurp(log);
    EXPECT_FALSE(std::filesystem::exists(state_path));
}

}  // namespace
}  // namespace keel::it
