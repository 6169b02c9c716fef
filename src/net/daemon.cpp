#include "net/daemon.h"

#include "base/log.h"
#include "net/state_json.h"

namespace keel::net {
namespace {

using nlohmann::json;

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

NetDaemon::NetDaemon(loop::EventLoop& loop, DaemonOptions options, Rtnl rtnl)
    : loop_(loop),
      opts_(std::move(options)),
      rtnl_(std::move(rtnl)),
      confirm_timer_(loop, [this] { revert(); }) {}

NetDaemon::~NetDaemon() = default;

Result<std::unique_ptr<NetDaemon>> NetDaemon::create(loop::EventLoop& loop, DaemonOptions options) {
    Rtnl rtnl = KEEL_TRY(Rtnl::open());
    std::unique_ptr<NetDaemon> d(new NetDaemon(loop, std::move(options), std::move(rtnl)));
    NetDaemon* self = d.get();
    d->monitor_ = KEEL_TRY(
        Monitor::start(loop, d->rtnl_, [self](const NetEvent& e) { self->on_net_event(e); }));
    if (d->opts_.udhcpc.empty()) d->opts_.udhcpc = find_udhcpc();

    d->bus_ = std::make_unique<bus::Client>(loop, d->opts_.bus);
    d->bus_->on_event([](bus::ClientEvent e, std::string_view detail) {
        if (e == bus::ClientEvent::kConnected || e == bus::ClientEvent::kReconnected)
            log::info("bus %s", bus::to_string(e));
        else if (e == bus::ClientEvent::kDisconnected || e == bus::ClientEvent::kError)
            log::warning("bus %s: %.*s", bus::to_string(e), static_cast<int>(detail.size()),
                         detail.data());
    });
    d->bus_->subscribe("net.status",
                       [self](const bus::Message& m) { self->reply(m, self->status()); });
    d->bus_->subscribe("net.apply", [self](const bus::Message& m) { self->on_apply_request(m); });
    d->bus_->subscribe("net.confirm",
                       [self](const bus::Message& m) { self->on_confirm_request(m); });
    d->bus_->connect();

    if (d->opts_.config) {
        auto r = d->apply(*d->opts_.config, nullptr, false);
        if (!r) return r.error();
        for (const auto& e : r->errors)
            log::error("%s", e.c_str());
    }
    return d;
}

Result<ApplyReport> NetDaemon::apply(const NetConfig& want, const NetConfig* previous, bool dry_run,
                                     bool strict) {
    ApplyOptions o = opts_.apply;
    o.dry_run = dry_run;
    o.allow_missing = !strict;
    for (const auto& [ifname, lease] : leases_) {
        const InterfaceConfig* i = want.find(ifname);
        if (i && i->dhcp.enabled && i->dhcp.use_dns) o.leased_dns.merge(lease_dns(lease));
    }
    ApplyReport r = KEEL_TRY(apply_config(rtnl_, want, previous, o));
    if (dry_run) return r;
    config_ = want;
    missing_ = r.missing;
    for (const auto& c : r.changes)
        log::info("%s", c.c_str());
    for (const auto& m : r.missing)
        log::warning("interface %s is not here yet; configuring it when it appears", m.c_str());
    sync_dhcp();
    return r;
}

Result<ApplyReport> NetDaemon::reload(NetConfig config) {
    if (rollback_)
        return Error("an apply is waiting for net.confirm; confirm it or let it revert first");
    NetConfig previous = config_;
    return apply(config, &previous, false);
}

void NetDaemon::sync_dhcp() {
    for (auto it = dhcp_.begin(); it != dhcp_.end();) {
        const InterfaceConfig* i = config_.find(it->first);
        if (i && i->dhcp.enabled && i->dhcp.hostname == it->second->options().hostname &&
            std::find(missing_.begin(), missing_.end(), it->first) == missing_.end()) {
            ++it;
            continue;
        }
        std::string ifname = it->first;
        ++it;
        stop_dhcp(ifname);
    }
    for (const auto& i : config_.interfaces) {
        if (!i.dhcp.enabled || dhcp_.count(i.name)) continue;
        if (std::find(missing_.begin(), missing_.end(), i.name) != missing_.end()) continue;
        if (opts_.udhcpc.empty()) {
            log::error("dhcp %s: no udhcpc found (install busybox or udhcpc)", i.name.c_str());
            continue;
        }
        DhcpClientOptions o{i.name, opts_.udhcpc, opts_.hook, i.dhcp.hostname};
        auto c = std::make_unique<DhcpClient>(loop_, o, [this](const Lease& l) { on_lease(l); });
        c->start();
        dhcp_[i.name] = std::move(c);
    }
}

void NetDaemon::stop_dhcp(const std::string& ifname) {
    dhcp_.erase(ifname);  // udhcpc releases the lease
    auto it = leases_.find(ifname);
    if (it == leases_.end()) return;
    // Its last words (deconfig) went to a closed pipe: take the lease back here.
    Lease gone;
    gone.event = "deconfig";
    gone.ifname = ifname;
    DhcpConfig cfg;
    if (const InterfaceConfig* i = config_.find(ifname)) cfg = i->dhcp;
    Lease before = it->second;
    leases_.erase(it);
    run_lease_plan(lease_plan(gone, &before, cfg), ifname);
    write_dns();
    publish("net.dhcp." + ifname + ".deconfig", to_json(gone));
}

void NetDaemon::on_lease(const Lease& lease) {
    const InterfaceConfig* i = config_.find(lease.ifname);
    if (!i || !i->dhcp.enabled) return;
    auto it = leases_.find(lease.ifname);
    const Lease* before = it == leases_.end() ? nullptr : &it->second;
    if (lease.bound() || lease.event == "deconfig") {
        run_lease_plan(lease_plan(lease, before, i->dhcp), lease.ifname);
        if (lease.bound())
            leases_[lease.ifname] = lease;
        else if (before)
            leases_.erase(it);
        write_dns();
    }
    log::info("dhcp %s: %s%s", lease.ifname.c_str(), lease.event.c_str(),
              lease.bound() ? (" " + lease.address.to_string()).c_str() : "");
    publish("net.dhcp." + lease.ifname + "." + lease.event, to_json(lease));
}

void NetDaemon::run_lease_plan(const Plan& plan, const std::string& ifname) {
    if (plan.changes.empty()) return;
    auto state = rtnl_.state();
    if (!state) {
        log::error("dhcp %s: %s", ifname.c_str(), state.error().message().c_str());
        return;
    }
    ApplyReport r = execute(rtnl_, plan, std::move(*state), opts_.apply);
    for (const auto& c : r.changes)
        log::info("%s", c.c_str());
    for (const auto& e : r.errors)
        log::error("dhcp %s: %s", ifname.c_str(), e.c_str());
}

void NetDaemon::write_dns() {
    DnsSettings dns;
    if (config_.manage_dns) dns = {config_.dns_servers, config_.dns_search};
    bool leased = false;
    for (const auto& [ifname, lease] : leases_) {
        const InterfaceConfig* i = config_.find(ifname);
        if (!i || !i->dhcp.use_dns) continue;
        dns.merge(lease_dns(lease));
        leased = true;
    }
    // With neither configured nor leased servers the file is not ours to touch,
    // unless we wrote leased servers into it before.
    if (!config_.manage_dns && !leased && !dns_from_leases_) return;
    dns_from_leases_ = leased;
    auto w = write_file_if_changed(opts_.apply.resolv_conf, render_resolv_conf(dns));
    if (!w)
        log::error("%s", w.error().message().c_str());
    else if (*w)
        log::info("wrote %s", opts_.apply.resolv_conf.c_str());
}

void NetDaemon::on_net_event(const NetEvent& e) {
    publish(e.subject(), e.data);
    // A configured interface appeared (hotplug, or created by someone): configure it.
    if (e.kind == "link" && (e.action == "added" || e.action == "renamed") && !missing_.empty() &&
        !reapply_scheduled_) {
        reapply_scheduled_ = true;
        loop_.defer([this] {
            reapply_scheduled_ = false;
            if (missing_.empty()) return;
            NetConfig current = config_;
            if (auto r = apply(current, &current, false); !r)
                log::error("%s", r.error().message().c_str());
        });
    }
}

json NetDaemon::status() {
    json j;
    if (auto s = rtnl_.state())
        j = to_json(*s);
    else
        j["error"] = s.error().message();
    j["config"] = to_json(config_);
    j["missing"] = missing_;
    json leases = json::object();
    for (const auto& [ifname, l] : leases_)
        leases[ifname] = to_json(l);
    j["dhcp"] = std::move(leases);
    if (rollback_) j["confirm_within"] = seconds(confirm_deadline_ - loop_.refresh_now());
    j["monitor"] = {{"overflows", monitor_->overflows()}, {"skipped", monitor_->skipped()}};
    j["bus_dropped"] = bus_->dropped();
    return j;
}

void NetDaemon::on_apply_request(const bus::Message& m) {
    json body = json::parse(m.data, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return reply(m, {{"ok", false}, {"error", "net.apply: the request must be a JSON object"}});
    double confirm_within = 0;
    bool dry_run = false;
    // Either {"config": {...}, "confirm_within": N, "dry_run": B} or the config itself
    // with those two keys beside its own.
    if (auto it = body.find("confirm_within"); it != body.end()) {
        if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > 86400)
            return reply(
                m,
                {{"ok", false},
                 {"error", "net.apply: confirm_within must be a number of seconds (0 to 86400]"}});
        confirm_within = it->get<double>();
        body.erase(it);
    }
    if (auto it = body.find("dry_run"); it != body.end()) {
        if (!it->is_boolean())
            return reply(m, {{"ok", false}, {"error", "net.apply: dry_run must be true or false"}});
        dry_run = it->get<bool>();
        body.erase(it);
    }
    json section = body.contains("config") ? body["config"] : body;
    if (body.contains("config") && body.size() > 1)
        return reply(m, {{"ok", false}, {"error", "net.apply: unknown keys beside \"config\""}});
    auto cfg = parse_config(section, "net");
    if (!cfg) return reply(m, {{"ok", false}, {"error", cfg.error().message()}});
    if (rollback_ && !dry_run)
        return reply(m, {{"ok", false},
                         {"error", "an apply is waiting for net.confirm (" +
                                       std::to_string(static_cast<int>(
                                           seconds(confirm_deadline_ - loop_.refresh_now()))) +
                                       " s left); confirm it or let it revert first"}});
    NetConfig previous = config_;
    auto r = apply(*cfg, &previous, dry_run, /*strict=*/true);
    if (!r) return reply(m, {{"ok", false}, {"error", r.error().message()}});
    json out = r->to_json();
    out["dry_run"] = dry_run;
    if (!dry_run) {
        if (confirm_within > 0) {
            rollback_ = std::move(previous);
            confirm_timer_.arm_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::duration<double>(confirm_within)));
            confirm_deadline_ = confirm_timer_.deadline();
            out["confirm_within"] = confirm_within;
            log::info("applied; reverting in %.1f s unless net.confirm arrives", confirm_within);
        }
        publish("net.config.applied", out);
    }
    reply(m, out);
}

