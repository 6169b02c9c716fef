// keel dev and the power button. Two ways in:
// - a real evdev device made through uinput, in a QEMU guest running the Debian
//   kernel (dev-qemu/buttons). Not on the host: every input device with a power
//   key is a power switch to systemd-logind (70-power-switch.rules) and acpid,
//   so a test pressing one would power the test machine off;
// - on the host, an evdev node's byte stream written into a FIFO that stands
//   where the node would be (--sysfs/--dev trees of the test's own), for what
//   the kernel cannot be made to do on demand: chosen timestamps, records cut
//   across reads, SYN_DROPPED, configuration changes, no init on the bus.
// The fake init is `keel reply` on init.poweroff / init.reboot, a real bus
// subscriber; on the host the official NATS client watches hardware.button.*.
// The whole chain in a booted system (QMP system_powerdown -> ACPI button ->
// keel dev -> keel init powers off) is ImageBoot's.
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dev/input_event.h"
#include "harness.h"
#include "integration/dev_process.h"
#include "integration/nats_js.h"

namespace keel::it {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

// ---- in QEMU, with uinput --------------------------------------------------

TEST(DevButtons, UinputKeysInQemuAskInitAndArePublished) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root");
    TempDir work;
    Process q(Process::Spec{{repo_file("tests/integration/dev-qemu/run"), KEEL_BIN, work.path(),
                             "buttons", UINPUT_TOOL},
                            std::nullopt,
                            true,
                            ""});
    auto ex = q.wait_exit(slow(240s));
    ASSERT_TRUE(ex) << "QEMU guest did not finish:\n" << q.out();
    const std::string out = q.out();
    if (ex->code == 2) KEEL_SKIP_IF_MISSING(parse_missing(out));
    ASSERT_NE(out.find("KEELTEST-DONE"), std::string::npos) << out;
    ASSERT_EQ(out.find("KEELTEST-TIMEOUT"), std::string::npos) << out;
    ASSERT_EQ(out.find("Out of memory"), std::string::npos) << out;
    auto lines = [&](const std::string& tag) {
        std::vector<std::string> v;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);) {
            if (!l.empty() && l.back() == '\r') l.pop_back();
            if (l.rfind(tag, 0) == 0) v.push_back(l.substr(tag.size()));
        }
        return v;
    };
    ASSERT_EQ(lines("KEELTEST-NODE: ").size(), 1u) << out;
    const std::string node = "/dev/" + lines("KEELTEST-NODE: ")[0];

    // What keel sub saw: each button's press and release, from this device.
    std::vector<Json> presses;
    for (const auto& l : lines("KEELTEST-EVENT: ")) {
        Json m = Json::parse(l);
        if (m["subject"].get<std::string>().rfind("hardware.button.", 0) != 0) continue;
        Json d = Json::parse(m["data"].get<std::string>());
        if (d["devname"] != node) continue;
        d["subject"] = m["subject"];
        presses.push_back(d);
    }
    ASSERT_EQ(presses.size(), 6u) << out;
    const char* subjects[] = {"hardware.button.power", "hardware.button.reboot",
                              "hardware.button.sleep"};
    const char* keys[] = {"KEY_POWER", "KEY_RESTART", "KEY_SLEEP"};
    const int codes[] = {KEY_POWER, KEY_RESTART, KEY_SLEEP};
    const char* actions[] = {"poweroff", "reboot", "publish"};
    for (size_t i = 0; i < 3; ++i) {
        const Json& down = presses[2 * i];
        const Json& up = presses[2 * i + 1];
        EXPECT_EQ(down["subject"], subjects[i]) << down.dump();
        EXPECT_EQ(down["key"], keys[i]) << down.dump();
        EXPECT_EQ(down["code"], codes[i]) << down.dump();
        EXPECT_EQ(down["value"], 1) << down.dump();
        EXPECT_EQ(down["state"], "pressed") << down.dump();
        EXPECT_EQ(down["action"], actions[i]) << down.dump();
        EXPECT_EQ(down["name"], "Keel Test Button") << down.dump();
        EXPECT_TRUE(down["devpath"].get<std::string>().starts_with("/devices/virtual/input/input"))
            << down.dump();
        EXPECT_GT(down["time"].get<double>(), 0) << down.dump();
        EXPECT_FALSE(down.contains("held")) << down.dump();
        EXPECT_EQ(up["subject"], subjects[i]) << up.dump();
        EXPECT_EQ(up["value"], 0) << up.dump();
        EXPECT_EQ(up["state"], "released") << up.dump();
        ASSERT_TRUE(up.contains("held")) << up.dump();
        EXPECT_GE(up["held"].get<double>(), 0) << up.dump();
        EXPECT_LT(up["held"].get<double>(), 5) << up.dump();
    }

    // The fake init got exactly one init.poweroff and one init.reboot, saying why.
    std::string init;
    for (const auto& l : lines("KEELTEST-INIT: "))
        init += l + "\n";
    EXPECT_EQ(count(init, "init.poweroff (reply: "), 1u) << init;
    EXPECT_EQ(count(init, "init.reboot (reply: "), 1u) << init;
    EXPECT_NE(init.find("\"reason\":\"power button\",\"device\":\"Keel Test Button\""),
              std::string::npos)
        << init;
    EXPECT_NE(init.find("\"reason\":\"reboot button\""), std::string::npos) << init;

    std::string devlog;
    for (const auto& l : lines("KEELTEST-DEVLOG: "))
        devlog += l + "\n";
    for (const std::string& s : {
             "watching " + node + " (Keel Test Button) for its power, reboot, sleep button",
             "power button pressed on Keel Test Button (" + node +
                 "): asking init to power off (dev.buttons.power = poweroff)",
             std::string("init accepted init.poweroff"),
             "reboot button pressed on Keel Test Button (" + node +
                 "): asking init to reboot (dev.buttons.reboot = reboot)",
             std::string("init accepted init.reboot"),
             "sleep button pressed on Keel Test Button (" + node +
                 "): published only (dev.buttons.sleep = publish)",
             "no longer watching " + node + " (Keel Test Button)",
             // evdev is not loaded before keel dev: by MODALIAS for the first input
             // device (the AT keyboard, or ours)
             std::string("loaded evdev for /devices/"),
         })
        EXPECT_NE(devlog.find(s), std::string::npos) << s << "\n" << devlog;

    // dev.status while the device was there.
    auto statuses = lines("KEELTEST-STATUS: ");
    ASSERT_EQ(statuses.size(), 1u) << out;
    Json st = Json::parse(statuses[0]);
    const Json& b = st["buttons"];
    EXPECT_EQ(b["presses"], 3) << b.dump();
    EXPECT_EQ(b["requests"], 2) << b.dump();
    EXPECT_EQ(b["request_errors"], 0) << b.dump();
    EXPECT_EQ(b["actions"],
              Json::parse(R"({"power":"poweroff","reboot":"reboot","sleep":"publish"})"));
    bool listed = false;
    for (const auto& d : b["devices"])
        listed = listed || (d["devname"] == node && d["name"] == "Keel Test Button" &&
                            d["buttons"] == Json::parse(R"(["power","reboot","sleep"])"));
    EXPECT_TRUE(listed) << b.dump();
}

