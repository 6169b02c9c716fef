// What a definition yields: the catalog's files and manifest entries, the
// user database, /etc, and the demo's manifest as the real daemons read it.
#include "image/definition.h"

#include <gtest/gtest.h>

#include "definition_test_util.h"
#include "dev/dev_config.h"
#include "init/manifest/manifest.h"
#include "net/config.h"

namespace keel::image::test {
namespace {

using Json = nlohmann::json;

std::string data_at(const Plan& plan, const std::string& path) {
    const Node* n = plan.files.lookup(path);
    return n ? n->data : "<missing " + path + ">";
}

const Json* service(const Plan& plan, const std::string& name) {
    for (const auto& s : plan.manifest["services"])
        if (s["name"] == name) return &s;
    return nullptr;
}

// Everything in a Plan, as text: two evaluations must give the same bytes.
std::string serialise(const Plan& plan) {
    Json j;
    j["definition"] = plan.definition;
    j["inputs"] = plan.inputs;
    j["hostname"] = plan.hostname;
    j["packages"] = plan.packages;
    j["exclude"] = plan.exclude;
    j["prune"] = {plan.prune.enabled, plan.prune.keep, plan.prune.remove, plan.prune.libraries,
                  plan.prune.strip};
    j["busybox_links"] = plan.busybox_links;
    j["kernel_modules"] = plan.kernel_modules;
    for (const auto& h : plan.host_files)
        j["host_files"].push_back({h.source, h.dest, h.mode});
    for (const auto& [path, n] : plan.files.nodes())
        j["files"].push_back(
            {path, static_cast<int>(n.kind), n.mode, n.uid, n.gid, n.target, n.data, n.origin});
    j["manifest"] = plan.manifest;
    return j.dump();
}

Plan demo() {
    DefinitionOptions o = dsl_options();
    o.keel_binary = "/proc/self/exe";
    auto plan = evaluate_definition(source_dir() + "/examples/demo/system.lua", o);
    EXPECT_TRUE(plan.ok()) << plan.error().message();
    return plan ? std::move(*plan) : Plan{};
}

TEST(Demo, ManifestIsAcceptedByInitDevAndNet) {
    Plan plan = demo();
    std::string text = plan.manifest.dump(2);
    auto init = init::parse_manifest(text, "system.json");
    ASSERT_TRUE(init.ok()) << init.error().message() << "\n" << text;
    EXPECT_EQ(init->hostname, "keel-demo");
    std::vector<std::string> names;
    for (const auto& s : init->services)
        names.push_back(s.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"automount", "bus", "dev", "getty", "httpd", "net",
                                               "ntpd", "ssh", "toast"}));
    auto dev = dev::parse_dev_config(plan.manifest["dev"].dump());
    ASSERT_TRUE(dev.ok()) << dev.error().message();
    EXPECT_EQ(dev->rules.size(), 1u);
    auto net = net::parse_config(plan.manifest["net"]);
    ASSERT_TRUE(net.ok()) << net.error().message();
    ASSERT_EQ(net->interfaces.size(), 1u);
    EXPECT_EQ(net->interfaces[0].name, "eth0");
    EXPECT_TRUE(net->interfaces[0].dhcp.enabled);
}

