// keel.net: links, addresses, routes, the declarative apply and live events, on
// the same C++ as `keel net` (net::Rtnl, net::apply_config, net::Monitor).
//   local net = keel.net
//   net.link("eth0"):up()
//   assert(net.addr_add("eth0", "10.0.0.2/24"))
//   for _, r in ipairs(net.routes()) do print(r.dst, r.gateway, r.dev) end
//   local m = net.monitor("net.link.*.up", function(ev) print(ev.subject) end)
// Failures return nil, "net.addr_add: eth9: No such device", errno; wrong
// argument types raise. Tables have the shape of net.status (`ip -j`), links
// with name/index/mac besides ifname/ifindex/address.
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "bus/protocol/subject.h"
#include "lua/handle.h"
#include "lua/json.h"
#include "lua/lua_util.h"
#include "lua/modules.h"
#include "net/apply.h"
#include "net/monitor.h"
#include "net/state_json.h"

namespace keel::lua {
namespace {

using nlohmann::json;

constexpr const char* kNet = "keel.net";
constexpr const char* kLink = "keel.net.link";
constexpr const char* kMonitor = "keel.net.monitor";

// Per Lua state: the request socket (opened on first use, again after a fork: a
// forked child must not share its parent's netlink port) and the config the last
// apply() made real, so the next one takes back what only that config named.
struct NetLib {
    std::unique_ptr<net::Rtnl> rtnl;
    pid_t pid = 0;
    std::optional<net::NetConfig> applied;

