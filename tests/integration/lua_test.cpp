// keel lua, keel.so under stock lua5.4, and the keel luad fork server with its
// keel-run client — all as real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "integration/harness.h"
#include "lua/luad/request.h"

namespace keel::it {
namespace {

std::string bin_dir() {
    return std::filesystem::path(KEEL_BIN).parent_path();
}
std::string keel_run() {
    return bin_dir() + "/keel-run";
}

void write_script(const std::string& path, const std::string& text, mode_t mode = 0644) {
    write_file_atomic(path, text);
    ::chmod(path.c_str(), mode);
}

struct Ran {
    ExitStatus st;
    std::string out, err;
    std::string describe() const { return st.describe() + "\nstdout: " + out + "\nstderr: " + err; }
};

Ran run(std::vector<std::string> argv, std::optional<std::string> in = std::nullopt,
        Ms timeout = slow(20s)) {
    Process p(Process::Spec{std::move(argv), std::move(in)});
    auto st = p.wait_exit(timeout);
    if (!st) {
        p.signal(SIGKILL);
        st = p.wait_exit(slow(5s));
        ADD_FAILURE() << "timed out";
    }
    return {st.value_or(ExitStatus{}), p.out(), p.err()};
}

// ---- keel lua ----

class LuaCli : public ::testing::Test {
  protected:
    TempDir dir;
};

TEST_F(LuaCli, ArgumentsExitCodesAndErrors) {
    write_script(dir.file("args.lua"),
                 "print(#arg, arg[0] ~= nil, ...)\nos.exit(tonumber((...)) or 0)\n");
    auto r = run({KEEL_BIN, "lua", dir.file("args.lua"), "5", "-x", "--y"});
    EXPECT_EQ(r.st.code, 5) << r.describe();
    EXPECT_EQ(r.out, "3\ttrue\t5\t-x\t--y\n");

    write_script(dir.file("boom.lua"), "local function f() error('boom here') end\nf()\n");
    r = run({KEEL_BIN, "lua", dir.file("boom.lua")});
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("keel lua: " + dir.file("boom.lua") + ":1: boom here"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("stack traceback"), std::string::npos);

    r = run({KEEL_BIN, "lua", dir.file("missing.lua")});
    EXPECT_EQ(r.st.code, 100) << r.describe();
    EXPECT_NE(r.err.find("cannot open " + dir.file("missing.lua")), std::string::npos) << r.err;

    write_script(dir.file("syntax.lua"), "x = = 1\n");
    r = run({KEEL_BIN, "lua", dir.file("syntax.lua")});
    EXPECT_EQ(r.st.code, 100) << r.describe();

    r = run({KEEL_BIN, "lua", "-e", "print(require('keel').version)"});
    EXPECT_EQ(r.st.code, 0) << r.describe();
    EXPECT_EQ(r.out, std::string(KEEL_VERSION) + "\n");

    r = run({KEEL_BIN, "lua", "-", "a"}, std::string("print('stdin', ...)"));
    EXPECT_EQ(r.out, "stdin\ta\n") << r.describe();

    r = run({KEEL_BIN, "lua", "--bogus"});
    EXPECT_EQ(r.st.code, 100);
}

TEST_F(LuaCli, ShebangDirectAndThroughTheSymlink) {
    write_script(dir.file("direct"), std::string("#!") + KEEL_BIN + " lua\nprint('direct', ...)\n",
                 0755);
    auto r = run({dir.file("direct"), "1"});
    EXPECT_EQ(r.out, "direct\t1\n") << r.describe();
    std::string link = bin_dir() + "/keel-lua";
    ASSERT_TRUE(std::filesystem::exists(link)) << link;
    write_script(dir.file("linked"), "#!" + link + "\nprint('linked', ...)\n", 0755);
    r = run({dir.file("linked"), "2"});
    EXPECT_EQ(r.out, "linked\t2\n") << r.describe();
}

TEST_F(LuaCli, EndsWhenNothingIsLeftAndFlushesPublishes) {
    BusProcess bus;
    auto sub = start_ready({"sub", "lua.done", "--count", "1", "--raw", "--server", bus.url()});
    write_script(dir.file("pub.lua"), R"(
        local keel = require "keel"
        local bus = assert(keel.bus.connect(arg[1]))
        keel.loop.timer(0.05, function() bus:publish("lua.done", "bye") end)
    )");
    auto r = run({KEEL_BIN, "lua", dir.file("pub.lua"), bus.url()});
    EXPECT_EQ(r.st.code, 0) << r.describe();
    auto st = sub->wait_exit(slow(10s));
    ASSERT_TRUE(st) << "the publish made at the very end reached the bus";
    EXPECT_NE(sub->out().find("bye"), std::string::npos);
}

// The lunix example: a block device appears, the script reacts and tells the toast service.
TEST_F(LuaCli, CoroutineRequestReplyAndTheUsbExampleAgainstALiveBus) {
    BusProcess bus;
    auto responder = start_ready({"reply", "svc.time", "42", "--server", bus.url()});
    auto toast = start_ready({"sub", "toast.in", "--count", "1", "--raw", "--server", bus.url()});
    write_script(dir.file("bus.lua"), R"(
        local keel = require "keel"
        local sys = keel.sys
        local bus = assert(keel.bus.connect(arg[1]))
        -- blocking-looking requests in three tasks at once, and at top level
        local answers = {}
        for i = 1, 3 do
            keel.spawn(function()
                local msg = assert(bus:request("svc.time", "q" .. i, 2))
                answers[#answers + 1] = msg.data
            end)
        end
        assert(bus:request("svc.time", "top").data == "42")
        local none, err = bus:request("svc.nobody", "x", 0.5)
        assert(none == nil and err == "no responders", err)
        while #answers < 3 do keel.sleep(0.01) end
        assert(table.concat(answers) == "424242")
        -- our own responder, answered from a handler that itself waits
        bus:subscribe("svc.upper", function(msg)
            keel.sleep(0.01)
            msg:respond(msg.data:upper(), {["X-By"] = "lua"})
        end)
        local up = assert(bus:request("svc.upper", "abc"))
        assert(up.data == "ABC" and up.headers["X-By"] == "lua", up.data)
        -- the lunix example, almost as written
        bus:subscribe("hardware.block.add", function(msg)
            local dev = msg:json()
            sys.writefile(arg[2] .. "/mounted", dev.DEVNAME)
            bus:publish("toast.in", "a USB stick was plugged in!")
            keel.loop.stop()
        end)
        assert(bus:flush())
        print("ready")
        io.stdout:flush()
    )");
    auto script = std::make_unique<Process>(
        Process::Spec{{KEEL_BIN, "lua", dir.file("bus.lua"), bus.url(), dir.path()}});
    ASSERT_TRUE(script->wait_output("ready\n", slow(10s))) << script->err();
    EXPECT_EQ(run_cli({"pub", "hardware.block.add", R"({"DEVNAME":"sda1","ID_BUS":"usb"})",
                       "--server", bus.url()})
                  .code,
              0);
    auto st = script->wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exited_ok()) << st->describe() << script->err();
    ASSERT_TRUE(toast->wait_exit(slow(10s)));
    EXPECT_EQ(toast->out(), "a USB stick was plugged in!\n");
    std::ifstream f(dir.file("mounted"));
    std::string dev;
    f >> dev;
    EXPECT_EQ(dev, "sda1");
}

TEST_F(LuaCli, HeatWhenColdExampleRuns) {
    BusProcess bus;
    write_file_atomic(dir.file("temp"), "15000\n");  // 15 degrees: cold
    write_file_atomic(dir.file("relay"), "0");
    auto state =
        start_ready({"sub", "heater.state", "--count", "1", "--raw", "--server", bus.url()});
    Process example(Process::Spec{{"/usr/bin/env", "KEEL_BUS=" + bus.url(),
                                   "SENSOR=" + dir.file("temp"), "RELAY=" + dir.file("relay"),
                                   KEEL_BIN, "lua", repo_file("examples/heat-when-cold.lua")}});
    ASSERT_TRUE(state->wait_exit(slow(10s))) << example.err();
    EXPECT_EQ(state->out(), "{\"on\":true,\"setpoint\":18}\n");
    EXPECT_EQ(slurp(dir.file("relay")), "1");
    // A set point below the temperature switches the heater off.
    auto r = run_cli({"req", "heater.setpoint", "10", "--server", bus.url()});
    EXPECT_EQ(r.code, 0) << r.describe();
    EXPECT_NE(r.out.find("\"heating\":false"), std::string::npos) << r.out;
    EXPECT_EQ(slurp(dir.file("relay")), "0");
    EXPECT_TRUE(example.running());
}

bool kernel_mounts(const std::string& fstype) {
    auto has = [&] {
        std::ifstream f("/proc/filesystems");
        for (std::string line; std::getline(f, line);)
            if (line.substr(line.find('\t') + 1) == fstype) return true;
        return false;
    };
    if (has()) return true;
    run({"/sbin/modprobe", "-q", fstype});
    return has();
}

// A real file system on a loop device (vfat, as USB sticks carry, when the kernel
// has it), removed again whatever happens.
class LoopStick {
  public:
    LoopStick(const std::string& image, const std::string& label) {
        Fd f(::open(image.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        if (!f || ::ftruncate(f.get(), 8 << 20) != 0) return;
        f.reset();
        fstype_ = kernel_mounts("vfat") ? "vfat" : "ext4";
        auto mk = fstype_ == "vfat" ? run({"/usr/sbin/mkfs.vfat", "-n", label, image})
                                    : run({"/usr/sbin/mkfs.ext4", "-q", "-L", label, image});
        if (!mk.st.exited_ok()) {
            why_ = "mkfs." + fstype_ + " failed: " + mk.err;
            return;
        }
        auto lo = run({"/usr/sbin/losetup", "--find", "--show", image});
        if (!lo.st.exited_ok() || lo.out.rfind("/dev/loop", 0) != 0) {
            why_ = "losetup failed: " + lo.err;
            return;
        }
        device_ = lo.out.substr(0, lo.out.find('\n'));
    }
    ~LoopStick() {
        if (device_.empty()) return;
        // Whatever the script left mounted goes first.
        for (std::string dir; !(dir = mount_point()).empty();)
            if (::umount2(dir.c_str(), MNT_DETACH) != 0) break;
        run({"/usr/sbin/losetup", "-d", device_});
    }
    const std::string& device() const { return device_; }  // "/dev/loop3"; empty: failed
    const std::string& fstype() const { return fstype_; }
    const std::string& why() const { return why_; }
    std::string name() const { return device_.substr(5); }  // "loop3"
    // Where the device is mounted now, or "".
    std::string mount_point(std::string* options = nullptr) const {
        std::ifstream mounts("/proc/self/mounts");
        std::string dev, dir, type, opts, rest;
        while (mounts >> dev >> dir >> type >> opts && std::getline(mounts, rest)) {
            if (dev != device_) continue;
            if (options) *options = type + " " + opts;
            return dir;
        }
        return "";
    }

  private:
    std::string device_, fstype_, why_;
};

// The USB automount example against real bus messages shaped like keel dev's and a
// real vfat file system that it mounts and unmounts.
TEST_F(LuaCli, UsbAutomountExampleMountsAndUnmountsARealStick) {
    if (::geteuid() != 0) KEEL_SKIP("root", "mounting needs root");
    if (!std::filesystem::exists("/usr/sbin/mkfs.vfat"))
        KEEL_SKIP("mkfs.vfat", "mkfs.vfat (dosfstools) missing");
    if (!std::filesystem::exists("/dev/loop-control"))
        KEEL_SKIP("loop-devices", "no loop device support");
    LoopStick stick(dir.file("stick.img"), "KEELUSB");
    ASSERT_FALSE(stick.device().empty()) << stick.why();
    if (stick.fstype() != "vfat")
        std::printf("note: this kernel cannot mount vfat; the stick carries ext4\n");
    const std::string fs = stick.fstype();
    std::string media = dir.file("media");
    BusProcess bus;
    auto toast = start_ready({"sub", "toast.in", "--raw", "--server", bus.url()});
    Process example(Process::Spec{{"/usr/bin/env", "KEEL_BUS=" + bus.url(), KEEL_BIN, "lua",
                                   repo_file("examples/demo/automount.lua"), media}});
    ASSERT_TRUE(example.wait_output("mounting USB file systems under", slow(10s), /*stderr=*/true))
        << example.err();
    auto pub = [&](const std::string& subject, const std::string& json) {
        auto r = run_cli({"pub", subject, json, "--server", bus.url()});
        ASSERT_EQ(r.code, 0) << r.describe();
    };
    std::string name = stick.name(), minor = name.substr(4);
    std::string uevent = R"("SUBSYSTEM":"block","DEVPATH":"/devices/virtual/block/)" + name +
                         R"(","DEVTYPE":"disk","MAJOR":"7","MINOR":")" + minor +
                         R"(","SEQNUM":"4242")";
    // Not on USB (the machine's own disk): left alone (else it would be on media/INTERNAL).
    pub("hardware.block.add", "{\"ACTION\":\"add\"," + uevent + R"(,"DEVNAME":")" + name +
                                  R"(","TYPE":")" + fs + R"(","LABEL":"INTERNAL"})");
    // The stick, as keel dev reports it (blkid's TYPE/LABEL, the kernel's DEVNAME).
    pub("hardware.block.add", "{\"ACTION\":\"add\"," + uevent + R"(,"DEVNAME":")" + name +
                                  R"(","TYPE":")" + fs +
                                  R"(","LABEL":"KEELUSB","UUID":"1234-ABCD","ID_BUS":"usb"})");
    ASSERT_TRUE(toast->wait_output("a USB stick was plugged in!\n", slow(10s))) << example.err();
    std::string options;
    EXPECT_EQ(stick.mount_point(&options), media + "/KEELUSB") << example.err();
    EXPECT_EQ(options.rfind(fs + " ", 0), 0u) << options;
    for (const char* flag : {"nosuid", "nodev", "noexec"})
        EXPECT_NE(options.find(flag), std::string::npos) << options;
    // It is a real file system: a file written there lands on the stick.
    write_file_atomic(media + "/KEELUSB/hello.txt", "hi");
    // Unplugged: the remove event carries no file system details any more.
    pub("hardware.block.remove",
        "{\"ACTION\":\"remove\"," + uevent + R"(,"DEVNAME":")" + name + "\"}");
    ASSERT_TRUE(toast->wait_output("the USB stick is gone\n", slow(10s))) << example.err();
    EXPECT_EQ(stick.mount_point(), "");
    EXPECT_FALSE(std::filesystem::exists(media + "/KEELUSB"));
    // udev-style names, an absolute DEVNAME and a label that tries to leave the media directory.
    size_t second = toast->out().size();
    pub("hardware.block.add", "{\"ACTION\":\"add\"," + uevent + R"(,"DEVNAME":"/dev/)" + name +
                                  R"(","ID_FS_TYPE":")" + fs +
                                  R"(","ID_FS_LABEL":"../../escape","ID_BUS":"usb"})");
    ASSERT_TRUE(toast->wait_output("a USB stick was plugged in!\n", slow(10s), false, second))
        << example.err();
    EXPECT_EQ(stick.mount_point(), media + "/.._.._escape");
    EXPECT_EQ(slurp(media + "/.._.._escape/hello.txt"), "hi");
    pub("hardware.block.remove",
        "{\"ACTION\":\"remove\"," + uevent + R"(,"DEVNAME":"/dev/)" + name + "\"}");
    ASSERT_TRUE(toast->wait_output("the USB stick is gone\n", slow(10s), false, second))
        << example.err();
    EXPECT_EQ(stick.mount_point(), "");
    EXPECT_TRUE(example.running());
    EXPECT_EQ(toast->out(),
              "a USB stick was plugged in!\nthe USB stick is gone\n"
              "a USB stick was plugged in!\nthe USB stick is gone\n");
}

