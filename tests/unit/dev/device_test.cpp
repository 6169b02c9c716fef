#include "dev/device.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dev/text.h"

namespace keel::dev {
namespace {

TEST(Device, SubjectTokensCannotBreakTheSubject) {
    EXPECT_EQ(hardware_subject("block", "add"), "hardware.block.add");
    EXPECT_EQ(hardware_subject("usb-serial", "bind"), "hardware.usb-serial.bind");
    EXPECT_EQ(hardware_subject("a.b c", "ch*>ge"), "hardware.a_b_c.ch__ge");
    EXPECT_EQ(hardware_subject("", ""), "hardware._._");
    EXPECT_EQ(hardware_subject("Sound", "ADD"), "hardware.sound.add");
    EXPECT_EQ(subject_token("\t\r\n\x7f\xc3\xa9"), "______");
}

TEST(Device, FromSysfsPutsTheEventFirst) {
    Device d = Device::from_sysfs(
        "add", "/devices/virtual/block/loop3", "block",
        {{"MAJOR", "7"}, {"MINOR", "3"}, {"DEVNAME", "loop3"}, {"DEVTYPE", "disk"}});
    EXPECT_EQ(d.properties()[0].first, "ACTION");
    EXPECT_EQ(d.action(), "add");
    EXPECT_EQ(d.subsystem(), "block");
    EXPECT_EQ(d.kernel(), "loop3");
    EXPECT_EQ(d.node("/dev"), "/dev/loop3");
    d.set("MINOR", "4");
    EXPECT_EQ(d.get("MINOR"), "4");
    d.erase("MINOR");
    EXPECT_FALSE(d.has("MINOR"));
    EXPECT_EQ(d.properties().size(), 6u);
}

TEST(Device, JsonIsValidWhateverTheBytes) {
    Device d;
    d.set("ACTION", "add");
    d.set("QUOTE", "say \"hi\"\\");
    d.set("CTRL", std::string("a\x01\n\tb\x7f", 6));
    d.set("UTF8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    d.set("BAD", "\xff\xc3(\xed\xa0\x80\xe0\x80\xaf");
    auto j = nlohmann::json::parse(d.to_json());  // throws if invalid
    EXPECT_EQ(j["QUOTE"], "say \"hi\"\\");
    EXPECT_EQ(j["CTRL"], std::string("a\x01\n\tb\x7f", 6));
    EXPECT_EQ(j["UTF8"], "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    std::string bad = j["BAD"];
    EXPECT_NE(bad.find("\xef\xbf\xbd"), std::string::npos);
    // Key order is the property order.
    EXPECT_EQ(d.to_json().rfind("{\"ACTION\":\"add\",\"QUOTE\"", 0), 0u);
}

}  // namespace
}  // namespace keel::dev
