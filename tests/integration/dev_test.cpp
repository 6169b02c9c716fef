// keel dev against the real kernel, as root: uevents triggered through sysfs, loop
// devices made and removed, veth pairs in a network namespace of our own. What
// keel dev publishes is observed by the official NATS client (npm `nats`).
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness.h"
#include "integration/dev_process.h"
#include "integration/nats_js.h"
#include "unit/dev/test_util.h"

namespace keel::it {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string source_dir() {
    return source_file("tests/integration");
}

// A shell command's output and status (the dev unit tests' helper).
using dev::testing::run;

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_sysfs(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + path);
}

// What keeps the dev integration tests from running here, or nothing.
std::optional<Missing> missing_facility() {
    if (::geteuid() != 0)
        return Missing{"root", "needs root (netlink uevents, sysfs triggers, loop devices)"};
    if (::access("/sys/class/mem/null/uevent", W_OK) != 0)
        return Missing{"writable-sys", "/sys is not writable"};
    if (auto why = nats_client_missing()) return *why;
    return std::nullopt;
}

#define REQUIRE_FACILITIES()                                              \
    do {                                                                  \
        static const std::optional<Missing> missing = missing_facility(); \
        KEEL_SKIP_IF_MISSING(missing);                                    \
    } while (0)

Json request(const BusProcess& bus, const std::string& subject, const std::string& data) {
    return Json::parse(nats_request(bus.url(), subject, data));
}

bool devpath_is(const Json& m, const std::string& subject, const std::string& devpath) {
    return m["subject"] == subject && m["data"].is_object() &&
           m["data"].value("DEVPATH", "") == devpath;
}

TEST(Dev, KernelEventsReachANatsClient) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.mem.*"});
    DevProcess dev(bus, {"--no-coldplug", "--no-modules"});

    write_sysfs("/sys/class/mem/null/uevent", "change");
    auto m = w.wait_one([](const Json& m) {
        return devpath_is(m, "hardware.mem.change", "/devices/virtual/mem/null");
    });
    ASSERT_TRUE(m) << dev.err();
    const Json& d = (*m)["data"];
    EXPECT_EQ(d["ACTION"], "change");
    EXPECT_EQ(d["SUBSYSTEM"], "mem");
    EXPECT_EQ(d["DEVNAME"], "null");
    EXPECT_EQ(d["MAJOR"], "1");
    EXPECT_EQ(d["MINOR"], "3");
    EXPECT_GT(std::stoull(d["SEQNUM"].get<std::string>()), 0u);
    EXPECT_FALSE(d.contains("KEEL_SOURCE"));  // a kernel event, not a synthesised one

    // Synthetic-event arguments pass through (udevadm trigger --uuid --env style).
    write_sysfs("/sys/class/mem/null/uevent",
                "add 7a3c2f10-5b7e-4c1d-9e2a-4f6b8d0c1e3a KEELTEST=yes");
    auto a = w.wait_one([](const Json& m) {
        return devpath_is(m, "hardware.mem.add", "/devices/virtual/mem/null") &&
               m["data"].contains("SYNTH_ARG_KEELTEST");
    });
    ASSERT_TRUE(a);
    EXPECT_EQ((*a)["data"]["SYNTH_UUID"], "7a3c2f10-5b7e-4c1d-9e2a-4f6b8d0c1e3a");
    EXPECT_EQ((*a)["data"]["SYNTH_ARG_KEELTEST"], "yes");

    // Every action the kernel sends has its subject.
    for (const char* action : {"online", "offline", "bind", "unbind", "move"}) {
        write_sysfs("/sys/class/mem/null/uevent", action);
        auto e = w.wait_one([&](const Json& m) {
            return devpath_is(m, std::string("hardware.mem.") + action,
                              "/devices/virtual/mem/null");
        });
        ASSERT_TRUE(e) << action << "\n" << dev.err();
        EXPECT_EQ((*e)["data"]["ACTION"], action);
    }
}