// ---- on the host, an evdev stream through a FIFO -----------------------------

// A sysfs tree with one input device (inputN with its key capabilities and
// name, and its event node eventN in class/input) and a device directory whose
// input/eventN is a FIFO.
struct FakeInput {
    TempDir sys, dev;
    std::string devpath = "/devices/virtual/input/input7/event7";
    std::string node;

    FakeInput(const std::string& name, const std::string& keys) {
        const std::string input = sys.path() + "/devices/virtual/input/input7";
        fs::create_directories(input + "/capabilities");
        fs::create_directories(input + "/event7");
        fs::create_directories(sys.path() + "/bus/input/devices");
        fs::create_directories(sys.path() + "/class/input");
        std::ofstream(input + "/name") << name << "\n";
        std::ofstream(input + "/capabilities/key") << keys << "\n";
        std::ofstream(input + "/event7/uevent") << "MAJOR=13\nMINOR=71\nDEVNAME=input/event7\n";
        fs::create_directory_symlink("../../../../class/input", input + "/event7/subsystem");
        fs::create_directory_symlink("../../devices/virtual/input/input7/event7",
                                     sys.path() + "/class/input/event7");
        fs::create_directories(dev.path() + "/input");
        node = dev.path() + "/input/event7";
        if (::mkfifo(node.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + node);
    }
};

std::string event(int64_t usec, uint16_t type, uint16_t code, int32_t value) {
    return dev::encode_input_event({usec / 1000000, usec % 1000000, type, code, value});
}

// Key down and up with their SYN_REPORTs, `held` microseconds apart.
std::string press(uint16_t code, int64_t at, int64_t held = 250000) {
    return event(at, EV_KEY, code, 1) + event(at, EV_SYN, SYN_REPORT, 0) +
           event(at + held, EV_KEY, code, 0) + event(at + held, EV_SYN, SYN_REPORT, 0);
}

TEST(DevButtons, AnEvdevStreamFollowsTheConfiguration) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root (keel dev's uevent socket)");
    KEEL_SKIP_IF_MISSING(nats_client_missing());
    // KEY_POWER and KEY_RESTART: "1000000 0 0 0 0 10000000000000 0" on a 64-bit kernel.
    FakeInput in("Keel FIFO Button", "1000000 0 0 0 0 10000000000000 0");
    TempDir dir;
    const std::string config = dir.file("dev.json");
    std::ofstream(config) << "{}\n";
    BusProcess bus;
    JsonWatcher w(bus.url(), {"hardware.button.>"});
    DevProcess dev(bus, {"--sysfs", in.sys.path(), "--dev", in.dev.path(), "--no-modules",
                         "--config", config});
    auto& log = dev.proc();
    ASSERT_TRUE(
        log.wait_output("watching " + in.node + " (Keel FIFO Button) for its power, reboot button",
                        slow(10s), true))
        << dev.err();
    Fd fifo(::open(in.node.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(fifo);
    auto write_bytes = [&](const std::string& bytes) {
        ASSERT_EQ(::write(fifo.get(), bytes.data(), bytes.size()),
                  static_cast<ssize_t>(bytes.size()));
    };
    auto button_events = [&](size_t n) {
        return w.wait([](const Json&) { return true; }, n, slow(10s));
    };

    // No init on the bus: published, and the failed request is logged and counted.
    write_bytes(press(KEY_POWER, 100'000000));
    auto got = button_events(2);
    ASSERT_EQ(got.size(), 2u) << dev.err();
    const Json& down = got[0]["data"];
    EXPECT_EQ(got[0]["subject"], "hardware.button.power");
    EXPECT_EQ(down, Json::parse(R"({"button":"power","key":"KEY_POWER","code":116,"value":1,
        "state":"pressed","name":"Keel FIFO Button","devpath":"/devices/virtual/input/input7/event7",
        "devname":")" + in.node +
                                R"(","action":"poweroff","time":100.0})"))
        << down.dump();
    EXPECT_EQ(got[1]["data"]["state"], "released");
    EXPECT_DOUBLE_EQ(got[1]["data"]["held"].get<double>(), 0.25);
    EXPECT_TRUE(log.wait_output(
        "init.poweroff: no responders (is keel init running and on the bus?)", slow(10s), true))
        << dev.err();

    // With init there (keel reply), a record cut across two writes still counts.
    auto off = start_ready({"reply", "--server", bus.url(), "init.poweroff", "{\"ok\":true}"});
    auto reboot = start_ready({"reply", "--server", bus.url(), "init.reboot", "{\"ok\":true}"});
    std::string again = press(KEY_POWER, 200'000000);
    write_bytes(again.substr(0, 13));
    std::this_thread::sleep_for(100ms);
    write_bytes(again.substr(13));
    EXPECT_TRUE(off->wait_output("init.poweroff (reply: ", slow(10s))) << dev.err();
    EXPECT_TRUE(log.wait_output("init accepted init.poweroff", slow(10s), true)) << dev.err();
    EXPECT_NE(off->out().find("\"reason\":\"power button\",\"device\":\"Keel FIFO Button\","
                              "\"devpath\":\"/devices/virtual/input/input7/event7\""),
              std::string::npos)
        << off->out();
    size_t mark = log.err().size();
    write_bytes(press(KEY_RESTART, 300'000000));
    EXPECT_TRUE(reboot->wait_output("init.reboot (reply: ", slow(10s))) << dev.err();
    EXPECT_TRUE(log.wait_output("init accepted init.reboot", slow(10s), true, mark)) << dev.err();
    EXPECT_EQ(button_events(6).size(), 6u);

    // Two presses read at once: while init.poweroff waits for its answer, the
    // restart key asks nothing.
    mark = log.err().size();
    write_bytes(press(KEY_POWER, 310'000000) + press(KEY_RESTART, 311'000000));
    EXPECT_TRUE(log.wait_output("init accepted init.poweroff", slow(10s), true, mark)) << dev.err();
    EXPECT_NE(log.err().find("not asking init.reboot: init.poweroff is on its way", mark),
              std::string::npos)
        << dev.err();
    EXPECT_EQ(button_events(10).size(), 10u);

    // SIGHUP: the power key reboots, the reboot key is ignored (nothing published).
    std::ofstream(config) << R"({"buttons": {"power": "reboot", "reboot": "ignore"}})";
    mark = log.err().size();
    log.signal(SIGHUP);
    ASSERT_TRUE(log.wait_output("reloaded", slow(10s), true, mark)) << dev.err();
    write_bytes(press(KEY_RESTART, 400'000000) + press(KEY_POWER, 401'000000));
    got = button_events(12);
    ASSERT_EQ(got.size(), 12u);
    EXPECT_EQ(got[10]["subject"], "hardware.button.power") << got[10].dump();
    EXPECT_EQ(got[10]["data"]["action"], "reboot");
    EXPECT_TRUE(log.wait_output("asking init to reboot (dev.buttons.power = reboot)", slow(10s),
                                true, mark))
        << dev.err();
    EXPECT_TRUE(reboot->wait_output("[#2] init.reboot", slow(10s))) << reboot->out();
    EXPECT_TRUE(log.wait_output("init accepted init.reboot", slow(10s), true, mark)) << dev.err();

    // "publish": the event only. A packet after SYN_DROPPED is incomplete: skipped.
    std::ofstream(config) << R"({"buttons": {"power": "publish"}})";
    mark = log.err().size();
    log.signal(SIGHUP);
    ASSERT_TRUE(log.wait_output("reloaded", slow(10s), true, mark)) << dev.err();
    write_bytes(event(500'000000, EV_SYN, SYN_DROPPED, 0) +
                event(500'000000, EV_KEY, KEY_POWER, 1) + event(500'000000, EV_SYN, SYN_REPORT, 0) +
                press(KEY_POWER, 501'000000));
    got = button_events(14);
    ASSERT_EQ(got.size(), 14u);
    EXPECT_EQ(got[12]["data"]["time"], 501.0) << got[12].dump();
    EXPECT_EQ(got[12]["data"]["action"], "publish");
    EXPECT_TRUE(
        log.wait_output("published only (dev.buttons.power = publish)", slow(10s), true, mark));
    EXPECT_NE(log.err().find("the kernel dropped input events (SYN_DROPPED)", mark),
              std::string::npos)
        << dev.err();
    Json status = Json::parse(nats_request(bus.url(), "dev.status", ""))["buttons"];
    EXPECT_EQ(status["presses"], 7) << status.dump();
    EXPECT_EQ(status["requests"], 5) << status.dump();
    EXPECT_EQ(status["request_errors"], 1) << status.dump();
    EXPECT_EQ(status["drops"], 1) << status.dump();
    EXPECT_EQ(status["actions"]["power"], "publish") << status.dump();
    ASSERT_EQ(status["devices"].size(), 1u) << status.dump();
    EXPECT_EQ(status["devices"][0]["devname"], in.node);
    EXPECT_EQ(status["devices"][0]["buttons"], Json::parse(R"(["power","reboot"])"));
    EXPECT_EQ(count(off->out(), "init.poweroff (reply: "), 2u) << off->out();
    EXPECT_EQ(count(reboot->out(), "init.reboot (reply: "), 2u) << reboot->out();

    // The node goes away (end of file here; ENODEV from a real one): closed.
    fifo.reset();
    EXPECT_TRUE(log.wait_output(
        "no longer watching " + in.node + " (Keel FIFO Button): end of file", slow(10s), true))
        << dev.err();
    status = Json::parse(nats_request(bus.url(), "dev.status", ""))["buttons"];
    EXPECT_TRUE(status["devices"].empty()) << status.dump();
}

TEST(DevButtons, DevicesWithoutButtonKeysAreLeftAlone) {
    if (::geteuid() != 0) KEEL_SKIP("root", "needs root (keel dev's uevent socket)");
    // A keyboard's letters only (KEY_A, KEY_S, KEY_D: bits 30-32), and a broken bitmap.
    FakeInput letters("Keel Letters", "1c0000000");
    BusProcess bus;
    {
        DevProcess dev(bus, {"--sysfs", letters.sys.path(), "--dev", letters.dev.path(),
                             "--no-modules", "--verbose"});
        ASSERT_TRUE(dev.proc().wait_output("coldplug:", slow(10s), true)) << dev.err();
        EXPECT_EQ(dev.err().find("watching"), std::string::npos) << dev.err();
    }
    FakeInput broken("Keel Broken", "12 zz");
    DevProcess dev(bus, {"--sysfs", broken.sys.path(), "--dev", broken.dev.path(), "--no-modules"});
    ASSERT_TRUE(dev.proc().wait_output(
        "/devices/virtual/input/input7: capability bitmap word 2: 'zz' is not hexadecimal",
        slow(10s), true))
        << dev.err();
}

}  // namespace
}  // namespace keel::it
