#include <gtest/gtest.h>

#include "net/config.h"

namespace keel::net {
namespace {

std::string error_of(const std::string& text) {
    auto c = parse_config_text(text, "net");
    return c ? std::string("(parsed)") : c.error().message();
}

TEST(NetConfig, ParsesAFullConfig) {
    auto c = parse_config_text(R"({
      "interfaces": {
        "lan": {"match": {"mac": "52:54:00:12:34:56"}, "mtu": 9000, "bridge": "br0"},
        "br0": {"kind": "bridge", "addresses": ["10.0.0.1/24", "fd00::1/64"],
                "routes": [{"to": "default", "via": "10.0.0.254", "metric": 10},
                           {"to": "10.9.0.7/16", "table": 100}]},
        "wan": {"dhcp": {"hostname": "box", "metric": 50}, "ipv6_autoconf": true},
        "v0": {"kind": "vlan", "parent": "wan", "vlan_id": 7, "up": false}
      },
      "dns": {"servers": ["10.0.0.53", "fd00::53"], "search": ["lan"]}})",
                               "net");
    ASSERT_TRUE(c.ok()) << c.error().message();
    ASSERT_EQ(c->interfaces.size(), 4u);
    const InterfaceConfig* br = c->find("br0");
    ASSERT_TRUE(br);
    EXPECT_EQ(br->routes[0].to.len, 0);
    EXPECT_EQ(br->routes[1].to.to_string(), "10.9.0.0/16");  // network form
    EXPECT_EQ(br->routes[1].table, 100u);
    EXPECT_EQ(c->find("lan")->match_mac->to_string(), "52:54:00:12:34:56");
    EXPECT_EQ(c->find("wan")->dhcp.metric, 50u);
    EXPECT_TRUE(c->find("wan")->dhcp.enabled);
    EXPECT_FALSE(c->find("v0")->up);
    EXPECT_TRUE(c->manage_dns);
    EXPECT_EQ(c->dns_servers.size(), 2u);
    // Serialising and parsing again gives the same config.
    auto again = parse_config(to_json(*c));
    ASSERT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(*again, *c);
}

TEST(NetConfig, ErrorsNameThePath) {
    EXPECT_EQ(error_of(R"({"interfaces": {"eth0": {"mtu": 20}}})"),
              "net.interfaces.eth0.mtu: must be an integer from 68 to 65535");
    EXPECT_EQ(error_of(R"({"interfaces": {"eth0": {"adresses": []}}})"),
              "net.interfaces.eth0.adresses: unknown key");
    EXPECT_EQ(error_of(R"({"interface": {}})"), "net.interface: unknown key");
    EXPECT_EQ(
        error_of(R"({"interfaces": {"eth0": {"addresses": ["10.0.0.1/24", "10.0.0.300/24"]}}})"),
        "net.interfaces.eth0.addresses[1]: '10.0.0.300/24' is not an address with a prefix length "
        "(like 10.0.0.2/24)");
    EXPECT_EQ(error_of(R"({"interfaces": {"eth0": {"addresses": ["10.0.0.1"]}}})"),
              "net.interfaces.eth0.addresses[0]: '10.0.0.1' is not an address with a prefix length "
              "(like 10.0.0.2/24)");
    EXPECT_EQ(
        error_of(
            R"({"interfaces": {"eth0": {"routes": [{"to": "10.1.0.0/16", "via": "fd00::1"}]}}})"),
        "net.interfaces.eth0.routes[0].via: fd00::1 is not of the family of 10.1.0.0/16");
    EXPECT_EQ(error_of(R"({"interfaces": {"e": {"kind": "bond"}}})"),
              "net.interfaces.e.kind: 'bond' is not one of dummy, bridge, veth, vlan");
    EXPECT_EQ(error_of(R"({"interfaces": {"e": {"kind": "vlan", "parent": "x"}}})"),
              "net.interfaces.e: a vlan needs \"parent\" and \"vlan_id\"");
    EXPECT_EQ(error_of(R"({"interfaces": {"this-name-is-too-long": {}}})"),
              "net.interfaces.this-name-is-too-long: 'this-name-is-too-long' is not a valid "
              "interface name (1-15 characters, no '/', ':' or spaces)");
    EXPECT_EQ(error_of(R"({"interfaces": {"a": {"bridge": "b"}, "b": {"kind": "dummy"}}})"),
              "net.interfaces.a.bridge: b is configured as kind 'dummy', not bridge");
    EXPECT_EQ(error_of(R"({"dns": {"servers": ["one.one.one.one"]}})"),
              "net.dns.servers[0]: 'one.one.one.one' is not an IP address");
    EXPECT_EQ(error_of(R"([1])"), "net: must be an object");
    EXPECT_NE(error_of(R"({"interfaces": )").find("net: not valid JSON"), std::string::npos);
}

TEST(NetConfig, ManifestTakesItsNetKey) {
    auto missing = load_manifest("/nonexistent/system.json", true);
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
    EXPECT_FALSE(load_manifest("/nonexistent/system.json", false).ok());
}

}  // namespace
}  // namespace keel::net
