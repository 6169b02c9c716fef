#include "net/dhcp_lease.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <charconv>
#include <sstream>

#include "net/state_json.h"

namespace keel::net {
namespace {

std::vector<std::string> words(const char* s) {
    std::vector<std::string> out;
    if (!s) return out;
    std::istringstream in(s);
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

Result<IpAddress> ipv4(const std::string& text, const char* var) {
    auto a = IpAddress::parse(text);
    if (!a || a->family != AF_INET)
        return Error(std::string("udhcpc: $") + var + ": '" + text + "' is not an IPv4 address");
    return *a;
}

Result<std::vector<IpAddress>> ipv4_list(const char* s, const char* var) {
    std::vector<IpAddress> out;
    for (const auto& w : words(s))
        out.push_back(KEEL_TRY(ipv4(w, var)));
    return out;
}

Result<uint32_t> number(const std::string& text, const char* var, uint32_t max) {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v > max)
        return Error(std::string("udhcpc: $") + var + ": '" + text + "' is not a number up to " +
                     std::to_string(max));
    return v;
}

Route lease_route(const Lease& l, const IpPrefix& dst, const IpAddress& via,
                  const DhcpConfig& cfg) {
    Route r;
    r.family = AF_INET;
    r.dst = dst;
    r.gateway = via;
    r.prefsrc = l.address.addr;
    r.metric = cfg.metric;
    r.protocol = RTPROT_DHCP;
    r.scope = via.valid() ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    return r;
}

std::vector<Route> lease_routes(const Lease& l, const DhcpConfig& cfg) {
    std::vector<Route> out;
    if (!l.bound() || !cfg.use_routes) return out;
    // RFC 3442: with classless static routes the router option is ignored.
    if (!l.static_routes.empty()) {
        for (const auto& [dst, via] : l.static_routes) {
            IpAddress gw = via;
            if (gw == IpAddress::parse("0.0.0.0").value()) gw = IpAddress{};
            out.push_back(lease_route(l, dst, gw, cfg));
        }
    } else if (!l.routers.empty()) {
        IpPrefix any;
        any.addr.family = AF_INET;
        out.push_back(lease_route(l, any, l.routers[0], cfg));
    }
    return out;
}

Change change(Change::Op op, const std::string& ifname, std::string text) {
    Change c{op, ifname, {}, {}, 0, {}, false, {}, {}, {}, ifname + ": " + std::move(text)};
    return c;
}

}  // namespace

Result<Lease> lease_from_env(const std::string& event,
                             const std::function<const char*(const char*)>& env) {
    Lease l;
    l.event = event;
    if (const char* i = env("interface")) l.ifname = i;
    if (l.ifname.empty()) return Error("udhcpc: $interface is not set");
    if (!l.bound()) return l;
    const char* ip = env("ip");
    if (!ip) return Error("udhcpc: $ip is not set for " + event);
    l.address.addr = KEEL_TRY(ipv4(ip, "ip"));
    if (const char* mask = env("mask"))
        l.address.len = static_cast<uint8_t>(KEEL_TRY(number(mask, "mask", 32)));
    else
        l.address.len = 32;
    if (const char* b = env("broadcast")) l.broadcast = KEEL_TRY(ipv4(b, "broadcast"));
    l.routers = KEEL_TRY(ipv4_list(env("router"), "router"));
    l.dns = KEEL_TRY(ipv4_list(env("dns"), "dns"));
    if (const char* d = env("domain")) l.domain = d;
    l.search = words(env("search"));
    if (l.search.empty()) l.search = words(env("domain"));
    if (const char* s = env("serverid")) l.server = KEEL_TRY(ipv4(s, "serverid"));
    if (const char* t = env("lease")) l.lease_time = KEEL_TRY(number(t, "lease", 0xffffffffu));
    auto sr = words(env("staticroutes"));
    if (sr.size() % 2) return Error("udhcpc: $staticroutes: odd number of words");
    for (size_t i = 0; i < sr.size(); i += 2) {
        auto dst = IpPrefix::parse(sr[i]);
        if (!dst || dst->addr.family != AF_INET)
            return Error("udhcpc: $staticroutes: '" + sr[i] + "' is not an IPv4 prefix");
        l.static_routes.push_back({dst->network(), KEEL_TRY(ipv4(sr[i + 1], "staticroutes"))});
    }
    return l;
}

nlohmann::json to_json(const Lease& l) {
    nlohmann::json j = {{"event", l.event}, {"interface", l.ifname}};
    if (!l.bound()) return j;
    auto list = [](const std::vector<IpAddress>& v) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& x : v)
            a.push_back(x.to_string());
        return a;
    };
    j["address"] = l.address.to_string();
    if (l.broadcast.valid()) j["broadcast"] = l.broadcast.to_string();
    j["routers"] = list(l.routers);
    j["dns"] = list(l.dns);
    if (!l.domain.empty()) j["domain"] = l.domain;
    j["search"] = l.search;
    if (l.server.valid()) j["server"] = l.server.to_string();
    j["lease_time"] = l.lease_time;
    nlohmann::json sr = nlohmann::json::array();
    for (const auto& [dst, via] : l.static_routes)
        sr.push_back({{"to", dst.to_string()}, {"via", via.to_string()}});
    j["static_routes"] = std::move(sr);
    return j;
}

