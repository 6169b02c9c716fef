#include "net/apply.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>

#include "base/fd.h"
#include "base/sys.h"
#include "net/netlink_message.h"

namespace keel::net {
namespace {

using Op = Change::Op;

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

// Reads the sysctl and writes it when it differs; true when written (or when it
// would be, in a dry run).
Result<bool> set_sysctl(const std::string& path, const std::string& value, bool dry_run) {
    auto cur = sys::read_file(path);
    if (!cur) return cur.error();
    if (trim(*cur) == value) return false;
    if (dry_run) return true;
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno_error("cannot open " + path);
    const std::string line = value + "\n";
    if (auto n = sys::write(fd.get(), line.data(), line.size()); !n)
        return Error("cannot write " + path, n.error().code());
    return true;
}

class Executor {
  public:
    Executor(Rtnl& rtnl, NetState state, const ApplyOptions& o)
        : rtnl_(rtnl), state_(std::move(state)), opts_(o) {}

    ApplyReport run(const Plan& plan) {
        report_.missing = plan.missing;
        size_t i = 0;
        for (; i < plan.changes.size() && !stopped_; ++i)
            step(plan.changes[i]);
        flush();
        if (stopped_ && i < plan.changes.size())
            report_.errors.push_back(std::to_string(plan.changes.size() - i) +
                                     " later changes not attempted");
        return std::move(report_);
    }

  private:
    void step(const Change& c) {
        if (c.op == Op::kSysctl) {
            flush();
            if (stopped_) return;
            auto r = set_sysctl(opts_.sysctl_root + "/" + c.target, c.value, opts_.dry_run);
            if (!r)
                fail(c, r.error());
            else if (*r)
                report_.changes.push_back(c.text);
            return;
        }
        if (opts_.dry_run) {
            report_.changes.push_back(c.text);
            return;
        }
        // Names the change needs, resolved against what the kernel has now.
        std::vector<std::string> names;
        if (c.op != Op::kCreateLink) names.push_back(c.ifname);
        if ((c.op == Op::kCreateLink && c.spec.kind == "vlan") ||
            (c.op == Op::kSetMaster && !c.target.empty()))
            names.push_back(c.target);
        for (const auto& n : names) {
            if (state_.link(n)) continue;
            flush();
            if (stopped_) return;
            if (!state_.link(n)) {
                fail(c, Error("interface " + n + " not found"));
                return;
            }
        }
        auto index = [&](const std::string& n) { return state_.link(n)->index; };
        switch (c.op) {
            case Op::kDeleteLink:
                batch_.link_delete(index(c.ifname));
                break;
            case Op::kRenameLink: {
                LinkSet s;
                s.index = index(c.ifname);
                s.name = c.target;
                batch_.link_set(s);
                break;
            }
            case Op::kCreateLink: {
                LinkSpec spec = c.spec;
                if (spec.kind == "vlan") spec.parent = index(c.target);
                batch_.link_create(spec);
                break;
            }
            case Op::kSetMtu:
            case Op::kSetMac:
            case Op::kSetMaster:
            case Op::kSetUp: {
                LinkSet s;
                s.index = index(c.ifname);
                if (c.op == Op::kSetMtu) s.mtu = c.mtu;
                if (c.op == Op::kSetMac) s.mac = c.mac;
                if (c.op == Op::kSetMaster) s.master = c.target.empty() ? 0 : index(c.target);
                if (c.op == Op::kSetUp) s.up = c.up ? 1 : 0;
                batch_.link_set(s);
                break;
            }
            case Op::kAddAddress:
            case Op::kDeleteAddress: {
                Address a = c.address;
                a.index = index(c.ifname);
                batch_.address(c.op == Op::kAddAddress, a);
                break;
            }
            case Op::kAddRoute:
            case Op::kReplaceRoute:
            case Op::kDeleteRoute: {
                Route r = c.route;
                r.oif = index(c.ifname);
                batch_.route(c.op == Op::kAddRoute       ? RouteOp::kAdd
                             : c.op == Op::kReplaceRoute ? RouteOp::kReplace
                                                         : RouteOp::kDelete,
                             r);
                break;
            }
            case Op::kSysctl:
                break;
        }
        pending_.push_back(&c);
        links_changed_ |=
            c.op == Op::kDeleteLink || c.op == Op::kRenameLink || c.op == Op::kCreateLink;
    }

