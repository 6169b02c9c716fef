// The planner on fixed states: only differences become changes, unmanaged things
// are left alone, and a config that does not fit changes nothing.
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net/plan.h"

namespace keel::net {
namespace {

Link link(int index, const std::string& name, bool up = true, const std::string& kind = "") {
    Link l;
    l.index = index;
    l.name = name;
    l.kind = kind;
    l.mtu = 1500;
    l.flags = up ? IFF_UP | IFF_LOWER_UP : 0;
    return l;
}

Address addr(int index, const std::string& p, bool permanent = true,
             uint8_t scope = RT_SCOPE_UNIVERSE) {
    Address a;
    a.index = index;
    a.prefix = *IpPrefix::parse(p);
    a.flags = permanent ? IFA_F_PERMANENT : 0;
    a.scope = scope;
    return a;
}

Route route(int oif, const std::string& dst, const std::string& via, uint8_t proto,
            uint32_t metric = 0) {
    Route r;
    r.dst = *IpPrefix::parse(dst);
    r.family = r.dst.addr.family;
    if (!via.empty()) r.gateway = *IpAddress::parse(via);
    r.oif = oif;
    r.protocol = proto;
    r.metric = metric;
    r.scope = via.empty() && r.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    return r;
}

NetConfig config(const std::string& text) {
    auto c = parse_config_text(text, "net");
    EXPECT_TRUE(c.ok()) << c.error().message();
    return *c;
}

std::vector<std::string> texts(const Result<Plan>& p) {
    std::vector<std::string> out;
    EXPECT_TRUE(p.ok()) << p.error().message();
    if (p)
        for (const auto& c : p->changes)
            out.push_back(c.text);
    return out;
}

TEST(Plan, MatchingStateNeedsNoChange) {
    NetState s;
    s.links = {link(1, "lo"), link(2, "eth0")};
    s.addresses = {addr(1, "127.0.0.1/8", true, RT_SCOPE_HOST), addr(2, "10.0.0.2/24"),
                   addr(2, "fe80::1/64"), addr(2, "10.0.0.99/24", false)};  // a lease: not ours
    s.routes = {route(2, "10.0.0.0/24", "", RTPROT_KERNEL),
                route(2, "0.0.0.0/0", "10.0.0.1", RTPROT_STATIC),
                route(2, "10.8.0.0/16", "10.0.0.1", RTPROT_DHCP)};
    auto c = config(
        R"({"interfaces": {"eth0": {"addresses": ["10.0.0.2/24"], "routes": [{"to": "default", "via": "10.0.0.1"}]},
                                       "lo": {}}})");
    EXPECT_EQ(texts(make_plan(c, nullptr, s)), std::vector<std::string>{});
}

TEST(Plan, OnlyTheDifferenceInOrder) {
    NetState s;
    s.links = {link(2, "eth0", false), link(3, "eth1")};
    s.links[0].mtu = 1500;
    s.addresses = {addr(2, "10.0.0.2/24"), addr(2, "10.0.0.3/24"), addr(3, "192.168.1.5/24")};
    s.routes = {route(2, "10.5.0.0/16", "10.0.0.1", RTPROT_BOOT),
                route(2, "0.0.0.0/0", "10.0.0.1", RTPROT_STATIC)};
    auto c =
        config(R"({"interfaces": {"eth0": {"mtu": 9000, "addresses": ["10.0.0.2/24", "10.0.0.4/24"],
                         "routes": [{"to": "default", "via": "10.0.0.254"}, {"to": "10.6.0.0/16", "via": "10.0.0.1", "metric": 5}]}}})");
    EXPECT_EQ(texts(make_plan(c, nullptr, s)),
              (std::vector<std::string>{
                  "eth0: set mtu 9000",
                  "eth0: set up",
                  "eth0: remove route 10.5.0.0/16 via 10.0.0.1 dev eth0",
                  "eth0: remove address 10.0.0.3/24",
                  "eth0: add address 10.0.0.4/24",
                  "eth0: replace route default via 10.0.0.1 dev eth0 with default via 10.0.0.254 "
                  "dev eth0",
                  "eth0: add route 10.6.0.0/16 via 10.0.0.1 metric 5 dev eth0",
              }));
}

