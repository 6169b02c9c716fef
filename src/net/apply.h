// Applying: runs a Plan through rtnetlink, resolving link names to indexes just
// before each request (links created or renamed earlier in the plan are looked
// up again), many requests per batch. Stops after the first batch with a failed
// request. Also the whole "make the kernel match this config" step shared by the
// daemon and `keel net apply --once`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/config.h"
#include "net/plan.h"
#include "net/resolv_conf.h"
#include "net/rtnl.h"

namespace keel::net {

struct ApplyReport {
    std::vector<std::string> changes;  // what was changed (or would be, dry run)
    std::vector<std::string> errors;   // "lan: add route ...: Network is unreachable"
    std::vector<std::string> missing;  // interfaces skipped because absent
    bool ok() const { return errors.empty(); }
    nlohmann::json to_json() const;
};

struct ApplyOptions {
    bool dry_run = false;
    bool allow_missing = false;
    std::string sysctl_root = "/proc/sys/net";
    std::string resolv_conf = "/etc/resolv.conf";
    DnsSettings leased_dns;  // from DHCP leases, after the configured servers
};

ApplyReport execute(Rtnl& rtnl, const Plan& plan, NetState state, const ApplyOptions& options);

// Plans against the current state and executes. An Error means nothing was
// changed (the config does not fit this machine); a report with errors means the
// kernel refused some change.
Result<ApplyReport> apply_config(Rtnl& rtnl, const NetConfig& want, const NetConfig* previous,
                                 const ApplyOptions& options);

}  // namespace keel::net