// A process forging a uevent on the kernel's multicast group is ignored and counted.
TEST(Dev, ForgedUeventsAreDropped) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.>"});
    DevProcess dev(bus, {"--no-coldplug", "--no-modules"});
    const char fake[] =
        "add@/devices/virtual/mem/keel-forged\0ACTION=add\0DEVPATH=/devices/virtual/mem/"
        "keel-forged\0"
        "SUBSYSTEM=mem\0SEQNUM=1\0";
    Fd s(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
    ASSERT_TRUE(s.valid());
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    to.nl_groups = 1;  // the kernel's group
    ASSERT_EQ(
        ::sendto(s.get(), fake, sizeof fake - 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(sizeof fake - 1))
        << std::strerror(errno);
    // A real event afterwards arrives; the forged one never did.
    write_sysfs("/sys/class/mem/null/uevent", "change");
    ASSERT_TRUE(w.wait_one([](const Json& m) {
        return devpath_is(m, "hardware.mem.change", "/devices/virtual/mem/null");
    }));
    for (const auto& m : w.messages())
        EXPECT_NE(m["data"].value("DEVPATH", ""), "/devices/virtual/mem/keel-forged");
    Json st = request(bus, "dev.status", "");
    EXPECT_GE(st["events"]["rejected"].get<int>(), 1) << st.dump();
    EXPECT_NE(dev.err().find("sent by a process, not the kernel"), std::string::npos) << dev.err();
    EXPECT_TRUE(dev.proc().running());
}

// Every device directory under /sys/devices the kernel announces (a uevent file
// and a subsystem link), found by walking the tree independently of keel dev.
void walk_devices(const std::string& dir, std::set<std::string>* out) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;  // gone meanwhile
    bool uevent = false, subsystem = false;
    std::vector<std::string> children;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (e->d_type == DT_DIR && name != "." && name != "..") children.push_back(name);
        if (name == "uevent" && e->d_type == DT_REG) uevent = true;
        if (name == "subsystem" && e->d_type == DT_LNK) subsystem = true;
    }
    ::closedir(d);
    if (uevent && subsystem) out->insert(dir.substr(4));  // without "/sys"
    for (const auto& c : children)
        walk_devices(dir + "/" + c, out);
}

std::set<std::string> sysfs_devices() {
    std::set<std::string> out;
    walk_devices("/sys/devices", &out);
    return out;
}

TEST(Dev, ColdplugAnnouncesEveryDeviceInSys) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.>"});
    auto before = sysfs_devices();
    DevProcess dev(bus, {"--no-modules"});
    ASSERT_TRUE(dev.proc().wait_output("coldplug: ", slow(10s), true));
    auto after = sysfs_devices();
    std::string log = dev.err();
    size_t at = log.find("coldplug: ") + 10;
    const size_t n = std::stoul(log.substr(at));
    auto msgs = w.wait(
        [](const Json& m) {
            return m["data"].is_object() && m["data"].value("KEEL_SOURCE", "") == "coldplug";
        },
        n, slow(15s));
    ASSERT_EQ(msgs.size(), n);
    std::set<std::string> announced;
    for (const auto& m : msgs) {
        const Json& d = m["data"];
        EXPECT_EQ(d["ACTION"], "add");
        EXPECT_EQ(m["subject"], "hardware." + d["SUBSYSTEM"].get<std::string>() + ".add");
        announced.insert(d["DEVPATH"].get<std::string>());
    }
    // Devices that existed throughout were all announced; nothing was invented.
    for (const auto& p : before)
        if (after.count(p)) {
            EXPECT_TRUE(announced.count(p)) << "not announced: " << p;
        }
    // Tests running beside this one make and remove loop devices (and their bdi
    // entries) within milliseconds; anything else announced must have been seen.
    auto transient = [](const std::string& p) {
        return p.starts_with("/devices/virtual/block/loop") ||
               p.starts_with("/devices/virtual/bdi/7:");
    };
    for (const auto& p : announced) {
        if (transient(p)) continue;
        EXPECT_TRUE(before.count(p) || after.count(p)) << "not in /sys: " << p;
    }
    EXPECT_GT(announced.size(), 10u);

    // Block devices carry what blkid finds on them.
    int checked = 0;
    for (const auto& m : msgs) {
        const Json& d = m["data"];
        // Loop devices may be attached by other tests meanwhile: the loop device
        // tests check those.
        if (d["SUBSYSTEM"] != "block" || !d.contains("DEVNAME") ||
            d["DEVNAME"].get<std::string>().starts_with("loop"))
            continue;
        int st = 0;
        std::string out =
            run("blkid -p -o export /dev/" + d["DEVNAME"].get<std::string>() + " 2>/dev/null", &st);
        if (st != 0 || out.find("TYPE=") == std::string::npos) continue;
        std::istringstream in(out);
        for (std::string line; std::getline(in, line);) {
            auto eq = line.find('=');
            std::string k = line.substr(0, eq), v = line.substr(eq + 1);
            if (k == "TYPE") {
                EXPECT_EQ(d.value("ID_FS_TYPE", ""), v) << d.dump();
            } else if (k == "UUID") {
                EXPECT_EQ(d.value("ID_FS_UUID", ""), v) << d.dump();
            }
        }
        ++checked;
    }
    std::cout << "[ info     ] " << n << " devices announced; " << checked
              << " block devices checked against blkid\n";
}

// `keel dev --once`: coldplug delivered, then exit (the mdev -s of keel); without a
// bus it still finishes, and says what was not delivered.
TEST(Dev, OnceIsColdplugThenExit) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.mem.add"});
    auto r = run_cli({"dev", "--once", "--no-modules", "--server", bus.unix_url()});
    EXPECT_EQ(r.code, 0) << r.describe();
    EXPECT_TRUE(w.wait_one([](const Json& m) {
        return devpath_is(m, "hardware.mem.add", "/devices/virtual/mem/null");
    }));
    auto nobus =
        run_cli({"dev", "--once", "--no-modules", "--server", "unix:/nonexistent/bus.sock"});
    EXPECT_EQ(nobus.code, 0) << nobus.describe();
    EXPECT_NE(nobus.err.find("no bus: "), std::string::npos) << nobus.err;
}

