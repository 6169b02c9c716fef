// The evdev side of the power button, without devices: the input_event stream
// reader (split at every offset, SYN_DROPPED), the sysfs capability bitmaps as
// real kernels print them, which devices count as buttons, and dev.buttons.
#include <gtest/gtest.h>
#include <linux/input-event-codes.h>

#include <vector>

#include "dev/buttons.h"
#include "dev/dev_config.h"
#include "dev/input_event.h"

namespace keel::dev {
namespace {

std::string stream(const std::vector<InputEvent>& events) {
    std::string out;
    for (const auto& e : events)
        out += encode_input_event(e);
    return out;
}

// What the ACPI button driver sends for one press: key down, sync, key up, sync.
const std::vector<InputEvent> kPress = {
    {1700000000, 250000, EV_KEY, KEY_POWER, 1},
    {1700000000, 250000, EV_SYN, SYN_REPORT, 0},
    {1700000000, 250120, EV_KEY, KEY_POWER, 0},
    {1700000000, 250120, EV_SYN, SYN_REPORT, 0},
};

std::vector<InputEvent> read_all(InputEventReader& r, std::string_view bytes) {
    std::vector<InputEvent> out;
    r.feed(bytes, [&](const InputEvent& e) { out.push_back(e); });
    return out;
}

bool same(const std::vector<InputEvent>& a, const std::vector<InputEvent>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].sec != b[i].sec || a[i].usec != b[i].usec || a[i].type != b[i].type ||
            a[i].code != b[i].code || a[i].value != b[i].value)
            return false;
    return true;
}

TEST(InputEvents, RecordsHaveTheKernelsLayout) {
    EXPECT_EQ(input_event_size(), sizeof(long) == 8 ? 24u : 16u);
    std::string one = encode_input_event({1, 2, EV_KEY, KEY_POWER, 1});
    ASSERT_EQ(one.size(), input_event_size());
    // type, code and value follow the two time words.
    const size_t at = 2 * sizeof(long);
    EXPECT_EQ(static_cast<unsigned char>(one[at]), EV_KEY);
    EXPECT_EQ(static_cast<unsigned char>(one[at + 2]), KEY_POWER);
    EXPECT_EQ(static_cast<unsigned char>(one[at + 4]), 1);
}

TEST(InputEvents, AnySplitGivesTheSameEvents) {
    const std::string bytes = stream(kPress);
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
        InputEventReader r;
        auto got = read_all(r, bytes.substr(0, cut));
        auto rest = read_all(r, bytes.substr(cut));
        got.insert(got.end(), rest.begin(), rest.end());
        EXPECT_TRUE(same(got, kPress)) << "cut at " << cut;
        EXPECT_EQ(r.partial(), 0u);
    }
    // Byte by byte too, and three-way splits.
    InputEventReader r;
    std::vector<InputEvent> got;
    for (char c : bytes)
        for (const auto& e : read_all(r, std::string_view(&c, 1)))
            got.push_back(e);
    EXPECT_TRUE(same(got, kPress));
    for (size_t a = 0; a <= bytes.size(); a += 5)
        for (size_t b = a; b <= bytes.size(); b += 7) {
            InputEventReader r3;
            auto x = read_all(r3, bytes.substr(0, a));
            auto y = read_all(r3, bytes.substr(a, b - a));
            auto z = read_all(r3, bytes.substr(b));
            x.insert(x.end(), y.begin(), y.end());
            x.insert(x.end(), z.begin(), z.end());
            EXPECT_TRUE(same(x, kPress)) << a << "," << b;
        }
}

TEST(InputEvents, APartialRecordWaits) {
    InputEventReader r;
    const std::string bytes = stream(kPress);
    EXPECT_TRUE(read_all(r, bytes.substr(0, input_event_size() - 1)).empty());
    EXPECT_EQ(r.partial(), input_event_size() - 1);
}

TEST(InputEvents, ADroppedPacketIsSkippedUpToTheNextReport) {
    // The client's buffer overflowed: the packet after SYN_DROPPED is incomplete.
    std::vector<InputEvent> in = {
        {0, 0, EV_SYN, SYN_DROPPED, 0}, {0, 0, EV_KEY, KEY_POWER, 0},
        {0, 0, EV_SYN, SYN_REPORT, 0},  {0, 1, EV_KEY, KEY_POWER, 1},
        {0, 1, EV_SYN, SYN_REPORT, 0},
    };
    InputEventReader r;
    auto got = read_all(r, stream(in));
    EXPECT_TRUE(same(got, {in[3], in[4]}));
    EXPECT_EQ(r.drops(), 1u);
}

