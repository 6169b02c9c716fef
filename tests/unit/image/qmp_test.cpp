// QMP framing (split at every offset) and the QEMU command line.
#include <gtest/gtest.h>

#include <algorithm>

#include "image/qemu_runner.h"
#include "image/qmp_client.h"

namespace keel::image {
namespace {

const std::string kStream =
    "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7}}, \"capabilities\": []}}\r\n"
    "{\"return\": {}, \"id\": 1}\r\n"
    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"DEVICE_DELETED\", "
    "\"data\": {\"device\": \"stick\"}}\r\n"
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such device\"}, \"id\": 2}\r\n";

TEST(QmpReader, SameMessagesWhereverTheStreamIsSplit) {
    for (size_t cut = 0; cut <= kStream.size(); ++cut) {
        QmpReader r;
        auto a = r.feed(std::string_view(kStream).substr(0, cut));
        ASSERT_TRUE(a) << cut;
        auto b = r.feed(std::string_view(kStream).substr(cut));
        ASSERT_TRUE(b) << cut;
        auto all = *a;
        all.insert(all.end(), b->begin(), b->end());
        ASSERT_EQ(all.size(), 4u) << cut;
        EXPECT_TRUE(all[0].contains("QMP"));
        EXPECT_EQ(all[1]["id"], 1);
        EXPECT_EQ(all[2]["event"], "DEVICE_DELETED");
        EXPECT_EQ(all[3]["error"]["desc"], "no such device");
    }
}

TEST(QmpReader, ByteAtATime) {
    QmpReader r;
    size_t n = 0;
    for (char c : kStream)
        n += r.feed(std::string_view(&c, 1))->size();
    EXPECT_EQ(n, 4u);
}

TEST(QmpReader, GarbageIsAnErrorNamingTheLine) {
    QmpReader r;
    auto m = r.feed("{\"return\": {}}\r\nnot json at all\r\n");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("not json at all"), std::string::npos);
    QmpReader r2;
    EXPECT_FALSE(r2.feed("[1, 2]\n"));
}

TEST(QemuCommand, ForwardsPortsAndHasTheDevicesTheGuestNeeds) {
    BootOptions o;
    o.kernel = "/k";
    o.initrd = "/i";
    o.append = "quiet";
    o.cpus = 1;
    auto argv = qemu_command(o, "tcg", {{"bus", 40001, 4222}, {"ssh", 40002, 2222}}, "/r/c.sock",
                             "/r/q.sock");
    std::string all;
    for (const auto& a : argv)
        all += a + " ";
    EXPECT_EQ(argv[0], "qemu-system-x86_64");
    EXPECT_NE(all.find("-accel tcg "), std::string::npos);
    EXPECT_NE(all.find("hostfwd=tcp:127.0.0.1:40001-:4222"), std::string::npos) << all;
    EXPECT_NE(all.find("hostfwd=tcp:127.0.0.1:40002-:2222"), std::string::npos) << all;
    EXPECT_NE(all.find("dhcpstart="), std::string::npos);
    EXPECT_NE(all.find("virtio-rng-pci"), std::string::npos);
    EXPECT_NE(all.find("qemu-xhci,id=xhci"), std::string::npos);
    EXPECT_NE(all.find("unix:/r/q.sock,server=on,wait=off"), std::string::npos);
    EXPECT_NE(all.find("console=ttyS0 panic=-1 quiet"), std::string::npos);
    EXPECT_NE(all.find("-cpu qemu64,+rdrand "), std::string::npos) << all;  // a seeded RNG at boot
    EXPECT_NE(all.find("-smp 1 "), std::string::npos) << all;
    // Several CPUs under TCG: one host thread each.
    o.cpus = 2;
    auto two = qemu_command(o, "tcg", {}, "/c", "/q");
    EXPECT_EQ(std::count(two.begin(), two.end(), "tcg,thread=multi"), 1);
    EXPECT_EQ(std::count(two.begin(), two.end(), "2"), 1);
    o.cpus = 0;  // the host's, at most 4
    auto host = qemu_command(o, "tcg", {}, "/c", "/q");
    EXPECT_EQ(std::count(host.begin(), host.end(), "-smp"), 1);
    auto kvm = qemu_command(o, "kvm", {}, "/c", "/q");
    EXPECT_EQ(std::count(kvm.begin(), kvm.end(), "host"), 1);
    EXPECT_EQ(std::count(kvm.begin(), kvm.end(), "-cpu"), 1);
}

}  // namespace
}  // namespace keel::image