// A loop device made and removed through /dev/loop-control, with a real ext4
// image attached in between: enrichment, rules (mode, owner, group, links, run,
// publish), default links, and link removal.
class LoopDevice {
  public:
    LoopDevice() {
        ctl_ = Fd(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
        if (!ctl_) throw std::runtime_error("cannot open /dev/loop-control");
        for (int n = 200 + ::getpid() % 300;; ++n) {
            if (::ioctl(ctl_.get(), LOOP_CTL_ADD, n) >= 0) {
                number_ = n;
                break;
            }
            if (errno != EEXIST || n > 1000) throw std::runtime_error("LOOP_CTL_ADD failed");
        }
    }
    ~LoopDevice() {
        detach();
        remove();
    }
    std::string name() const { return "loop" + std::to_string(number_); }
    void attach(const std::string& image) {
        int st = 0;
        std::string out = run("losetup /dev/" + name() + " '" + image + "' 2>&1", &st);
        if (st != 0) throw std::runtime_error("losetup: " + out);
        attached_ = true;
    }
    void detach() {
        if (attached_) run("losetup -d /dev/" + name() + " 2>&1");
        attached_ = false;
    }
    void remove() {
        if (number_ < 0) return;
        for (int i = 0;
             i < 50 && ::ioctl(ctl_.get(), LOOP_CTL_REMOVE, number_) < 0 && errno == EBUSY; ++i)
            ::usleep(20000);
        number_ = -1;
    }

  private:
    Fd ctl_;
    int number_ = -1;
    bool attached_ = false;
};

std::string link_target(const std::string& p) {
    std::error_code ec;
    auto t = fs::read_symlink(p, ec);
    return ec ? "" : t.string();
}

TEST(Dev, LoopDeviceRulesLinksAndEnrichment) {
    REQUIRE_FACILITIES();
    if (::access("/dev/loop-control", W_OK) != 0) KEEL_SKIP("loop-devices", "no /dev/loop-control");
    int st = 0;
    TempDir t;
    const std::string label = "KEEL" + std::to_string(::getpid() % 100000);
    const std::string uuid =
        "5d0f6b2c-3e4a-4b1d-8c7e-2a9f1e6d4b3" + std::to_string(::getpid() % 10);
    run("truncate -s 8M " + t.file("img") + " && mkfs.ext4 -q -F -L " + label + " -U " + uuid +
            " " + t.file("img") + " 2>&1",
        &st);
    if (st != 0) KEEL_SKIP("mkfs.ext4", "mkfs.ext4 unavailable (e2fsprogs)");
    // Links and rule effects go to a device directory of our own; the node keel
    // dev acts on is a real block node for the loop device, made here.
    const std::string devdir = t.file("dev");
    fs::create_directory(devdir);
    const gid_t disk = ::getgrnam("disk") ? ::getgrnam("disk")->gr_gid : 6;
    write_file_atomic(t.file("dev.json"), R"({
      "rules": [
        {"match": {"subsystem": "block", "kernel": "loop*", "env": {"ID_FS_LABEL": "KEEL*"}},
         "mode": "0640", "owner": "1", "group": "disk",
         "symlink": "keel/by-test/$env{ID_FS_LABEL}",
         "publish": "test.storage.%k",
         "run": ["/bin/sh", "-c", "echo \"$DEVNAME $ID_FS_LABEL\" >> )" +
                                              t.file("ran") + R"("]}
      ]})");
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.block.*", "test.storage.>"});
    DevProcess dev(
        bus, {"--no-coldplug", "--no-modules", "--config", t.file("dev.json"), "--dev", devdir});

    LoopDevice loop;
    const std::string name = loop.name();
    const std::string devpath = "/devices/virtual/block/" + name;
    ASSERT_TRUE(w.wait_one([&](const Json& m) {
        return devpath_is(m, "hardware.block.add", devpath);
    })) << dev.err();
    std::string majmin = read_text("/sys/class/block/" + name + "/dev");
    unsigned maj = 0, min = 0;
    ASSERT_EQ(std::sscanf(majmin.c_str(), "%u:%u", &maj, &min), 2);
    ASSERT_EQ(::mknod((devdir + "/" + name).c_str(), S_IFBLK | 0600, makedev(maj, min)), 0);

