#include "net/plan.h"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>

#include "net/state_json.h"

namespace keel::net {
namespace {

using Op = Change::Op;

bool managed_address(const Address& a) {
    return a.permanent() && !(a.prefix.addr.family == AF_INET6 && a.prefix.addr.is_link_local()) &&
           a.scope != RT_SCOPE_HOST;
}

bool managed_route(const Route& r) {
    return (r.protocol == RTPROT_BOOT || r.protocol == RTPROT_STATIC) && r.type == RTN_UNICAST &&
           r.table != RT_TABLE_LOCAL;
}

// Routes are the same entry when the kernel would say so: same table,
// destination, metric and TOS.
bool same_key(const Route& a, const Route& b) {
    return a.family == b.family && a.table == b.table && a.dst == b.dst && a.metric == b.metric &&
           a.tos == b.tos;
}

bool same_content(const Route& a, const Route& b) {
    return a.gateway == b.gateway && a.prefsrc == b.prefsrc && a.scope == b.scope;
}

class Planner {
  public:
    Planner(const NetConfig& want, const NetConfig* previous, const NetState& state,
            const PlanOptions& o)
        : want_(want), prev_(previous), state_(state), opts_(o) {}

    Result<Plan> run() {
        resolve_links();
        if (!problems_.empty()) {
            std::string all;
            for (const auto& p : problems_)
                all += (all.empty() ? "" : "; ") + p;
            return Error(all);
        }
        drop_previous_links();
        for (const auto& i : want_.interfaces)
            plan_rename(i);
        for (const auto& i : want_.interfaces)
            if (i.virtual_link() && i.kind != "vlan") plan_create(i);
        for (const auto& i : want_.interfaces)
            if (i.kind == "vlan") plan_create(i);
        for (const auto& i : want_.interfaces)
            plan_settings(i);
        for (const auto& i : want_.interfaces)
            plan_up(i);
        // Removals before additions, so an address or route can move between links;
        // routes before addresses, as removing an address takes routes with it.
        for (const auto& i : want_.interfaces)
            plan_routes(i);
        drop_previous_routes();
        for (auto& c : route_removals_)
            changes_.push_back(std::move(c));
        drop_previous_addresses();
        for (const auto& i : want_.interfaces)
            plan_address_removals(i);
        for (const auto& i : want_.interfaces)
            plan_address_additions(i);
        for (auto& c : route_additions_)
            changes_.push_back(std::move(c));
        for (const auto& i : want_.interfaces)
            plan_sysctls(i);
        plan_.changes = std::move(changes_);
        return std::move(plan_);
    }

  private:
    // The link each configured interface is now, or null when it is to be created.
    void resolve_links() {
        for (const auto& i : want_.interfaces) {
            const Link* cur = nullptr;
            if (i.match_mac) {
                for (const auto& l : state_.links)
                    if (l.mac == *i.match_mac) cur = &l;
                const Link* named = state_.link(i.name);
                if (cur && named && named != cur)
                    problem("interface " + i.name + ": the name is taken by another link (index " +
                            std::to_string(named->index) + ") than the one with MAC " +
                            i.match_mac->to_string());
                if (!cur) {
                    missing(i, "no interface with MAC " + i.match_mac->to_string());
                    continue;
                }
            } else {
                cur = state_.link(i.name);
            }
            if (!cur && !i.virtual_link()) {
                missing(i, "interface " + i.name + " not found");
                continue;
            }
            if (cur && i.virtual_link() && cur->kind != i.kind) {
                problem("interface " + i.name + " exists as " +
                        (cur->kind.empty() ? "a physical link" : "a " + cur->kind) +
                        ", the config says " + i.kind);
                continue;
            }
            current_[i.name] = cur;
        }
        for (const auto& i : want_.interfaces) {
            if (!current_.count(i.name)) continue;
            if (!i.bridge.empty() && !will_exist(i.bridge))
                problem("interface " + i.name + ": bridge " + i.bridge + " not found");
            if (!i.bridge.empty() && state_.link(i.bridge) && !want_.find(i.bridge) &&
                state_.link(i.bridge)->kind != "bridge")
                problem("interface " + i.name + ": " + i.bridge + " is not a bridge");
            if (i.kind == "vlan" && !will_exist(i.parent))
                problem("vlan " + i.name + ": parent " + i.parent + " not found");
        }
    }

    bool will_exist(const std::string& name) const {
        const InterfaceConfig* c = want_.find(name);
        if (c) return current_.count(name) > 0;
        return state_.link(name) != nullptr;
    }

    void missing(const InterfaceConfig& i, const std::string& why) {
        if (opts_.allow_missing && !i.virtual_link())
            plan_.missing.push_back(i.name);
        else
            problem(why);
    }
    void problem(std::string p) { problems_.push_back(std::move(p)); }

    Change& add(Op op, const std::string& ifname, std::string text) {
        changes_.push_back(Change{op, ifname, {}, {}, 0, {}, false, {}, {}, {}, std::move(text)});
        return changes_.back();
    }