    Result<net::Rtnl*> socket() {
        if (!rtnl || pid != ::getpid()) {
            rtnl.reset();
            auto r = net::Rtnl::open();
            if (!r) return r.error();
            rtnl = std::make_unique<net::Rtnl>(std::move(*r));
            pid = ::getpid();
        }
        return rtnl.get();
    }
};

NetLib& lib(lua_State* L) {
    return *static_cast<NetLib*>(lua_touserdata(L, lua_upvalueindex(1)));
}

// What the kernel holds now: links, addresses, routes.
Result<net::NetState> snapshot(lua_State* L) {
    auto rtnl = lib(L).socket();
    if (!rtnl) return rtnl.error();
    return (*rtnl)->state();
}

// Runs the one request in `b`.
Status call(lua_State* L, const net::RequestBatch& b) {
    auto rtnl = lib(L).socket();
    if (!rtnl) return rtnl.error();
    return (*rtnl)->call(b);
}

Error no_device() {
    return Error("", ENODEV);
}

// The index of the link named `name`; ENODEV when there is none.
Result<int> index_of(lua_State* L, std::string_view name) {
    auto rtnl = lib(L).socket();
    if (!rtnl) return rtnl.error();
    auto links = (*rtnl)->links();
    if (!links) return links.error();
    for (const auto& l : *links)
        if (l.name == name) return l.index;
    return no_device();
}

// The reason: strerror, after the kernel's extended-ack text when it gave one;
// for invalid values (EINVAL with a text) the text alone says it.
std::string reason(const Error& e) {
    if (e.what().empty()) return e.code() ? std::strerror(e.code()) : "failed";
    return e.code() == EINVAL ? e.what() : e.message();
}

// nil, "net.<fn>: <what>: <reason>", errno.
int fail(lua_State* L, const char* fn, std::string_view what, const Error& e) {
    std::string msg = std::string(fn) + ": ";
    if (!what.empty()) msg.append(what).append(": ");
    return push_error(L, msg + reason(e), e.code());
}

Error invalid(const std::string& why) {
    return Error(why, EINVAL);
}

// Runs the one request in `b`: true, or the error triple naming `what`.
int request(lua_State* L, const char* fn, std::string_view what, const net::RequestBatch& b) {
    if (auto st = call(L, b); !st) return fail(L, fn, what, st.error());
    lua_pushboolean(L, 1);
    return 1;
}

// Pushes a JSON value as Lua tables (through keel.json, so arrays stay arrays).
void push_value(lua_State* L, const json& j) {
    if (json_decode(L, j.dump()) != 1) {  // cannot happen for what nlohmann wrote
        lua_pop(L, 2);
        lua_pushnil(L);
    }
}

json link_json(const net::Link& l, const net::NetState& names) {
    json j = net::to_json(l, names);
    j["name"] = l.name;
    j["index"] = l.index;
    j["admin_up"] = l.admin_up();
    if (!l.mac.empty()) j["mac"] = l.mac.to_string();
    return j;
}

json address_json(const net::Address& a, const net::NetState& names) {
    json j = net::to_json(a, names);
    j["cidr"] = a.prefix.to_string();
    return j;
}

// ---- links ----

int l_links(lua_State* L) {
    auto state = snapshot(L);
    if (!state) return fail(L, "net.links", "", state.error());
    json out = json::array();
    for (const auto& l : state->links)
        out.push_back(link_json(l, *state));
    push_value(L, out);
    return 1;
}

// A link object's fields: those of links() but `up`, which is the method there.
json object_json(const net::Link& l, const net::NetState& names) {
    json j = link_json(l, names);
    j.erase("up");
    return j;
}

// Pushes the link object for `l`: its fields, and the methods through kLink.
void push_link(lua_State* L, const net::Link& l, const net::NetState& names) {
    push_value(L, object_json(l, names));
    luaL_setmetatable(L, kLink);
}

// Looks the link up by name (`by_index` 0) or index and pushes its object.
int find_link(lua_State* L, const char* fn, const std::string& name, int by_index = 0) {
    auto state = snapshot(L);
    if (!state) return fail(L, fn, name, state.error());
    const net::Link* l = by_index ? state->link(by_index) : state->link(name);
    if (!l) return fail(L, fn, name, no_device());
    push_link(L, *l, *state);
    return 1;
}

int l_link(lua_State* L) {
    auto name = check_view(L, 1);
    return find_link(L, "net.link", std::string(name));
}

struct LinkRef {
    int index;
    std::string_view name;
};

LinkRef check_link(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_getmetatable(L, 1) || (luaL_getmetatable(L, kLink), !lua_rawequal(L, -1, -2)))
        luaL_argerror(L, 1, "keel.net.link expected (call it as link:method())");
    lua_pop(L, 2);
    lua_getfield(L, 1, "index");
    int index = static_cast<int>(lua_tointeger(L, -1));
    lua_getfield(L, 1, "name");
    size_t n = 0;
    const char* name = lua_tolstring(L, -1, &n);
    lua_pop(L, 2);  // both stay referenced by the link table
    return {index, name ? std::string_view(name, n) : std::string_view()};
}

// Refreshes the link table at index 1 from the kernel (after a change).
void refresh(lua_State* L, int index) {
    auto state = snapshot(L);
    if (!state) return;
    const net::Link* l = state->link(index);
    if (!l) return;
    push_value(L, object_json(*l, *state));
    // Fields that went away (a master left) must not linger.
    for (const char* k : {"master", "address", "mac", "link", "kind", "vlan_id"}) {
        lua_pushnil(L);
        lua_setfield(L, 1, k);
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, 1);
    }
    lua_pop(L, 1);
}

// Runs one link_set on the link at index 1; true (after refreshing it) or the error.
int set_link(lua_State* L, const char* fn, LinkRef ref, net::LinkSet set) {
    set.index = ref.index;
    net::RequestBatch b;
    b.link_set(set);
    if (auto st = call(L, b); !st) return fail(L, fn, ref.name, st.error());
    refresh(L, ref.index);
    lua_pushboolean(L, 1);
    return 1;
}

int link_up(lua_State* L) {
    net::LinkSet s;
    s.up = 1;
    return set_link(L, "net.link:up", check_link(L), s);
}

int link_down(lua_State* L) {
    net::LinkSet s;
    s.up = 0;
    return set_link(L, "net.link:down", check_link(L), s);
}

int link_set_mtu(lua_State* L) {
    LinkRef ref = check_link(L);
    lua_Integer mtu = luaL_checkinteger(L, 2);
    luaL_argcheck(L, mtu > 0 && mtu <= 0xffffffffLL, 2, "MTU out of range");
    net::LinkSet s;
    s.mtu = static_cast<uint32_t>(mtu);
    return set_link(L, "net.link:set_mtu", ref, s);
}

