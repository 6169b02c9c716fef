#include "net/event_tracker.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>

#include "net/state_json.h"

namespace keel::net {

std::string NetEvent::subject() const {
    if (kind == "route") return "net.route." + action;
    return "net." + kind + "." + ifname + "." + action;
}

void EventTracker::reset(const NetState& s) {
    links_.links = s.links;
    addresses_.clear();
    for (const auto& a : s.addresses)
        addresses_.insert({a.index, a.prefix});
}

std::string EventTracker::name_of(int index) const {
    std::string n = links_.link_name(index);
    return n.empty() ? "if" + std::to_string(index) : n;
}

void EventTracker::link_changed(const Link& now, std::vector<NetEvent>& out) {
    auto it = std::find_if(links_.links.begin(), links_.links.end(),
                           [&](const Link& l) { return l.index == now.index; });
    if (it == links_.links.end()) {
        links_.links.push_back(now);
        out.push_back({"link", "added", now.name, to_json(now, links_)});
        if (now.running()) out.push_back({"link", "up", now.name, to_json(now, links_)});
        return;
    }
    const Link old = *it;
    *it = now;
    if (old.name != now.name) {
        NetEvent e{"link", "renamed", now.name, to_json(now, links_)};
        e.data["old_ifname"] = old.name;
        out.push_back(std::move(e));
    }
    if (old.running() != now.running())
        out.push_back({"link", now.running() ? "up" : "down", now.name, to_json(now, links_)});
}

void EventTracker::link_removed(const Link& gone, std::vector<NetEvent>& out) {
    auto it = std::find_if(links_.links.begin(), links_.links.end(),
                           [&](const Link& l) { return l.index == gone.index; });
    Link last = it != links_.links.end() ? *it : gone;
    if (!gone.name.empty()) last.name = gone.name;
    out.push_back({"link", "removed", last.name, to_json(last, links_)});
    if (it != links_.links.end()) links_.links.erase(it);
    for (auto a = addresses_.begin(); a != addresses_.end();)
        a = std::get<0>(*a) == gone.index ? addresses_.erase(a) : std::next(a);
}

void EventTracker::address_event(const Address& a, bool added, std::vector<NetEvent>& out) {
    const bool known = addresses_.count({a.index, a.prefix}) > 0;
    if (added == known) return;  // a refresh of one we reported, or a removal we never saw added
    if (added)
        addresses_.insert({a.index, a.prefix});
    else
        addresses_.erase({a.index, a.prefix});
    out.push_back({"addr", added ? "added" : "removed", name_of(a.index), to_json(a, links_)});
}

std::vector<NetEvent> EventTracker::on_message(const NlMessage& m) {
    std::vector<NetEvent> out;
    switch (m.type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
            auto d = decode_link(m);
            if (!d) {
                ++skipped_;
                break;
            }
            // AF_BRIDGE messages describe bridge ports, not the links themselves.
            if (d->family != AF_UNSPEC) break;
            if (m.type == RTM_NEWLINK)
                link_changed(d->link, out);
            else
                link_removed(d->link, out);
            break;
        }
        case RTM_NEWADDR:
        case RTM_DELADDR: {
            auto a = decode_address(m);
            if (!a) {
                ++skipped_;
                break;
            }
            address_event(*a, m.type == RTM_NEWADDR, out);
            break;
        }
        case RTM_NEWROUTE:
        case RTM_DELROUTE: {
            auto r = decode_route(m);
            if (!r) {
                ++skipped_;
                break;
            }
            out.push_back(
                {"route", m.type == RTM_NEWROUTE ? "added" : "removed", "", to_json(*r, links_)});
            break;
        }
        default:
            break;  // anything else on these groups is not ours to report
    }
    return out;
}

std::vector<NetEvent> EventTracker::resync(const NetState& s) {
    std::vector<NetEvent> out;
    const std::vector<Link> before = links_.links;
    for (const auto& old : before)
        if (!s.link(old.index)) link_removed(old, out);
    for (const auto& now : s.links)
        link_changed(now, out);
    std::set<std::tuple<int, IpPrefix>> now;
    for (const auto& a : s.addresses)
        now.insert({a.index, a.prefix});
    const auto previous = addresses_;
    for (const auto& key : previous)
        if (!now.count(key)) {
            Address a;
            a.index = std::get<0>(key);
            a.prefix = std::get<1>(key);
            address_event(a, false, out);
        }
    for (const auto& a : s.addresses)
        address_event(a, true, out);
    return out;
}

}  // namespace keel::net
