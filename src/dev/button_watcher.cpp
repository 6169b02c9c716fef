#include "dev/button_watcher.h"

#include <fcntl.h>
#include <linux/input-event-codes.h>

#include <cerrno>
#include <chrono>

#include "base/log.h"
#include "base/sys.h"

namespace keel::dev {

namespace {

using namespace std::chrono_literals;
using Json = nlohmann::ordered_json;

// How long init has to answer init.poweroff|reboot: long enough to span a bus
// restart (the request waits in the client's reconnect buffer meanwhile).
constexpr auto kInitTimeout = 10s;
// Reads per wake-up before the loop serves others (a keyboard typing fast).
constexpr int kReadsPerWake = 16;

std::string dump(const Json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string names(const std::vector<Button>& buttons) {
    std::string out;
    for (Button b : buttons)
        out += (out.empty() ? "" : ", ") + std::string(button_name(b));
    return out;
}

}  // namespace

ButtonWatcher::ButtonWatcher(loop::EventLoop& loop, bus::Client& bus, const Sysfs& sysfs,
                             std::string dev_root, ButtonConfig cfg, PublishFn publish)
    : loop_(loop),
      bus_(bus),
      sysfs_(sysfs),
      dev_root_(std::move(dev_root)),
      cfg_(cfg),
      publish_(std::move(publish)) {}

ButtonWatcher::~ButtonWatcher() = default;

void ButtonWatcher::on_device(const Device& dev) {
    if (dev.subsystem() != "input" || !dev.get("DEVNAME").starts_with("input/event")) return;
    const std::string devpath(dev.devpath());
    if (dev.action() == "remove") {
        close(devpath, "the device was removed");
    } else if (dev.action() == "add" && !inputs_.count(devpath)) {
        open(dev);
    }
}

void ButtonWatcher::open(const Device& dev) {
    // The event node's parent is the input device, which has the capabilities.
    const std::string devpath(dev.devpath());
    const std::string parent = devpath.substr(0, devpath.rfind('/'));
    auto caps = sysfs_.attr(parent, "capabilities/key");
    if (!caps) return;  // no keys at all (a mouse, a touchscreen's absolute axes)
    auto bits = parse_bitmap(*caps, sizeof(long) * 8);
    if (!bits) {
        log::warning("%s: %s", parent.c_str(), bits.error().message().c_str());
        return;
    }
    auto in = std::make_unique<Input>();
    in->buttons = buttons_in(*bits);
    if (in->buttons.empty()) return;
    in->devpath = devpath;
    in->node = dev.node(dev_root_);
    in->name = sysfs_.attr(parent, "name").value_or("");
    auto fd = sys::open(in->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (!fd) {
        ++stats_.open_errors;
        log::error("cannot watch the %s button of %s: %s", names(in->buttons).c_str(),
                   in->name.c_str(), fd.error().message().c_str());
        return;
    }
    in->fd = std::move(*fd);
    Input* p = in.get();
    if (auto st = in->watch.start(loop_, in->fd.get(), EPOLLIN,
                                  [this, p](uint32_t events) { on_readable(*p, events); });
        !st) {
        ++stats_.open_errors;
        log::error("cannot watch %s: %s", in->node.c_str(), st.error().message().c_str());
        return;
    }
    log::info("watching %s (%s) for its %s button", in->node.c_str(), in->name.c_str(),
              names(in->buttons).c_str());
    inputs_[devpath] = std::move(in);
}

void ButtonWatcher::close(const std::string& devpath, const char* why) {
    auto it = inputs_.find(devpath);
    if (it == inputs_.end()) return;
    log::info("no longer watching %s (%s): %s", it->second->node.c_str(), it->second->name.c_str(),
              why);
    // Its read callback may be what is running now: it goes after this batch.
    std::shared_ptr<Input> gone(std::move(it->second));
    inputs_.erase(it);
    gone->watch.stop();
    gone->fd = Fd();
    loop_.defer([gone] {});
}

void ButtonWatcher::on_readable(Input& in, uint32_t events) {
    char buf[4096];
    const size_t want = sizeof buf / input_event_size() * input_event_size();  // whole records
    for (int i = 0; i < kReadsPerWake; ++i) {
        auto n = sys::read(in.fd.get(), buf, want);
        if (!n && n.error().code() == EAGAIN) break;
        if (!n || *n == 0) {
            // ENODEV: the device is gone (its remove event may still be on its way).
            close(in.devpath, n ? "end of file" : n.error().message().c_str());
            return;
        }
        const uint64_t drops = in.reader.drops();
        in.reader.feed(std::string_view(buf, *n), [&](const InputEvent& e) { on_key(in, e); });
        if (in.reader.drops() != drops) {
            stats_.drops += in.reader.drops() - drops;
            log::warning("%s (%s): the kernel dropped input events (SYN_DROPPED)", in.node.c_str(),
                         in.name.c_str());
        }
    }
    if (events & (EPOLLHUP | EPOLLERR)) close(in.devpath, "the kernel hung up");
}

void ButtonWatcher::on_key(Input& in, const InputEvent& e) {
    if (e.type != EV_KEY || e.value == 2) return;  // 2: autorepeat, not a new press
    const ButtonKey* key = button_key(e.code);
    if (!key) return;
    const ButtonAction action = cfg_.action(key->button);
    if (action == ButtonAction::kIgnore) return;
    const int64_t at = e.sec * 1000000 + e.usec;
    Json j;
    j["button"] = button_name(key->button);
    j["key"] = key->name;
    j["code"] = e.code;
    j["value"] = e.value;
    j["state"] = e.value ? "pressed" : "released";
    j["name"] = in.name;
    j["devpath"] = in.devpath;
    j["devname"] = in.node;
    j["action"] = action_name(action);
    j["time"] = static_cast<double>(at) / 1e6;
    if (e.value) {
        ++stats_.presses;
        in.down[e.code] = at;
    } else if (auto it = in.down.find(e.code); it != in.down.end()) {
        j["held"] = static_cast<double>(at - it->second) / 1e6;  // OpenWrt's SEEN, finer
        in.down.erase(it);
    }
    publish_(std::string("hardware.button.") + button_name(key->button), dump(j));
    if (e.value != 1) return;
    if (action == ButtonAction::kPoweroff || action == ButtonAction::kReboot) {
        ask_init(key->button, action, in);
    } else {
        log::info("%s button pressed on %s (%s): published only (dev.buttons.%s = %s)",
                  button_name(key->button), in.name.c_str(), in.node.c_str(),
                  button_name(key->button), action_name(action));
    }
}

void ButtonWatcher::ask_init(Button b, ButtonAction a, const Input& in) {
    const std::string verb = a == ButtonAction::kPoweroff ? "poweroff" : "reboot";
    log::info("%s button pressed on %s (%s): asking init to %s (dev.buttons.%s = %s)",
              button_name(b), in.name.c_str(), in.node.c_str(),
              a == ButtonAction::kPoweroff ? "power off" : "reboot", button_name(b),
              action_name(a));
    if (!asking_.empty()) {
        log::info("not asking init.%s: init.%s is on its way, waiting for init's answer",
                  verb.c_str(), asking_.c_str());
        return;
    }
    asking_ = verb;
    ++stats_.requests;
    Json j;
    j["reason"] = std::string(button_name(b)) + " button";
    j["device"] = in.name;
    j["devpath"] = in.devpath;
    std::weak_ptr<int> alive = alive_;
    bus_.request("init." + verb, dump(j), kInitTimeout,
                 [this, alive, verb](Result<bus::OwnedMessage> r) {
                     if (alive.expired()) return;
                     asking_.clear();
                     if (!r) {
                         ++stats_.request_errors;
                         log::error("init.%s: %s (is keel init running and on the bus?)",
                                    verb.c_str(), r.error().message().c_str());
                         return;
                     }
                     auto answer = nlohmann::json::parse(r->data, nullptr, false);
                     if (answer.is_object() && answer.contains("error")) {
                         ++stats_.request_errors;
                         log::error("init refused init.%s: %s", verb.c_str(),
                                    answer["error"].dump().c_str());
                         return;
                     }
                     log::info("init accepted init.%s", verb.c_str());
                 });
}

nlohmann::ordered_json ButtonWatcher::status() const {
    Json j;
    Json devices = Json::array();
    for (const auto& [devpath, in] : inputs_) {
        Json buttons = Json::array();
        for (Button b : in->buttons)
            buttons.push_back(button_name(b));
        devices.push_back({{"devpath", devpath},
                           {"devname", in->node},
                           {"name", in->name},
                           {"buttons", buttons}});
    }
    j["devices"] = devices;
    Json actions = Json::object();
    for (Button b : kButtons)
        actions[button_name(b)] = action_name(cfg_.action(b));
    j["actions"] = actions;
    j["presses"] = stats_.presses;
    j["requests"] = stats_.requests;
    j["request_errors"] = stats_.request_errors;
    j["drops"] = stats_.drops;
    j["open_errors"] = stats_.open_errors;
    return j;
}

}  // namespace keel::dev
