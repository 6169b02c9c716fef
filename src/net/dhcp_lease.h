// DHCPv4 leases as busybox udhcpc reports them to its script (environment
// variables ip, mask, router, dns, domain, search, lease, serverid,
// staticroutes...), and the changes a lease brings: the address with the lease's
// lifetime, routes of protocol dhcp, and DNS servers. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "net/config.h"
#include "net/ip_address.h"
#include "net/plan.h"
#include "net/resolv_conf.h"

namespace keel::net {

struct Lease {
    std::string event;  // bound, renew, deconfig, leasefail, nak
    std::string ifname;
    IpPrefix address;  // invalid for deconfig/leasefail/nak
    IpAddress broadcast;
    std::vector<IpAddress> routers;
    std::vector<IpAddress> dns;
    std::vector<std::string> search;  // option 119, else the domain
    std::string domain;
    std::vector<std::pair<IpPrefix, IpAddress>> static_routes;  // option 121
    IpAddress server;
    uint32_t lease_time = 0;  // seconds
    bool bound() const { return event == "bound" || event == "renew"; }
    bool operator==(const Lease&) const = default;
};

// `env` returns a variable's value or null.
Result<Lease> lease_from_env(const std::string& event,
                             const std::function<const char*(const char*)>& env);
nlohmann::json to_json(const Lease& l);
Result<Lease> lease_from_json(const nlohmann::json& j);

// The hook prints this prefix and the lease as JSON on one line.
inline constexpr std::string_view kLeaseLinePrefix = "keel-lease ";

// Changes taking link `ifname` from lease `before` (may be null) to `now`.
Plan lease_plan(const Lease& now, const Lease* before, const DhcpConfig& cfg);
DnsSettings lease_dns(const Lease& l);

}  // namespace keel::net
