#include "dev/rules.h"

#include <gtest/gtest.h>

#include "dev/dev_config.h"
#include "test_util.h"

namespace keel::dev {
namespace {

Device loop_dev(const char* action = "change") {
    Device d = Device::from_sysfs(
        action, "/devices/virtual/block/loop7", "block",
        {{"MAJOR", "7"}, {"MINOR", "7"}, {"DEVNAME", "loop7"}, {"DEVTYPE", "disk"}});
    d.set("ID_FS_LABEL", "My Disk/../x");
    d.set("ID_FS_TYPE", "ext4");
    return d;
}

DevConfig config(const std::string& json) {
    auto c = parse_dev_config(json);
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : DevConfig{};
}

TEST(Rules, MatchAndApplyInOrder) {
    testing::TempTree sys;
    testing::mkdirs(sys / "devices/virtual/block/loop7");
    testing::write(sys / "devices/virtual/block/loop7/ro", "0\n");
    Sysfs sysfs(sys.path());
    auto c = config(R"({"rules": [
        {"match": {"subsystem": "block", "kernel": "loop*"}, "mode": "0640", "group": "0", "symlink": "keel/%k"},
        {"match": {"env": {"ID_FS_TYPE": ["vfat", "ext*"]}, "attr": {"ro": "0"}}, "owner": "0", "mode": "0600",
         "symlink": ["by-label/$env{ID_FS_LABEL}", "n/%n-%M:%m"], "publish": "storage.$env{ID_FS_TYPE}.%k",
         "run": ["/bin/echo", "$env{DEVNAME}", "%p"]},
        {"match": {"subsystem": "net"}, "mode": "0666"},
        {"match": {"kernel": "!loop*"}, "mode": "0777"},
        {"match": {"env": {"ID_MISSING": "!x"}}, "symlink": "absent-negated"}
    ]})");
    RuleResult r = apply_rules(c.rules, loop_dev(), sysfs);
    ASSERT_TRUE(r.mode);
    EXPECT_EQ(*r.mode, 0600u);
    EXPECT_EQ(*r.owner, 0u);
    EXPECT_EQ(*r.group, 0u);
    EXPECT_EQ(r.symlinks, (std::vector<std::string>{"keel/loop7", "by-label/My_Disk_.._x",
                                                    "n/7-7:7", "absent-negated"}));
    EXPECT_EQ(r.publish, std::vector<std::string>{"storage.ext4.loop7"});
    ASSERT_EQ(r.run.size(), 1u);
    EXPECT_EQ(r.run[0],
              (std::vector<std::string>{"/bin/echo", "loop7", "/devices/virtual/block/loop7"}));
}

TEST(Rules, DefaultActionsAreAddAndChange) {
    Sysfs sysfs("/nonexistent");
    auto c = config(
        R"({"rules": [{"mode": "0600"}, {"match": {"action": "remove"}, "publish": "gone"}]})");
    EXPECT_TRUE(apply_rules(c.rules, loop_dev("add"), sysfs).mode);
    EXPECT_FALSE(apply_rules(c.rules, loop_dev("remove"), sysfs).mode);
    EXPECT_EQ(apply_rules(c.rules, loop_dev("remove"), sysfs).publish,
              std::vector<std::string>{"gone"});
    EXPECT_FALSE(apply_rules(c.rules, loop_dev("bind"), sysfs).mode);
}

TEST(Rules, LastStops) {
    Sysfs sysfs("/nonexistent");
    auto c = config(R"({"rules": [{"mode": "0600", "last": true}, {"mode": "0666"}]})");
    EXPECT_EQ(*apply_rules(c.rules, loop_dev(), sysfs).mode, 0600u);
}