TEST(CapabilityBitmaps, AsTheKernelPrintsThem) {
    // /sys/class/input/input0/capabilities/key of the ACPI Power Button (LNXPWRBN)
    // and the Sleep Button (LNXSLPBN), Debian's 6.1 kernel in QEMU.
    auto power = parse_bitmap("10000000000000 0\n");
    ASSERT_TRUE(power) << power.error().message();
    EXPECT_TRUE(bitmap_has(*power, KEY_POWER));
    EXPECT_FALSE(bitmap_has(*power, KEY_SLEEP));
    EXPECT_FALSE(bitmap_has(*power, 4096));
    auto sleep = parse_bitmap("4000 0 0\n");
    ASSERT_TRUE(sleep);
    EXPECT_TRUE(bitmap_has(*sleep, KEY_SLEEP));
    EXPECT_FALSE(bitmap_has(*sleep, KEY_POWER));
    // A 32-bit kernel prints 32-bit words: KEY_POWER is word 3, bit 20.
    auto power32 = parse_bitmap("100000 0 0 0", 32);
    ASSERT_TRUE(power32);
    EXPECT_TRUE(bitmap_has(*power32, KEY_POWER));
    EXPECT_EQ(buttons_in(*power32), buttons_in(*power));
    auto none = parse_bitmap("0\n");
    ASSERT_TRUE(none);
    EXPECT_TRUE(buttons_in(*none).empty());
    // KEY_RESTART (0x198) is in word 6 of a 64-bit map.
    auto restart = parse_bitmap("1000000 0 0 0 0 0 0");
    ASSERT_TRUE(restart);
    EXPECT_TRUE(bitmap_has(*restart, KEY_RESTART));
}

TEST(CapabilityBitmaps, GarbageIsRefusedWithTheWord) {
    for (const char* bad :
         {"", "\n", "1  0", " 1", "10000000000000000 0", "xyz 0", "1,0", "0x10"}) {
        auto r = parse_bitmap(bad);
        EXPECT_FALSE(r) << "'" << bad << "' accepted";
    }
    auto wide = parse_bitmap("1 123456789", 32);
    ASSERT_FALSE(wide);
    EXPECT_NE(wide.error().message().find("word 2"), std::string::npos) << wide.error().message();
    EXPECT_NE(parse_bitmap("1 g").error().message().find("'g' is not hexadecimal"),
              std::string::npos);
    std::string huge;
    for (int i = 0; i < 40; ++i)
        huge += "1 ";
    huge += "1";
    EXPECT_FALSE(parse_bitmap(huge));
    EXPECT_FALSE(parse_bitmap("1", 16));
}

TEST(Buttons, WhichDevicesAreButtons) {
    Bitmap keys(12, 0);
    auto set = [&](unsigned bit) { keys[bit / 64] |= uint64_t{1} << (bit % 64); };
    EXPECT_TRUE(buttons_in(keys).empty());
    set(KEY_A);
    set(KEY_ENTER);
    EXPECT_TRUE(buttons_in(keys).empty());  // an ordinary keyboard without a power key
    set(KEY_SUSPEND);
    EXPECT_EQ(buttons_in(keys), std::vector<Button>{Button::kSleep});
    set(KEY_POWER2);
    set(KEY_RESTART);
    EXPECT_EQ(buttons_in(keys),
              (std::vector<Button>{Button::kPower, Button::kReboot, Button::kSleep}));
    EXPECT_EQ(button_key(KEY_POWER)->button, Button::kPower);
    EXPECT_STREQ(button_key(KEY_POWER)->name, "KEY_POWER");
    EXPECT_EQ(button_key(KEY_SLEEP)->button, Button::kSleep);
    EXPECT_EQ(button_key(KEY_RESTART)->button, Button::kReboot);
    EXPECT_EQ(button_key(KEY_A), nullptr);
    EXPECT_EQ(button_key(KEY_WAKEUP), nullptr);
}

TEST(Buttons, ManifestSection) {
    auto d = parse_dev_config("{}");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->buttons.action(Button::kPower), ButtonAction::kPoweroff);
    EXPECT_EQ(d->buttons.action(Button::kReboot), ButtonAction::kReboot);
    EXPECT_EQ(d->buttons.action(Button::kSleep), ButtonAction::kPublish);
    auto c = parse_dev_config(R"({"buttons": {"power": "reboot", "sleep": "ignore"}})");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->buttons.action(Button::kPower), ButtonAction::kReboot);
    EXPECT_EQ(c->buttons.action(Button::kReboot), ButtonAction::kReboot);
    EXPECT_EQ(c->buttons.action(Button::kSleep), ButtonAction::kIgnore);
    auto p = parse_dev_config(R"({"buttons": {"power": "publish", "reboot": "poweroff"}})");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->buttons.action(Button::kPower), ButtonAction::kPublish);
    EXPECT_EQ(p->buttons.action(Button::kReboot), ButtonAction::kPoweroff);

    struct Bad {
        const char* json;
        const char* message;
    } bad[] = {
        {R"({"buttons": {"lid": "poweroff"}})", "dev.buttons.lid: unknown key"},
        {R"({"buttons": {"power": "halt"}})",
         "dev.buttons.power: expected \"poweroff\", \"reboot\", \"publish\" or \"ignore\", not "
         "'halt'"},
        {R"({"buttons": {"power": true}})", "dev.buttons.power: expected a string"},
        {R"({"buttons": ["power"]})", "dev.buttons: expected an object"},
    };
    for (const auto& b : bad) {
        auto r = parse_dev_config(b.json);
        ASSERT_FALSE(r) << b.json;
        EXPECT_EQ(r.error().message(), b.message);
    }
}

}  // namespace
}  // namespace keel::dev
