// ButtonWatcher: the power, reboot and sleep keys of input devices — an ACPI
// power button (what QEMU's system_powerdown and a VM manager press), a board's
// gpio-keys, a keyboard's Power key. Every evdev node (/dev/input/eventN) whose
// key capabilities hold one of them is opened non-blocking and read on the
// event loop; a press is published as hardware.button.<button> and, as the
// manifest's dev.buttons says, becomes init.poweroff or init.reboot on the bus.
// The node is closed when the device goes (remove event, ENODEV, hangup).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/fd.h"
#include "bus/client/client.h"
#include "dev/buttons.h"
#include "dev/device.h"
#include "dev/input_event.h"
#include "dev/sysfs.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"

namespace keel::dev {

class ButtonWatcher {
  public:
    // Publishes a message (the daemon's, which counts them).
    using PublishFn = std::function<void(const std::string& subject, const std::string& payload)>;

    // `loop`, `bus` and `sysfs` must outlive the watcher; `bus` carries the
    // requests to init.
    ButtonWatcher(loop::EventLoop& loop, bus::Client& bus, const Sysfs& sysfs, std::string dev_root,
                  ButtonConfig cfg, PublishFn publish);
    ~ButtonWatcher();

    // Every device event: an evdev node with button keys is opened on add and
    // closed on remove; anything else is ignored.
    void on_device(const Device& dev);
    void reload(const ButtonConfig& cfg) { cfg_ = cfg; }
    // {"devices": [{devpath, devname, name, buttons}], "actions", "presses", ...}
    // for dev.status.
    nlohmann::ordered_json status() const;

  private:
    struct Stats {
        uint64_t presses = 0, requests = 0, request_errors = 0, drops = 0, open_errors = 0;
    };
    struct Input {
        std::string devpath, node, name;
        std::vector<Button> buttons;
        Fd fd;
        loop::FdWatch watch;
        InputEventReader reader;
        std::map<uint16_t, int64_t> down;  // key -> when pressed (kernel time, µs)
    };

    void open(const Device& dev);
    void close(const std::string& devpath, const char* why);
    void on_readable(Input& in, uint32_t events);
    void on_key(Input& in, const InputEvent& e);
    void ask_init(Button b, ButtonAction a, const Input& in);

    loop::EventLoop& loop_;
    bus::Client& bus_;
    const Sysfs& sysfs_;
    std::string dev_root_;
    ButtonConfig cfg_;
    PublishFn publish_;
    std::map<std::string, std::unique_ptr<Input>> inputs_;  // devpath -> open node
    std::string asking_;  // "poweroff" or "reboot" while that request is on its way
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for that request's answer
    Stats stats_;
};

}  // namespace keel::dev
