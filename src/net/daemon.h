// NetDaemon: `keel net` as a service. Applies the config at start (interfaces
// that are not there yet are configured when they appear), publishes every
// link/address/route change as net.* events, runs a DHCP client per interface
// that asks for one and applies its leases itself, and answers net.status,
// net.apply (with commit-confirmed revert) and net.confirm. Works with the bus
// down: events wait in the client's bounded buffer, overflow is counted.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "bus/client/client.h"
#include "loop/event_loop.h"
#include "loop/timer.h"
#include "net/apply.h"
#include "net/config.h"
#include "net/dhcp_client.h"
#include "net/monitor.h"
#include "net/rtnl.h"

namespace keel::net {

struct DaemonOptions {
    std::optional<NetConfig> config;  // none: only monitor and answer
    ApplyOptions apply;               // resolv.conf path, sysctl root
    std::vector<std::string> udhcpc;  // empty: find_udhcpc()
    std::string hook;                 // udhcpc script path
    bus::ClientOptions bus;
};

class NetDaemon {
  public:
    // `loop` must outlive the daemon.
    static Result<std::unique_ptr<NetDaemon>> create(loop::EventLoop& loop, DaemonOptions options);
    ~NetDaemon();

    // Replaces the config (SIGHUP); the answer is the report or why nothing changed.
    Result<ApplyReport> reload(NetConfig config);
    // Stops DHCP clients (releasing leases) and flushes the bus; `done` runs after.
    void shutdown(std::function<void()> done);

    nlohmann::json status();

  private:
    NetDaemon(loop::EventLoop& loop, DaemonOptions options, Rtnl rtnl);
    // `strict`: a missing interface fails the whole apply (net.apply); otherwise it
    // is configured when it appears (start, reload, revert).
    Result<ApplyReport> apply(const NetConfig& want, const NetConfig* previous, bool dry_run,
                              bool strict = false);
    void sync_dhcp();
    void stop_dhcp(const std::string& ifname);
    void on_lease(const Lease& lease);
    void run_lease_plan(const Plan& plan, const std::string& ifname);
    void write_dns();
    void on_net_event(const NetEvent& e);
    void on_apply_request(const bus::Message& m);
    void on_confirm_request(const bus::Message& m);
    void revert();
    void publish(const std::string& subject, const nlohmann::json& data);
    void reply(const bus::Message& m, const nlohmann::json& data);

    loop::EventLoop& loop_;
    DaemonOptions opts_;
    Rtnl rtnl_;
    std::unique_ptr<Monitor> monitor_;
    std::unique_ptr<bus::Client> bus_;
    NetConfig config_;  // what is applied now
    std::vector<std::string> missing_;
    std::map<std::string, std::unique_ptr<DhcpClient>> dhcp_;
    std::map<std::string, Lease> leases_;
    // Commit-confirmed: the config to go back to, until net.confirm.
    std::optional<NetConfig> rollback_;
    loop::Timer confirm_timer_;
    std::chrono::nanoseconds confirm_deadline_{0};
    bool reapply_scheduled_ = false;
    bool dns_from_leases_ = false;  // resolv.conf holds leased servers
};

}  // namespace keel::net