TEST(Demo, WhatTheImageGets) {
    Plan plan = demo();
    EXPECT_EQ(plan.packages, (std::vector<std::string>{"busybox", "dropbear-bin", "openntpd"}));
    EXPECT_EQ(plan.exclude, (std::vector<std::string>{"adduser", "lsb-base"}));
    EXPECT_TRUE(plan.prune.enabled);
    EXPECT_TRUE(plan.prune.libraries);
    EXPECT_TRUE(plan.prune.strip);
    EXPECT_TRUE(plan.busybox_links);
    EXPECT_EQ(plan.prune.remove,
              (std::vector<std::string>{"/usr/bin/dbclient", "/usr/bin/dropbearconvert",
                                        "/usr/lib/dropbear"}));
    EXPECT_EQ(plan.kernel_modules, (std::vector<std::string>{"usb-storage", "vfat"}));
    ASSERT_GE(plan.host_files.size(), 2u);
    EXPECT_EQ(plan.host_files[0].dest, "/usr/bin/keel");
    bool localtime = false;
    for (const auto& h : plan.host_files)
        localtime =
            localtime || (h.dest == "/etc/localtime" && h.source == "/usr/share/zoneinfo/UTC");
    EXPECT_TRUE(localtime);
    EXPECT_NE(data_at(plan, "/etc/keel/scripts/automount.lua").find("hardware.block.add"),
              std::string::npos);
    ASSERT_NE(service(plan, "automount"), nullptr);
    EXPECT_EQ((*service(plan, "automount"))["argv"],
              Json({"keel", "lua", "/etc/keel/scripts/automount.lua"}));
    EXPECT_EQ((*service(plan, "automount"))["depends"], Json({"bus"}));
    EXPECT_EQ((*service(plan, "bus"))["argv"],
              Json({"keel", "bus", "--ready-fd", "3", "--listen", "0.0.0.0:4222"}));
    EXPECT_EQ(plan.inputs,
              (std::vector<std::string>{source_dir() + "/examples/demo/system.lua",
                                        source_dir() + "/examples/demo/automount.lua"}));
    const Node* sh = plan.files.lookup("/usr/bin/sh", false);
    ASSERT_NE(sh, nullptr);
    EXPECT_EQ(sh->target, "busybox");
}

TEST(Demo, UserFilesAreWellFormed) {
    Plan plan = demo();
    auto check_lines = [](const std::string& text, size_t fields, const std::string& what) {
        ASSERT_FALSE(text.empty());
        ASSERT_EQ(text.back(), '\n') << what;
        size_t start = 0;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            std::string line = text.substr(start, end - start);
            EXPECT_EQ(static_cast<size_t>(std::count(line.begin(), line.end(), ':')) + 1, fields)
                << what << ": " << line;
            start = end + 1;
        }
    };
    check_lines(data_at(plan, "/etc/passwd"), 7, "passwd");
    check_lines(data_at(plan, "/etc/group"), 4, "group");
    check_lines(data_at(plan, "/etc/shadow"), 9, "shadow");
    EXPECT_EQ(data_at(plan, "/etc/passwd").rfind("root:x:0:0:root:/root:/bin/sh\n", 0), 0u);
    EXPECT_NE(data_at(plan, "/etc/passwd").find("demo:x:1000:1000::/home/demo:/bin/sh\n"),
              std::string::npos);
    EXPECT_NE(data_at(plan, "/etc/group").find("wheel:x:10:demo\n"), std::string::npos);
    EXPECT_NE(data_at(plan, "/etc/group").find("plugdev:x:46:demo\n"), std::string::npos);
    EXPECT_NE(data_at(plan, "/etc/group").find("demo:x:1000:\n"), std::string::npos);
    EXPECT_NE(data_at(plan, "/etc/shadow").find("root:*:"), std::string::npos);
    EXPECT_EQ(plan.files.lookup("/etc/shadow")->mode, 0600u);
    const Node* keys = plan.files.lookup("/home/demo/.ssh/authorized_keys");
    ASSERT_NE(keys, nullptr);
    EXPECT_EQ(keys->mode, 0600u);
    EXPECT_EQ(keys->uid, 1000u);
    EXPECT_EQ(keys->gid, 1000u);
    EXPECT_EQ(keys->data.rfind("ssh-ed25519 ", 0), 0u);
    EXPECT_EQ(plan.files.lookup("/home/demo/.ssh")->mode, 0700u);
    EXPECT_EQ(plan.files.lookup("/home/demo")->uid, 1000u);
    EXPECT_EQ(data_at(plan, "/etc/hostname"), "keel-demo\n");
    EXPECT_NE(data_at(plan, "/etc/hosts").find("127.0.1.1\tkeel-demo\n"), std::string::npos);
}

TEST(Demo, EvaluatingTwiceGivesTheSamePlan) {
    EXPECT_EQ(serialise(demo()), serialise(demo()));
}