int link_set_mac(lua_State* L) {
    LinkRef ref = check_link(L);
    auto text = check_view(L, 2);
    auto mac = net::MacAddress::parse(text);
    if (!mac)
        return fail(L, "net.link:set_mac", ref.name,
                    invalid("'" + std::string(text) + "' is not a MAC address"));
    net::LinkSet s;
    s.mac = *mac;
    return set_link(L, "net.link:set_mac", ref, s);
}

int link_rename(lua_State* L) {
    LinkRef ref = check_link(L);
    auto name = check_view(L, 2);
    luaL_argcheck(L, !name.empty() && name.size() < 16, 2,
                  "interface names have 1 to 15 characters");
    net::LinkSet s;
    s.name = std::string(name);
    return set_link(L, "net.link:rename", ref, s);
}

// link:set_master("br0") joins a bridge; link:set_master(nil) leaves it.
int link_set_master(lua_State* L) {
    LinkRef ref = check_link(L);
    auto bridge = opt_view(L, 2, "");
    net::LinkSet s;
    s.master = 0;
    if (!bridge.empty()) {
        auto master = index_of(L, bridge);
        if (!master)
            return fail(L, "net.link:set_master",
                        std::string(ref.name) + ": " + std::string(bridge), master.error());
        s.master = *master;
    }
    return set_link(L, "net.link:set_master", ref, s);
}

int link_delete(lua_State* L) {
    LinkRef ref = check_link(L);
    net::RequestBatch b;
    b.link_delete(ref.index);
    return request(L, "net.link:delete", ref.name, b);
}

// link:refresh(): the link as the kernel has it now (found by index: renames are
// followed), or nil, message, ENODEV once it is gone.
int link_refresh(lua_State* L) {
    LinkRef ref = check_link(L);
    return find_link(L, "net.link:refresh", std::string(ref.name), ref.index);
}

// ---- addresses ----

int addrs_of(lua_State* L, const std::string& ifname) {
    auto state = snapshot(L);
    if (!state) return fail(L, "net.addrs", ifname, state.error());
    int index = 0;
    if (!ifname.empty()) {
        const net::Link* l = state->link(ifname);
        if (!l) return fail(L, "net.addrs", ifname, no_device());
        index = l->index;
    }
    json out = json::array();
    for (const auto& a : state->addresses)
        if (!index || a.index == index) out.push_back(address_json(a, *state));
    push_value(L, out);
    return 1;
}

int l_addrs(lua_State* L) {
    return addrs_of(L, std::string(opt_view(L, 1, "")));
}

int link_addrs(lua_State* L) {
    LinkRef ref = check_link(L);
    return addrs_of(L, std::string(ref.name));
}

int change_address(lua_State* L, bool add) {
    const char* fn = add ? "net.addr_add" : "net.addr_del";
    auto name = check_view(L, 1);
    auto text = check_view(L, 2);
    std::string ifname(name);
    auto prefix = net::IpPrefix::parse(text);
    if (!prefix)
        return fail(
            L, fn, ifname,
            invalid("'" + std::string(text) + "' is not an IP address with a prefix length"));
    auto index = index_of(L, ifname);
    if (!index) return fail(L, fn, ifname, index.error());
    net::Address a;
    a.index = *index;
    a.prefix = *prefix;
    net::RequestBatch b;
    b.address(add, a);
    return request(L, fn, ifname + ": " + prefix->to_string(), b);
}

int l_addr_add(lua_State* L) {
    return change_address(L, true);
}
int l_addr_del(lua_State* L) {
    return change_address(L, false);
}

// ---- routes ----

