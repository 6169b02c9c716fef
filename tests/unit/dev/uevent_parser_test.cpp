#include "dev/uevent_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace keel::dev {
namespace {

using testing::data_dir;
using testing::list_dir;
using testing::read;

std::string msg(std::initializer_list<std::string> fields) {
    std::string s;
    for (const auto& f : fields) {
        s += f;
        s += '\0';
    }
    return s;
}

const std::string kNull =
    msg({"change@/devices/virtual/mem/null", "ACTION=change", "DEVPATH=/devices/virtual/mem/null",
         "SUBSYSTEM=mem", "MAJOR=1", "MINOR=3", "DEVNAME=null", "SEQNUM=856"});

TEST(UeventParser, ParsesEveryCapturedKernelBuffer) {
    auto files = list_dir(data_dir() + "/uevent");
    ASSERT_GE(files.size(), 10u);
    UeventView v;
    for (const auto& f : files) {
        std::string buf = read(data_dir() + "/uevent/" + f);
        auto st = parse_uevent(buf, &v);
        ASSERT_TRUE(st) << f << ": " << st.error().message();
        EXPECT_TRUE(known_action(v.action)) << f;
        EXPECT_EQ(v.devpath.substr(0, 9), "/devices/") << f;
        EXPECT_FALSE(v.subsystem.empty()) << f;
        EXPECT_GT(v.seqnum, 0u) << f;
        EXPECT_EQ(v.env.back().first, "SEQNUM") << f;
    }
}

TEST(UeventParser, CapturedFieldsComeThrough) {
    UeventView v;
    std::string buf = read(data_dir() + "/uevent/pci-change-modalias.bin");
    ASSERT_TRUE(parse_uevent(buf, &v));
    EXPECT_EQ(v.action, "change");
    EXPECT_EQ(v.subsystem, "pci");
    EXPECT_EQ(v.get("MODALIAS"), "pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00");
    EXPECT_EQ(v.get("PCI_SLOT_NAME"), "0000:00:00.0");

    buf = read(data_dir() + "/uevent/mem-null-add-synth-args.bin");
    ASSERT_TRUE(parse_uevent(buf, &v));
    EXPECT_EQ(v.get("SYNTH_ARG_KEEL"), "test");
    EXPECT_EQ(v.get("DEVMODE"), "0666");

    buf = read(data_dir() + "/uevent/veth-add.bin");
    ASSERT_TRUE(parse_uevent(buf, &v));
    EXPECT_EQ(v.subsystem, "net");
    EXPECT_EQ(v.get("INTERFACE"), "kcap1");
    EXPECT_EQ(v.get("NOT_THERE"), "");

    buf = read(data_dir() + "/uevent/loop237-remove.bin");
    ASSERT_TRUE(parse_uevent(buf, &v));
    EXPECT_EQ(v.action, "remove");
    EXPECT_EQ(v.get("DEVNAME"), "loop237");
}

// A datagram cut anywhere is missing its last NUL or its SEQNUM: never accepted.
TEST(UeventParser, RejectsEveryTruncation) {
    UeventView v;
    for (const auto& f : list_dir(data_dir() + "/uevent")) {
        std::string buf = read(data_dir() + "/uevent/" + f);
        for (size_t n = 0; n < buf.size(); ++n)
            EXPECT_FALSE(parse_uevent(std::string_view(buf.data(), n), &v)) << f << " cut at " << n;
    }
}

// Either half of a split datagram alone is not a uevent either.
TEST(UeventParser, RejectsEverySuffix) {
    UeventView v;
    for (size_t n = 1; n < kNull.size(); ++n) {
        std::string_view tail(kNull.data() + n, kNull.size() - n);
        EXPECT_FALSE(parse_uevent(tail, &v)) << "suffix from " << n;
    }
}

TEST(UeventParser, RejectsGarbledMessages) {
    UeventView v;
    struct Case {
        const char* why;
        std::string buf;
    } cases[] = {
        {"empty", ""},
        {"libudev",
         msg({"libudev", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"header action differs",
         msg({"add@/devices/virtual/mem/null", "ACTION=remove", "DEVPATH=/devices/virtual/mem/null",
              "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"header devpath differs",
         msg({"add@/devices/virtual/mem/zero", "ACTION=add", "DEVPATH=/devices/virtual/mem/null",
              "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"no SUBSYSTEM", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SEQNUM=1"})},
        {"no ACTION", msg({"add@/devices/x", "DEVPATH=/devices/x", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"no DEVPATH", msg({"add@/devices/x", "ACTION=add", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"no SEQNUM", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem"})},
        {"SEQNUM not a number", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                                     "SUBSYSTEM=mem", "SEQNUM=12a"})},
        {"SEQNUM overflow", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                                 "SUBSYSTEM=mem", "SEQNUM=99999999999999999999"})},
        {"field after SEQNUM", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                                    "SUBSYSTEM=mem", "SEQNUM=1", "X=y"})},
        {"duplicate key", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                               "SUBSYSTEM=mem", "SUBSYSTEM=block", "SEQNUM=1"})},
        {"field without =", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                                 "SUBSYSTEM=mem", "GARBAGE", "SEQNUM=1"})},
        {"empty field", msg({"add@/devices/x", "ACTION=add", "", "DEVPATH=/devices/x",
                             "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"bad key", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem",
                         "A B=c", "SEQNUM=1"})},
        {"empty key", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem",
                           "=c", "SEQNUM=1"})},
        {"newline in value", msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x",
                                  "SUBSYSTEM=mem", "DEVNAME=a\nACTION=remove", "SEQNUM=1"})},
        {"unknown action", msg({"explode@/devices/x", "ACTION=explode", "DEVPATH=/devices/x",
                                "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"devpath with ..", msg({"add@/devices/../../etc", "ACTION=add",
                                 "DEVPATH=/devices/../../etc", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"relative devpath",
         msg({"add@devices/x", "ACTION=add", "DEVPATH=devices/x", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"devpath with //", msg({"add@/devices//x", "ACTION=add", "DEVPATH=/devices//x",
                                 "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"control byte in devpath", msg({"add@/devices/\x01x", "ACTION=add",
                                         "DEVPATH=/devices/\x01x", "SUBSYSTEM=mem", "SEQNUM=1"})},
        {"not NUL-terminated", kNull.substr(0, kNull.size() - 1) + "7"},
    };
    for (const auto& c : cases)
        EXPECT_FALSE(parse_uevent(c.buf, &v)) << c.why;
    EXPECT_TRUE(parse_uevent(kNull, &v));  // and the parser is still fine afterwards
    EXPECT_EQ(v.devpath, "/devices/virtual/mem/null");
}

TEST(UeventParser, ErrorsSayWhatAndWhere) {
    UeventView v;
    std::string bad = msg({"add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem",
                           "GARBAGE", "SEQNUM=1"});
    auto st = parse_uevent(bad, &v);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("field without '='"), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find("byte 59"), std::string::npos) << st.error().message();
}

TEST(UeventParser, RejectsOversizedMessages) {
    UeventView v;
    std::string big = "add@/devices/x";
    big += '\0';
    big += "ACTION=add";
    big += '\0';
    big += "DEVPATH=/devices/x";
    big += '\0';
    big += "SUBSYSTEM=mem";
    big += '\0';
    big += "X=" + std::string(kMaxUeventBytes, 'a');
    big += '\0';
    big += "SEQNUM=1";
    big += '\0';
    auto st = parse_uevent(big, &v);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("exceeds"), std::string::npos);

    std::string many = "add@/devices/x";
    many += '\0';
    for (const char* f : {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=mem"}) {
        many += f;
        many += '\0';
    }
    for (size_t i = 0; i < kMaxUeventFields; ++i) {
        many += "K" + std::to_string(i) + "=1";
        many += '\0';
    }
    many += "SEQNUM=1";
    many += '\0';
    ASSERT_LE(many.size(), kMaxUeventBytes);
    EXPECT_FALSE(parse_uevent(many, &v));
}

TEST(UeventParser, SysfsUeventFiles) {
    std::vector<Field> env;
    std::string text = read(data_dir() + "/sysfs/vda.uevent");
    ASSERT_TRUE(parse_uevent_file(text, &env));
    ASSERT_EQ(env.size(), 5u);
    EXPECT_EQ(env[0], Field("MAJOR", "254"));
    EXPECT_EQ(env[2], Field("DEVNAME", "vda"));
    env.clear();
    text = read(data_dir() + "/sysfs/pci.uevent");
    ASSERT_TRUE(parse_uevent_file(text, &env));
    EXPECT_EQ(env.back().first, "MODALIAS");
    env.clear();
    EXPECT_TRUE(parse_uevent_file("", &env));
    EXPECT_TRUE(env.empty());
    EXPECT_FALSE(parse_uevent_file("MAJOR=1\nnonsense\n", &env));
    EXPECT_FALSE(parse_uevent_file("BAD KEY=1\n", &env));
    EXPECT_FALSE(parse_uevent_file(std::string("A=b\0c\n", 6), &env));
}

TEST(UeventParser, SafeDevpath) {
    EXPECT_TRUE(safe_devpath("/devices/virtual/mem/null"));
    EXPECT_TRUE(safe_devpath("/devices/pci0000:00/0000:00:01.0"));
    EXPECT_FALSE(safe_devpath("/"));
    EXPECT_FALSE(safe_devpath("/devices/./x"));
    EXPECT_FALSE(safe_devpath("/devices/x/.."));
    EXPECT_FALSE(safe_devpath("/devices/x/"));
    EXPECT_FALSE(safe_devpath("devices/x"));
}

}  // namespace
}  // namespace keel::dev