TEST(Catalog, SshByDropbear) {
    DefinitionDir dir;
    auto plan = dir.eval(
        "return system { services = { service 'ssh' { port = 2222, root_login = false } } }");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    const Json& ssh = *service(*plan, "ssh");
    // Host keys made by dropbear at a client's first ask: nothing runs before it.
    EXPECT_EQ(ssh["argv"],
              Json({"/usr/sbin/dropbear", "-F", "-E", "-p", "2222", "-R", "-s", "-w"}));
    EXPECT_EQ(ssh["readiness"], "tcp:2222");
    EXPECT_FALSE(ssh.contains("depends"));
    EXPECT_EQ(service(*plan, "ssh-hostkey"), nullptr);
    // A pinned key type: only that key, made at boot before dropbear starts.
    auto pinned = dir.eval("return system { services = { service 'ssh' { key_type = 'ecdsa' } } }");
    ASSERT_TRUE(pinned.ok()) << pinned.error().message();
    EXPECT_EQ((*service(*pinned, "ssh"))["argv"],
              Json({"/usr/sbin/dropbear", "-F", "-E", "-p", "22", "-r",
                    "/etc/dropbear/dropbear_ecdsa_host_key", "-s"}));
    EXPECT_EQ((*service(*pinned, "ssh"))["depends"], Json({"ssh-hostkey"}));
    const Json& key = *service(*pinned, "ssh-hostkey");
    EXPECT_EQ(key["type"], "oneshot");
    EXPECT_NE(key["argv"][3].get<std::string>().find("dropbearkey -t ecdsa"), std::string::npos);
    EXPECT_EQ(plan->packages, (std::vector<std::string>{"busybox", "dropbear-bin"}));
    EXPECT_EQ(plan->files.lookup("/etc/dropbear")->mode, 0700u);
    EXPECT_EQ(plan->prune.remove,
              (std::vector<std::string>{"/usr/bin/dbclient", "/usr/bin/dropbearconvert",
                                        "/usr/lib/dropbear"}));
    auto client = dir.eval("return system { services = { service 'ssh' { client = true } } }");
    ASSERT_TRUE(client.ok()) << client.error().message();
    EXPECT_TRUE(client->prune.remove.empty()) << "client = true keeps dbclient";
    // A system naming busybox-static gets it instead of the catalog's busybox.
    auto st = dir.eval(
        "return system { packages = { 'busybox-static' }, services = { 'ssh', 'httpd' } }");
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_EQ(st->packages, (std::vector<std::string>{"busybox-static", "dropbear-bin"}));
    EXPECT_EQ(st->files.lookup("/usr/bin/sh", false)->target, "busybox");
}

