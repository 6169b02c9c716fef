// Planning: the difference between a NetConfig and what the kernel holds, as an
// ordered list of changes. Pure: config and state in, changes out, so every rule
// below is unit-tested without a namespace.
//
// What keel manages: the links named in the config (by name, or by MAC and then
// renamed), and on them the permanent addresses (not IPv6 link-local, not
// host-scope) and the unicast routes of protocol boot or static outside the local
// table. Lease addresses (with lifetimes), kernel, RA and DHCP routes, and every
// other link are left alone. Links and addresses that only the previous config
// named are taken back: virtual links deleted, listed addresses and routes removed.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "net/config.h"
#include "net/model.h"
#include "net/netlink_request.h"

namespace keel::net {

struct Change {
    enum class Op {
        kDeleteLink,
        kRenameLink,  // ifname -> target
        kCreateLink,  // spec (parent by name in target)
        kSetMtu,
        kSetMac,
        kSetMaster,  // target: bridge name, "" to leave
        kSetUp,
        kDeleteAddress,
        kDeleteRoute,
        kAddAddress,
        kAddRoute,
        kReplaceRoute,
        kSysctl,  // target: path under /proc/sys/net, value
    };
    Op op;
    std::string ifname;  // the link, by the name it has when the change runs
    std::string target;
    LinkSpec spec;
    uint32_t mtu = 0;
    MacAddress mac;
    bool up = false;
    Address address;  // index resolved when run
    Route route;      // oif resolved when run
    std::string value;
    std::string text;  // "lan: add address 10.0.0.2/24"
};

struct Plan {
    std::vector<Change> changes;
    std::vector<std::string> missing;  // interfaces skipped (PlanOptions::allow_missing)
};

struct PlanOptions {
    // A physical interface that is not there is skipped (and listed) instead of
    // failing the whole plan: the daemon applies it when it appears.
    bool allow_missing = false;
};

// Fails, changing nothing, when the config cannot be applied to this state: a
// missing interface or bridge, a name taken by a link of another kind...; the
// error names every problem.
Result<Plan> make_plan(const NetConfig& want, const NetConfig* previous, const NetState& state,
                       const PlanOptions& options = {});

// The kernel's default metric for a configured route.
uint32_t route_metric(const RouteConfig& r);
// The route a config entry asks for on link `oif`.
Route desired_route(const RouteConfig& r, int oif);

}  // namespace keel::net