// A routing table given as a number or a name; 0: every table.
uint32_t opt_table(lua_State* L, int t, int arg, uint32_t def) {
    int type = lua_istable(L, t) ? lua_getfield(L, t, "table") : (lua_pushnil(L), LUA_TNIL);
    uint32_t v = def;
    if (type == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
        lua_tointeger(L, -1) <= 0xffffffffLL) {
        v = static_cast<uint32_t>(lua_tointeger(L, -1));
    } else if (type == LUA_TSTRING) {
        std::string_view s = lua_tostring(L, -1);
        if (s == "main")
            v = RT_TABLE_MAIN;
        else if (s == "local")
            v = RT_TABLE_LOCAL;
        else if (s == "default")
            v = RT_TABLE_DEFAULT;
        else if (s == "all")
            v = 0;
        else
            luaL_argerror(
                L, arg,
                "option 'table': a number, \"main\", \"local\", \"default\" or \"all\" expected");
    } else if (type != LUA_TNIL) {
        luaL_argerror(L, arg, "option 'table': a table number or name expected");
    }
    lua_pop(L, 1);
    return v;
}

// "inet"/4 or "inet6"/6; 0 when absent.
int opt_family(lua_State* L, int t, int arg) {
    int type = lua_istable(L, t) ? lua_getfield(L, t, "family") : (lua_pushnil(L), LUA_TNIL);
    int family = 0;
    if (type != LUA_TNIL) {
        const char* s = lua_tostring(L, -1);
        std::string_view v = s ? s : "";
        if (v == "inet" || v == "4")
            family = AF_INET;
        else if (v == "inet6" || v == "6")
            family = AF_INET6;
        else
            luaL_argerror(L, arg, "option 'family': \"inet\" or \"inet6\" expected");
    }
    lua_pop(L, 1);
    return family;
}

// routes([{table = "main"|N|"all", family = "inet"|"inet6"}])
int l_routes(lua_State* L) {
    check_opt_table(L, 1);
    uint32_t table = opt_table(L, 1, 1, RT_TABLE_MAIN);
    int family = opt_family(L, 1, 1);
    auto state = snapshot(L);
    if (!state) return fail(L, "net.routes", "", state.error());
    json out = json::array();
    for (const auto& r : state->routes)
        if ((!table || r.table == table) && (!family || r.family == family))
            out.push_back(net::to_json(r, *state));
    push_value(L, out);
    return 1;
}

// The route a route_add/route_del table describes. Strings are views into the table.
struct RouteArgs {
    std::string_view dst, gateway, dev, src;
    lua_Integer metric = -1;
    uint32_t table = RT_TABLE_MAIN;
    int family = 0;
    bool replace = false;
};

RouteArgs check_route_args(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    RouteArgs a;
    auto str = [L](const char* k) {
        size_t n = 0;
        const char* s = opt_string(L, 1, 1, k, &n);
        return s ? std::string_view(s, n) : std::string_view();
    };
    a.dst = str("dst");
    a.gateway = str("gateway");
    if (a.gateway.empty()) a.gateway = str("via");
    a.dev = str("dev");
    a.src = str("src");
    a.metric = opt_int(L, 1, 1, "metric", -1);
    luaL_argcheck(L, a.metric >= -1 && a.metric <= 0xffffffffLL, 1, "option 'metric' out of range");
    a.table = opt_table(L, 1, 1, RT_TABLE_MAIN);
    luaL_argcheck(L, a.table != 0, 1, "option 'table': one table, not \"all\"");
    a.family = opt_family(L, 1, 1);
    a.replace = opt_bool(L, 1, 1, "replace", false);
    if (a.dst.empty())
        luaL_argerror(L, 1, "option 'dst' (\"10.0.0.0/24\" or \"default\") is required");
    return a;
}

