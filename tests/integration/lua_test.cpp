// keel lua and keel.so under stock lua5.4, as real processes (the keel luad fork
// server: luad_test.cpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "integration/harness.h"
#include "integration/script_run.h"

namespace keel::it {
namespace {

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
    if (!std::filesystem::exists("/dev/loop-control")) KEEL_SKIP("loop-devices", "no loop device support");
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

}  // namespace
}  // namespace keel::it
