#include "dev/buttons.h"

#include <linux/input-event-codes.h>

namespace keel::dev {

namespace {

constexpr ButtonKey kKeys[] = {
    {KEY_POWER, "KEY_POWER", Button::kPower},      {KEY_POWER2, "KEY_POWER2", Button::kPower},
    {KEY_RESTART, "KEY_RESTART", Button::kReboot}, {KEY_SLEEP, "KEY_SLEEP", Button::kSleep},
    {KEY_SUSPEND, "KEY_SUSPEND", Button::kSleep},
};

constexpr const char* kButtonNames[] = {"power", "reboot", "sleep"};  // by Button

constexpr std::pair<ButtonAction, const char*> kActions[] = {{ButtonAction::kPoweroff, "poweroff"},
                                                             {ButtonAction::kReboot, "reboot"},
                                                             {ButtonAction::kPublish, "publish"},
                                                             {ButtonAction::kIgnore, "ignore"}};

}  // namespace

const ButtonKey* button_key(uint16_t code) {
    for (const auto& k : kKeys)
        if (k.code == code) return &k;
    return nullptr;
}

std::vector<Button> buttons_in(const Bitmap& keys) {
    std::vector<Button> out;
    for (Button b : kButtons)
        for (const auto& k : kKeys)
            if (k.button == b && bitmap_has(keys, k.code)) {
                out.push_back(b);
                break;
            }
    return out;
}

const char* button_name(Button b) {
    return kButtonNames[static_cast<size_t>(b)];
}

const char* action_name(ButtonAction a) {
    for (const auto& [v, name] : kActions)
        if (v == a) return name;
    return "?";
}

std::optional<Button> parse_button(std::string_view name) {
    for (Button b : kButtons)
        if (name == button_name(b)) return b;
    return std::nullopt;
}

std::optional<ButtonAction> parse_action(std::string_view name) {
    for (const auto& [v, n] : kActions)
        if (name == n) return v;
    return std::nullopt;
}

}  // namespace keel::dev