// The route described by `a` on `state`, or why it cannot be.
Result<net::Route> route_of(const RouteArgs& a, const net::NetState& state) {
    net::RouteConfig rc;
    rc.table = a.table;
    if (a.metric >= 0) rc.metric = static_cast<uint32_t>(a.metric);
    if (!a.gateway.empty()) {
        auto gw = net::IpAddress::parse(a.gateway);
        if (!gw) return invalid("'" + std::string(a.gateway) + "' is not an IP address");
        rc.via = *gw;
    }
    if (!a.src.empty()) {
        auto src = net::IpAddress::parse(a.src);
        if (!src) return invalid("'" + std::string(a.src) + "' is not an IP address");
        rc.src = *src;
    }
    if (a.dst == "default") {
        int family = a.family ? a.family : rc.via.valid() ? rc.via.family : AF_INET;
        rc.to.addr.family = family;
    } else {
        auto p = net::IpPrefix::parse(a.dst);
        if (!p)
            return invalid("'" + std::string(a.dst) +
                           "' is not a prefix (\"10.0.0.0/24\") or \"default\"");
        rc.to = *p;
    }
    if (rc.via.valid() && rc.via.family != rc.to.addr.family)
        return invalid("gateway and destination are of different families");
    int oif = 0;
    if (!a.dev.empty()) {
        const net::Link* l = state.link(std::string(a.dev));
        if (!l) return Error(std::string(a.dev), ENODEV);
        oif = l->index;
    }
    return net::desired_route(rc, oif);
}

// The text naming a route in messages, as `ip route` prints it.
std::string route_text(const RouteArgs& a) {
    std::string s(a.dst);
    if (!a.gateway.empty()) s.append(" via ").append(a.gateway);
    if (!a.dev.empty()) s.append(" dev ").append(a.dev);
    return s;
}

int l_route_add(lua_State* L) {
    RouteArgs a = check_route_args(L);
    auto state = snapshot(L);
    if (!state) return fail(L, "net.route_add", route_text(a), state.error());
    auto route = route_of(a, *state);
    if (!route) return fail(L, "net.route_add", route_text(a), route.error());
    net::RequestBatch b;
    b.route(a.replace ? net::RouteOp::kReplace : net::RouteOp::kAdd, *route);
    return request(L, "net.route_add", route_text(a), b);
}

// Deletes the first route in the kernel's table that matches every field given,
// as `ip route del` does (a metric left out matches any).
int l_route_del(lua_State* L) {
    RouteArgs a = check_route_args(L);
    auto state = snapshot(L);
    if (!state) return fail(L, "net.route_del", route_text(a), state.error());
    auto want = route_of(a, *state);
    if (!want) return fail(L, "net.route_del", route_text(a), want.error());
    for (const auto& r : state->routes) {
        if (r.family != want->family || r.dst != want->dst || r.table != want->table) continue;
        if (want->gateway.valid() && r.gateway != want->gateway) continue;
        if (want->oif && r.oif != want->oif) continue;
        if (a.metric >= 0 && r.metric != want->metric) continue;
        net::RequestBatch b;
        b.route(net::RouteOp::kDelete, r);
        return request(L, "net.route_del", route_text(a), b);
    }
    return fail(L, "net.route_del", route_text(a), Error("", ESRCH));
}

// ---- creating links ----

// create{kind = "bridge"|"veth"|"vlan"|"dummy"|..., name = "br0", peer = "v1" (veth),
// parent = "eth0", id = 10 (vlan)}: the new link's object.
int l_create(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    const char* kind = opt_string(L, 1, 1, "kind");
    const char* name = opt_string(L, 1, 1, "name");
    const char* peer = opt_string(L, 1, 1, "peer");
    const char* parent = opt_string(L, 1, 1, "parent");
    lua_Integer id = opt_int(L, 1, 1, "id", -1);
    if (!kind)
        luaL_argerror(L, 1,
                      "option 'kind' (\"bridge\", \"veth\", \"vlan\", \"dummy\") is required");
    if (!name) luaL_argerror(L, 1, "option 'name' is required");
    luaL_argcheck(L, *name && std::strlen(name) < 16, 1,
                  "option 'name': interface names have 1 to 15 characters");
    bool vlan = std::strcmp(kind, "vlan") == 0;
    if (vlan && (!parent || id < 1 || id > 4094))
        luaL_argerror(L, 1, "a vlan needs 'parent' and 'id' (1 to 4094)");
    net::LinkSpec spec;
    spec.name = name;
    spec.kind = kind;
    if (peer) spec.peer = peer;
    spec.vlan_id = static_cast<int>(id);
    if (vlan) {
        auto index = index_of(L, parent);
        if (!index)
            return fail(L, "net.create", std::string(name) + ": parent " + parent, index.error());
        spec.parent = *index;
    }
    net::RequestBatch b;
    b.link_create(spec);
    if (auto st = call(L, b); !st) return fail(L, "net.create", name, st.error());
    return find_link(L, "net.create", name);
}

