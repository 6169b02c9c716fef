// Sysfs scanning and enrichment over a fake sysfs tree, and libblkid over a real
// file system image.
#include <gtest/gtest.h>

#include <set>

#include "dev/block_probe.h"
#include "dev/enrich.h"
#include "dev/firmware.h"
#include "dev/sysfs.h"
#include "support/skip.h"
#include "test_util.h"

namespace keel::dev {
namespace {

using testing::mkdirs;
using testing::symlink;
using testing::write;

// A tree shaped like /sys with a USB stick (device, interface, SCSI disk and
// partition), a net device and a memory device.
struct FakeSys {
    testing::TempTree t;
    const std::string usb = "devices/pci0000:00/0000:00:14.0/usb1/1-2";
    const std::string disk = usb + "/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb";
    FakeSys() {
        mkdirs(t / "bus/usb/devices");
        mkdirs(t / "bus/pci/devices");
        mkdirs(t / "class/block");
        mkdirs(t / "class/net");
        mkdirs(t / "class/mem");
        mkdirs(t / "class/empty");
        mkdirs(t / usb + "/1-2:1.0");
        write(t / usb + "/uevent",
              "MAJOR=189\nMINOR=1\nDEVNAME=bus/usb/001/002\nDEVTYPE=usb_device\nPRODUCT=781/5567/"
              "100\n");
        symlink("../../../../bus/usb", t / usb + "/subsystem");
        write(t / usb + "/idVendor", "0781\n");
        write(t / usb + "/idProduct", "5567\n");
        write(t / usb + "/manufacturer", "  SanDisk \n");
        write(t / usb + "/product", "Cruzer Blade\n");
        write(t / usb + "/serial", "4C530001\n");
        write(t / usb + "/bcdDevice", "0100\n");
        write(
            t / usb + "/1-2:1.0/uevent",
            "DEVTYPE=usb_interface\nMODALIAS=usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00\n");
        symlink("../../../../../bus/usb", t / usb + "/1-2:1.0/subsystem");
        write(t / usb + "/1-2:1.0/bInterfaceNumber", "00\n");
        symlink("../../../devices/pci0000:00/0000:00:14.0/usb1/1-2", t / "bus/usb/devices/1-2");
        symlink("../../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0",
                t / "bus/usb/devices/1-2:1.0");
        mkdirs(t / disk + "/sdb1");
        write(t / disk + "/uevent", "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\n");
        write(t / disk + "/size", "0\n");
        symlink("../../../../../../../../../../class/block", t / disk + "/subsystem");
        write(t / disk + "/sdb1/uevent",
              "MAJOR=8\nMINOR=17\nDEVNAME=sdb1\nDEVTYPE=partition\nPARTN=1\n");
        write(t / disk + "/sdb1/size", "0\n");
        symlink("../../../../../../../../../../../class/block", t / disk + "/sdb1/subsystem");
        symlink("../../" + disk, t / "class/block/sdb");
        symlink("../../" + disk + "/sdb1", t / "class/block/sdb1");
        mkdirs(t / "devices/virtual/net/vk0");
        write(t / "devices/virtual/net/vk0/uevent", "INTERFACE=vk0\nIFINDEX=7\n");
        write(t / "devices/virtual/net/vk0/address", "02:11:22:33:44:55\n");
        symlink("../../../../class/net", t / "devices/virtual/net/vk0/subsystem");
        symlink("../../devices/virtual/net/vk0", t / "class/net/vk0");
        mkdirs(t / "devices/virtual/mem/null");
        write(t / "devices/virtual/mem/null/uevent",
              "MAJOR=1\nMINOR=3\nDEVNAME=null\nDEVMODE=0666\n");
        symlink("../../../../class/mem", t / "devices/virtual/mem/null/subsystem");
        symlink("../../devices/virtual/mem/null", t / "class/mem/null");
        // A dangling link and a garbled uevent file are skipped, not fatal.
        symlink("../../devices/virtual/mem/gone", t / "class/mem/gone");
        mkdirs(t / "devices/virtual/mem/bad");
        write(t / "devices/virtual/mem/bad/uevent", "no equals sign\n");
        symlink("../../devices/virtual/mem/bad", t / "class/mem/bad");
    }
};

TEST(Sysfs, ScanFindsEveryDeviceParentsFirst) {
    FakeSys s;
    Sysfs sysfs(s.t.path());
    std::vector<std::string> paths;
    std::set<std::string> subsystems;
    ASSERT_TRUE(sysfs.scan([&](Device&& d) {
        EXPECT_EQ(d.action(), "add");
        paths.emplace_back(d.devpath());
        subsystems.emplace(d.subsystem());
    }));
    ASSERT_EQ(paths.size(), 6u);
    EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
    EXPECT_EQ(paths[0], "/" + s.usb);
    EXPECT_EQ(subsystems, (std::set<std::string>{"usb", "block", "net", "mem"}));
    auto d = sysfs.read_device("/" + s.disk + "/sdb1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->get("PARTN"), "1");
    EXPECT_EQ(d->subsystem(), "block");
    EXPECT_FALSE(sysfs.read_device("/devices/nothing"));
    EXPECT_FALSE(sysfs.read_device("/devices/../etc"));
    EXPECT_FALSE(Sysfs("/nonexistent").scan([](Device&&) {}));
}

TEST(Enrich, UsbIdentityReachesEveryChild) {
    FakeSys s;
    Sysfs sysfs(s.t.path());
    auto part = sysfs.read_device("/" + s.disk + "/sdb1");
    ASSERT_TRUE(part);
    enrich(*part, sysfs, "/dev");
    EXPECT_EQ(part->get("ID_BUS"), "usb");
    EXPECT_EQ(part->get("ID_VENDOR_ID"), "0781");
    EXPECT_EQ(part->get("ID_MODEL_ID"), "5567");
    EXPECT_EQ(part->get("ID_VENDOR"), "SanDisk");
    EXPECT_EQ(part->get("ID_MODEL"), "Cruzer_Blade");
    EXPECT_EQ(part->get("ID_SERIAL_SHORT"), "4C530001");
    EXPECT_EQ(part->get("ID_SERIAL"), "SanDisk_Cruzer_Blade_4C530001");
    EXPECT_EQ(part->get("ID_USB_INTERFACE_NUM"), "00");
    EXPECT_FALSE(part->has("ID_FS_TYPE"));  // size 0: nothing probed

    auto usb = sysfs.read_device("/" + s.usb);
    ASSERT_TRUE(usb);
    enrich(*usb, sysfs, "/dev");
    EXPECT_EQ(usb->get("ID_VENDOR_ID"), "0781");
    EXPECT_FALSE(usb->has("ID_USB_INTERFACE_NUM"));

    auto net = sysfs.read_device("/devices/virtual/net/vk0");
    ASSERT_TRUE(net);
    enrich(*net, sysfs, "/dev");
    EXPECT_EQ(net->get("ID_NET_ADDRESS"), "02:11:22:33:44:55");
    EXPECT_FALSE(net->has("ID_BUS"));

    auto gone = sysfs.read_device("/devices/virtual/net/vk0", "remove");
    ASSERT_TRUE(gone);
    enrich(*gone, sysfs, "/dev");
    EXPECT_FALSE(gone->has("ID_NET_ADDRESS"));  // remove events get nothing new
    EXPECT_EQ(id_safe(" a  b\tc\x01\xc3\xa9 "), "a_b_c_\xc3\xa9");
}

TEST(BlockProbe, ReadsARealFileSystem) {
    testing::TempTree t;
    int st = 0;
    testing::run("truncate -s 8M " + (t / "img") +
                     " && mkfs.ext4 -q -F -L KEELPROBE -U 3f1c5b0e-8f35-4a6b-9a51-0c2d7a1e9b44 " +
                     (t / "img") + " 2>&1",
                 &st);
    if (st != 0) KEEL_SKIP("mkfs.ext4", "mkfs.ext4 unavailable (e2fsprogs)");
    Device d;
    probe_block(t / "img", d);
    EXPECT_EQ(d.get("ID_FS_TYPE"), "ext4");
    EXPECT_EQ(d.get("ID_FS_LABEL"), "KEELPROBE");
    EXPECT_EQ(d.get("ID_FS_UUID"), "3f1c5b0e-8f35-4a6b-9a51-0c2d7a1e9b44");
    EXPECT_EQ(d.get("ID_FS_USAGE"), "filesystem");
    Device none;
    testing::write(t / "zeros", std::string(1 << 20, '\0'));
    probe_block(t / "zeros", none);
    EXPECT_TRUE(none.properties().empty());
    probe_block(t / "missing", none);
    EXPECT_TRUE(none.properties().empty());
}

TEST(Firmware, ServedIntoTheLoadingProtocolFiles) {
    testing::TempTree t;
    const std::string fwdev = "devices/platform/foo/firmware/foo-fw.bin";
    mkdirs(t / "sys/" + fwdev);
    write(t / "sys/" + fwdev + "/loading", "");
    write(t / "sys/" + fwdev + "/data", "");
    mkdirs(t / "fw/updates/6.1.0/vendor");
    write(t / "fw/updates/6.1.0/vendor/foo-fw.bin", "FIRMWARE-BYTES");
    mkdirs(t / "fw/vendor");
    write(t / "fw/vendor/foo-fw.bin", "OLDER");
    Sysfs sysfs(t / "sys");
    Device d =
        Device::from_sysfs("add", "/" + fwdev, "firmware", {{"FIRMWARE", "vendor/foo-fw.bin"}});
    auto dirs = firmware_dirs(t / "fw", "6.1.0");
    auto r = serve_firmware(d, sysfs, dirs);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, t / "fw/updates/6.1.0/vendor/foo-fw.bin");
    EXPECT_EQ(testing::read(t / "sys/" + fwdev + "/data"), "FIRMWARE-BYTES");
    EXPECT_EQ(testing::read(t / "sys/" + fwdev + "/loading"), "0");

    Device missing =
        Device::from_sysfs("add", "/" + fwdev, "firmware", {{"FIRMWARE", "nothere.bin"}});
    EXPECT_FALSE(serve_firmware(missing, sysfs, dirs));
    EXPECT_EQ(testing::read(t / "sys/" + fwdev + "/loading"), "-1");
    Device escape =
        Device::from_sysfs("add", "/" + fwdev, "firmware", {{"FIRMWARE", "../../etc/shadow"}});
    auto e = serve_firmware(escape, sysfs, dirs);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("unsafe"), std::string::npos);
}

}  // namespace
}  // namespace keel::dev