TEST(Catalog, HttpdNtpdGettyToastLuad) {
    DefinitionDir dir;
    dir.write("index.html", "<h1>hi</h1>\n");
    auto plan = dir.eval(R"(return system {
  hostname = "box",
  services = {
    service "httpd" { port = 8080, root = "/srv/site", index = file "index.html" },
    service "ntpd" { servers = { "a.example", "b.example" } },
    service "getty" { console = "ttyS1", login = false },
    service "toast" { console = "/dev/tty1" },
    service "luad" { preload = { "keel.util" }, max_children = 4 },
  },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ((*service(*plan, "httpd"))["argv"],
              Json({"busybox", "httpd", "-f", "-p", "8080", "-h", "/srv/site"}));
    EXPECT_EQ((*service(*plan, "httpd"))["user"], "www-data");
    EXPECT_FALSE(service(*plan, "httpd")->contains("capabilities"));  // 8080 needs none
    EXPECT_EQ(data_at(*plan, "/srv/site/index.html"), "<h1>hi</h1>\n");
    EXPECT_EQ((*service(*plan, "ntpd"))["argv"],
              Json({"/usr/sbin/ntpd", "-d", "-f", "/etc/openntpd/ntpd.conf", "-s"}));
    EXPECT_EQ((*service(*plan, "getty"))["argv"],
              Json({"busybox", "getty", "-L", "-n", "-l", "/bin/sh", "115200", "ttyS1", "vt100"}));
    EXPECT_EQ((*service(*plan, "toast"))["argv"],
              Json({"keel", "lua", "/usr/share/keel/toast.lua", "/dev/tty1", "toast.in"}));
    EXPECT_NE(data_at(*plan, "/usr/share/keel/toast.lua").find("bus:subscribe(subject"),
              std::string::npos);
    EXPECT_EQ(plan->manifest["lua"], Json({{"preload", {"keel.util"}}, {"max_children", 4}}));
    // The default page names the host.
    auto plain = dir.eval("return system { hostname = 'web1', services = { 'httpd' } }");
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    EXPECT_NE(data_at(*plain, "/srv/www/index.html").find("web1"), std::string::npos);
    EXPECT_EQ((*service(*plain, "httpd"))["capabilities"]["ambient"], Json({"net_bind_service"}));
}

// OpenNTPD with what its maintainer scripts would have made: the config, the
// privilege-separation user (a system uid) and its root-owned chroot, state dirs.
TEST(Catalog, NtpdIsOpenNtpdWithItsUserAndFiles) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  network = { interfaces = { eth0 = { dhcp = true } } },
  services = { service "ntpd" { servers = { "a.example", "192.0.2.1" }, listen = { "127.0.0.1" }, set_time = false } },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->packages, (std::vector<std::string>{"busybox", "openntpd"}));
    EXPECT_EQ(plan->exclude, (std::vector<std::string>{"adduser", "lsb-base"}));
    const Json& ntpd = *service(*plan, "ntpd");
    EXPECT_EQ(ntpd["argv"], Json({"/usr/sbin/ntpd", "-d", "-f", "/etc/openntpd/ntpd.conf"}));
    EXPECT_EQ(ntpd["depends"], Json({"net"}));
    EXPECT_EQ(data_at(*plan, "/etc/openntpd/ntpd.conf"),
              "# Written by keel build from service \"ntpd\"; see ntpd.conf(5).\n"
              "listen on 127.0.0.1\nservers a.example\nservers 192.0.2.1\n");
    EXPECT_NE(data_at(*plan, "/etc/passwd")
                  .find("ntpd:x:102:102:OpenNTPD privilege "
                        "separation:/var/lib/openntpd/chroot:/usr/sbin/nologin\n"),
              std::string::npos)
        << data_at(*plan, "/etc/passwd")
        << "(uids from 100: 100 and 101 are the users and input groups)";
    EXPECT_NE(data_at(*plan, "/etc/group").find("ntpd:x:102:\n"), std::string::npos);
    EXPECT_NE(data_at(*plan, "/etc/shadow").find("ntpd:*:"), std::string::npos);
    for (const char* d :
         {"/var/lib/openntpd/chroot", "/var/lib/openntpd/db", "/var/lib/openntpd/run"}) {
        const Node* n = plan->files.lookup(d);
        ASSERT_NE(n, nullptr) << d;
        EXPECT_EQ(n->kind, Node::Kind::dir) << d;
        EXPECT_EQ(n->mode, 0755u) << d;  // ntpd refuses a chroot others can write to
        EXPECT_EQ(n->uid, 0u) << d;
    }
    // A definition's own user of that name is kept; a bad server name is refused.
    auto own = dir.eval(
        "return system { users = { user { name = 'ntpd', uid = 500 } }, services = { 'ntpd' } }");
    ASSERT_TRUE(own.ok()) << own.error().message();
    EXPECT_NE(data_at(*own, "/etc/passwd").find("ntpd:x:500:"), std::string::npos)
        << data_at(*own, "/etc/passwd");
    EXPECT_EQ(dir.error("return system {\n  services = {\n    service 'ntpd' { servers = { 'a b' } "
                        "},\n  },\n}\n"),
              "system.lua:3: service \"ntpd\": servers: \"a b\" is not a host name or address");
}

