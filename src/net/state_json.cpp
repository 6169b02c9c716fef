#include "net/state_json.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

namespace keel::net {
namespace {

nlohmann::json link_flags(uint32_t f) {
    static const std::pair<uint32_t, const char*> kFlags[] = {{IFF_LOOPBACK, "LOOPBACK"},
                                                              {IFF_BROADCAST, "BROADCAST"},
                                                              {IFF_POINTOPOINT, "POINTOPOINT"},
                                                              {IFF_MULTICAST, "MULTICAST"},
                                                              {IFF_NOARP, "NOARP"},
                                                              {IFF_PROMISC, "PROMISC"},
                                                              {IFF_UP, "UP"},
                                                              {IFF_LOWER_UP, "LOWER_UP"}};
    nlohmann::json out = nlohmann::json::array();
    for (auto [bit, name] : kFlags)
        if (f & bit) out.push_back(name);
    return out;
}

nlohmann::json address_flags(uint32_t f) {
    static const std::pair<uint32_t, const char*> kFlags[] = {
        {IFA_F_PERMANENT, "permanent"},      {IFA_F_SECONDARY, "secondary"},
        {IFA_F_TENTATIVE, "tentative"},      {IFA_F_DEPRECATED, "deprecated"},
        {IFA_F_DADFAILED, "dadfailed"},      {IFA_F_NOPREFIXROUTE, "noprefixroute"},
        {IFA_F_MANAGETEMPADDR, "mngtmpaddr"}};
    nlohmann::json out = nlohmann::json::array();
    for (auto [bit, name] : kFlags)
        if (f & bit) out.push_back(name);
    return out;
}

std::string dst_text(const Route& r) {
    if (r.is_default()) return "default";
    const uint8_t host = r.family == AF_INET ? 32 : 128;
    return r.dst.len == host ? r.dst.addr.to_string() : r.dst.to_string();
}

}  // namespace

nlohmann::json to_json(const Link& l, const NetState& names) {
    nlohmann::json j = {{"ifindex", l.index},
                        {"ifname", l.name},
                        {"flags", link_flags(l.flags)},
                        {"mtu", l.mtu},
                        {"operstate", operstate_name(l.operstate)},
                        {"up", l.admin_up()},
                        {"carrier", l.carrier()}};
    if (!l.mac.empty()) j["address"] = l.mac.to_string();
    if (!l.kind.empty()) j["kind"] = l.kind;
    if (l.master) j["master"] = names.link_name(l.master);
    if (l.parent && l.parent != l.index) {
        std::string p = names.link_name(l.parent);
        if (!p.empty()) j["link"] = p;
    }
    if (l.vlan_id >= 0) j["vlan_id"] = l.vlan_id;
    return j;
}

nlohmann::json to_json(const Address& a, const NetState& names) {
    nlohmann::json j = {{"ifindex", a.index},
                        {"ifname", names.link_name(a.index)},
                        {"family", family_name(a.prefix.addr.family)},
                        {"local", a.prefix.addr.to_string()},
                        {"prefixlen", a.prefix.len},
                        {"scope", scope_name(a.scope)},
                        {"flags", address_flags(a.flags)}};
    if (a.peer.valid()) j["address"] = a.peer.to_string();
    if (a.broadcast.valid()) j["broadcast"] = a.broadcast.to_string();
    if (!a.label.empty()) j["label"] = a.label;
    if (a.valid_lft != 0xffffffff) j["valid_life_time"] = a.valid_lft;
    if (a.preferred_lft != 0xffffffff) j["preferred_life_time"] = a.preferred_lft;
    return j;
}

nlohmann::json to_json(const Route& r, const NetState& names) {
    nlohmann::json j = {{"family", family_name(r.family)},
                        {"type", route_type_name(r.type)},
                        {"dst", dst_text(r)},
                        {"table", table_name(r.table)},
                        {"protocol", protocol_name(r.protocol)},
                        {"scope", scope_name(r.scope)},
                        {"metric", r.metric}};
    if (r.gateway.valid()) j["gateway"] = r.gateway.to_string();
    if (r.oif) j["dev"] = names.link_name(r.oif);
    if (r.prefsrc.valid()) j["prefsrc"] = r.prefsrc.to_string();
    return j;
}

nlohmann::json to_json(const NetState& s) {
    nlohmann::json links = nlohmann::json::array(), addrs = nlohmann::json::array(),
                   routes = nlohmann::json::array();
    for (const auto& l : s.links)
        links.push_back(to_json(l, s));
    for (const auto& a : s.addresses)
        addrs.push_back(to_json(a, s));
    for (const auto& r : s.routes)
        routes.push_back(to_json(r, s));
    return {{"links", std::move(links)},
            {"addresses", std::move(addrs)},
            {"routes", std::move(routes)}};
}

std::string describe(const Route& r, const NetState& names) {
    std::string s = dst_text(r);
    if (r.type != RTN_UNICAST) s = route_type_name(r.type) + " " + s;
    if (r.gateway.valid()) s += " via " + r.gateway.to_string();
    if (r.oif) s += " dev " + names.link_name(r.oif);
    if (r.prefsrc.valid()) s += " src " + r.prefsrc.to_string();
    if (r.metric) s += " metric " + std::to_string(r.metric);
    if (r.table != RT_TABLE_MAIN) s += " table " + table_name(r.table);
    return s;
}

}  // namespace keel::net
