// NetConfig: the declarative "net" section of the manifest (docs/manifest.md):
// interfaces by name (or matched by MAC), their addresses, routes, DHCP, bridge
// and VLAN membership, and the DNS servers written to resolv.conf. Parsing
// rejects unknown keys and bad values with the JSON path of the culprit.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/ip_address.h"

namespace keel::net {

struct RouteConfig {
    IpPrefix to;  // network form; len 0: default
    IpAddress via;
    IpAddress src;
    std::optional<uint32_t> metric;  // unset: 0 for IPv4, 1024 for IPv6 (the kernel's defaults)
    uint32_t table = 254;
    bool operator==(const RouteConfig&) const = default;
};

struct DhcpConfig {
    bool enabled = false;
    std::string hostname;    // sent as option 12 when set
    uint32_t metric = 1024;  // of the routes a lease brings
    bool use_dns = true;
    bool use_routes = true;
    bool operator==(const DhcpConfig&) const = default;
};

struct InterfaceConfig {
    std::string name;
    std::optional<MacAddress> match_mac;  // find the link by MAC and give it `name`
    std::string kind;                     // "", "dummy", "bridge", "veth", "vlan"
    std::string peer;                     // veth
    std::string parent;                   // vlan
    int vlan_id = -1;                     // vlan
    bool up = true;
    std::optional<uint32_t> mtu;
    std::optional<MacAddress> mac;
    std::string bridge;  // master; empty: none
    std::vector<IpPrefix> addresses;
    std::vector<RouteConfig> routes;
    DhcpConfig dhcp;
    std::optional<bool> ipv6_autoconf;  // SLAAC by sysctl (autoconf, accept_ra)
    bool virtual_link() const { return !kind.empty(); }
    bool operator==(const InterfaceConfig&) const = default;
};

struct NetConfig {
    std::vector<InterfaceConfig> interfaces;  // sorted by name
    bool manage_dns = false;                  // "dns" present: resolv.conf is ours
    std::vector<IpAddress> dns_servers;
    std::vector<std::string> dns_search;

    const InterfaceConfig* find(const std::string& name) const;
    bool operator==(const NetConfig&) const = default;
};

// `where` names the section in errors ("net", or the file for --config).
Result<NetConfig> parse_config(const nlohmann::json& section, const std::string& where = "net");
Result<NetConfig> parse_config_text(std::string_view text, const std::string& where);
// A file holding just the net section.
Result<NetConfig> load_config_file(const std::string& path);
// The manifest's "net" key; nothing when the manifest has none. A missing
// manifest is not an error when `missing_ok`.
Result<std::optional<NetConfig>> load_manifest(const std::string& path, bool missing_ok);

nlohmann::json to_json(const NetConfig& c);

}  // namespace keel::net