// ---- declarative apply and status ----

// apply(config [, {dry_run =, allow_missing =, resolv_conf =, sysctl_root =}]):
// config is the net section (a table or its JSON text). Returns the changes made
// (would be made, dry run) and the interfaces skipped as missing; on failure nil,
// message, errno and the changes made before it.
int l_apply(lua_State* L) {
    if (lua_type(L, 1) != LUA_TSTRING) luaL_checktype(L, 1, LUA_TTABLE);
    check_opt_table(L, 2);
    bool dry_run = opt_bool(L, 2, 2, "dry_run", false);
    bool allow_missing = opt_bool(L, 2, 2, "allow_missing", false);
    const char* resolv_conf = opt_string(L, 2, 2, "resolv_conf");
    const char* sysctl_root = opt_string(L, 2, 2, "sysctl_root");
    if (lua_type(L, 1) == LUA_TTABLE && !push_json(L, 1))
        return luaL_argerror(L, 1, lua_tostring(L, -1));
    size_t n = 0;
    const char* text = lua_tolstring(L, lua_type(L, 1) == LUA_TTABLE ? -1 : 1, &n);
    auto cfg = net::parse_config_text({text, n}, "net");
    if (!cfg) return fail(L, "net.apply", "", invalid(cfg.error().message()));
    NetLib& self = lib(L);
    auto rtnl = self.socket();
    if (!rtnl) return fail(L, "net.apply", "", rtnl.error());
    net::ApplyOptions o;
    o.dry_run = dry_run;
    o.allow_missing = allow_missing;
    if (resolv_conf) o.resolv_conf = resolv_conf;
    if (sysctl_root) o.sysctl_root = sysctl_root;
    auto report = net::apply_config(**rtnl, *cfg, self.applied ? &*self.applied : nullptr, o);
    if (!report) return fail(L, "net.apply", "", report.error());
    if (!dry_run) self.applied = *cfg;
    json j = report->to_json();
    if (!report->ok()) {
        std::string msg;
        for (const auto& e : report->errors)
            msg += (msg.empty() ? "" : "; ") + e;
        push_error(L, "net.apply: " + msg, 0);
        push_value(L, j["changes"]);
        return 4;
    }
    push_value(L, j["changes"]);
    push_value(L, j["missing"]);
    return 2;
}

// status(): {links = {...}, addresses = {...}, routes = {...}}, as net.status answers.
int l_status(lua_State* L) {
    auto state = snapshot(L);
    if (!state) return fail(L, "net.status", "", state.error());
    push_value(L, net::to_json(*state));
    return 1;
}

// ---- monitoring ----

struct MonitorHandle : Handle {
    std::unique_ptr<net::Rtnl> rtnl;
    std::unique_ptr<net::Monitor> monitor;
    std::string pattern;
    // Shared with the monitor's handler, cleared when the handle stops: a monitor
    // stopped from inside its own callback finishes its batch without us.
    std::shared_ptr<MonitorHandle*> back;

    ~MonitorHandle() { stop(); }
    void stop() {
        if (back) *back = nullptr;
        if (monitor && rt && rt->dispatching()) {
            // Our own callback may be on the stack, inside Monitor::on_readable.
            std::shared_ptr<net::Monitor> m(monitor.release());
            std::shared_ptr<net::Rtnl> r(rtnl.release());
            rt->loop().defer([m, r] {});
        }
        monitor.reset();
        rtnl.reset();
        deactivate();
    }
    void deliver(const net::NetEvent& e) {
        std::string subject = e.subject();
        if (!pattern.empty() && !bus::subject_matches(pattern, subject)) return;
        fire_with(
            [&](lua_State* L) {
                lua_createtable(L, 0, 5);
                push(L, subject);
                lua_setfield(L, -2, "subject");
                push(L, e.kind);
                lua_setfield(L, -2, "kind");
                push(L, e.action);
                lua_setfield(L, -2, "action");
                if (!e.ifname.empty()) {
                    push(L, e.ifname);
                    lua_setfield(L, -2, "ifname");
                }
                push_value(L, e.data);
                lua_setfield(L, -2, "data");
                return 1;
            },
            false, /*pass_self=*/false);
    }
};

