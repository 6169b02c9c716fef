// keel.net: Lua scripts run by `keel lua` inside a fresh namespace, with iproute2
// as the independent judge of what they did (and as the source of the changes the
// monitor must see); also keel.so from stock lua5.4.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "integration/netns.h"

namespace keel::it {
namespace {

class LuaNet : public ::testing::Test {
  protected:
    void SetUp() override {
        KEEL_SKIP_IF_MISSING(netns_unavailable());
        ns = std::make_unique<Netns>();
        ns->ip("link add v0 type veth peer name v1");
        ns->ip("link set v1 up");
        ns->ip("link add br0 type bridge");
    }
    // Runs `script` with `keel lua` in the namespace (arg[1]: iproute2's path,
    // then `args`); expects exit 0 and returns its stdout.
    std::string lua(const std::string& script, std::vector<std::string> prefix = {},
                    std::vector<std::string> args = {}, std::string* err = nullptr) {
        const std::string path = dir.file("t" + std::to_string(scripts++) + ".lua");
        write_text(path, "local keel = require 'keel'\nlocal net = keel.net\n" + script);
        std::vector<std::string> argv = prefix;
        argv.insert(argv.end(), {KEEL_BIN, "lua", path, ip_binary()});
        argv.insert(argv.end(), args.begin(), args.end());
        RunResult r = run(ns->exec(argv));
        EXPECT_EQ(r.code, 0) << script << "\nstdout: " << r.out << "\nstderr: " << r.err;
        if (err) *err = r.err;
        return r.out;
    }
    nlohmann::json link(const std::string& name) {
        return ns->ip_json("-d link show dev " + name).at(0);
    }
    // The route to `dst` in `ip -j route` output; null when there is none.
    static nlohmann::json route(const nlohmann::json& routes, const std::string& dst) {
        for (const auto& r : routes)
            if (r.value("dst", "") == dst) return r;
        return nullptr;
    }
    static bool has_flag(const nlohmann::json& l, const std::string& f) {
        for (const auto& x : l["flags"])
            if (x == f) return true;
        return false;
    }

    std::unique_ptr<Netns> ns;
    TempDir dir;
    int scripts = 0;
};

TEST_F(LuaNet, LinksMatchIproute2AndLinkMethodsChangeTheKernel) {
    std::string vlan_err;
    std::string out = lua(R"lua(
        for _, l in ipairs(net.links()) do
            print(l.name, l.index, l.mtu, l.mac or "-", l.kind or "-", tostring(l.up), tostring(l.carrier))
        end
        local l = assert(net.link("v0"))
        assert(l.name == "v0" and l.kind == "veth" and l.link == "v1", keel.json.encode(l))
        assert(l:set_mtu(1400)) assert(l.mtu == 1400)
        assert(l:set_mac("02:00:00:00:00:01")) assert(l.mac == "02:00:00:00:00:01")
        assert(l:set_master("br0")) assert(l.master == "br0")
        assert(l:up()) assert(l.admin_up == true and l.flags[1])
        assert(l:down()) assert(l.admin_up == false)
        assert(l:rename("lan0")) assert(l.name == "lan0" and l.index == net.link("lan0").index)
        assert(l:up())
        local br = assert(net.link("br0"))
        assert(br:up())
        local c = assert(net.create{kind = "veth", name = "p0", peer = "p1"})
        assert(c.kind == "veth" and c.name == "p0")
        -- 8021q may be missing from the kernel (then the kernel's reason says so)
        local vl, err = net.create{kind = "vlan", name = "lan0.7", parent = "lan0", id = 7}
        io.stderr:write(vl and ("vlan " .. vl.vlan_id .. " on " .. vl.link .. "\n") or ("no vlan: " .. err .. "\n"))
        assert(net.create{kind = "bridge", name = "br1"})
    )lua",
                          {}, {}, &vlan_err);
    // Every link iproute2 lists (v0 is lan0 now), by the same index; lo and v1,
    // which the script left alone, with the same MTU, MAC, kind and state.
    int matched = 0;
    for (const auto& l : ns->ip_json("-d link show")) {
        std::string name = l["ifname"] == "lan0" ? "v0" : l["ifname"].get<std::string>();
        if (name != "lo" && name != "v0" && name != "v1" && name != "br0")
            continue;  // made after the listing
        std::string line = name + "\t" + std::to_string(l["ifindex"].get<int>()) + "\t";
        if (name == "lo" || name == "v1") {  // v1's carrier came with v0 up, after the listing
            std::string kind =
                l.contains("linkinfo") ? l["linkinfo"]["info_kind"].get<std::string>() : "-";
            line += std::to_string(l["mtu"].get<int>()) + "\t" + l.value("address", "-") + "\t" +
                    kind + "\t" + (has_flag(l, "UP") ? "true" : "false") + "\t" +
                    (name == "lo" ? (has_flag(l, "LOWER_UP") ? "true\n" : "false\n") : "false\n");
        }
        EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
        ++matched;
    }
    EXPECT_EQ(matched, 4);
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4) << out;