Result<Lease> lease_from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("event") || !j["event"].is_string() ||
        !j.contains("interface") || !j["interface"].is_string())
        return Error("lease: want an object with event and interface");
    std::map<std::string, std::string> env;
    env["interface"] = j["interface"].get<std::string>();
    auto text = [&](const char* key) -> std::string {
        auto it = j.find(key);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto joined = [&](const char* key) {
        std::string s;
        auto it = j.find(key);
        if (it == j.end() || !it->is_array()) return s;
        for (const auto& v : *it)
            if (v.is_string()) s += (s.empty() ? "" : " ") + v.get<std::string>();
        return s;
    };
    const std::string event = j["event"].get<std::string>();
    if (auto p = IpPrefix::parse(text("address"))) {
        env["ip"] = p->addr.to_string();
        env["mask"] = std::to_string(p->len);
    }
    for (const char* k : {"broadcast", "domain"})
        if (!text(k).empty()) env[k] = text(k);
    if (!text("server").empty()) env["serverid"] = text("server");
    env["router"] = joined("routers");
    env["dns"] = joined("dns");
    env["search"] = joined("search");
    if (j.contains("lease_time") && j["lease_time"].is_number_unsigned())
        env["lease"] = std::to_string(j["lease_time"].get<uint32_t>());
    std::string sr;
    if (j.contains("static_routes") && j["static_routes"].is_array())
        for (const auto& r : j["static_routes"])
            if (r.is_object() && r.contains("to") && r.contains("via") && r["to"].is_string() &&
                r["via"].is_string())
                sr += (sr.empty() ? "" : " ") + r["to"].get<std::string>() + " " +
                      r["via"].get<std::string>();
    env["staticroutes"] = sr;
    return lease_from_env(event, [&](const char* k) -> const char* {
        auto it = env.find(k);
        return it == env.end() || it->second.empty() ? nullptr : it->second.c_str();
    });
}

Plan lease_plan(const Lease& now, const Lease* before, const DhcpConfig& cfg) {
    Plan p;
    const std::string& ifname = now.ifname;
    const std::vector<Route> old_routes =
        before ? lease_routes(*before, cfg) : std::vector<Route>{};
    const std::vector<Route> new_routes = lease_routes(now, cfg);
    NetState none;
    for (const auto& r : old_routes) {
        bool kept = false;
        for (const auto& n : new_routes)
            kept |= n.dst == r.dst && n.gateway == r.gateway && n.prefsrc == r.prefsrc;
        if (kept) continue;
        Change c = change(Change::Op::kDeleteRoute, ifname, "remove route " + describe(r, none));
        c.route = r;
        p.changes.push_back(std::move(c));
    }
    if (before && before->bound() && (!now.bound() || before->address != now.address)) {
        Change c = change(Change::Op::kDeleteAddress, ifname,
                          "remove address " + before->address.to_string());
        c.address.prefix = before->address;
        p.changes.push_back(std::move(c));
    }
    if (now.bound()) {
        // Re-adding replaces the address and restarts its lifetime: the kernel drops
        // it by itself if we stop renewing.
        Change c = change(Change::Op::kAddAddress, ifname,
                          "add address " + now.address.to_string() + " for " +
                              std::to_string(now.lease_time) + "s");
        c.address.prefix = now.address;
        c.address.broadcast = now.broadcast;
        if (now.lease_time) c.address.valid_lft = c.address.preferred_lft = now.lease_time;
        p.changes.push_back(std::move(c));
        for (const auto& r : new_routes) {
            Change rc = change(Change::Op::kReplaceRoute, ifname,
                               "set route " + describe(r, none) + " dev " + ifname);
            rc.route = r;
            p.changes.push_back(std::move(rc));
        }
    }
    return p;
}

DnsSettings lease_dns(const Lease& l) {
    DnsSettings d;
    if (!l.bound()) return d;
    d.servers = l.dns;
    d.search = l.search;
    return d;
}

}  // namespace keel::net