// monitor([pattern,] fn): fn(event) for every link, address and route change,
// event.subject being the bus subject `keel net` publishes (net.link.eth0.up);
// `pattern` filters with bus wildcards ("net.link.*.up", "net.addr.>").
int l_monitor(lua_State* L) {
    int fn = 1;
    std::string_view pattern;
    if (lua_type(L, 1) == LUA_TSTRING) {
        pattern = check_view(L, 1);
        luaL_argcheck(L, bus::is_valid_subject(pattern), 1, "not a valid subject pattern");
        fn = 2;
    }
    luaL_checktype(L, fn, LUA_TFUNCTION);
    auto& rt = Runtime::of(L);
    rt.loop();
    auto* h = new_udata<MonitorHandle>(L, kMonitor);
    h->rt = Runtime::shared(L);
    h->pattern = std::string(pattern);
    h->back = std::make_shared<MonitorHandle*>(h);
    lua_pushvalue(L, fn);
    lua_setiuservalue(L, -2, 1);
    auto rtnl = net::Rtnl::open();
    if (!rtnl) return fail(L, "net.monitor", "", rtnl.error());
    h->rtnl = std::make_unique<net::Rtnl>(std::move(*rtnl));
    auto back = h->back;
    auto m = net::Monitor::start(rt.loop(), *h->rtnl, [back](const net::NetEvent& e) {
        if (*back) (*back)->deliver(e);
    });
    if (!m) return fail(L, "net.monitor", "", m.error());
    h->monitor = std::move(*m);
    h->activate(L, -1);
    return 1;
}

int monitor_unsubscribe(lua_State* L) {
    static_cast<MonitorHandle*>(luaL_checkudata(L, 1, kMonitor))->stop();
    return 0;
}

int monitor_active(lua_State* L) {
    lua_pushboolean(L, static_cast<MonitorHandle*>(luaL_checkudata(L, 1, kMonitor))->active());
    return 1;
}

}  // namespace

int open_net(lua_State* L) {
    static const luaL_Reg kMonitorMethods[] = {
        {"unsubscribe", monitor_unsubscribe}, {"active", monitor_active}, {nullptr, nullptr}};
    define_class<MonitorHandle>(L, kMonitor, kMonitorMethods);
    static const luaL_Reg kFuncs[] = {
        {"links", l_links},         {"link", l_link},           {"addrs", l_addrs},
        {"addr_add", l_addr_add},   {"addr_del", l_addr_del},   {"routes", l_routes},
        {"route_add", l_route_add}, {"route_del", l_route_del}, {"create", l_create},
        {"apply", l_apply},         {"status", l_status},       {"monitor", l_monitor},
        {nullptr, nullptr},
    };
    static const luaL_Reg kLinkMethods[] = {
        {"up", link_up},           {"down", link_down},     {"set_mtu", link_set_mtu},
        {"set_mac", link_set_mac}, {"rename", link_rename}, {"set_master", link_set_master},
        {"delete", link_delete},   {"addrs", link_addrs},   {"refresh", link_refresh},
        {nullptr, nullptr},
    };
    static const luaL_Reg kNone[] = {{nullptr, nullptr}};
    define_class<NetLib>(L, kNet, kNone);
    // One NetLib per module table: the upvalue of every function and link method.
    lua_newtable(L);
    new_udata<NetLib>(L, kNet, 0);
    luaL_newmetatable(L, kLink);  // link objects: tables whose __index holds the methods
    lua_newtable(L);
    lua_pushvalue(L, -3);
    luaL_setfuncs(L, kLinkMethods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, kFuncs, 1);
    return 1;
}

}  // namespace keel::lua
