// What the kernel holds: links, addresses and routes as decoded from rtnetlink.
// Plain values; the same structs describe changes to make.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/ip_address.h"

namespace keel::net {

struct Link {
    int index = 0;
    std::string name;
    std::string kind;    // IFLA_INFO_KIND: "bridge", "vlan", "veth", "dummy"...; empty: physical
    uint32_t flags = 0;  // IFF_*
    uint32_t mtu = 0;
    uint16_t type = 0;  // ARPHRD_*
    MacAddress mac;
    int master = 0;  // bridge (IFLA_MASTER), 0: none
    int parent = 0;  // IFLA_LINK: the VLAN's or veth peer's link
    int vlan_id = -1;
    uint8_t operstate = 0;  // IF_OPER_*
    bool admin_up() const;
    bool carrier() const;  // IFF_LOWER_UP
    // "Up" as events mean it: administratively up and with carrier.
    bool running() const { return admin_up() && carrier(); }
};

struct Address {
    int index = 0;  // link
    IpPrefix prefix;
    IpAddress peer;       // IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point)
    IpAddress broadcast;  // IPv4 only
    std::string label;
    uint8_t scope = 0;
    uint32_t flags = 0;                                           // IFA_F_*
    uint32_t valid_lft = 0xffffffff, preferred_lft = 0xffffffff;  // seconds; ~0: forever
    bool permanent() const;
};

struct Route {
    int family = 0;
    IpPrefix dst;  // family's zero address and len 0: default
    IpAddress gateway;
    IpAddress prefsrc;
    int oif = 0;
    uint32_t table = 254;  // RT_TABLE_MAIN
    uint32_t metric = 0;   // RTA_PRIORITY
    uint8_t protocol = 0;  // RTPROT_*
    uint8_t scope = 0;     // RT_SCOPE_*
    uint8_t type = 1;      // RTN_UNICAST
    uint8_t tos = 0;
    bool is_default() const { return dst.len == 0; }
};

// A snapshot of one network namespace.
struct NetState {
    std::vector<Link> links;
    std::vector<Address> addresses;
    std::vector<Route> routes;

    const Link* link(int index) const;
    const Link* link(const std::string& name) const;
    std::string link_name(int index) const;  // "" when unknown
};

// Names for the numeric fields, as iproute2 prints them.
std::string protocol_name(uint8_t p);
std::string scope_name(uint8_t s);
std::string route_type_name(uint8_t t);
std::string table_name(uint32_t t);
std::string operstate_name(uint8_t s);
std::string family_name(int family);  // "inet", "inet6"

}  // namespace keel::net