// exclude: what the closure goes without; prune: what is left out of the packages'
// files; busybox_links. Named in the plan as the builder and the lock need them.
TEST(Definition, ExcludePruneAndBusyboxLinks) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  packages = { "dropbear-bin" },
  exclude = { "libgmp10", "zlib1g" },
  prune = { keep = { "/usr/lib/*/gconv/UTF-16.so" }, remove = { "/usr/bin/dbclient" }, libraries = false },
  busybox_links = false,
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->exclude, (std::vector<std::string>{"libgmp10", "zlib1g"}));
    EXPECT_TRUE(plan->prune.enabled);
    EXPECT_EQ(plan->prune.keep, (std::vector<std::string>{"/usr/lib/*/gconv/UTF-16.so"}));
    EXPECT_EQ(plan->prune.remove, (std::vector<std::string>{"/usr/bin/dbclient"}));
    EXPECT_FALSE(plan->prune.libraries);
    EXPECT_TRUE(plan->prune.strip);
    EXPECT_FALSE(plan->busybox_links);
    auto off = dir.eval("return system { prune = false }");
    ASSERT_TRUE(off.ok()) << off.error().message();
    EXPECT_FALSE(off->prune.enabled);
    // A catalog entry's exclusion gives way to a package the system names.
    auto named = dir.eval("return system { packages = { 'adduser' }, services = { 'ntpd' } }");
    ASSERT_TRUE(named.ok()) << named.error().message();
    EXPECT_EQ(named->exclude, (std::vector<std::string>{"lsb-base"}));
}

TEST(Catalog, CoreServicesAlwaysThereAndCommonOptions) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  services = {
    service "web" { argv = { "/usr/bin/web", "--port", "1" }, depends = { "bus" }, restart = "on-failure",
                    env = { MODE = "prod" }, user = "nobody" },
    service "ntpd" { stop_timeout = "2s" },
  },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_NE(service(*plan, "bus"), nullptr);
    EXPECT_NE(service(*plan, "dev"), nullptr);
    EXPECT_EQ(service(*plan, "net"), nullptr);  // no network declared
    const Json& web = *service(*plan, "web");
    EXPECT_EQ(web,
              Json::parse(R"({"name":"web","argv":["/usr/bin/web","--port","1"],"depends":["bus"],
        "restart":"on-failure","env":{"MODE":"prod"},"user":"nobody"})"));
    EXPECT_EQ((*service(*plan, "ntpd"))["stop_timeout"], "2s");
    EXPECT_FALSE(service(*plan, "ntpd")->contains("depends"));
    auto init = init::parse_manifest(plan->manifest.dump(), "system.json");
    EXPECT_TRUE(init.ok()) << init.error().message();
}

TEST(Catalog, BusConnectTimeout) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  services = { service "bus" { connect_timeout = 0.5 } },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ((*service(*plan, "bus"))["argv"],
              Json({"keel", "bus", "--ready-fd", "3", "--connect-timeout", "0.5"}));
    auto negative = dir.eval(R"(return system {
  services = { service "bus" { connect_timeout = -1 } },
})");
    ASSERT_FALSE(negative.ok());
    EXPECT_NE(negative.error().message().find("connect_timeout must be 0 or more seconds"),
              std::string::npos)
        << negative.error().message();
}

TEST(Definition, ButtonsBecomeKeelDevsButtonSettings) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  buttons = { power = "reboot", sleep = "ignore" },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    EXPECT_EQ(plan->manifest["dev"]["buttons"],
              Json::parse(R"({"power":"reboot","sleep":"ignore"})"));
    auto dev = dev::parse_dev_config(plan->manifest["dev"].dump());
    ASSERT_TRUE(dev.ok()) << dev.error().message();
    EXPECT_EQ(dev->buttons.action(dev::Button::kPower), dev::ButtonAction::kReboot);
    EXPECT_EQ(dev->buttons.action(dev::Button::kReboot), dev::ButtonAction::kReboot);
    EXPECT_EQ(dev->buttons.action(dev::Button::kSleep), dev::ButtonAction::kIgnore);
    // Without the key, keel dev's defaults (the power button powers off).
    auto plain = dir.eval("return system {}");
    ASSERT_TRUE(plain.ok()) << plain.error().message();
    EXPECT_FALSE(plain->manifest["dev"].contains("buttons"));
}

