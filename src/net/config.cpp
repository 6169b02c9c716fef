#include "net/config.h"

#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "base/sys.h"

namespace keel::net {
namespace {

using nlohmann::json;

// Walks a JSON object, tracking the path for errors and the keys seen so unknown
// ones are reported.
class Obj {
  public:
    Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

    Status check_object() const {
        if (!j_.is_object()) return Error(path_ + ": must be an object");
        return {};
    }
    Status check_known(std::initializer_list<const char*> known) const {
        for (const auto& item : j_.items()) {
            const std::string& k = item.key();
            if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; }))
                return Error(at(k) + ": unknown key");
        }
        return {};
    }
    const json* get(const char* key) const {
        auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    std::string at(const std::string& key) const { return path_ + "." + key; }
    const std::string& path() const { return path_; }

  private:
    const json& j_;
    std::string path_;
};

Result<bool> as_bool(const json& v, const std::string& path) {
    if (!v.is_boolean()) return Error(path + ": must be true or false");
    return v.get<bool>();
}

Result<uint32_t> as_uint(const json& v, const std::string& path, uint64_t min, uint64_t max) {
    if (!v.is_number_integer() ||
        (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0) ||
        v.get<uint64_t>() < min || v.get<uint64_t>() > max)
        return Error(path + ": must be an integer from " + std::to_string(min) + " to " +
                     std::to_string(max));
    return static_cast<uint32_t>(v.get<uint64_t>());
}

Result<std::string> as_string(const json& v, const std::string& path) {
    if (!v.is_string()) return Error(path + ": must be a string");
    return v.get<std::string>();
}

Status check_ifname(const std::string& name, const std::string& path) {
    if (name.empty() || name.size() > 15 || name == "." || name == ".." ||
        name.find_first_of("/: \t\n") != std::string::npos)
        return Error(path + ": '" + name +
                     "' is not a valid interface name (1-15 characters, no '/', ':' or spaces)");
    return {};
}

Result<IpAddress> as_ip(const json& v, const std::string& path) {
    auto s = KEEL_TRY(as_string(v, path));
    auto a = IpAddress::parse(s);
    if (!a) return Error(path + ": '" + s + "' is not an IP address");
    return *a;
}

Result<MacAddress> as_mac(const json& v, const std::string& path) {
    auto s = KEEL_TRY(as_string(v, path));
    auto m = MacAddress::parse(s);
    if (!m) return Error(path + ": '" + s + "' is not a MAC address (like 52:54:00:12:34:56)");
    return *m;
}

Result<RouteConfig> parse_route(const json& j, const std::string& path) {
    Obj o(j, path);
    KEEL_TRY_STATUS(o.check_object());
    KEEL_TRY_STATUS(o.check_known({"to", "via", "src", "metric", "table"}));
    RouteConfig r;
    if (const json* v = o.get("via")) r.via = KEEL_TRY(as_ip(*v, o.at("via")));
    if (const json* v = o.get("src")) r.src = KEEL_TRY(as_ip(*v, o.at("src")));
    const json* to = o.get("to");
    if (!to) return Error(o.at("to") + ": missing (a prefix like 10.1.0.0/16, or \"default\")");
    auto text = KEEL_TRY(as_string(*to, o.at("to")));
    if (text == "default") {
        r.to.addr.family = r.via.valid() ? r.via.family : AF_INET;
        r.to.len = 0;
    } else {
        auto p = IpPrefix::parse(text);
        if (!p)
            return Error(o.at("to") + ": '" + text +
                         "' is not a prefix (like 10.1.0.0/16) or \"default\"");
        r.to = p->network();
    }
    if (r.via.valid() && r.via.family != r.to.addr.family)
        return Error(o.at("via") + ": " + r.via.to_string() + " is not of the family of " + text);
    if (r.src.valid() && r.src.family != r.to.addr.family)
        return Error(o.at("src") + ": " + r.src.to_string() + " is not of the family of " + text);
    if (const json* v = o.get("metric"))
        r.metric = KEEL_TRY(as_uint(*v, o.at("metric"), 0, 0xffffffffu));
    if (const json* v = o.get("table")) {
        if (v->is_string() && v->get<std::string>() == "main")
            r.table = 254;
        else
            r.table = KEEL_TRY(as_uint(*v, o.at("table"), 1, 0xfffffffeu));
        if (r.table == 255) return Error(o.at("table") + ": the local table (255) is the kernel's");
    }
    return r;
}

