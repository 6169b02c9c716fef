#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "base/sys.h"
#include "net/dhcp_lease.h"
#include "net/resolv_conf.h"

namespace keel::net {
namespace {

Result<Lease> from(const std::string& event, std::map<std::string, std::string> env) {
    return lease_from_env(event, [&](const char* k) -> const char* {
        auto it = env.find(k);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

const std::map<std::string, std::string> kBound = {{"interface", "eth0"},
                                                   {"ip", "10.9.0.141"},
                                                   {"mask", "24"},
                                                   {"router", "10.9.0.1 10.9.0.2"},
                                                   {"dns", "10.9.0.53 10.9.0.54"},
                                                   {"domain", "example.test"},
                                                   {"lease", "600"},
                                                   {"serverid", "10.9.0.1"},
                                                   {"broadcast", "10.9.0.255"}};

TEST(DhcpLease, FromUdhcpcEnvironment) {
    auto l = from("bound", kBound);
    ASSERT_TRUE(l.ok()) << l.error().message();
    EXPECT_EQ(l->address.to_string(), "10.9.0.141/24");
    EXPECT_EQ(l->routers.size(), 2u);
    EXPECT_EQ(l->search, std::vector<std::string>{"example.test"});
    EXPECT_EQ(l->lease_time, 600u);
    auto again = lease_from_json(to_json(*l));
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(*again, *l);

    auto d = from("deconfig", {{"interface", "eth0"}});
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->bound());

    auto bad = kBound;
    bad["ip"] = "10.9.0.300";
    EXPECT_EQ(from("bound", bad).error().message(),
              "udhcpc: $ip: '10.9.0.300' is not an IPv4 address");
    EXPECT_FALSE(from("bound", {{"ip", "10.0.0.1"}}).ok());  // no interface
}

TEST(DhcpLease, PlanAddsWithLifetimeAndTakesBack) {
    auto l = *from("bound", kBound);
    DhcpConfig cfg;
    cfg.enabled = true;
    Plan p = lease_plan(l, nullptr, cfg);
    ASSERT_EQ(p.changes.size(), 2u);
    EXPECT_EQ(p.changes[0].op, Change::Op::kAddAddress);
    EXPECT_EQ(p.changes[0].address.valid_lft, 600u);
    EXPECT_EQ(p.changes[1].op, Change::Op::kReplaceRoute);
    EXPECT_EQ(p.changes[1].route.protocol, RTPROT_DHCP);
    EXPECT_EQ(p.changes[1].route.metric, 1024u);
    EXPECT_EQ(p.changes[1].route.gateway.to_string(), "10.9.0.1");

    Lease gone;
    gone.event = "deconfig";
    gone.ifname = "eth0";
    Plan back = lease_plan(gone, &l, cfg);
    ASSERT_EQ(back.changes.size(), 2u);
    EXPECT_EQ(back.changes[0].op, Change::Op::kDeleteRoute);
    EXPECT_EQ(back.changes[1].op, Change::Op::kDeleteAddress);

    // Classless routes replace the router option (RFC 3442).
    auto with_static = kBound;
    with_static["staticroutes"] = "10.20.0.0/16 10.9.0.7 0.0.0.0/0 10.9.0.1";
    Plan sr = lease_plan(*from("bound", with_static), nullptr, cfg);
    ASSERT_EQ(sr.changes.size(), 3u);
    EXPECT_EQ(sr.changes[1].route.dst.to_string(), "10.20.0.0/16");
    cfg.use_routes = false;
    EXPECT_EQ(lease_plan(l, nullptr, cfg).changes.size(), 1u);
}

TEST(ResolvConf, RendersAndWritesOnlyChanges) {
    DnsSettings d{{*IpAddress::parse("10.0.0.53")}, {"lan"}};
    d.merge({{*IpAddress::parse("10.0.0.53"), *IpAddress::parse("fd00::53")}, {"lan", "corp"}});
    const std::string text = render_resolv_conf(d);
    EXPECT_EQ(text,
              "# Written by keel net; changes here are overwritten.\nnameserver "
              "10.0.0.53\nnameserver fd00::53\nsearch lan corp\n");
    auto dir =
        std::filesystem::temp_directory_path() / ("keel-resolv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "resolv.conf").string();
    EXPECT_TRUE(*write_file_if_changed(path, text));
    EXPECT_FALSE(*write_file_if_changed(path, text));
    EXPECT_EQ(*sys::read_file(path), text);
    EXPECT_FALSE(std::filesystem::exists(path + ".keel-tmp"));
    EXPECT_FALSE(write_file_if_changed((dir / "no/such/dir/resolv.conf").string(), text).ok());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keel::net
