// keel net apply --once in a fresh namespace, with iproute2 as the judge: the
// config is applied, applying again changes nothing, a changed config changes
// only the difference, and a config naming a missing interface changes nothing.
#include <gtest/gtest.h>

#include "integration/netns.h"

namespace keel::it {
namespace {

struct Apply {
    int code;
    nlohmann::json report;
    std::string err;
};

Apply apply(const Netns& ns, const TempDir& dir, const std::string& config,
            std::vector<std::string> extra = {}) {
    write_text(dir.file("net.json"), config);
    std::vector<std::string> args = {"net",    "apply",         "--once",
                                     "--json", "--resolv-conf", dir.file("resolv.conf")};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(dir.file("net.json"));
    RunResult r = run(ns.keel(args));
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    return {r.code, j.is_discarded() ? nlohmann::json() : j, r.err};
}

std::vector<std::string> changes(const Apply& a) {
    std::vector<std::string> out;
    for (const auto& c : a.report.value("changes", nlohmann::json::array()))
        out.push_back(c.get<std::string>());
    return out;
}

const nlohmann::json* find_route(const nlohmann::json& routes, const std::string& dst) {
    for (const auto& r : routes)
        if (r.value("dst", "") == dst) return &r;
    return nullptr;
}

const char* kConfig = R"({"interfaces": {
  "v0": {"addresses": ["10.50.0.1/24", "fd00:50::1/64"], "mtu": 1400,
         "routes": [{"to": "10.60.0.0/16", "via": "10.50.0.2"},
                    {"to": "default", "via": "10.50.0.254", "metric": 50},
                    {"to": "fd00:60::/48", "via": "fd00:50::2"}]},
  "br0": {"kind": "bridge", "addresses": ["10.70.0.1/24"]},
  "p0": {"kind": "veth", "peer": "p1", "bridge": "br0"}},
 "dns": {"servers": ["10.50.0.53"], "search": ["test.lan"]}})";

TEST(NetApply, Iproute2SeesTheConfigAndReapplyChangesNothing) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    Netns ns;
    TempDir dir;
    ns.ip("link add v0 type veth peer name v1");
    ns.ip("addr add 10.51.0.1/24 dev v1");  // not managed: must stay

    Apply first = apply(ns, dir, kConfig);
    ASSERT_EQ(first.code, 0) << first.err << first.report.dump();
    EXPECT_EQ(changes(first).size(), 14u) << first.report.dump(2);

    // The judge: iproute2's own view.
    auto v0 = ns.ip_json("link show dev v0").at(0);
    EXPECT_EQ(v0["mtu"], 1400);
    EXPECT_NE(std::string(v0["flags"].dump()).find("\"UP\""), std::string::npos) << v0.dump();
    EXPECT_TRUE(ns.has_address("v0", "10.50.0.1/24"));
    EXPECT_TRUE(ns.has_address("v0", "fd00:50::1/64"));
    EXPECT_TRUE(ns.has_address("br0", "10.70.0.1/24"));
    EXPECT_TRUE(ns.has_address("v1", "10.51.0.1/24"));
    EXPECT_EQ(ns.ip_json("link show dev p0").at(0).value("master", ""), "br0");
    EXPECT_EQ(ns.ip_json("-d link show dev br0").at(0)["linkinfo"]["info_kind"], "bridge");
    auto routes = ns.ip_json("route show");
    const auto* r = find_route(routes, "10.60.0.0/16");
    ASSERT_TRUE(r) << routes.dump();
    EXPECT_EQ((*r)["gateway"], "10.50.0.2");
    EXPECT_EQ((*r)["protocol"], "static");
    const auto* def = find_route(routes, "default");
    ASSERT_TRUE(def) << routes.dump();
    EXPECT_EQ((*def)["metric"], 50);
    auto routes6 = ns.ip_json("-6 route show");
    ASSERT_TRUE(find_route(routes6, "fd00:60::/48")) << routes6.dump();
    EXPECT_EQ(read_text(dir.file("resolv.conf")),
              "# Written by keel net; changes here are overwritten.\nnameserver 10.50.0.53\nsearch "
              "test.lan\n");

    // Idempotent: nothing to do the second time.
    Apply again = apply(ns, dir, kConfig);
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_EQ(changes(again), std::vector<std::string>{}) << again.report.dump(2);

    // A changed config: exactly the difference.
    std::string changed = kConfig;
    changed.replace(changed.find("10.50.0.1/24"), 12, "10.50.0.7/24");
    changed.replace(changed.find("\"metric\": 50"), 12, "\"metric\": 60");
    changed.replace(changed.find("test.lan"), 8, "prod.lan");
    Apply diff = apply(ns, dir, changed);
    ASSERT_EQ(diff.code, 0) << diff.err << diff.report.dump();
    EXPECT_EQ(changes(diff), (std::vector<std::string>{
                                 "v0: remove route default via 10.50.0.254 dev v0 metric 50",
                                 "v0: remove address 10.50.0.1/24",
                                 "v0: add address 10.50.0.7/24",
                                 "v0: add route default via 10.50.0.254 metric 60 dev v0",
                                 // The kernel took this one with the old address; it is put back.
                                 "v0: add route 10.60.0.0/16 via 10.50.0.2 dev v0",
                                 "write " + dir.file("resolv.conf"),
                             }));
    EXPECT_FALSE(ns.has_address("v0", "10.50.0.1/24"));
    EXPECT_TRUE(ns.has_address("v0", "10.50.0.7/24"));
    EXPECT_TRUE(ns.has_address("v1", "10.51.0.1/24"));
    // The gateway route through the moved address was put back with the new metric.
    routes = ns.ip_json("route show");
    ASSERT_TRUE(find_route(routes, "default"));
    EXPECT_EQ((*find_route(routes, "default"))["metric"], 60);
    ASSERT_TRUE(find_route(routes, "10.60.0.0/16")) << routes.dump();

    // A dry run reports and changes nothing.
    Apply dry = apply(ns, dir, kConfig, {"--dry-run"});
    ASSERT_EQ(dry.code, 0) << dry.err;
    EXPECT_FALSE(changes(dry).empty());
    EXPECT_TRUE(ns.has_address("v0", "10.50.0.7/24"));
}

