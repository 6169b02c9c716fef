// The keel net daemon in namespaces: commit-confirmed apply that heals a cut
// management address, DHCP through busybox udhcpd/udhcpc end to end, and link/
// address events seen by the official nats.js client.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "integration/nats_js.h"
#include "integration/netns.h"

namespace keel::it {
namespace {

std::string busybox() {
    for (const char* p : {"/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

// A management path: the bus in namespace `a` listening on a veth address, the
// test's clients in namespace `b` on the other end.
TEST(NetDaemon, CommitConfirmedApplyHealsACutManagementAddress) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    Netns a, b;
    TempDir dir;
    RunResult link = run({ip_binary(), "link", "add", "ka0", "netns", a.name(), "type", "veth",
                          "peer", "name", "kb0", "netns", b.name()});
    ASSERT_EQ(link.code, 0) << link.err;
    b.ip("addr add 10.77.0.2/24 dev kb0");
    b.ip("link set kb0 up");
    write_text(dir.file("initial.json"),
               R"({"interfaces": {"ka0": {"addresses": ["10.77.0.1/24"]}}})");
    Process bus({a.keel({"bus", "--listen", "0.0.0.0:4222", "--socket", dir.file("bus.sock")}),
                 std::nullopt, true, ""});
    NetDaemon net(a,
                  {"--config", dir.file("initial.json"), "--server", "unix:" + dir.file("bus.sock"),
                   "--resolv-conf", dir.file("resolv.conf"), "--run-dir", dir.file("run")});
    const std::string server = "nats://10.77.0.1:4222";
    auto status_ok = [&] {
        return run(b.keel({"net", "status", "--json", "--server", server, "--timeout", "1s"}),
                   slow(5s))
                   .code == 0;
    };
    ASSERT_TRUE(eventually(status_ok, slow(10s))) << net.log();

    // Move the address the test talks over, asking for confirmation within the
    // window (long enough to see the cut: a connect to a vanished address takes 2 s
    // to give up).
    const std::string window = kSanitized ? "12" : "5";
    write_text(dir.file("moved.json"),
               R"({"interfaces": {"ka0": {"addresses": ["10.77.9.1/24"]}}})");
    (void)run(b.keel({"net", "apply", "--confirm", window, "--timeout", "1s", "--server", server,
                      dir.file("moved.json")}),
              slow(5s));
    EXPECT_TRUE(a.has_address("ka0", "10.77.9.1/24") || a.has_address("ka0", "10.77.0.1/24"));
    EXPECT_FALSE(status_ok()) << "the management address should be gone for now";
    // Nobody confirms: the old config comes back within the window.
    ASSERT_TRUE(eventually(
        [&] {
            return a.has_address("ka0", "10.77.0.1/24") && !a.has_address("ka0", "10.77.9.1/24");
        },
        slow(10s)))
        << net.log();
    EXPECT_TRUE(eventually(status_ok, slow(5s)));
    EXPECT_NE(net.log().find("reverting to the previous config"), std::string::npos) << net.log();

    // This time confirm: it stays past the window.
    write_text(dir.file("more.json"),
               R"({"interfaces": {"ka0": {"addresses": ["10.77.0.1/24", "10.77.0.5/24"]}}})");
    RunResult applied =
        run(b.keel({"net", "apply", "--confirm", "2", "--server", server, dir.file("more.json")}));
    ASSERT_EQ(applied.code, 0) << applied.err << applied.out;
    EXPECT_NE(applied.out.find("ka0: add address 10.77.0.5/24"), std::string::npos) << applied.out;
    // A second apply while one awaits confirmation is refused.
    RunResult refused = run(b.keel({"net", "apply", "--server", server, dir.file("initial.json")}));
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.err.find("waiting for net.confirm"), std::string::npos) << refused.err;
    RunResult confirmed = run(b.keel({"net", "confirm", "--server", server}));
    ASSERT_EQ(confirmed.code, 0) << confirmed.err;
    ::usleep(static_cast<useconds_t>(slow(3s).count()) * 1000);
    EXPECT_TRUE(a.has_address("ka0", "10.77.0.5/24"));
    EXPECT_EQ(run(b.keel({"net", "confirm", "--server", server})).code,
              1);  // nothing left to confirm

    // net.apply is strict: a missing interface fails it and changes nothing.
    write_text(dir.file("missing.json"),
               R"({"interfaces": {"ka0": {"addresses": ["10.77.0.1/24"]}, "eth9": {}}})");
    RunResult missing = run(b.keel({"net", "apply", "--server", server, dir.file("missing.json")}));
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("interface eth9 not found"), std::string::npos) << missing.err;
    EXPECT_TRUE(a.has_address("ka0", "10.77.0.5/24"));
}

TEST(NetDaemon, DhcpLeaseFromBusyboxUdhcpd) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    const std::string bb = busybox();
    if (bb.empty()) KEEL_SKIP("busybox", "needs busybox (busybox-static) for udhcpd/udhcpc");
    Netns server, client;
    TempDir dir;
    RunResult link = run({ip_binary(), "link", "add", "ds0", "netns", server.name(), "type", "veth",
                          "peer", "name", "dc0", "netns", client.name()});
    ASSERT_EQ(link.code, 0) << link.err;
    server.ip("addr add 10.123.0.1/24 dev ds0");
    server.ip("link set ds0 up");
    write_text(dir.file("leases"), "");
    write_text(dir.file("udhcpd.conf"),
               "start 10.123.0.100\nend 10.123.0.150\ninterface ds0\nlease_file " +
                   dir.file("leases") + "\npidfile " + dir.file("udhcpd.pid") +
                   "\nopt router 10.123.0.1\nopt dns 10.123.0.53 10.123.0.54\n"
                   "opt subnet 255.255.255.0\nopt domain example.test\nopt lease 600\n");
    Process udhcpd(
        {server.exec({bb, "udhcpd", "-f", dir.file("udhcpd.conf")}), std::nullopt, true, ""});