    void drop_previous_links() {
        if (!prev_) return;
        for (const auto& p : prev_->interfaces) {
            if (want_.find(p.name) || !p.virtual_link()) continue;
            const Link* l = state_.link(p.name);
            if (l && l->kind == p.kind)
                add(Op::kDeleteLink, p.name, "delete " + p.kind + " " + p.name);
        }
        // A vlan whose id or parent changed is made again.
        for (const auto& i : want_.interfaces) {
            const Link* cur = current(i);
            if (!cur || i.kind != "vlan") continue;
            if (cur->vlan_id != i.vlan_id || state_.link_name(cur->parent) != i.parent) {
                add(Op::kDeleteLink, i.name, "delete vlan " + i.name + " (id or parent changed)");
                current_[i.name] = nullptr;
            }
        }
    }

    const Link* current(const InterfaceConfig& i) const {
        auto it = current_.find(i.name);
        return it == current_.end() ? nullptr : it->second;
    }
    bool resolved(const InterfaceConfig& i) const { return current_.count(i.name) > 0; }

    void plan_rename(const InterfaceConfig& i) {
        const Link* cur = current(i);
        if (!cur || cur->name == i.name) return;
        // The kernel renames only links that are down.
        if (cur->admin_up()) {
            add(Op::kSetUp, cur->name, cur->name + ": set down (to rename)").up = false;
            down_for_rename_.insert(i.name);
        }
        add(Op::kRenameLink, cur->name, "rename " + cur->name + " to " + i.name).target = i.name;
    }

    void plan_create(const InterfaceConfig& i) {
        if (!resolved(i) || current(i)) return;
        Change& c = add(Op::kCreateLink, i.name, "create " + i.kind + " " + i.name);
        c.spec.name = i.name;
        c.spec.kind = i.kind;
        c.spec.peer = i.peer;
        c.spec.vlan_id = i.vlan_id;
        c.target = i.parent;
        if (i.kind == "veth") c.text += " (peer " + i.peer + ")";
        if (i.kind == "vlan") c.text += " (" + i.parent + " id " + std::to_string(i.vlan_id) + ")";
    }

    void plan_settings(const InterfaceConfig& i) {
        if (!resolved(i)) return;
        const Link* cur = current(i);
        if (i.mtu && (!cur || cur->mtu != *i.mtu))
            add(Op::kSetMtu, i.name, i.name + ": set mtu " + std::to_string(*i.mtu)).mtu = *i.mtu;
        if (i.mac && (!cur || cur->mac != *i.mac))
            add(Op::kSetMac, i.name, i.name + ": set mac " + i.mac->to_string()).mac = *i.mac;
        const std::string master = cur ? state_.link_name(cur->master) : std::string();
        if (!i.bridge.empty() && master != i.bridge) {
            add(Op::kSetMaster, i.name, i.name + ": join bridge " + i.bridge).target = i.bridge;
        } else if (i.bridge.empty() && !master.empty() && managed_bridge(master)) {
            add(Op::kSetMaster, i.name, i.name + ": leave bridge " + master);
        }
    }

    bool managed_bridge(const std::string& name) const {
        auto is_bridge = [&](const NetConfig* c) {
            const InterfaceConfig* b = c ? c->find(name) : nullptr;
            return b && b->kind == "bridge";
        };
        return is_bridge(&want_) || is_bridge(prev_);
    }

    void plan_up(const InterfaceConfig& i) {
        if (!resolved(i)) return;
        const Link* cur = current(i);
        const bool is_up = cur && cur->admin_up() && !down_for_rename_.count(i.name);
        if (i.up != is_up)
            add(Op::kSetUp, i.name, i.name + (i.up ? ": set up" : ": set down")).up = i.up;
    }

    std::vector<const Address*> managed_addresses(int index) const {
        std::vector<const Address*> out;
        for (const auto& a : state_.addresses)
            if (a.index == index && managed_address(a)) out.push_back(&a);
        return out;
    }

    void remove_address(const std::string& ifname, const Address& a) {
        add(Op::kDeleteAddress, ifname, ifname + ": remove address " + a.prefix.to_string())
            .address = a;
    }

    void drop_previous_addresses() {
        if (!prev_) return;
        for (const auto& p : prev_->interfaces) {
            if (want_.find(p.name) || p.virtual_link()) continue;
            const Link* l = state_.link(p.name);
            if (!l) continue;
            for (const Address* a : managed_addresses(l->index))
                if (std::find(p.addresses.begin(), p.addresses.end(), a->prefix) !=
                    p.addresses.end())
                    remove_address(p.name, *a);
        }
    }

