// Buttons keel dev acts on, and what it does with them (the manifest's
// dev.buttons): the keys of linux/input-event-codes.h that mean "power off",
// "reboot" and "sleep", as systemd-logind reads them (HandlePowerKey=,
// HandleRebootKey=, HandleSuspendKey=).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dev/input_event.h"

namespace keel::dev {

enum class Button { kPower, kReboot, kSleep };
enum class ButtonAction { kPoweroff, kReboot, kPublish, kIgnore };

inline constexpr Button kButtons[] = {Button::kPower, Button::kReboot, Button::kSleep};

struct ButtonConfig {
    // By Button; sleep only publishes: keel has no suspend, a script may act.
    std::array<ButtonAction, 3> actions = {ButtonAction::kPoweroff, ButtonAction::kReboot,
                                           ButtonAction::kPublish};

    ButtonAction action(Button b) const { return actions[static_cast<size_t>(b)]; }
    void set(Button b, ButtonAction a) { actions[static_cast<size_t>(b)] = a; }
};

struct ButtonKey {
    uint16_t code;
    const char* name;  // "KEY_POWER"
    Button button;
};

// KEY_POWER and KEY_POWER2 (power), KEY_RESTART (reboot), KEY_SLEEP and
// KEY_SUSPEND (sleep); nullptr for any other key.
const ButtonKey* button_key(uint16_t code);
// The buttons a device's key capability bitmap has, each once, in enum order.
std::vector<Button> buttons_in(const Bitmap& keys);

const char* button_name(Button b);        // "power", "reboot", "sleep"
const char* action_name(ButtonAction a);  // "poweroff", "reboot", "publish", "ignore"
std::optional<Button> parse_button(std::string_view name);
std::optional<ButtonAction> parse_action(std::string_view name);

}  // namespace keel::dev