    loop.attach(t.file("img"));
    auto ch = w.wait_one([&](const Json& m) {
        return devpath_is(m, "hardware.block.change", devpath) &&
               m["data"].value("ID_FS_LABEL", "") == label;
    });
    ASSERT_TRUE(ch) << dev.err();
    const Json& d = (*ch)["data"];
    EXPECT_EQ(d["ID_FS_TYPE"], "ext4");
    EXPECT_EQ(d["ID_FS_UUID"], uuid);
    EXPECT_EQ(d["DEVNAME"], name);
    std::string links = d.value("DEVLINKS", "");
    EXPECT_NE(links.find(devdir + "/disk/by-label/" + label), std::string::npos) << links;
    EXPECT_NE(links.find(devdir + "/disk/by-uuid/" + uuid), std::string::npos) << links;
    EXPECT_NE(links.find(devdir + "/keel/by-test/" + label), std::string::npos) << links;
    EXPECT_EQ(link_target(devdir + "/disk/by-label/" + label), "../../" + name);
    EXPECT_EQ(link_target(devdir + "/disk/by-uuid/" + uuid), "../../" + name);
    EXPECT_EQ(link_target(devdir + "/keel/by-test/" + label), "../../" + name);
    struct stat sb;
    ASSERT_EQ(::stat((devdir + "/" + name).c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 07777, 0640u);
    EXPECT_EQ(sb.st_uid, 1u);
    EXPECT_EQ(sb.st_gid, disk);
    EXPECT_TRUE(w.wait_one([&](const Json& m) { return m["subject"] == "test.storage." + name; }));
    auto deadline = Clock::now() + slow(5s);
    while (read_text(t.file("ran")).find(name + " " + label) == std::string::npos &&
           Clock::now() < deadline)
        ::usleep(20000);
    EXPECT_NE(read_text(t.file("ran")).find(name + " " + label), std::string::npos);

    // dev.info by node and by DEVPATH: the same device, enriched.
    Json info = request(bus, "dev.info", devpath);
    EXPECT_EQ(info["ID_FS_LABEL"], label);
    EXPECT_EQ(info["DEVNAME"], name);

    // Detached: the file system is gone, and so are its links.
    loop.detach();
    ASSERT_TRUE(w.wait_one([&](const Json& m) {
        return devpath_is(m, "hardware.block.change", devpath) &&
               !m["data"].contains("ID_FS_LABEL");
    })) << dev.err();
    EXPECT_EQ(link_target(devdir + "/disk/by-label/" + label), "");
    EXPECT_EQ(link_target(devdir + "/keel/by-test/" + label), "");
    EXPECT_FALSE(fs::exists(devdir + "/keel"));

    loop.remove();
    auto rm =
        w.wait_one([&](const Json& m) { return devpath_is(m, "hardware.block.remove", devpath); });
    ASSERT_TRUE(rm) << dev.err();
    EXPECT_EQ((*rm)["data"]["DEVNAME"], name);
}

// The kernel's queue overflows while keel dev is stopped: a loop device appears
// and another disappears meanwhile, their events lost. keel dev notices (ENOBUFS),
// rescans /sys and announces both.
TEST(Dev, OverflowRescanMissesNoDevice) {
    REQUIRE_FACILITIES();
    if (::access("/dev/loop-control", W_OK) != 0) KEEL_SKIP("loop-devices", "no /dev/loop-control");
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.block.*"});
    auto gone = std::make_unique<LoopDevice>();
    const std::string gone_path = "/devices/virtual/block/" + gone->name();
    DevProcess dev(bus, {"--no-modules", "--receive-buffer", "4KiB"});
    ASSERT_TRUE(dev.proc().wait_output("coldplug: ", slow(10s), true));
    ASSERT_TRUE(
        w.wait_one([&](const Json& m) { return devpath_is(m, "hardware.block.add", gone_path); }));

    ASSERT_TRUE(dev.proc().signal(SIGSTOP));
    for (int i = 0; i < 300; ++i)
        write_sysfs("/sys/class/mem/null/uevent", "change");
    LoopDevice appeared;
    const std::string appeared_path = "/devices/virtual/block/" + appeared.name();
    gone.reset();  // LOOP_CTL_REMOVE
    ASSERT_TRUE(dev.proc().signal(SIGCONT));

    ASSERT_TRUE(dev.proc().wait_output("the kernel dropped uevents", slow(10s), true)) << dev.err();
    auto add = w.wait_one(
        [&](const Json& m) { return devpath_is(m, "hardware.block.add", appeared_path); });
    auto rm = w.wait_one(
        [&](const Json& m) { return devpath_is(m, "hardware.block.remove", gone_path); });
    ASSERT_TRUE(add) << dev.err();
    ASSERT_TRUE(rm) << dev.err();
    // Their own events were lost behind 300 others in an 8 KiB queue: the rescan found them.
    EXPECT_EQ((*add)["data"].value("KEEL_SOURCE", ""), "resync");
    EXPECT_EQ((*rm)["data"].value("KEEL_SOURCE", ""), "resync");
    Json st = request(bus, "dev.status", "");
    EXPECT_GE(st["events"]["overflows"].get<int>(), 1) << st.dump();
    EXPECT_GE(st["events"]["resync"].get<int>(), 2) << st.dump();
    EXPECT_NE(dev.err().find("resync: "), std::string::npos);
}

// keel dev's libblkid properties against udev's own blkid builtin
// (`udevadm test-builtin blkid`, which runs without udevd) for real file systems
// on a loop device.
TEST(Dev, BlockPropertiesAgreeWithUdevsBlkidBuiltin) {
    REQUIRE_FACILITIES();
    if (run("command -v udevadm").empty()) KEEL_SKIP("udevadm", "udevadm not installed (udev)");
    if (::access("/dev/loop-control", W_OK) != 0) KEEL_SKIP("loop-devices", "no /dev/loop-control");
    TempDir t;
    write_file_atomic(t.file("dev.json"), R"({"default_links": false})");
    BusProcess bus;
    // The host's /dev to open the node; no links, no rules: nothing is written there.
    DevProcess dev(
        bus, {"--no-coldplug", "--no-modules", "--dev", "/dev", "--config", t.file("dev.json")});
    struct Fs {
        const char* mkfs;
    } filesystems[] = {{"mkfs.vfat -n KEELVFAT"},
                       {"mkfs.ext4 -q -F -L KEELEXT4"},
                       {"mkfs.ext2 -q -F -L KEELEXT2"}};
    int compared = 0;
    for (const auto& fs_case : filesystems) {
        int st = 0;
        run("truncate -s 8M " + t.file("img") + " && " + fs_case.mkfs + " " + t.file("img") +
                " >/dev/null 2>&1",
            &st);
        if (st != 0) continue;  // that mkfs is not installed
        LoopDevice loop;
        loop.attach(t.file("img"));
        std::map<std::string, std::string> udev;
        std::istringstream in(
            run("udevadm test-builtin blkid /sys/class/block/" + loop.name() + " 2>/dev/null"));
        for (std::string line; std::getline(in, line);)
            if (auto eq = line.find('='); eq != std::string::npos && line.rfind("ID_", 0) == 0)
                udev[line.substr(0, eq)] = line.substr(eq + 1);
        ASSERT_FALSE(udev.empty()) << fs_case.mkfs;
        Json info = request(bus, "dev.info", "/devices/virtual/block/" + loop.name());
        for (const char* key :
             {"ID_FS_TYPE", "ID_FS_USAGE", "ID_FS_VERSION", "ID_FS_LABEL", "ID_FS_UUID",
              "ID_FS_UUID_SUB", "ID_PART_TABLE_TYPE", "ID_PART_TABLE_UUID"}) {
            std::string mine = info.value(key, "<absent>");
            std::string theirs = udev.count(key) ? udev[key] : "<absent>";
            EXPECT_EQ(mine, theirs) << key << " for " << fs_case.mkfs;
        }
        ++compared;
    }
    EXPECT_GE(compared, 2);
}

TEST(Dev, VethPairInANetworkNamespace) {
    REQUIRE_FACILITIES();
    if (run("command -v ip").empty()) KEEL_SKIP("ip", "ip is not installed (iproute2)");
    const std::string ns = "keel-dev-" + std::to_string(::getpid());
    int st = 0;
    run("ip netns add " + ns + " 2>&1", &st);
    if (st != 0) KEEL_SKIP("namespaces", "cannot create a network namespace");
    struct Cleanup {
        std::string ns;
        ~Cleanup() { run("ip netns del " + ns + " 2>/dev/null"); }
    } cleanup{ns};
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.net.*"});
    {
        DevProcess dev(bus, {"--no-coldplug", "--no-modules"},
                       {"/usr/bin/env", "ip", "netns", "exec", ns});
        const std::string a = "vk" + std::to_string(::getpid() % 100000) + "a",
                          b = a.substr(0, a.size() - 1) + "b";
        run("ip netns exec " + ns + " ip link add " + a + " type veth peer name " + b + " 2>&1",
            &st);
        ASSERT_EQ(st, 0);
        std::string mac = run("ip netns exec " + ns + " cat /sys/class/net/" + a + "/address");
        while (!mac.empty() && mac.back() == '\n')
            mac.pop_back();
        auto add = w.wait_one([&](const Json& m) {
            return m["subject"] == "hardware.net.add" && m["data"].value("INTERFACE", "") == a;
        });
        ASSERT_TRUE(add) << dev.err();
        EXPECT_EQ((*add)["data"]["DEVPATH"], "/devices/virtual/net/" + a);
        EXPECT_EQ((*add)["data"]["ID_NET_ADDRESS"], mac);
        EXPECT_FALSE((*add)["data"].value("IFINDEX", "").empty());
        EXPECT_TRUE(w.wait_one([&](const Json& m) {
            return m["subject"] == "hardware.net.add" && m["data"].value("INTERFACE", "") == b;
        }));
        run("ip netns exec " + ns + " ip link del " + a + " 2>&1", &st);
        ASSERT_EQ(st, 0);
        auto rm = w.wait_one([&](const Json& m) {
            return m["subject"] == "hardware.net.remove" && m["data"].value("INTERFACE", "") == a;
        });
        ASSERT_TRUE(rm) << dev.err();
        // The address was learnt at add; the remove event still carries it.
        EXPECT_EQ((*rm)["data"]["ID_NET_ADDRESS"], mac);
    }
}

TEST(Dev, ListAndInfoRequests) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    // The real /dev, to find nodes by number; no coldplug and no events with
    // labels, so nothing is written there.
    DevProcess dev(bus, {"--no-coldplug", "--no-modules", "--dev", "/dev"});
    Json list = request(bus, "dev.list", R"({"subsystem":"mem"})");
    ASSERT_TRUE(list.is_array());
    bool found = false;
    for (const auto& d : list) {
        EXPECT_EQ(d["SUBSYSTEM"], "mem");
        found = found || d.value("DEVPATH", "") == "/devices/virtual/mem/null";
    }
    EXPECT_TRUE(found) << list.dump();
    Json all = request(bus, "dev.list", "");
    EXPECT_GT(all.size(), list.size());