    // A removal whose object went away meanwhile (an address taking its routes
    // along) reached its goal.
    static bool already_gone(const Change& c, const Error& e) {
        if (c.op == Op::kDeleteRoute) return e.code() == ESRCH;
        if (c.op == Op::kDeleteAddress) return e.code() == EADDRNOTAVAIL;
        return false;
    }

    void fail(const Change& c, const Error& e) {
        report_.errors.push_back(in_context(c.text, e).message());
        stopped_ = true;
    }

    void flush() {
        if (pending_.empty()) return;
        auto results = rtnl_.run(batch_);
        if (!results) {
            report_.errors.push_back(results.error().message());
            stopped_ = true;
        } else {
            for (size_t k = 0; k < pending_.size(); ++k) {
                if ((*results)[k])
                    report_.changes.push_back(pending_[k]->text);
                else if (!already_gone(*pending_[k], (*results)[k].error()))
                    fail(*pending_[k], (*results)[k].error());
            }
        }
        batch_.clear();
        pending_.clear();
        if (links_changed_) {
            links_changed_ = false;
            if (auto links = rtnl_.links())
                state_.links = std::move(*links);
            else {
                report_.errors.push_back(links.error().message());
                stopped_ = true;
            }
        }
    }

    Rtnl& rtnl_;
    NetState state_;
    const ApplyOptions& opts_;
    RequestBatch batch_;
    std::vector<const Change*> pending_;
    bool links_changed_ = false;
    bool stopped_ = false;
    ApplyReport report_;
};

}  // namespace

nlohmann::json ApplyReport::to_json() const {
    return {{"ok", ok()}, {"changes", changes}, {"errors", errors}, {"missing", missing}};
}

ApplyReport execute(Rtnl& rtnl, const Plan& plan, NetState state, const ApplyOptions& options) {
    return Executor(rtnl, std::move(state), options).run(plan);
}

Result<ApplyReport> apply_config(Rtnl& rtnl, const NetConfig& want, const NetConfig* previous,
                                 const ApplyOptions& options) {
    NetState state = KEEL_TRY(rtnl.state());
    Plan plan = KEEL_TRY(make_plan(want, previous, state, PlanOptions{options.allow_missing}));
    const bool removed_addresses =
        std::any_of(plan.changes.begin(), plan.changes.end(),
                    [](const Change& c) { return c.op == Change::Op::kDeleteAddress; });
    ApplyReport report = execute(rtnl, plan, std::move(state), options);
    // Removing an address makes the kernel drop routes through gateways it
    // reached: plan once more so those come back.
    if (removed_addresses && report.ok() && !options.dry_run) {
        NetState again = KEEL_TRY(rtnl.state());
        Plan more = KEEL_TRY(make_plan(want, previous, again, PlanOptions{options.allow_missing}));
        ApplyReport second = execute(rtnl, more, std::move(again), options);
        report.changes.insert(report.changes.end(), second.changes.begin(), second.changes.end());
        report.errors.insert(report.errors.end(), second.errors.begin(), second.errors.end());
    }
    DnsSettings dns;
    if (want.manage_dns) dns = {want.dns_servers, want.dns_search};
    dns.merge(options.leased_dns);
    if (want.manage_dns || !options.leased_dns.servers.empty()) {
        const std::string text = render_resolv_conf(dns);
        if (options.dry_run) {
            auto cur = sys::read_file(options.resolv_conf);
            if (!cur || *cur != text) report.changes.push_back("write " + options.resolv_conf);
        } else if (auto w = write_file_if_changed(options.resolv_conf, text); !w) {
            report.errors.push_back(w.error().message());
        } else if (*w) {
            report.changes.push_back("write " + options.resolv_conf);
        }
    }
    return report;
}

}  // namespace keel::net
