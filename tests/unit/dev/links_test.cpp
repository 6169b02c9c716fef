#include "dev/links.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/durable.h"
#include "base/sys_fs.h"
#include "test_util.h"

namespace keel::dev {
namespace {

std::string target(const std::string& p) {
    auto t = sys::read_link(p);
    return t ? *t : std::string("<none>");
}

bool exists(const std::string& p) {
    return ::access(p.c_str(), F_OK) == 0 || !target(p).starts_with("<");
}

TEST(Links, DefaultLinksLikeUdev) {
    Device d = Device::from_sysfs("add", "/devices/virtual/block/loop1", "block",
                                  {{"DEVNAME", "loop1"}, {"DEVTYPE", "disk"}});
    d.set("ID_FS_LABEL", "My Label/x");
    d.set("ID_FS_UUID", "1234-ABCD");
    d.set("ID_PART_ENTRY_UUID", "0a0b-01");
    auto links = default_links(d);
    EXPECT_EQ(links,
              (std::vector<std::string>{"disk/by-label/My\\x20Label\\x2fx",
                                        "disk/by-uuid/1234-ABCD", "disk/by-partuuid/0a0b-01"}));
    Device usb = Device::from_sysfs(
        "add", "/devices/pci0000:00/usb1/1-1/1-1:1.0/host0/target0:0:0/0:0:0:0/block/sdb/sdb1",
        "block", {{"DEVNAME", "sdb1"}, {"DEVTYPE", "partition"}, {"PARTN", "1"}});
    usb.set("ID_BUS", "usb");
    usb.set("ID_SERIAL", "SanDisk_Cruzer_4C53");
    EXPECT_EQ(default_links(usb),
              std::vector<std::string>{"disk/by-id/usb-SanDisk_Cruzer_4C53-part1"});
    Device tty = Device::from_sysfs("add", "/devices/x/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0", "tty",
                                    {{"DEVNAME", "ttyUSB0"}});
    tty.set("ID_BUS", "usb");
    tty.set("ID_SERIAL", "FTDI_FT232R_A1");
    tty.set("ID_USB_INTERFACE_NUM", "00");
    EXPECT_EQ(default_links(tty), std::vector<std::string>{"serial/by-id/usb-FTDI_FT232R_A1-if00"});
    Device null =
        Device::from_sysfs("add", "/devices/virtual/mem/null", "mem", {{"DEVNAME", "null"}});
    EXPECT_TRUE(default_links(null).empty());
    EXPECT_EQ(encode_link_name(".."), "\\x2e.");
    EXPECT_EQ(encode_link_name("caf\xc3\xa9\xff"), "caf\xc3\xa9\\xff");
}

TEST(Links, CreateUpdateHandOverRemove) {
    testing::TempTree dev;
    LinkManager m(dev.path());
    m.update("/devices/a", "loop1", {"disk/by-label/A", "keel/loop1"});
    EXPECT_EQ(target(dev / "disk/by-label/A"), "../../loop1");
    EXPECT_EQ(target(dev / "keel/loop1"), "../loop1");

    // A change drops links the device no longer wants.
    m.update("/devices/a", "loop1", {"disk/by-label/B"});
    EXPECT_FALSE(exists(dev / "disk/by-label/A"));
    EXPECT_FALSE(exists(dev / "keel"));  // emptied directories go too
    EXPECT_EQ(target(dev / "disk/by-label/B"), "../../loop1");

    // Two devices want one name: the later wins, and the name goes back when it leaves.
    m.update("/devices/b", "loop2", {"disk/by-label/B"});
    EXPECT_EQ(target(dev / "disk/by-label/B"), "../../loop2");
    m.remove("/devices/b");
    EXPECT_EQ(target(dev / "disk/by-label/B"), "../../loop1");

    // A link someone else replaced is not ours to remove.
    ASSERT_TRUE(sys::replace_symlink("../../elsewhere", dev / "disk/by-label/B"));
    m.remove("/devices/a");
    EXPECT_EQ(target(dev / "disk/by-label/B"), "../../elsewhere");
    EXPECT_EQ(m.devices(), 0u);
    EXPECT_EQ(m.links_of("/devices/a"), nullptr);
}

}  // namespace
}  // namespace keel::dev