    Json info = request(bus, "dev.info", "/dev/null");
    EXPECT_EQ(info["DEVPATH"], "/devices/virtual/mem/null");
    EXPECT_EQ(info["MAJOR"], "1");
    Json none = request(bus, "dev.info", "/devices/virtual/mem/keel-none");
    EXPECT_TRUE(none.contains("error"));

    auto cli = run_cli({"dev", "list", "--subsystem", "mem", "--server", bus.url()});
    EXPECT_EQ(cli.code, 0) << cli.describe();
    EXPECT_NE(cli.out.find("P: /devices/virtual/mem/null\nE: DEVPATH=/devices/virtual/mem/null"),
              std::string::npos)
        << cli.out;
    cli = run_cli({"dev", "info", "/sys/devices/virtual/mem/zero", "--server", bus.url()});
    EXPECT_EQ(cli.code, 0) << cli.describe();
    EXPECT_NE(cli.out.find("E: DEVNAME=zero\n"), std::string::npos) << cli.out;
    cli = run_cli({"dev", "info", "/devices/nothing/here", "--server", bus.url()});
    EXPECT_EQ(cli.code, 1) << cli.describe();
    EXPECT_NE(cli.err.find("/devices/nothing/here"), std::string::npos) << cli.err;
    cli = run_cli({"dev", "status", "--server", bus.url()});
    EXPECT_EQ(cli.code, 0) << cli.describe();
    EXPECT_NE(cli.out.find("\"events\""), std::string::npos);
}