TEST(Rules, ExpandedValuesCannotEscape) {
    Sysfs sysfs("/nonexistent");
    Device d = loop_dev();
    d.set("ID_FS_LABEL", "..");
    auto c = config(
        R"({"rules": [{"symlink": "$env{ID_FS_LABEL}"}, {"symlink": "x/$env{ID_FS_LABEL}/y"}, {"publish": "a.$env{ID_FS_LABEL}"}]})");
    RuleResult r = apply_rules(c.rules, d, sysfs);
    EXPECT_TRUE(r.symlinks.empty());  // ".." is refused, not created
    EXPECT_EQ(r.publish, std::vector<std::string>{"a.__"});
    EXPECT_EQ(path_safe("a b/c\xc3\xa9\x01"), "a_b_c\xc3\xa9_");
    EXPECT_EQ(expand("%%k=%k %q $env{NONE}|$attr{none}|$env{", d, sysfs), "%k=loop7 %q ||$env{");
}

TEST(DevConfig, ErrorsNameTheJsonPath) {
    struct Case {
        const char* json;
        const char* want;
    } cases[] = {
        {R"({"rules": [{"mode": "0999"}]})", "dev.rules[0].mode"},
        {R"({"rules": [{}, {"match": {"kernal": "x"}}]})",
         "dev.rules[1].match.kernal: unknown key"},
        {R"({"rules": [{"owner": "no-such-user-keel"}]})",
         "dev.rules[0].owner: no user named no-such-user-keel"},
        {R"({"rules": [{"group": 5}]})", "dev.rules[0].group: expected a string"},
        {R"({"rules": [{"symlink": "../etc/passwd"}]})", "dev.rules[0].symlink"},
        {R"({"rules": [{"run": ["echo", "hi"]}]})", "absolute program path"},
        {R"({"rules": [{"publish": "a.*.b"}]})", "not a valid subject"},
        {R"({"rules": [{"match": {"action": "explode"}}]})", "unknown action"},
        {R"({"rules": [{"match": {"env": {"A": []}}}]})", "dev.rules[0].match.env.A"},
        {R"({"rules": {}})", "dev.rules: expected a list"},
        {R"({"modules": {"blacklist": [1]}})", "dev.modules.blacklist[0]"},
        {R"({"modules": {"options": {"loop": 8}}})", "dev.modules.options.loop"},
        {R"({"firmware": {"dirs": "x"}})", "dev.firmware.dirs: unknown key"},
        {R"({"colour": "blue"})", "dev.colour: unknown key"},
        {R"({"rules": [)", "invalid JSON"},
    };
    for (const auto& c : cases) {
        auto r = parse_dev_config(c.json);
        ASSERT_FALSE(r) << c.json;
        EXPECT_NE(r.error().message().find(c.want), std::string::npos)
            << c.json << " -> " << r.error().message();
    }
}

TEST(DevConfig, ManifestTakesItsOwnSection) {
    testing::TempTree t;
    testing::write(t / "system.json",
                   R"({"hostname": "x", "services": {"a": {}}, "net": {"whatever": 1},
        "dev": {"default_links": false, "modules": {"blacklist": ["pcspkr", "snd-pcsp"], "options": {"loop": "max_loop=8"}, "load": false}}})");
    auto c = load_manifest(t / "system.json");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_FALSE(c->default_links);
    EXPECT_TRUE(c->modules.blacklist.count("snd_pcsp"));
    EXPECT_EQ(c->modules.options["loop"], "max_loop=8");
    EXPECT_FALSE(c->modules.load);

    testing::write(t / "none.json", R"({"hostname": "x"})");
    auto d = load_manifest(t / "none.json");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->rules.empty());
    EXPECT_TRUE(d->default_links);

    testing::write(t / "bad.json", R"({"dev": {"rules": [{"mode": 660}]}})");
    auto e = load_manifest(t / "bad.json");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("bad.json: dev.rules[0].mode"), std::string::npos)
        << e.error().message();
    auto missing = load_manifest(t / "missing.json");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("missing.json"), std::string::npos);
}

}  // namespace
}  // namespace keel::dev
