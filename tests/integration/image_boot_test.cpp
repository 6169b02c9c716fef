// keel boot, for real: a Tree holding busybox, the real keel (as /init) and the
// host kernel's virtio/USB/ACPI modules, written by write_cpio, booted headless
// under QEMU (TCG here). The guest's bus is reached through the forwarded port
// by the official NATS client, a USB stick is hot-plugged over QMP and keel dev
// in the guest publishes it, and Ctrl-C (an ACPI powerdown) ends QEMU with status 0:
// keel dev reads the Power Button (button.ko and evdev, loaded by modalias) and
// asks keel init to power off, well before keel boot's QMP quit fallback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "image/qmp_client.h"
#include "image/writers.h"
#include "integration/image_tree.h"
#include "integration/nats_js.h"

namespace keel::it {
namespace {

using nlohmann::json;

// Waits for `text` in the file QEMU's console is copied into, while `qemu` runs.
bool wait_in_file(Process& qemu, const std::string& path, const std::string& text, Ms timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (read_text(path).find(text) != std::string::npos) return true;
        if (!qemu.running()) return false;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

std::optional<Missing> why_no_qemu() {
    if (::access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
        return Missing{"qemu-system-x86_64", "qemu-system-x86_64 is not installed"};
    if (host_kernel().empty())
        return Missing{"linux-image-amd64", "no /boot/vmlinuz-*-amd64 (linux-image-amd64)"};
    if (::access("/bin/busybox", X_OK) != 0)
        return Missing{"busybox", "no /bin/busybox (busybox-static)"};
    if (auto why = nats_client_missing()) return *why;
    return std::nullopt;
}

// The guest: the bus on all addresses, keel dev and keel net (DHCP from QEMU's
// user network), and a marker on the console once eth0 has its lease. No
// power-button handler of its own: keel dev's default is dev.buttons.power =
// poweroff.
json guest_manifest() {
    return {{"hostname", "keel-guest"},
            {"services",
             json::array({
                 {{"name", "bus"},
                  {"argv", {"/usr/bin/keel", "bus", "--listen", "0.0.0.0:4222", "--ready-fd", "3"}},
                  {"readiness", "notify"}},
                 {{"name", "dev"}, {"argv", {"/usr/bin/keel", "dev"}}},
                 {{"name", "net"}, {"argv", {"/usr/bin/keel", "net"}}},
                 {{"name", "marker"},
                  {"type", "oneshot"},
                  {"argv",
                   {"/bin/sh", "-c",
                    "while ! ip -4 addr show eth0 | grep -q 10.0.2.15; do sleep 0.1; done; "
                    "echo KEEL-IMAGE-MARKER $(hostname) > /dev/console"}}},
             })},
            {"net", {{"interfaces", {{"eth0", {{"dhcp", true}}}}}}}};
}

TEST(ImageBoot, BootsATreeBuiltInitramfsTalksToItsBusHotplugsUsbAndPowersOff) {
    KEEL_SKIP_IF_MISSING(why_no_qemu());
    TempDir dir;
    std::string kernel = host_kernel();
    std::string release = kernel.substr(kernel.find("vmlinuz-") + 8);
    image::Tree tree = base_tree(guest_manifest(), KEEL_BIN);
    add_kernel_modules(tree, release,
                       {"virtio_pci", "virtio_net", "virtio_rng", "xhci_pci", "usb_storage",
                        "sd_mod", "button", "evdev"});
    image::NoProgress quiet;
    std::string out = dir.file("out");
    std::filesystem::create_directory(out);
    // A sanitizer build's keel is ~160 MB: uncompressed (the kernel takes a
    // plain cpio too) and more memory, so the image is written and unpacked in time.
    ASSERT_TRUE(image::write_cpio(tree, out + "/initramfs.img",
                                  kSanitized ? image::Compression::none : image::Compression::gzip,
                                  quiet));
    std::filesystem::create_symlink(kernel, out + "/vmlinuz");
    std::string stick = dir.file("stick.img");
    std::ofstream(stick).write(std::string(4 << 20, '\0').data(), 4 << 20);

    // `keel boot` through keel's forwarding to keel-image.
    std::string state_path = dir.file("state.json"), log = out + "/console.log";
    Process qemu(
        Process::Spec{{KEEL_BIN, "boot", out, "--headless", "--state", state_path, "--append",
                       "loglevel=4", "--memory", kSanitized ? "1536M" : "256M"}});
    ASSERT_TRUE(qemu.wait_output("qmp: ", slow(10s), true)) << qemu.err();
    EXPECT_NE(qemu.err().find("tcg"), std::string::npos) << qemu.err();  // no working KVM here
    json state = json::parse(read_text(state_path));
    std::string url = state["bus"];
    ASSERT_EQ(url, "nats://127.0.0.1:" + std::to_string(state["bus_port"].get<int>()));
    EXPECT_NE(qemu.err().find("bus: " + url), std::string::npos);

    ASSERT_TRUE(wait_in_file(qemu, log, "KEEL-IMAGE-MARKER keel-guest", slow(60s)))
        << read_text(log) << qemu.err();
    // The guest's bus through the forwarded port, with the official client.
    auto ps = json::parse(nats_request(url, "ps.dev", ""));
    EXPECT_EQ(ps.value("state", ""), "ready") << ps.dump();

    NatsWatcher watch(url, {"hardware.block.>", "hardware.button.>", "log.dev"});
    auto qmp = image::QmpClient::connect(state["qmp"]);
    ASSERT_TRUE(qmp) << qmp.error().message();
    ASSERT_TRUE(qmp->add_usb_storage("stick", stick)) << read_text(log);
    auto added = watch.wait_for("hardware.block.add", slow(30s));
    ASSERT_TRUE(added) << read_text(log);
    EXPECT_NE(added->dump().find("sd"), std::string::npos) << added->dump();
    auto removed = qmp->remove_usb_storage("stick");
    EXPECT_TRUE(removed) << removed.error().message();
    EXPECT_TRUE(watch.wait_for("hardware.block.remove", slow(20s)));

    // Ctrl-C to keel boot: an ACPI powerdown over its own QMP socket. keel dev in
    // the guest reads the press from the Power Button's evdev node and asks keel
    // init to power off; keel boot exits with QEMU's status 0 without needing its
    // QMP quit (which would come after 30 s).
    const size_t seen = watch.count();
    ASSERT_TRUE(qemu.signal(SIGINT));
    auto press = watch.wait_for("hardware.button.power", slow(20s), seen);
    ASSERT_TRUE(press) << read_text(log) << qemu.err();
    json p = json::parse(press->value("data", "{}"));
    EXPECT_EQ(p.value("name", ""), "Power Button") << p.dump();
    EXPECT_EQ(p.value("key", ""), "KEY_POWER") << p.dump();
    EXPECT_EQ(p.value("state", ""), "pressed") << p.dump();
    EXPECT_EQ(p.value("action", ""), "poweroff") << p.dump();
    EXPECT_TRUE(p.value("devname", "").starts_with("/dev/input/event")) << p.dump();
    EXPECT_NE(p.value("devpath", "").find("LNXPWRBN"), std::string::npos) << p.dump();
    // keel dev's log line, through keel init's log.dev: why it asked.
    auto logged = [&](const std::string& text) {
        auto deadline = Clock::now() + slow(10s);
        do {
            for (const auto& m : watch.messages())
                if (m["subject"] == "log.dev" &&
                    m.value("data", "").find(text) != std::string::npos)
                    return true;
            std::this_thread::sleep_for(100ms);
        } while (Clock::now() < deadline);
        return false;
    };
    EXPECT_TRUE(logged("power button pressed on Power Button (/dev/input/event"));
    EXPECT_TRUE(logged("asking init to power off (dev.buttons.power = poweroff)"));
    auto st = qemu.wait_exit(slow(40s));
    ASSERT_TRUE(st) << read_text(log);
    EXPECT_TRUE(st->exited_ok()) << st->describe() << "\n" << read_text(log) << qemu.err();
    EXPECT_NE(qemu.err().find("powering the guest down"), std::string::npos) << qemu.err();
    EXPECT_NE(read_text(log).find("powering off"), std::string::npos) << read_text(log);
    // By the power button, not by keel boot's fallback.
    EXPECT_EQ(qemu.err().find("quitting QEMU"), std::string::npos) << qemu.err();
    const std::string tag = "the guest powered off ";
    auto at = qemu.err().find(tag);
    ASSERT_NE(at, std::string::npos) << qemu.err();
    double took = std::stod(qemu.err().substr(at + tag.size()));
    EXPECT_LT(took, 20.0) << qemu.err();
    EXPECT_FALSE(std::filesystem::exists(state["qmp"].get<std::string>()));  // sockets cleaned up
}

}  // namespace
}  // namespace keel::it