// With the bus gone keel dev keeps handling events, buffers a bounded amount,
// counts what it drops, and publishes again once the bus is back.
TEST(Dev, KeepsWorkingWithTheBusDown) {
    REQUIRE_FACILITIES();
    BusProcess bus;
    DevProcess dev(bus, {"--no-coldplug", "--no-modules", "--bus-buffer", "2KiB"});
    bus.signal(SIGTERM);
    ASSERT_TRUE(bus.wait_exit(slow(10s)));
    ASSERT_TRUE(dev.proc().wait_output("bus unavailable", slow(10s), true)) << dev.err();
    for (int i = 0; i < 40; ++i)
        write_sysfs("/sys/class/mem/null/uevent", "change");
    bus.restart();
    ASSERT_TRUE(dev.proc().wait_output("bus reconnected", slow(15s), true)) << dev.err();
    Json st = request(bus, "dev.status", "");
    EXPECT_GE(st["events"]["kernel"].get<int>(), 40) << st.dump();
    EXPECT_GT(st["bus"]["dropped"].get<int>(), 0) << st.dump();
    EXPECT_TRUE(st["bus"]["connected"].get<bool>());
    JsonWatcher w(bus.url(), {"hardware.mem.*"});
    write_sysfs("/sys/class/mem/null/uevent", "change");
    EXPECT_TRUE(w.wait_one([](const Json& m) {
        return devpath_is(m, "hardware.mem.change", "/devices/virtual/mem/null");
    }));
    EXPECT_TRUE(dev.proc().running());
}

// keel dev's module matching in the daemon, against the Debian tree. This kernel
// may have no module support at all (the development VMs): then keel dev says so
// and only matches; dev.status shows what it resolved.
TEST(Dev, ModaliasesOfThisMachineResolveAgainstTheDebianTree) {
    REQUIRE_FACILITIES();
    std::string tree;
    for (const auto& e : fs::directory_iterator("/lib/modules"))
        if (fs::exists(e.path() / "modules.alias")) tree = e.path().string();
    if (tree.empty()) KEEL_SKIP("linux-image-amd64", "no Debian module tree (linux-image-amd64)");
    if (::access("/proc/modules", F_OK) == 0)
        KEEL_SKIP("modular-host-kernel", "this kernel loads modules: not loading " + tree +
                                             " into it (see module_loader_test)");
    if (run("grep -l 0x1af4 /sys/bus/pci/devices/*/vendor 2>/dev/null").empty())
        KEEL_SKIP("virtio-pci", "no virtio PCI device here");
    BusProcess bus;
    DevProcess dev(bus, {"--modules-dir", tree});
    ASSERT_TRUE(dev.proc().wait_output("matching only", slow(10s), true)) << dev.err();
    Json st;
    auto deadline = Clock::now() + slow(20s);
    do {
        st = request(bus, "dev.status", "");
        if (st["modules"]["pending"] == 0 && st["events"]["coldplug"].get<int>() > 0) break;
        ::usleep(100000);
    } while (Clock::now() < deadline);
    const auto& resolved = st["modules"]["resolved"];
    EXPECT_NE(std::find(resolved.begin(), resolved.end(), "virtio_pci"), resolved.end())
        << st.dump(1);
    EXPECT_NE(std::find(resolved.begin(), resolved.end(), "virtio_ring"), resolved.end())
        << st.dump(1);
    EXPECT_FALSE(st["modules"]["unmatched"]
                     .empty());  // this machine has devices with no module (acpi, cpu, ...)
    EXPECT_EQ(st["modules"]["failed"].size(), 0u);
}