void NetDaemon::on_confirm_request(const bus::Message& m) {
    if (!rollback_) return reply(m, {{"ok", false}, {"error", "nothing to confirm"}});
    confirm_timer_.cancel();
    rollback_.reset();
    log::info("confirmed");
    json out = {{"ok", true}};
    publish("net.config.confirmed", out);
    reply(m, out);
}

void NetDaemon::revert() {
    if (!rollback_) return;
    NetConfig back = std::move(*rollback_);
    rollback_.reset();
    NetConfig current = config_;
    log::warning("no net.confirm in time: reverting to the previous config");
    auto r = apply(back, &current, false);
    json out;
    if (r)
        out = r->to_json();
    else
        out = {{"ok", false}, {"error", r.error().message()}};
    if (!r) log::error("revert failed: %s", r.error().message().c_str());
    publish("net.config.reverted", out);
}

void NetDaemon::publish(const std::string& subject, const json& data) {
    if (auto st = bus_->publish(subject, data.dump()); !st)
        log::warning("cannot publish %s: %s", subject.c_str(), st.error().message().c_str());
}

void NetDaemon::reply(const bus::Message& m, const json& data) {
    if (m.reply.empty()) return;
    if (auto st = bus_->publish(m.reply, data.dump()); !st)
        log::warning("cannot answer on %.*s: %s", static_cast<int>(m.reply.size()), m.reply.data(),
                     st.error().message().c_str());
}

void NetDaemon::shutdown(std::function<void()> done) {
    confirm_timer_.cancel();
    while (!dhcp_.empty())
        stop_dhcp(dhcp_.begin()->first);
    if (!bus_->connected()) {
        bus_->close();
        done();
        return;
    }
    // Closing inside the client's own callback would free its parser mid-read: close
    // after the callback returns.
    bus_->flush(std::chrono::seconds(2), [this, done](Status) {
        loop_.defer([this, done] {
            bus_->close();
            done();
        });
    });
}

}  // namespace keel::net