TEST(Definition, UsersGroupsAndIds) {
    DefinitionDir dir;
    auto plan = dir.eval(R"(return system {
  groups = { group { name = "ops" }, group { name = "audit", gid = 3000 } },
  users = {
    user { name = "root", password = "$6$salt$hash", ssh_keys = { "ssh-ed25519 AAAAroot root@x" } },
    user { name = "bob", uid = 1500, groups = { "ops" } },
    user { name = "ann", group = "ops", home = "/srv/ann", shell = "/bin/ash", gecos = "Ann" },
  },
})");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    std::string passwd = data_at(*plan, "/etc/passwd");
    EXPECT_NE(passwd.find("bob:x:1500:1500::/home/bob:/bin/sh\n"), std::string::npos) << passwd;
    EXPECT_NE(passwd.find("ann:x:1000:1000:Ann:/srv/ann:/bin/ash\n"), std::string::npos) << passwd;
    std::string group = data_at(*plan, "/etc/group");
    EXPECT_NE(group.find("ops:x:1000:bob\n"), std::string::npos) << group;
    EXPECT_NE(group.find("audit:x:3000:\n"), std::string::npos) << group;
    EXPECT_NE(group.find("bob:x:1500:\n"), std::string::npos) << group;
    EXPECT_NE(data_at(*plan, "/etc/shadow").find("root:$6$salt$hash::0:99999:7:::\n"),
              std::string::npos);
    EXPECT_EQ(data_at(*plan, "/root/.ssh/authorized_keys"), "ssh-ed25519 AAAAroot root@x\n");
    EXPECT_EQ(plan->files.lookup("/srv/ann")->gid, 1000u);
    // Sorted by id, so the order of declarations elsewhere does not matter.
    EXPECT_LT(passwd.find("ann:"), passwd.find("bob:"));
}

TEST(Definition, EtcFilesNetworkAndInputs) {
    DefinitionDir dir;
    dir.write("conf/motd", "welcome\n");
    dir.write("conf/extra.lua", "return { 'vfat' }\n");
    ::setenv("KEEL_DSL_TEST_SITE", "lab", 1);
    auto plan = dir.eval(R"(
local mods = import "conf/extra.lua"
return system {
  hostname = env "KEEL_DSL_TEST_SITE" .. "-gw",
  network = {
    interfaces = { eth0 = { addresses = { "10.0.0.2/24" }, routes = { { to = "default", via = "10.0.0.1" } } } },
    dns = { servers = { "10.0.0.1" }, search = { "lan" } },
  },
  filesystems = { { device = "LABEL=data", mount = "/data", type = "ext4", options = { "noatime" }, pass = 2 } },
  files = {
    ["/etc/motd"] = file "conf/motd",
    ["/etc/app.conf"] = { content = "x=1\n", mode = 384, owner = "nobody" },
    ["/usr/bin/true2"] = host "/bin/true",
  },
  kernel = { modules = mods },
}
)");
    ASSERT_TRUE(plan.ok()) << plan.error().message();
    ::unsetenv("KEEL_DSL_TEST_SITE");
    EXPECT_EQ(plan->hostname, "lab-gw");
    EXPECT_EQ(data_at(*plan, "/etc/resolv.conf"), "nameserver 10.0.0.1\nsearch lan\n");
    EXPECT_EQ(data_at(*plan, "/etc/fstab"), "LABEL=data\t/data\text4\tnoatime\t0\t2\n");
    EXPECT_EQ(data_at(*plan, "/etc/motd"), "welcome\n");
    EXPECT_EQ(plan->files.lookup("/etc/app.conf")->mode, 0600u);
    EXPECT_EQ(plan->files.lookup("/etc/app.conf")->uid, 65534u);
    EXPECT_EQ(plan->kernel_modules, std::vector<std::string>{"vfat"});
    ASSERT_EQ(plan->host_files.size(), 1u);
    EXPECT_EQ(plan->host_files[0].source, "/bin/true");
    EXPECT_EQ(plan->host_files[0].dest, "/usr/bin/true2");
    auto net = net::parse_config(plan->manifest["net"]);
    EXPECT_TRUE(net.ok()) << net.error().message();
    EXPECT_EQ(plan->inputs,
              (std::vector<std::string>{dir.path() + "/system.lua", dir.path() + "/conf/extra.lua",
                                        "env:KEEL_DSL_TEST_SITE", dir.path() + "/conf/motd"}));
}

}  // namespace
}  // namespace keel::image::test