TEST(Dev, MonitorAndTriggerVerbs) {
    REQUIRE_FACILITIES();
    // `keel dev monitor --kernel` straight from the socket, fed by `keel dev trigger`.
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    Fd ready_r(fds[0]), ready_w(fds[1]);
    // No --count: other tests may make mem events meanwhile; we wait for ours.
    Process::Spec spec{
        {KEEL_BIN, "dev", "monitor", "--kernel", "--subsystem", "mem", "--ready-fd", "3"},
        std::nullopt,
        false,
        ""};
    spec.fd3 = ready_w.get();
    Process mon(spec);
    ready_w.reset();
    char c = 0;
    pollfd p{ready_r.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, static_cast<int>(slow(10s).count())), 1);
    ASSERT_EQ(::read(ready_r.get(), &c, 1), 1);
    auto tr = run_cli({"dev", "trigger", "--verbose", "/sys/devices/virtual/mem/null"});
    EXPECT_EQ(tr.code, 0) << tr.describe();
    EXPECT_EQ(tr.out, "/devices/virtual/mem/null\n");
    EXPECT_TRUE(mon.wait_output("change  /devices/virtual/mem/null (mem)", slow(10s))) << mon.out();
    mon.signal(SIGTERM);
    auto ex = mon.wait_exit(slow(10s));
    ASSERT_TRUE(ex);
    EXPECT_EQ(ex->code, 0) << ex->describe();
    auto bad = run_cli({"dev", "trigger", "--action", "explode"});
    EXPECT_EQ(bad.code, 100);
    auto dry = run_cli({"dev", "trigger", "--dry-run", "--subsystem", "mem"});
    EXPECT_EQ(dry.code, 0);
    EXPECT_NE(dry.out.find("/devices/virtual/mem/null\n"), std::string::npos);
}

TEST(Dev, SighupReloadsRulesAndKeepsThemWhenTheFileIsBroken) {
    REQUIRE_FACILITIES();
    TempDir t;
    auto rules = [&](const std::string& subject) {
        write_file_atomic(
            t.file("dev.json"),
            R"({"rules": [{"match": {"subsystem": "mem", "kernel": "null"}, "publish": ")" +
                subject + R"("}]})");
    };
    rules("test.rules.one");
    BusProcess bus;
    JsonWatcher w(bus.url(), {"test.rules.>"});
    DevProcess dev(bus, {"--no-coldplug", "--no-modules", "--config", t.file("dev.json")});
    auto seen = [&](const std::string& subject, size_t n) {
        return w.wait([&](const Json& m) { return m["subject"] == subject; }, n, slow(10s))
                   .size() >= n;
    };
    write_sysfs("/sys/class/mem/null/uevent", "change");
    ASSERT_TRUE(seen("test.rules.one", 1)) << dev.err();

    rules("test.rules.two");
    size_t mark = dev.err().size();
    ASSERT_TRUE(dev.proc().signal(SIGHUP));
    ASSERT_TRUE(dev.proc().wait_output("reloaded: 1 rules", slow(10s), true, mark)) << dev.err();
    write_sysfs("/sys/class/mem/null/uevent", "change");
    ASSERT_TRUE(seen("test.rules.two", 1)) << dev.err();

    write_file_atomic(t.file("dev.json"), R"({"rules": [{"mode": 644}]})");
    mark = dev.err().size();
    ASSERT_TRUE(dev.proc().signal(SIGHUP));
    ASSERT_TRUE(
        dev.proc().wait_output("reload failed, keeping the old rules", slow(10s), true, mark))
        << dev.err();
    EXPECT_NE(dev.err().find("dev.rules[0].mode", mark), std::string::npos) << dev.err();
    // The old rules still apply (other tests' events may add more messages, never fewer).
    size_t before =
        w.wait([](const Json& m) { return m["subject"] == "test.rules.two"; }, 0, Ms(0)).size();
    write_sysfs("/sys/class/mem/null/uevent", "change");
    EXPECT_TRUE(seen("test.rules.two", before + 1)) << dev.err();
}