    void drop_previous_routes() {
        if (!prev_) return;
        for (const auto& p : prev_->interfaces) {
            if (want_.find(p.name) || p.virtual_link()) continue;
            const Link* l = state_.link(p.name);
            if (!l) continue;
            for (const auto& rc : p.routes) {
                const Route want = desired_route(rc, l->index);
                for (const auto& r : state_.routes)
                    if (r.oif == l->index && managed_route(r) && same_key(r, want))
                        route_removals_.push_back(
                            Change{Op::kDeleteRoute,
                                   p.name,
                                   {},
                                   {},
                                   0,
                                   {},
                                   false,
                                   {},
                                   r,
                                   {},
                                   p.name + ": remove route " + describe(r, state_)});
            }
        }
    }

    void plan_address_removals(const InterfaceConfig& i) {
        const Link* cur = current(i);
        if (!cur) return;
        for (const Address* a : managed_addresses(cur->index))
            if (std::find(i.addresses.begin(), i.addresses.end(), a->prefix) == i.addresses.end())
                remove_address(i.name, *a);
    }

    void plan_address_additions(const InterfaceConfig& i) {
        if (!resolved(i)) return;
        const Link* cur = current(i);
        std::set<IpPrefix> have;
        if (cur)
            for (const Address* a : managed_addresses(cur->index))
                have.insert(a->prefix);
        for (const auto& p : i.addresses) {
            if (have.count(p)) continue;
            Change& c = add(Op::kAddAddress, i.name, i.name + ": add address " + p.to_string());
            c.address.prefix = p;
        }
    }

    void plan_routes(const InterfaceConfig& i) {
        if (!resolved(i)) return;
        const Link* cur = current(i);
        std::vector<const Route*> have;
        if (cur)
            for (const auto& r : state_.routes)
                if (r.oif == cur->index && managed_route(r)) have.push_back(&r);
        std::vector<bool> kept(have.size(), false);
        for (const auto& rc : i.routes) {
            Route want = desired_route(rc, cur ? cur->index : 0);
            bool found = false;
            for (size_t k = 0; k < have.size(); ++k) {
                if (!same_key(*have[k], want)) continue;
                found = kept[k] = true;
                if (!same_content(*have[k], want)) {
                    route_additions_.push_back(Change{Op::kReplaceRoute,
                                                      i.name,
                                                      {},
                                                      {},
                                                      0,
                                                      {},
                                                      false,
                                                      {},
                                                      want,
                                                      {},
                                                      i.name + ": replace route " +
                                                          describe(*have[k], state_) + " with " +
                                                          route_text(want, i.name)});
                }
            }
            if (!found)
                route_additions_.push_back(
                    Change{Op::kAddRoute,
                           i.name,
                           {},
                           {},
                           0,
                           {},
                           false,
                           {},
                           want,
                           {},
                           i.name + ": add route " + route_text(want, i.name)});
        }
        for (size_t k = 0; k < have.size(); ++k)
            if (!kept[k])
                route_removals_.push_back(
                    Change{Op::kDeleteRoute,
                           i.name,
                           {},
                           {},
                           0,
                           {},
                           false,
                           {},
                           *have[k],
                           {},
                           i.name + ": remove route " + describe(*have[k], state_)});
    }

    // describe() with the interface named even when it is not created yet.
    std::string route_text(Route r, const std::string& ifname) const {
        r.oif = 0;
        return describe(r, state_) + " dev " + ifname;
    }

    void plan_sysctls(const InterfaceConfig& i) {
        if (!resolved(i) || !i.ipv6_autoconf) return;
        const std::string v = *i.ipv6_autoconf ? "1" : "0";
        for (const char* key : {"autoconf", "accept_ra"}) {
            Change& c = add(Op::kSysctl, i.name,
                            i.name + ": set net.ipv6.conf." + i.name + "." + key + " = " + v);
            c.target = "ipv6/conf/" + i.name + "/" + key;
            c.value = v;
        }
    }

    const NetConfig& want_;
    const NetConfig* prev_;
    const NetState& state_;
    const PlanOptions& opts_;
    std::map<std::string, const Link*> current_;  // configured name -> link (null: to create)
    std::set<std::string> down_for_rename_;
    std::vector<std::string> problems_;
    std::vector<Change> changes_;
    std::vector<Change> route_removals_, route_additions_;
    Plan plan_;
};

}  // namespace

uint32_t route_metric(const RouteConfig& r) {
    if (r.metric) return *r.metric;
    return r.to.addr.family == AF_INET6 ? 1024 : 0;
}

Route desired_route(const RouteConfig& rc, int oif) {
    Route r;
    r.family = rc.to.addr.family;
    r.dst = rc.to;
    r.gateway = rc.via;
    r.prefsrc = rc.src;
    r.oif = oif;
    r.table = rc.table;
    r.metric = route_metric(rc);
    r.protocol = RTPROT_STATIC;
    r.type = RTN_UNICAST;
    // As iproute2 does: a route without a gateway on IPv4 is on-link.
    r.scope = (r.family == AF_INET && !rc.via.valid()) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    return r;
}

Result<Plan> make_plan(const NetConfig& want, const NetConfig* previous, const NetState& state,
                       const PlanOptions& options) {
    return Planner(want, previous, state, options).run();
}

}  // namespace keel::net