Result<DhcpConfig> parse_dhcp(const json& j, const std::string& path) {
    DhcpConfig d;
    if (j.is_boolean()) {
        d.enabled = j.get<bool>();
        return d;
    }
    Obj o(j, path);
    if (!j.is_object()) return Error(path + ": must be true, false or an object");
    KEEL_TRY_STATUS(o.check_known({"hostname", "metric", "use_dns", "use_routes"}));
    d.enabled = true;
    if (const json* v = o.get("hostname")) d.hostname = KEEL_TRY(as_string(*v, o.at("hostname")));
    if (d.hostname.find_first_of(" \t\n'\"\\") != std::string::npos)
        return Error(o.at("hostname") + ": must not contain spaces, quotes or backslashes");
    if (const json* v = o.get("metric"))
        d.metric = KEEL_TRY(as_uint(*v, o.at("metric"), 0, 0xffffffffu));
    if (const json* v = o.get("use_dns")) d.use_dns = KEEL_TRY(as_bool(*v, o.at("use_dns")));
    if (const json* v = o.get("use_routes"))
        d.use_routes = KEEL_TRY(as_bool(*v, o.at("use_routes")));
    return d;
}

Result<InterfaceConfig> parse_interface(const std::string& name, const json& j,
                                        const std::string& path) {
    Obj o(j, path);
    KEEL_TRY_STATUS(o.check_object());
    KEEL_TRY_STATUS(o.check_known({"match", "kind", "peer", "parent", "vlan_id", "up", "mtu", "mac",
                                   "bridge", "addresses", "routes", "dhcp", "ipv6_autoconf"}));
    InterfaceConfig c;
    c.name = name;
    KEEL_TRY_STATUS(check_ifname(name, path));
    if (const json* m = o.get("match")) {
        Obj mo(*m, o.at("match"));
        KEEL_TRY_STATUS(mo.check_object());
        KEEL_TRY_STATUS(mo.check_known({"mac"}));
        const json* mac = mo.get("mac");
        if (!mac) return Error(mo.at("mac") + ": missing (the only way to match so far)");
        c.match_mac = KEEL_TRY(as_mac(*mac, mo.at("mac")));
    }
    if (const json* v = o.get("kind")) {
        c.kind = KEEL_TRY(as_string(*v, o.at("kind")));
        static const char* const kKinds[] = {"dummy", "bridge", "veth", "vlan"};
        if (std::none_of(std::begin(kKinds), std::end(kKinds),
                         [&](const char* k) { return c.kind == k; }))
            return Error(o.at("kind") + ": '" + c.kind +
                         "' is not one of dummy, bridge, veth, vlan");
        if (c.match_mac)
            return Error(o.at("match") +
                         ": only existing (physical) interfaces are matched by MAC");
    }
    if (const json* v = o.get("peer")) {
        if (c.kind != "veth") return Error(o.at("peer") + ": only for kind veth");
        c.peer = KEEL_TRY(as_string(*v, o.at("peer")));
        KEEL_TRY_STATUS(check_ifname(c.peer, o.at("peer")));
    }
    if (c.kind == "veth" && c.peer.empty())
        return Error(o.at("peer") + ": missing (the veth's other end)");
    if (const json* v = o.get("parent")) {
        if (c.kind != "vlan") return Error(o.at("parent") + ": only for kind vlan");
        c.parent = KEEL_TRY(as_string(*v, o.at("parent")));
        KEEL_TRY_STATUS(check_ifname(c.parent, o.at("parent")));
    }
    if (const json* v = o.get("vlan_id")) {
        if (c.kind != "vlan") return Error(o.at("vlan_id") + ": only for kind vlan");
        c.vlan_id = static_cast<int>(KEEL_TRY(as_uint(*v, o.at("vlan_id"), 1, 4094)));
    }
    if (c.kind == "vlan" && (c.parent.empty() || c.vlan_id < 0))
        return Error(path + ": a vlan needs \"parent\" and \"vlan_id\"");
    if (const json* v = o.get("up")) c.up = KEEL_TRY(as_bool(*v, o.at("up")));
    if (const json* v = o.get("mtu")) c.mtu = KEEL_TRY(as_uint(*v, o.at("mtu"), 68, 65535));
    if (const json* v = o.get("mac")) c.mac = KEEL_TRY(as_mac(*v, o.at("mac")));
    if (const json* v = o.get("bridge")) {
        c.bridge = KEEL_TRY(as_string(*v, o.at("bridge")));
        KEEL_TRY_STATUS(check_ifname(c.bridge, o.at("bridge")));
        if (c.bridge == name)
            return Error(o.at("bridge") + ": an interface cannot be its own bridge");
    }
    if (const json* v = o.get("addresses")) {
        if (!v->is_array())
            return Error(o.at("addresses") + ": must be an array of prefixes like \"10.0.0.2/24\"");
        std::set<IpPrefix> seen;
        for (size_t i = 0; i < v->size(); ++i) {
            const std::string p = o.at("addresses") + "[" + std::to_string(i) + "]";
            auto text = KEEL_TRY(as_string((*v)[i], p));
            auto prefix = IpPrefix::parse(text);
            if (!prefix || text.find('/') == std::string::npos)
                return Error(p + ": '" + text +
                             "' is not an address with a prefix length (like 10.0.0.2/24)");
            if (!seen.insert(*prefix).second) return Error(p + ": " + text + " is listed twice");
            c.addresses.push_back(*prefix);
        }
    }
    if (const json* v = o.get("routes")) {
        if (!v->is_array()) return Error(o.at("routes") + ": must be an array of routes");
        for (size_t i = 0; i < v->size(); ++i)
            c.routes.push_back(
                KEEL_TRY(parse_route((*v)[i], o.at("routes") + "[" + std::to_string(i) + "]")));
    }
    if (const json* v = o.get("dhcp")) c.dhcp = KEEL_TRY(parse_dhcp(*v, o.at("dhcp")));
    if (const json* v = o.get("ipv6_autoconf"))
        c.ipv6_autoconf = KEEL_TRY(as_bool(*v, o.at("ipv6_autoconf")));
    return c;
}

}  // namespace