TEST(Dev, BadConfigurationIsAUsageError) {
    TempDir t;
    write_file_atomic(t.file("bad.json"),
                      R"({"rules": [{"match": {"subsystem": "block"}, "mode": "rw"}]})");
    auto r = run_cli({"dev", "--config", t.file("bad.json"), "--server", "127.0.0.1:1"});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("keel dev: fatal: cannot load the configuration: " + t.file("bad.json") +
                         ": dev.rules[0].mode"),
              std::string::npos)
        << r.err;
    r = run_cli({"dev", "--manifest", t.file("missing.json")});
    EXPECT_EQ(r.code, 100) << r.describe();
    EXPECT_NE(r.err.find("missing.json"), std::string::npos);
}

}  // namespace
}  // namespace keel::it

namespace keel::it {
namespace {

// Real module loading and firmware serving: the Debian kernel booted in QEMU with
// keel dev as its device manager (dev-qemu/init). The virtio PCI devices' MODALIAS must load
// virtio_pci with its dependencies in modprobe's order; the virtio devices that
// then appear must load virtio_net and virtio_rng; modules absent from the guest
// must be reported as failed.
TEST(Dev, LoadsModulesAndServesFirmwareInQemu) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root");
    TempDir work;
    Process q(Process::Spec{
        {source_dir() + "/dev-qemu/run", KEEL_BIN, work.path()}, std::nullopt, true, ""});
    auto ex = q.wait_exit(slow(240s));
    ASSERT_TRUE(ex) << "QEMU guest did not finish:\n" << q.out();
    const std::string out = q.out();
    if (ex->code == 2) KEEL_SKIP_IF_MISSING(parse_missing(out));
    ASSERT_NE(out.find("KEELTEST-DONE"), std::string::npos) << out;
    ASSERT_EQ(out.find("Out of memory"), std::string::npos) << "the guest ran out of memory:\n"
                                                            << out;
    // One line of the serial console, without its CR LF.
    auto line = [&](const std::string& tag) {
        auto at = out.find(tag);
        if (at == std::string::npos) return std::string();
        std::string l = out.substr(at, out.find('\n', at) - at);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        return l;
    };
    const std::string modules = line("KEELTEST-MODULES:") + " ";
    for (const char* m : {"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
                          "virtio_pci", "virtio_rng", "failover", "net_failover", "virtio_net"})
        EXPECT_NE(modules.find(std::string(" ") + m + " "), std::string::npos)
            << m << " not loaded: " << modules;
    EXPECT_NE(line("KEELTEST-NET:").find("eth0"), std::string::npos) << out;

    std::vector<Json> loaded, failed;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) {
        if (l.rfind("KEELTEST-EVENT: ", 0) != 0) continue;
        Json m = Json::parse(l.substr(16));
        if (m["subject"] == "hardware.module.loaded")
            loaded.push_back(Json::parse(m["data"].get<std::string>()));
        if (m["subject"] == "hardware.module.failed")
            failed.push_back(Json::parse(m["data"].get<std::string>()));
    }
    std::vector<std::string> order;
    for (const auto& m : loaded)
        if (m["alias"].get<std::string>().rfind("pci:v00001AF4", 0) == 0)
            order.push_back(m["module"]);
    EXPECT_EQ(order, (std::vector<std::string>{"virtio_ring", "virtio", "virtio_pci_modern_dev",
                                               "virtio_pci_legacy_dev", "virtio_pci"}))
        << out;
    bool net = false, rng = false;
    for (const auto& m : loaded) {
        net = net || (m["module"] == "virtio_net" && m["alias"] == "virtio:d00000001v00001AF4");
        rng = rng || (m["module"] == "virtio_rng" && m["alias"] == "virtio:d00000004v00001AF4");
    }
    EXPECT_TRUE(net) << out;
    EXPECT_TRUE(rng) << out;
    // Compressed in the guest (dev-qemu/run): decompressed by keel dev, since this
    // kernel refuses MODULE_INIT_COMPRESSED_FILE.
    for (const auto& m : loaded) {
        const std::string path = m["path"];
        if (m["module"] == "virtio_rng") {
            EXPECT_TRUE(path.ends_with(".ko.xz")) << m.dump();
        } else if (m["module"] == "failover") {
            EXPECT_TRUE(path.ends_with(".ko.zst")) << m.dump();
        }
    }
    ASSERT_FALSE(failed.empty())
        << out;  // e.g. the PIIX IDE and i8042 drivers are not in the guest
    for (const auto& f : failed)
        EXPECT_NE(f["error"].get<std::string>().find("No such file"), std::string::npos)
            << f.dump();

    // Firmware through the kernel's user-space fallback (test_firmware, the file only
    // in the manifest's dev.firmware.dir): served, and a missing one refused at once
    // rather than after the kernel's 10 s timeout.
    EXPECT_EQ(line("KEELTEST-FIRMWARE:"), "KEELTEST-FIRMWARE: KEEL-FIRMWARE-PAYLOAD") << out;
    EXPECT_NE(line("KEELTEST-FIRMWARE-MISSING:").find("refused after 0 s"), std::string::npos)
        << out;
    EXPECT_NE(out.find("firmware keel-test.bin served from /opt/firmware/keel-test.bin"),
              std::string::npos)
        << out;
}

}  // namespace
}  // namespace keel::it