    BusProcess bus;
    auto sub = start_cli({"sub", "--server", bus.url(), "--name", "it-dhcp", "--json", "--count",
                          "1", "net.dhcp.dc0.bound"});
    ASSERT_TRUE(
        eventually([&] { return subscriptions_of(bus.stats(), "it-dhcp") == 1; }, slow(10s)));
    write_text(dir.file("net.json"),
               R"({"interfaces": {"dc0": {"dhcp": true}}, "dns": {"servers": ["10.0.0.53"]}})");
    NetDaemon net(client, {"--config", dir.file("net.json"), "--server", bus.unix_url(),
                           "--resolv-conf", dir.file("resolv.conf"), "--run-dir", dir.file("run"),
                           "--udhcpc", bb + " udhcpc"});

    auto st = sub->wait_exit(slow(20s));
    ASSERT_TRUE(st) << "no net.dhcp.dc0.bound on the bus\n" << net.log() << udhcpd.out();
    auto msg = nlohmann::json::parse(sub->out());
    auto lease = nlohmann::json::parse(msg["data"].get<std::string>());
    const std::string address = lease["address"];
    EXPECT_EQ(address.rfind("10.123.0.", 0), 0u) << lease.dump();
    EXPECT_EQ(lease["routers"], nlohmann::json::array({"10.123.0.1"}));
    EXPECT_EQ(lease["lease_time"], 600);

    // Address with the lease's lifetime, the default route, DNS: all from keel net.
    ASSERT_TRUE(eventually([&] { return client.has_address("dc0", address); }, slow(5s)))
        << net.log();
    auto info = client.ip_json("addr show dev dc0").at(0)["addr_info"];
    for (const auto& a : info) {
        if (a["local"] == address.substr(0, address.find('/'))) {
            EXPECT_LE(a["valid_life_time"].get<long>(), 600) << a.dump();
        }
    }
    auto routes = client.ip_json("route show default");
    ASSERT_EQ(routes.size(), 1u) << routes.dump();
    EXPECT_EQ(routes[0]["gateway"], "10.123.0.1");
    EXPECT_EQ(routes[0]["protocol"], "dhcp");
    EXPECT_EQ(read_text(dir.file("resolv.conf")),
              "# Written by keel net; changes here are overwritten.\nnameserver "
              "10.0.0.53\nnameserver 10.123.0.53\n"
              "nameserver 10.123.0.54\nsearch example.test\n");
    RunResult status = run({KEEL_BIN, "net", "status", "--json", "--server", bus.url()});
    ASSERT_EQ(status.code, 0) << status.err;
    EXPECT_EQ(nlohmann::json::parse(status.out)["dhcp"]["dc0"]["address"], address);