const InterfaceConfig* NetConfig::find(const std::string& name) const {
    for (const auto& i : interfaces)
        if (i.name == name) return &i;
    return nullptr;
}

Result<NetConfig> parse_config(const json& section, const std::string& where) {
    Obj o(section, where);
    KEEL_TRY_STATUS(o.check_object());
    KEEL_TRY_STATUS(o.check_known({"interfaces", "dns"}));
    NetConfig c;
    if (const json* ifs = o.get("interfaces")) {
        Obj io(*ifs, o.at("interfaces"));
        KEEL_TRY_STATUS(io.check_object());
        for (const auto& [name, v] : ifs->items())
            c.interfaces.push_back(KEEL_TRY(parse_interface(name, v, io.at(name))));
    }
    // Cross-references: bridges and VLAN parents named in the config must be able
    // to exist; MACs matched must be distinct.
    std::set<MacAddress> macs;
    for (const auto& i : c.interfaces) {
        const std::string path = o.at("interfaces") + "." + i.name;
        if (!i.bridge.empty()) {
            const InterfaceConfig* b = c.find(i.bridge);
            if (b && b->kind != "bridge")
                return Error(path + ".bridge: " + i.bridge + " is configured as kind '" + b->kind +
                             "', not bridge");
        }
        if (i.kind == "vlan" && i.parent == i.name)
            return Error(path + ".parent: a vlan cannot be its own parent");
        if (i.match_mac && !macs.insert(*i.match_mac).second)
            return Error(path + ".match.mac: " + i.match_mac->to_string() +
                         " is matched by another interface too");
        if (i.kind == "veth" && c.find(i.peer) && c.find(i.peer)->kind == "veth")
            return Error(path + ".peer: " + i.peer +
                         " is configured as a veth too; configure only one end's kind");
    }
    if (const json* dns = o.get("dns")) {
        Obj d(*dns, o.at("dns"));
        KEEL_TRY_STATUS(d.check_object());
        KEEL_TRY_STATUS(d.check_known({"servers", "search"}));
        c.manage_dns = true;
        if (const json* s = d.get("servers")) {
            if (!s->is_array())
                return Error(d.at("servers") + ": must be an array of IP addresses");
            for (size_t i = 0; i < s->size(); ++i)
                c.dns_servers.push_back(
                    KEEL_TRY(as_ip((*s)[i], d.at("servers") + "[" + std::to_string(i) + "]")));
        }
        if (const json* s = d.get("search")) {
            if (!s->is_array()) return Error(d.at("search") + ": must be an array of domain names");
            for (size_t i = 0; i < s->size(); ++i) {
                const std::string p = d.at("search") + "[" + std::to_string(i) + "]";
                auto name = KEEL_TRY(as_string((*s)[i], p));
                if (name.empty() || name.size() > 253 ||
                    name.find_first_of(" \t\n#;") != std::string::npos)
                    return Error(p + ": '" + name + "' is not a domain name");
                c.dns_search.push_back(name);
            }
        }
    }
    return c;
}