// ---- keel.so from stock lua5.4 ----

TEST_F(LuaCli, StockLuaLoadsTheCModule) {
    if (!std::filesystem::exists("/usr/bin/lua5.4")) KEEL_SKIP("lua5.4", "lua5.4 is not installed");
    BusProcess bus;
    write_script(dir.file("stock.lua"), R"(
        local keel = require "keel"
        assert(package.loaded.keel == keel and keel.sys.getpid() > 0)
        local bus = assert(keel.bus.connect(arg[1]))
        bus:subscribe("svc.stock", function(msg) msg:respond("pong:" .. msg.data) end)
        -- the main thread is no task here: the request runs the loop until the reply
        local r = assert(bus:request("svc.stock", "ping"))
        assert(r.data == "pong:ping", r.data)
        keel.spawn(function()
            local r2 = assert(bus:request("svc.stock", "task"))
            print(r.data, r2.data, keel.json.encode({ok = true}))
            keel.loop.stop()
        end)
        keel.loop.run()
    )");
    std::vector<std::string> argv = {"/usr/bin/env", "LUA_CPATH=" + bin_dir() + "/lua/?.so"};
    for (const auto& e : sanitizer_preload_env())
        argv.push_back(e);
    argv.insert(argv.end(), {"/usr/bin/lua5.4", dir.file("stock.lua"), bus.url()});
    auto r = run(argv);
    EXPECT_EQ(r.st.code, 0) << r.describe();
    EXPECT_EQ(r.out, "pong:ping\tpong:task\t{\"ok\":true}\n");
}