    auto lan = link("lan0");
    EXPECT_EQ(lan["mtu"], 1400);
    EXPECT_EQ(lan["address"], "02:00:00:00:00:01");
    EXPECT_EQ(lan.value("master", ""), "br0");
    EXPECT_TRUE(has_flag(lan, "UP")) << lan.dump();
    EXPECT_EQ(link("p0")["linkinfo"]["info_kind"], "veth");
    EXPECT_EQ(link("p1")["linkinfo"]["info_kind"], "veth");
    if (vlan_err.find("no vlan: ") == std::string::npos) {
        EXPECT_NE(vlan_err.find("vlan 7 on lan0\n"), std::string::npos) << vlan_err;
        auto vlan = link("lan0.7");
        EXPECT_EQ(vlan["linkinfo"]["info_kind"], "vlan");
        EXPECT_EQ(vlan["linkinfo"]["info_data"]["id"], 7);
    } else {
        EXPECT_NE(vlan_err.find("no vlan: net.create: lan0.7: "), std::string::npos) << vlan_err;
        std::cerr << "[   NOTE   ] this kernel cannot create VLANs: " << vlan_err;
    }
    EXPECT_EQ(link("br1")["linkinfo"]["info_kind"], "bridge");

    lua(R"lua(
        local l = assert(net.link("lan0"))
        assert(l:down()) assert(l.admin_up == false and type(l.up) == "function")
        assert(l:set_master(nil)) assert(l.master == nil)
        assert(net.link("br1"):delete())
        local gone, err, code = net.link("br1")
        assert(gone == nil and err == "net.link: br1: No such device" and code == 19, err)
        -- the object follows its link by index: a refresh sees the kernel's view
        local p = assert(net.link("p0"))
        assert(p:delete())
        local r, e = p:refresh()
        assert(r == nil and e == "net.link:refresh: p0: No such device", e)
    )lua");
    lan = link("lan0");
    EXPECT_FALSE(has_flag(lan, "UP")) << lan.dump();
    EXPECT_FALSE(lan.contains("master")) << lan.dump();
    EXPECT_TRUE(ns->ip_json("link show").dump().find("\"br1\"") == std::string::npos);
    EXPECT_TRUE(ns->ip_json("link show").dump().find("\"p1\"") == std::string::npos);
}

TEST_F(LuaNet, AddressesAndRoutesMatchIproute2) {
    ns->ip("link set v0 up");
    std::string out = lua(R"lua(
        assert(net.addr_add("v0", "10.50.0.1/24"))
        assert(net.addr_add("v0", "fd00:50::1/64"))
        assert(net.addr_add("v1", "10.51.0.1/24"))
        assert(net.route_add{dst = "10.60.0.0/16", gateway = "10.50.0.2", dev = "v0"})
        assert(net.route_add{dst = "default", gateway = "10.50.0.254", metric = 50})
        assert(net.route_add{dst = "10.61.0.0/16", dev = "v0", table = 100})
        assert(net.route_add{dst = "fd00:60::/48", gateway = "fd00:50::2"})
        assert(net.route_add{dst = "10.60.0.0/16", gateway = "10.50.0.3", dev = "v0", replace = true})
        local mine = {}
        for _, a in ipairs(net.addrs("v0")) do mine[#mine + 1] = a.cidr .. " " .. a.family end
        table.sort(mine)
        print(table.concat(mine, ","))
        print(#net.addrs(), #net.addrs("v1"))
        for _, r in ipairs(net.routes()) do print(r.dst, r.gateway or "-", r.dev, r.metric, r.protocol) end
        for _, r in ipairs(net.routes{table = 100}) do print("t100", r.dst, r.dev, r.table) end
        for _, r in ipairs(net.routes{family = "inet6"}) do if r.dst == "fd00:60::/48" then print("v6", r.gateway) end end
        local st = net.status()
        print("status", #st.links, #st.addresses > 0, #st.routes > 0, st.links[1].ifname)
    )lua");
    // Our own view (including the IPv6 link-local address the kernel adds).
    EXPECT_NE(out.find("10.50.0.1/24 inet,fd00:50::1/64 inet6"), std::string::npos) << out;
    EXPECT_NE(out.find("10.60.0.0/16\t10.50.0.3\tv0\t0\tstatic"), std::string::npos) << out;
    EXPECT_NE(out.find("default\t10.50.0.254\tv0\t50\tstatic"), std::string::npos) << out;
    EXPECT_NE(out.find("t100\t10.61.0.0/16\tv0\t100"), std::string::npos) << out;
    EXPECT_NE(out.find("v6\tfd00:50::2"), std::string::npos) << out;
    EXPECT_NE(out.find("status\t4\ttrue\ttrue\tlo"), std::string::npos) << out;
    // The judge.
    EXPECT_TRUE(ns->has_address("v0", "10.50.0.1/24"));
    EXPECT_TRUE(ns->has_address("v0", "fd00:50::1/64"));
    EXPECT_TRUE(ns->has_address("v1", "10.51.0.1/24"));
    auto routes = ns->ip_json("route show");
    EXPECT_EQ(route(routes, "10.60.0.0/16"), (nlohmann::json{{"dst", "10.60.0.0/16"},
                                                             {"gateway", "10.50.0.3"},
                                                             {"dev", "v0"},
                                                             {"protocol", "static"},
                                                             {"flags", nlohmann::json::array()}}));
    EXPECT_EQ(route(routes, "default"), (nlohmann::json{{"dst", "default"},
                                                        {"gateway", "10.50.0.254"},
                                                        {"dev", "v0"},
                                                        {"protocol", "static"},
                                                        {"metric", 50},
                                                        {"flags", nlohmann::json::array()}}));
    EXPECT_EQ(route(ns->ip_json("route show table 100"), "10.61.0.0/16").value("dev", ""), "v0");
    EXPECT_EQ(route(ns->ip_json("-6 route show"), "fd00:60::/48").value("gateway", ""),
              "fd00:50::2");

    lua(R"lua(
        assert(net.addr_del("v1", "10.51.0.1/24"))
        assert(net.route_del{dst = "10.60.0.0/16"})
        assert(net.route_del{dst = "default", gateway = "10.50.0.254"})
        assert(net.route_del{dst = "10.61.0.0/16", table = 100})
        assert(net.route_del{dst = "fd00:60::/48"})
    )lua");
    EXPECT_FALSE(ns->has_address("v1", "10.51.0.1/24"));
    routes = ns->ip_json("route show");
    EXPECT_TRUE(route(routes, "10.60.0.0/16").is_null()) << routes;
    EXPECT_TRUE(route(routes, "default").is_null()) << routes;
    EXPECT_EQ(ns->ip_json("route show table 100").dump(), "[]");
    EXPECT_EQ(ns->ip_json("-6 route show").dump().find("fd00:60::"), std::string::npos);
}

TEST_F(LuaNet, ErrorsNameTheInterfaceAndTheKernelsReason) {
    ns->ip("link set v0 up");
    ns->ip("addr add 10.50.0.1/24 dev v0");
    lua(R"lua(
        -- `want` exactly, or with the kernel's extended-ack text (which varies
        -- between kernels) before the strerror part: "...: ipv4: Address not found: Cannot..."
        local function check(want, wcode, ok, err, code)
            assert(ok == nil, "expected a failure: " .. want)
            local head, reason = want:match("^(.*: )(.-)$")
            assert(err == want or (err:sub(1, #head) == head and err:sub(-#reason - 2) == ": " .. reason),
                   ("%q ~= %q"):format(err, want))
            assert(code == wcode, want .. ": errno " .. tostring(code))
        end
        check("net.addr_add: eth9: No such device", 19, net.addr_add("eth9", "10.0.0.2/24"))
        check("net.addr_del: eth9: No such device", 19, net.addr_del("eth9", "10.0.0.2/24"))
        check("net.addrs: eth9: No such device", 19, net.addrs("eth9"))
        check("net.link: eth9: No such device", 19, net.link("eth9"))
        check("net.addr_add: v0: '10.0.0.300/24' is not an IP address with a prefix length", 22,
              net.addr_add("v0", "10.0.0.300/24"))
        assert(net.addr_add("v0", "10.50.0.1/24"))  -- already there: refreshed, as apply needs
        check("net.addr_del: v0: 10.99.0.1/24: Cannot assign requested address", 99, net.addr_del("v0", "10.99.0.1/24"))
        check("net.route_add: 10.60.0.0/16 via 10.77.0.1: Network is unreachable", 101,
              net.route_add{dst = "10.60.0.0/16", gateway = "10.77.0.1"})
        check("net.route_add: 10.60.0.0/16 dev eth9: eth9: No such device", 19,
              net.route_add{dst = "10.60.0.0/16", dev = "eth9"})
        check("net.route_del: 10.99.0.0/16: No such process", 3, net.route_del{dst = "10.99.0.0/16"})
        check("net.create: v0: File exists", 17, net.create{kind = "bridge", name = "v0"})
        check("net.create: x0.5: parent eth9: No such device", 19, net.create{kind = "vlan", name = "x0.5", parent = "eth9", id = 5})
        check("net.link:set_mac: v0: 'zz' is not a MAC address", 22, net.link("v0"):set_mac("zz"))
        local ok, err, code = net.link("v0"):set_mtu(100000)
        assert(ok == nil and err:find("^net.link:set_mtu: v0: ") and code == 22, err)
        local ok2, err2 = net.create{kind = "nosuchkind", name = "x0"}
        assert(ok2 == nil and err2:find("^net.create: x0: "), err2)
        local bad, msg = net.apply({interfaces = {eth9 = {addresses = {"10.9.0.1/24"}}, v0 = {mtu = 1300}}})
        assert(bad == nil and msg:find("eth9") and msg:find("^net.apply: "), msg)
        local bad2, msg2, code2 = net.apply({interfaces = {v0 = {mtu = "big"}}})
        assert(bad2 == nil and msg2:find("mtu") and code2 == 22, msg2)

        -- misuse raises, naming the argument
        local function raises(pattern, f, ...)
            local ok, e = pcall(f, ...)
            assert(not ok and e:find(pattern), tostring(e))
        end
        raises("bad argument #2 to '[%w.:]*addr_add' %(string expected, got table%)", net.addr_add, "v0", {})
        raises("bad argument #1 to '[%w.:]*addr_add' %(string expected, got no value%)", net.addr_add)
        raises("bad argument #1 to '[%w.:]*route_add' %(table expected, got string%)", net.route_add, "10.0.0.0/8")
        raises("bad argument #1 to '[%w.:]*route_add' %(option 'metric': integer expected, got string%)",
               net.route_add, {dst = "default", metric = "x"})
        raises("bad argument #1 to '[%w.:]*route_add' %(option 'dst'", net.route_add, {gateway = "10.0.0.1"})
        raises("bad argument #1 to '[%w.:]*routes' %(option 'family'", net.routes, {family = "ipx"})
        raises("bad argument #1 to '[%w.:]*create' %(a vlan needs", net.create, {kind = "vlan", name = "x"})
        raises("bad argument #1 to '[%w.:]*set_mtu' %(number expected, got string%)", function() return net.link("v0"):set_mtu("big") end)
        raises("bad argument #1 to '[%w.:]*monitor' %(function expected", net.monitor, 5)
        raises("bad argument #1 to '[%w.:]*apply' %(table expected, got number%)", net.apply, 5)
        raises("bad argument #2 to '[%w.:]*apply' %(option 'dry_run': boolean expected", net.apply, {}, {dry_run = 1})
        raises("keel.net.link expected", net.link("v0").up, {})
    )lua");
    EXPECT_EQ(link("v0")["mtu"], 1500);  // the failed apply changed nothing

    // Without CAP_NET_ADMIN (root, capability dropped): the kernel's EPERM.
    if (::access("/usr/bin/setpriv", X_OK) != 0)
        KEEL_SKIP("setpriv", "setpriv is not installed (util-linux)");
    lua(R"lua(
        assert(#net.links() == 4)  -- reading needs no privilege
        local ok, err, code = net.addr_add("v0", "10.9.0.1/24")
        assert(ok == nil and err == "net.addr_add: v0: 10.9.0.1/24: Operation not permitted" and code == 1, err)
        ok, err, code = net.link("v0"):down()
        assert(ok == nil and err == "net.link:down: v0: Operation not permitted" and code == 1, err)
    )lua",
        {"/usr/bin/setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin"});
    EXPECT_TRUE(has_flag(link("v0"), "UP"));
}

TEST_F(LuaNet, MonitorDeliversIpChangesOnTheLoopUntilUnsubscribed) {
    std::string out = lua(R"lua(
        local ip = arg[1]
        local seen, count = {}, 0
        local want = {"net.link.v0.up", "net.addr.v0.added", "net.route.added", "net.route.removed",
                      "net.addr.v0.removed", "net.link.v0.down", "net.link.d0.added", "net.link.d0.removed",
                      "addr_payload", "route_payload", "link_payload", "filtered"}
        local function run(...) assert(keel.sys.spawn({ip, ...}):wait()) end
        -- Waits on the loop until cond() holds, for 10 s at most.
        local function wait_for(cond)
            local deadline = keel.loop.now() + 10
            while not cond() and keel.loop.now() < deadline do keel.sleep(0.01) end
            return cond()
        end
        local m = net.monitor(function(ev)
            count = count + 1
            assert(ev.kind and ev.action and ev.data, ev.subject)
            seen[ev.subject] = true
            -- the payloads: what changed, as net.status shows it
            if ev.subject == "net.addr.v0.added" and ev.data["local"] == "10.50.0.1" then seen.addr_payload = true end
            if ev.subject == "net.route.added" and ev.data.dst == "10.60.0.0/16" then seen.route_payload = true end
            if ev.subject == "net.link.v0.up" and ev.ifname == "v0" and ev.data.ifname == "v0" then seen.link_payload = true end
        end)
        local links = net.monitor("net.link.*.up", function(ev)
            print("filtered", ev.subject)
            seen.filtered = true
        end)
        run("link", "set", "v0", "up")
        run("addr", "add", "10.50.0.1/24", "dev", "v0")
        run("route", "add", "10.60.0.0/16", "via", "10.50.0.2")
        run("route", "del", "10.60.0.0/16")
        run("addr", "del", "10.50.0.1/24", "dev", "v0")
        run("link", "set", "v0", "down")
        run("link", "add", "d0", "type", "bridge")
        run("link", "del", "d0")
        wait_for(function()
            for _, s in ipairs(want) do if not seen[s] then return false end end
            return true
        end)
        m:unsubscribe()
        links:unsubscribe()
        assert(not m:active() and not links:active())
        -- After unsubscribing, nothing: a monitor still subscribed is the barrier.
        -- The kernel queued each change on every monitor's socket before `ip`
        -- returned, so once the probe has seen a second change, the loop has
        -- dispatched whatever the first one brought.
        local before = count
        local probe = {}
        local p = net.monitor("net.link.v0.*", function(ev) probe[ev.subject] = true end)
        run("link", "set", "v0", "up")
        print("probe up", wait_for(function() return probe["net.link.v0.up"] end))
        run("link", "set", "v0", "down")
        print("probe down", wait_for(function() return probe["net.link.v0.down"] end))
        p:unsubscribe()
        print("after unsubscribe", count - before)
        for _, s in ipairs(want) do
            print(s, seen[s] and "seen" or "MISSING")
        end
    )lua");
    for (const char* s :
         {"net.link.v0.up", "net.addr.v0.added", "net.route.added", "net.route.removed",
          "net.addr.v0.removed", "net.link.v0.down", "net.link.d0.added", "net.link.d0.removed",
          "addr_payload", "route_payload", "link_payload"})
        EXPECT_NE(out.find(std::string(s) + "\tseen"), std::string::npos) << out;
    EXPECT_NE(out.find("filtered\tnet.link.v0.up\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("filtered\tnet.link.v0.down"), std::string::npos) << out;
    EXPECT_NE(out.find("probe up\ttrue\nprobe down\ttrue\n"), std::string::npos) << out;
    EXPECT_NE(out.find("after unsubscribe\t0\n"), std::string::npos) << out;
}

TEST_F(LuaNet, ApplyMakesTheKernelMatchAndIsIdempotent) {
    std::string out = lua(R"lua(
        local resolv = arg[2]
        local cfg = {interfaces = {
            v0 = {addresses = {"10.50.0.1/24"}, mtu = 1400, routes = {{to = "10.60.0.0/16", via = "10.50.0.2"}}},
            br0 = {kind = "bridge", addresses = {"10.70.0.1/24"}},
        }, dns = {servers = {"10.50.0.53"}}}
        local opts = {resolv_conf = resolv}
        local dry = assert(net.apply(cfg, {dry_run = true, resolv_conf = resolv}))
        assert(#dry > 0 and #net.addrs("v0") == 0, "a dry run changed something")
        local first, missing = assert(net.apply(cfg, opts))
        assert(#first == #dry and #missing == 0, #first .. " vs " .. #dry)
        for _, c in ipairs(first) do print("first", c) end
        local again = assert(net.apply(cfg, opts))
        print("again", #again)
        -- a changed config: only the difference; what only the previous one named is taken back
        cfg.interfaces.v0.addresses = {"10.50.0.9/24"}
        cfg.interfaces.br0 = nil
        local third = assert(net.apply(cfg, opts))
        for _, c in ipairs(third) do print("third", c) end
        print("fourth", #assert(net.apply(keel.json.encode(cfg), opts)))
    )lua",
                          {}, {dir.file("resolv.conf")});
    EXPECT_NE(out.find("first\tv0: set mtu 1400"), std::string::npos) << out;
    EXPECT_NE(out.find("again\t0\n"), std::string::npos) << out;
    EXPECT_NE(out.find("fourth\t0\n"), std::string::npos) << out;
    EXPECT_NE(out.find("third\tv0: add address 10.50.0.9/24"), std::string::npos) << out;
    EXPECT_NE(out.find("third\tv0: remove address 10.50.0.1/24"), std::string::npos) << out;
    EXPECT_NE(out.find("third\tdelete bridge br0"), std::string::npos) << out;
    EXPECT_EQ(out.find("third\tv0: set mtu"), std::string::npos) << out;
    auto v0 = link("v0");
    EXPECT_EQ(v0["mtu"], 1400);
    EXPECT_TRUE(has_flag(v0, "UP"));
    EXPECT_TRUE(ns->has_address("v0", "10.50.0.9/24"));
    EXPECT_FALSE(ns->has_address("v0", "10.50.0.1/24"));
    EXPECT_EQ(route(ns->ip_json("route show"), "10.60.0.0/16").value("gateway", ""), "10.50.0.2");
    EXPECT_EQ(ns->ip_json("link show").dump().find("\"br0\""), std::string::npos);
    EXPECT_NE(read_text(dir.file("resolv.conf")).find("nameserver 10.50.0.53\n"),
              std::string::npos);
}

// keel.so under stock lua5.4, in the namespace.
TEST_F(LuaNet, StockLuaRequiresKeelAndListsLinks) {
    if (!std::filesystem::exists("/usr/bin/lua5.4")) KEEL_SKIP("lua5.4", "lua5.4 is not installed");
    write_text(dir.file("stock.lua"), R"lua(
        local keel = require "keel"
        local names = {}
        for _, l in ipairs(keel.net.links()) do names[#names + 1] = l.name end
        table.sort(names)
        assert(keel.net.addr_add("v0", "10.50.0.1/24"))
        print(table.concat(names, " "))
    )lua");
    std::vector<std::string> argv = {
        "/usr/bin/env",
        "LUA_CPATH=" + std::filesystem::path(KEEL_BIN).parent_path().string() + "/lua/?.so"};
    for (const auto& e : sanitizer_preload_env())
        argv.push_back(e);
    argv.insert(argv.end(), {"/usr/bin/lua5.4", dir.file("stock.lua")});
    RunResult r = run(ns->exec(argv));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "br0 lo v0 v1\n");
    EXPECT_TRUE(ns->has_address("v0", "10.50.0.1/24"));
}

}  // namespace
}  // namespace keel::it