TEST(Plan, MissingInterfaceFailsNamingEveryProblem) {
    NetState s;
    s.links = {link(2, "eth0")};
    auto c = config(
        R"({"interfaces": {"eth0": {"addresses": ["10.0.0.2/24"]}, "eth9": {}, "eth8": {"bridge": "br9"}}})");
    auto p = make_plan(c, nullptr, s);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message(), "interface eth8 not found; interface eth9 not found");
    // The daemon's mode: plan the rest, list the absent.
    auto lenient = make_plan(c, nullptr, s, PlanOptions{true});
    EXPECT_EQ(texts(lenient), std::vector<std::string>{"eth0: add address 10.0.0.2/24"});
    EXPECT_EQ(lenient->missing, (std::vector<std::string>{"eth8", "eth9"}));
}

TEST(Plan, CreatesVirtualLinksBeforeUsingThem) {
    NetState s;
    s.links = {link(2, "eth0")};
    auto c = config(R"({"interfaces": {"br0": {"kind": "bridge", "addresses": ["10.1.0.1/24"]},
                                       "eth0": {"bridge": "br0"},
                                       "eth0.5": {"kind": "vlan", "parent": "eth0", "vlan_id": 5}}})");
    EXPECT_EQ(texts(make_plan(c, nullptr, s)), (std::vector<std::string>{
                                                   "create bridge br0",
                                                   "create vlan eth0.5 (eth0 id 5)",
                                                   "eth0: join bridge br0",
                                                   "br0: set up",
                                                   "eth0.5: set up",
                                                   "br0: add address 10.1.0.1/24",
                                               }));
}

TEST(Plan, KindMismatchIsRefused) {
    NetState s;
    s.links = {link(2, "br0", true, "veth")};
    auto p = make_plan(config(R"({"interfaces": {"br0": {"kind": "bridge"}}})"), nullptr, s);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message(), "interface br0 exists as a veth, the config says bridge");
}

TEST(Plan, RenamesTheLinkWithTheMac) {
    NetState s;
    s.links = {link(2, "eth0")};
    s.links[0].mac = *MacAddress::parse("52:54:00:00:00:01");
    auto c = config(R"({"interfaces": {"lan": {"match": {"mac": "52:54:00:00:00:01"}}}})");
    EXPECT_EQ(texts(make_plan(c, nullptr, s)),
              (std::vector<std::string>{"eth0: set down (to rename)", "rename eth0 to lan",
                                        "lan: set up"}));
}

TEST(Plan, TakesBackWhatOnlyThePreviousConfigHad) {
    NetState s;
    s.links = {link(2, "eth0"), link(3, "br0", true, "bridge"), link(4, "eth1")};
    s.addresses = {addr(4, "10.4.0.1/24"), addr(4, "10.4.0.9/24")};
    s.routes = {route(4, "10.40.0.0/16", "10.4.0.254", RTPROT_STATIC)};
    auto prev =
        config(R"({"interfaces": {"br0": {"kind": "bridge"}, "eth1": {"addresses": ["10.4.0.1/24"],
                           "routes": [{"to": "10.40.0.0/16", "via": "10.4.0.254"}]}}})");
    auto want = config(R"({"interfaces": {"eth0": {}}})");
    EXPECT_EQ(texts(make_plan(want, &prev, s)),
              (std::vector<std::string>{
                  "delete bridge br0",
                  "eth1: remove route 10.40.0.0/16 via 10.4.0.254 dev eth1",
                  "eth1: remove address 10.4.0.1/24",
              }));
}

TEST(Plan, Ipv6RoutesUseTheKernelDefaultMetric) {
    NetState s;
    s.links = {link(2, "eth0")};
    s.routes = {route(2, "fd01::/64", "fd00::1", RTPROT_STATIC, 1024)};
    auto c =
        config(R"({"interfaces": {"eth0": {"routes": [{"to": "fd01::/64", "via": "fd00::1"}]}}})");
    EXPECT_EQ(texts(make_plan(c, nullptr, s)), std::vector<std::string>{});
}

}  // namespace
}  // namespace keel::net