// ---- keel luad and keel-run ----

class Luad {
  public:
    explicit Luad(std::vector<std::string> extra = {}, std::vector<std::string> env = {}) {
        ::chmod(dir_.path().c_str(), 0755);  // scripts here are read by other users too
        socket_ = dir_.file("lua.sock");
        std::vector<std::string> argv;
        if (!env.empty()) {
            argv.push_back("/usr/bin/env");
            argv.insert(argv.end(), env.begin(), env.end());
        }
        argv.insert(argv.end(), {KEEL_BIN, "luad", "--socket", socket_, "--ready-fd", "3"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_ = spawn_ready(argv);
    }
    ~Luad() {
        if (proc_ && proc_->running()) {
            proc_->signal(SIGTERM);
            proc_->wait_exit(slow(10s));
        }
    }
    const std::string& socket() const { return socket_; }
    std::string file(const std::string& name) const { return dir_.file(name); }
    Process& proc() { return *proc_; }
    // The server's open fds ("3->socket:[123]"), by number.
    std::vector<std::string> fds() const {
        std::map<int, std::string> by_number;
        std::error_code ec;
        for (auto& e : std::filesystem::directory_iterator(
                 "/proc/" + std::to_string(proc_->pid()) + "/fd", ec))
            by_number[std::stoi(e.path().filename().string())] =
                std::filesystem::read_symlink(e.path(), ec).string();
        std::vector<std::string> out;
        for (const auto& [fd, target] : by_number)
            out.push_back(std::to_string(fd) + "->" + target);
        return out;
    }
    // The server's fds once it holds no connection: a client has its answer a
    // moment before the server closes its socket, so wait for that (at most 10 s;
    // then whatever is open, for the failure message).
    std::vector<std::string> idle_fds() const {
        std::vector<std::string> now;
        for (int i = 0; i < 500; ++i) {
            now = fds();
            if (std::count_if(now.begin(), now.end(), [](const std::string& f) {
                    return f.find("->socket:") != std::string::npos;
                }) == 1)
                return now;
            std::this_thread::sleep_for(20ms);
        }
        return now;
    }
    std::vector<std::string> client(const std::string& script,
                                    std::vector<std::string> args = {}) const {
        std::vector<std::string> v = {keel_run(), "--socket", socket_, script};
        v.insert(v.end(), args.begin(), args.end());
        return v;
    }

  private:
    TempDir dir_;
    std::string socket_;
    std::unique_ptr<Process> proc_;
};

TEST(LuaFork, StdioExitCodeEnvironmentCwdAndNothingElse) {
    Luad d;
    write_script(d.file("io.lua"), R"(
        local sys = require "keel.sys"
        local extra = {}
        for fd = 0, 1023 do
            local target = sys.readlink("/proc/self/fd/" .. fd)
            if target and fd > 2 then extra[#extra + 1] = fd .. "=" .. target end
        end
        print("extra fds:", #extra, table.concat(extra, " "))
        print("cwd:", sys.getcwd(), "FOO:", os.getenv("FOO"), "args:", ...)
        print("stdin:", io.read("a"))
        io.stderr:write("on stderr\n")
        print("sid:", sys.getsid() == sys.getpid())
        local mask = sys.umask(0) sys.umask(mask)
        print("umask:", string.format("%03o", mask))
        os.exit(7)
    )");
    auto r = run({"/bin/sh", "-c",
                  "cd " + d.file("") + " && umask 027 && FOO=bar exec " + keel_run() +
                      " --socket " + d.socket() + " io.lua a 'b c'"},
                 std::string("piped in"));
    EXPECT_EQ(r.st.code, 7) << r.describe();
    EXPECT_NE(r.out.find("extra fds:\t0\t\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cwd:\t" + d.file("").substr(0, d.file("").size() - 1) +
                         "\tFOO:\tbar\targs:\ta\tb c\n"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("stdin:\tpiped in\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sid:\ttrue\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("umask:\t027\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "on stderr\n");
}

TEST(LuaFork, ErrorsMissingScriptsAndExitStatus) {
    Luad d;
    write_script(d.file("err.lua"), "error('script failed')\n");
    auto r = run(d.client(d.file("err.lua")));
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("keel-run: " + d.file("err.lua") + ":1: script failed"), std::string::npos)
        << r.err;
    r = run(d.client(d.file("nope.lua")));
    EXPECT_EQ(r.st.code, 100) << r.describe();
    EXPECT_NE(r.err.find("cannot open " + d.file("nope.lua")), std::string::npos) << r.err;
    write_script(d.file("ok.lua"), "print('fine')\n");
    r = run(d.client(d.file("ok.lua")));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_EQ(r.out, "fine\n");
    // Killed by a signal: the client dies of the same one.
    write_script(d.file("kill.lua"), "local s = require 'keel.sys' s.kill(s.getpid(), 'KILL')\n");
    r = run(d.client(d.file("kill.lua")));
    EXPECT_EQ(r.st.signal, SIGKILL) << r.describe();
    // No server: a clear message and 111.
    r = run({keel_run(), "--socket", d.file("absent.sock"), d.file("ok.lua")});
    EXPECT_EQ(r.st.code, 111) << r.describe();
    EXPECT_NE(r.err.find("cannot connect"), std::string::npos);
    r = run({keel_run()});
    EXPECT_EQ(r.st.code, 100);
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, SignalsAreForwardedToTheScript) {
    Luad d;
    write_script(d.file("sleep.lua"),
                 "print('ready') io.stdout:flush() require('keel').sleep(30)\n");
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        Process p(Process::Spec{d.client(d.file("sleep.lua"))});
        ASSERT_TRUE(p.wait_output("ready\n", slow(10s))) << p.err();
        p.signal(sig);
        auto st = p.wait_exit(slow(10s));
        ASSERT_TRUE(st);
        EXPECT_EQ(st->signal, sig) << st->describe();
    }
    write_script(d.file("trap.lua"), R"(
        local keel = require "keel"
        keel.loop.signal("TERM", function() print("caught TERM") os.exit(3) end)
        print("ready") io.stdout:flush()
        keel.sleep(30)
    )");
    Process p(Process::Spec{d.client(d.file("trap.lua"))});
    ASSERT_TRUE(p.wait_output("ready\n", slow(10s))) << p.err();
    p.signal(SIGTERM);
    auto st = p.wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->code, 3) << st->describe();
    EXPECT_NE(p.out().find("caught TERM"), std::string::npos);
}

TEST(LuaFork, TheChildIsTheClientsUser) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root to run a client as another user");
    if (!std::filesystem::exists("/usr/bin/setpriv"))
        KEEL_SKIP("setpriv", "setpriv (util-linux) missing");
    Luad d;
    ::chmod(d.file("").c_str(), 0777);
    write_script(d.file("who.lua"), R"(
        local sys = require "keel.sys"
        local g = sys.getgroups()
        table.sort(g)
        print(sys.getuid(), sys.geteuid(), sys.getgid(), sys.getegid(), table.concat(g, ","))
        assert(sys.writefile(arg[1], "mine"))
        local ok, err = sys.writefile("/root/keel-lua-should-not-exist", "x")
        print(ok, err)
    )");
    auto argv = d.client(d.file("who.lua"), {d.file("made-by-nobody")});
    argv.insert(argv.begin(),
                {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--groups=100,65534"});
    auto r = run(argv);
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_NE(r.out.find("65534\t65534\t65534\t65534\t100,65534\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nil\t/root/keel-lua-should-not-exist: Permission denied"),
              std::string::npos)
        << r.out;
    struct stat st {};
    ASSERT_EQ(::stat(d.file("made-by-nobody").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    EXPECT_EQ(st.st_gid, 65534u);
    // And root stays root.
    r = run(d.client(d.file("who.lua"), {d.file("made-by-root")}));
    EXPECT_NE(r.out.find("0\t0\t0\t0\t"), std::string::npos) << r.describe();
}

TEST(LuaFork, EveryChildGetsFreshSeeds) {
    Luad d;
    write_script(d.file("seed.lua"), R"(
        local t = {}
        for i = 1, 64 do t["key" .. i] = i end
        local order = {}
        for k in pairs(t) do order[#order + 1] = k end
        print(table.concat(order, ","), math.random(1 << 40))
    )");
    std::set<std::string> orders, randoms;
    for (int i = 0; i < 4; ++i) {
        auto r = run(d.client(d.file("seed.lua")));
        ASSERT_TRUE(r.st.exited_ok()) << r.describe();
        auto tab = r.out.find('\t');
        orders.insert(r.out.substr(0, tab));
        randoms.insert(r.out.substr(tab));
    }
    // Same seeds would give the same table order and the same random numbers every time.
    EXPECT_GT(orders.size(), 1u) << "string hash seed shared between children";
    EXPECT_EQ(randoms.size(), 4u) << "math.random seed shared between children";
}

TEST(LuaFork, ServerEnvironmentIsIgnoredAndPreloadsWork) {
    TempDir mods;
    ::chmod(mods.path().c_str(), 0755);
    write_script(mods.file("greeting.lua"), "return {text = 'preloaded ' .. (...)}\n");
    Luad d({"--lua-path", mods.path() + "/?.lua", "--preload", "greeting"},
           {"LUA_INIT=print('INJECTED')", "LUA_PATH=/nonexistent/?.lua"});
    std::filesystem::remove(mods.file("greeting.lua"));  // only the compiled copy is left
    write_script(d.file("use.lua"), "print(require('greeting').text)\n");
    auto r = run(d.client(d.file("use.lua")));
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    EXPECT_EQ(r.out, "preloaded greeting\n");
    // A module that does not exist stops the server at start with a clear error.
    auto bad = run({KEEL_BIN, "luad", "--socket", d.file("x.sock"), "--preload", "no.such.module"});
    EXPECT_EQ(bad.st.code, 100);
    EXPECT_NE(bad.err.find("cannot preload module 'no.such.module'"), std::string::npos) << bad.err;
}

TEST(LuaFork, CpuLimitStopsARunawayScript) {
    Luad d({"--cpu", "1"});
    write_script(d.file("spin.lua"), "while true do end\n");
    auto r = run(d.client(d.file("spin.lua")), std::nullopt, slow(30s));
    EXPECT_TRUE(r.st.signal == SIGXCPU || r.st.signal == SIGKILL) << r.describe();
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, AddressSpaceLimitStopsAMemoryHog) {
    if (kSanitized)
        KEEL_SKIP("rlimit-as-under-asan",
                  "ASan maps terabytes of shadow memory: no RLIMIT_AS can apply to its processes");
    Luad m({"--address-space", "512M"});
    write_script(m.file("hog.lua"),
                 "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end\n");
    auto r = run(m.client(m.file("hog.lua")), std::nullopt, slow(60s));
    EXPECT_EQ(r.st.code, 1) << r.describe();
    EXPECT_NE(r.err.find("not enough memory"), std::string::npos) << r.err;
    EXPECT_TRUE(m.proc().running());
}

TEST(LuaFork, ForkBombIsContainedForUsers) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root to run a client as another user");
    Luad d({"--processes", "8"});
    write_script(d.file("bomb.lua"), R"(
        local sys = require "keel.sys"
        local procs, err = {}
        for i = 1, 100 do
            local p, e = sys.spawn({"/bin/sleep", "5"})
            if not p then err = e break end
            procs[#procs + 1] = p
        end
        print(#procs, err)
        for _, p in ipairs(procs) do p:kill("KILL") p:wait() end
    )");
    auto argv = d.client(d.file("bomb.lua"));
    argv.insert(argv.begin(),
                {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    auto r = run(argv);
    EXPECT_TRUE(r.st.exited_ok()) << r.describe();
    int started = std::atoi(r.out.c_str());
    EXPECT_LT(started, 8) << r.out;
    EXPECT_NE(r.out.find("Resource temporarily unavailable"), std::string::npos) << r.out;
}

// A raw client speaking the protocol (or not) with chosen fds.
struct RawClient {
    Fd fd;
    explicit RawClient(const std::string& path) {
        fd = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    }
    bool send(std::string_view data, std::vector<int> fds = {}) {
        iovec iov{const_cast<char*>(data.data()), data.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
        if (!fds.empty()) {
            msg.msg_control = control.data();
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            cmsghdr* h = CMSG_FIRSTHDR(&msg);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
        }
        return ::sendmsg(fd.get(), &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
    }
    // Everything until the server closes.
    std::string reply(Ms timeout = slow(10s)) {
        std::string out;
        auto deadline = Clock::now() + timeout;
        for (;;) {
            pollfd p{fd.get(), POLLIN, 0};
            int left =
                static_cast<int>(std::chrono::duration_cast<Ms>(deadline - Clock::now()).count());
            if (left <= 0 || ::poll(&p, 1, left) != 1) return out + "<timeout>";
            char buf[512];
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n <= 0) return out;
            out.append(buf, static_cast<size_t>(n));
        }
    }
};

TEST(LuaFork, HostileClientsNeitherKillTheServerNorLeakFds) {
    Luad d({"--request-timeout", "300ms", "--max-request", "64K"});
    write_script(d.file("ok.lua"), "print('still serving')\n");
    auto ok = run(d.client(d.file("ok.lua")));
    ASSERT_EQ(ok.out, "still serving\n") << ok.describe();
    auto fds_before = d.idle_fds();
    luad::RunRequest req;
    req.cwd = "/";
    req.script = d.file("ok.lua");
    std::string good = luad::encode_request(req);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    Fd null_owned(null);
    auto expect_refused = [&](RawClient& c, const std::string& what) {
        std::string reply = c.reply();
        EXPECT_EQ(reply.rfind("error 100 ", 0), 0u) << what << ": " << reply;
    };
    {  // garbage
        RawClient c(d.socket());
        c.send("GET / HTTP/1.0\r\n\r\n", {null, null, null});
        expect_refused(c, "garbage");
    }
    {  // an absurd length
        RawClient c(d.socket());
        c.send(std::string("KEELRUN1\xff\xff\xff\x7f", 12), {null, null, null});
        expect_refused(c, "huge length");
    }
    {  // a valid request without fds
        RawClient c(d.socket());
        c.send(good);
        expect_refused(c, "no fds");
    }
    {  // too many fds: four (or far more) instead of three
        RawClient c(d.socket());
        c.send(good, {null, null, null, null});
        expect_refused(c, "four fds");
        RawClient c2(d.socket());
        c2.send(good, std::vector<int>(200, null));
        expect_refused(c2, "200 fds");
    }
    {  // fds twice
        RawClient c(d.socket());
        c.send(good.substr(0, 5), {null, null, null});
        c.send(good.substr(5), {null, null, null});
        expect_refused(c, "fds twice");
    }
    {  // half a request, then silence: the timeout answers
        RawClient c(d.socket());
        c.send(good.substr(0, 20), {null, null, null});
        std::string reply = c.reply();
        EXPECT_NE(reply.find("incomplete request"), std::string::npos) << reply;
    }
    {  // half a request, then gone
        RawClient c(d.socket());
        c.send(good.substr(0, 20), {null, null, null});
    }
    for (int i = 0; i < 20; ++i) {  // connect and leave at once
        RawClient c(d.socket());
    }
    // A request whose script does not exist, sent raw.
    {
        luad::RunRequest missing = req;
        missing.script = d.file("missing.lua");
        RawClient c(d.socket());
        c.send(luad::encode_request(missing), {null, null, null});
        EXPECT_EQ(c.reply(), "exit 100\n");
    }
    ok = run(d.client(d.file("ok.lua")));
    EXPECT_EQ(ok.out, "still serving\n") << ok.describe();
    ASSERT_TRUE(d.proc().running());
    // Everything the hostile clients sent was closed again: the same fds as before
    // (once the last script's child is reaped: its pidfd goes then).
    auto fds_after = d.idle_fds();
    for (int i = 0; i < 250 && fds_after != fds_before; ++i) {
        std::this_thread::sleep_for(20ms);
        fds_after = d.idle_fds();
    }
    EXPECT_EQ(fds_after, fds_before);
}

TEST(LuaFork, AClientThatLeavesHangsUpItsScript) {
    Luad d;
    write_script(d.file("wait.lua"), R"(
        local keel = require "keel"
        keel.loop.signal("HUP", function() print("hung up") io.stdout:flush() os.exit(0) end)
        print("started") io.stdout:flush()
        keel.sleep(30)
    )");
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    Fd out_r(out[0]), out_w(out[1]);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    Fd null_owned(null);
    luad::RunRequest req;
    req.cwd = "/";
    req.script = d.file("wait.lua");
    {
        RawClient c(d.socket());
        ASSERT_TRUE(c.send(luad::encode_request(req), {null, out_w.get(), null}));
        out_w.reset();
        char buf[64];
        pollfd p{out_r.get(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, static_cast<int>(slow(10s).count())), 1);
        ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        ASSERT_GT(n, 0);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "started\n");
    }  // the client goes away
    std::string rest;
    for (;;) {
        pollfd p{out_r.get(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, static_cast<int>(slow(10s).count())), 1) << "script still running";
        char buf[64];
        ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        if (n <= 0) break;
        rest.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(rest, "hung up\n");
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, TwoHundredConcurrentClientsAllComplete) {
    Luad d({"--max-children", "16"});
    write_script(d.file("n.lua"), "require('keel').sleep(0.01) print('n=' .. arg[1])\n");
    const int n = scaled(200, 2);
    std::vector<std::unique_ptr<Process>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(std::make_unique<Process>(
            Process::Spec{d.client(d.file("n.lua"), {std::to_string(i)})}));
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        auto st = clients[static_cast<size_t>(i)]->wait_exit(slow(60s));
        if (st && st->exited_ok() &&
            clients[static_cast<size_t>(i)]->out() == "n=" + std::to_string(i) + "\n")
            ++ok;
        else
            ADD_FAILURE() << i << ": " << (st ? st->describe() : "timeout")
                          << clients[static_cast<size_t>(i)]->err();
    }
    EXPECT_EQ(ok, n);
    EXPECT_TRUE(d.proc().running());
}

TEST(LuaFork, ShutdownStopsRunningScripts) {
    auto d = std::make_unique<Luad>();
    write_script(d->file("sleep.lua"),
                 "print('ready') io.stdout:flush() require('keel').sleep(30)\n");
    Process client(Process::Spec{d->client(d->file("sleep.lua"))});
    ASSERT_TRUE(client.wait_output("ready\n", slow(10s)));
    d->proc().signal(SIGTERM);
    auto st = client.wait_exit(slow(10s));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->signal, SIGTERM) << st->describe();
    auto server = d->proc().wait_exit(slow(10s));
    ASSERT_TRUE(server);
    EXPECT_TRUE(server->exited_ok()) << server->describe();
    EXPECT_FALSE(std::filesystem::exists(d->socket()));
}

}  // namespace
}  // namespace keel::it