TEST(NetApply, MissingInterfaceFailsAndChangesNothing) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    Netns ns;
    TempDir dir;
    ns.ip("link add v0 type veth peer name v1");
    const auto links_before = ns.ip_json("link show").dump();
    const auto addrs_before = ns.ip_json("addr show").dump();
    Apply a = apply(
        ns, dir, R"({"interfaces": {"v0": {"addresses": ["10.1.0.1/24"]}, "br5": {"kind": "bridge"},
                                                "eth9": {"addresses": ["10.9.0.1/24"]}}})");
    EXPECT_EQ(a.code, 1);
    EXPECT_NE(a.err.find("interface eth9 not found"), std::string::npos) << a.err;
    EXPECT_EQ(ns.ip_json("link show").dump(), links_before);
    EXPECT_EQ(ns.ip_json("addr show").dump(), addrs_before);

    // A broken config is a usage error naming the JSON path.
    write_text(dir.file("bad.json"), R"({"interfaces": {"v0": {"mtu": "big"}}})");
    RunResult bad = run(ns.keel({"net", "apply", "--once", dir.file("bad.json")}));
    EXPECT_EQ(bad.code, 100);
    EXPECT_NE(bad.err.find("interfaces.v0.mtu: must be an integer"), std::string::npos) << bad.err;
    RunResult nofile = run(ns.keel({"net", "apply", "--once", dir.file("absent.json")}));
    EXPECT_EQ(nofile.code, 100);
    EXPECT_NE(nofile.err.find("absent.json"), std::string::npos) << nofile.err;
}

TEST(NetApply, KernelRefusalIsReportedWithTheKernelsWords) {
    KEEL_SKIP_IF_MISSING(netns_unavailable());
    Netns ns;
    TempDir dir;
    ns.ip("link add v0 type veth peer name v1");
    // A gateway that is not on any connected network.
    Apply a = apply(
        ns, dir,
        R"({"interfaces": {"v0": {"addresses": ["10.1.0.1/24"], "routes": [{"to": "10.2.0.0/16", "via": "10.99.0.1"}]}}})");
    EXPECT_EQ(a.code, 1) << a.report.dump();
    ASSERT_EQ(a.report["errors"].size(), 1u) << a.report.dump();
    const std::string e = a.report["errors"][0];
    EXPECT_NE(e.find("v0: add route 10.2.0.0/16 via 10.99.0.1 dev v0: "), std::string::npos) << e;
    EXPECT_NE(e.find("unreachable"), std::string::npos) << e;
    EXPECT_TRUE(ns.has_address("v0", "10.1.0.1/24"));
}

}  // namespace
}  // namespace keel::it