    // Turning DHCP off through net.apply releases the lease and takes it back.
    auto deconfig = start_cli({"sub", "--server", bus.url(), "--name", "it-deconfig", "--count",
                               "1", "net.dhcp.dc0.deconfig"});
    ASSERT_TRUE(
        eventually([&] { return subscriptions_of(bus.stats(), "it-deconfig") == 1; }, slow(10s)));
    write_text(dir.file("off.json"), R"({"interfaces": {"dc0": {}}})");
    RunResult off = run({KEEL_BIN, "net", "apply", "--server", bus.url(), dir.file("off.json")});
    ASSERT_EQ(off.code, 0) << off.err;
    EXPECT_TRUE(deconfig->wait_exit(slow(10s))) << net.log();
    EXPECT_FALSE(client.has_address("dc0", address));
    EXPECT_TRUE(client.ip_json("route show default").empty());
}

TEST(NetDaemon, NatsClientSeesLinkAndAddressEvents) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    KEEL_SKIP_IF_MISSING(nats_client_missing());
    Netns ns;
    TempDir dir;
    // The daemon starts before the bus exists and keeps working meanwhile.
    const std::string sock = dir.file("bus.sock");
    // late0 is configured but absent: it is configured when it appears.
    write_text(dir.file("net.json"),
               R"({"interfaces": {"late0": {"addresses": ["10.66.0.1/24"]}}})");
    NetDaemon net(ns, {"--config", dir.file("net.json"), "--server", "unix:" + sock,
                       "--resolv-conf", dir.file("resolv.conf"), "--run-dir", dir.file("run")});
    ns.ip("link add late0 type veth peer name late1");
    EXPECT_TRUE(eventually([&] { return ns.has_address("late0", "10.66.0.1/24"); }, slow(5s)))
        << net.log();
    BusProcess::Options bo;
    bo.socket_path = sock;
    BusProcess bus(bo);
    ASSERT_TRUE(
        eventually([&] { return subscriptions_of(bus.stats(), "keel-net") == 3; }, slow(10s)))
        << net.log();

    NatsWatcher watch(bus.url(), {"net.>"});

    ns.ip("link add m0 type veth peer name m1");
    ns.ip("link set m0 up");
    ns.ip("link set m1 up");
    ns.ip("addr add 10.88.0.1/24 dev m0");
    ns.ip("addr del 10.88.0.1/24 dev m0");
    ns.ip("link set m1 down");
    ns.ip("link del m0");
    ASSERT_TRUE(watch.wait_for("net.link.m0.removed", slow(10s))) << net.log();
    ASSERT_TRUE(watch.wait_for("net.link.m1.removed", slow(10s))) << net.log();

    std::vector<std::string> subjects;
    nlohmann::json added_addr;
    bool route_added = false;
    for (const auto& m : watch.messages()) {
        const std::string s = m["subject"];
        if (s.rfind("net.route.", 0) == 0 && s != "net.route.added" && s != "net.route.removed")
            ADD_FAILURE() << s;
        if (s.rfind("net.link.m", 0) == 0 || s.rfind("net.addr.m", 0) == 0) subjects.push_back(s);
        if (s == "net.addr.m0.added")
            added_addr = nlohmann::json::parse(m["data"].get<std::string>());
        route_added = route_added || s == "net.route.added";
    }
    // Each link's own events in order (the two ends' relative order is the kernel's).
    auto of = [&](const std::string& dev) {
        std::vector<std::string> out;
        for (const auto& s : subjects)
            if (s.find("." + dev + ".") != std::string::npos) out.push_back(s);
        return out;
    };
    EXPECT_EQ(of("m0"), (std::vector<std::string>{"net.link.m0.added", "net.link.m0.up",
                                                  "net.addr.m0.added", "net.addr.m0.removed",
                                                  "net.link.m0.down", "net.link.m0.removed"}))
        << watch.err();
    EXPECT_EQ(of("m1"), (std::vector<std::string>{"net.link.m1.added", "net.link.m1.up",
                                                  "net.link.m1.down", "net.link.m1.removed"}))
        << watch.err();
    EXPECT_EQ(added_addr["local"], "10.88.0.1");
    EXPECT_EQ(added_addr["prefixlen"], 24);
    EXPECT_EQ(added_addr["ifname"], "m0");
    EXPECT_TRUE(route_added);
}

}  // namespace
}  // namespace keel::it