Result<NetConfig> parse_config_text(std::string_view text, const std::string& where) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) {
        // Parse again with exceptions for the position of the error.
        try {
            json again = json::parse(text);
        } catch (const json::parse_error& e) {
            return Error(where + ": not valid JSON: " + e.what());
        }
        return Error(where + ": not valid JSON");
    }
    return parse_config(j, where);
}

Result<NetConfig> load_config_file(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text) return text.error();
    return parse_config_text(*text, path);
}

Result<std::optional<NetConfig>> load_manifest(const std::string& path, bool missing_ok) {
    auto text = sys::read_file(path);
    if (!text) {
        if (missing_ok && text.error().code() == ENOENT) return std::optional<NetConfig>();
        return text.error();
    }
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error(path + ": not a JSON object");
    auto it = j.find("net");
    if (it == j.end()) return std::optional<NetConfig>();
    return std::optional<NetConfig>(KEEL_TRY(parse_config(*it, path + ": net")));
}

json to_json(const NetConfig& c) {
    json ifs = json::object();
    for (const auto& i : c.interfaces) {
        json j = json::object();
        if (i.match_mac) j["match"] = {{"mac", i.match_mac->to_string()}};
        if (!i.kind.empty()) j["kind"] = i.kind;
        if (!i.peer.empty()) j["peer"] = i.peer;
        if (!i.parent.empty()) j["parent"] = i.parent;
        if (i.vlan_id >= 0) j["vlan_id"] = i.vlan_id;
        j["up"] = i.up;
        if (i.mtu) j["mtu"] = *i.mtu;
        if (i.mac) j["mac"] = i.mac->to_string();
        if (!i.bridge.empty()) j["bridge"] = i.bridge;
        if (!i.addresses.empty()) {
            j["addresses"] = json::array();
            for (const auto& a : i.addresses)
                j["addresses"].push_back(a.to_string());
        }
        if (!i.routes.empty()) {
            j["routes"] = json::array();
            for (const auto& r : i.routes) {
                json rj = {{"to", r.to.len == 0 ? std::string("default") : r.to.to_string()}};
                if (r.via.valid()) rj["via"] = r.via.to_string();
                if (r.src.valid()) rj["src"] = r.src.to_string();
                if (r.metric) rj["metric"] = *r.metric;
                if (r.table != 254) rj["table"] = r.table;
                j["routes"].push_back(std::move(rj));
            }
        }
        if (i.dhcp.enabled) {
            j["dhcp"] = {{"metric", i.dhcp.metric},
                         {"use_dns", i.dhcp.use_dns},
                         {"use_routes", i.dhcp.use_routes}};
            if (!i.dhcp.hostname.empty()) j["dhcp"]["hostname"] = i.dhcp.hostname;
        }
        if (i.ipv6_autoconf) j["ipv6_autoconf"] = *i.ipv6_autoconf;
        ifs[i.name] = std::move(j);
    }
    json out = {{"interfaces", std::move(ifs)}};
    if (c.manage_dns) {
        json servers = json::array();
        for (const auto& s : c.dns_servers)
            servers.push_back(s.to_string());
        out["dns"] = {{"servers", std::move(servers)}, {"search", c.dns_search}};
    }
    return out;
}

}  // namespace keel::net
