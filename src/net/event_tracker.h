// EventTracker: turns rtnetlink notifications into net.* events. Pure: it is fed
// decoded messages and remembers links (for names and up/down edges) and
// addresses (so a lifetime refresh is not a second "added"). Anything it cannot
// decode is counted and skipped, never fatal.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "net/model.h"
#include "net/netlink_message.h"

namespace keel::net {

struct NetEvent {
    std::string kind;    // "link", "addr", "route"
    std::string action;  // "added", "removed", "up", "down", "renamed"
    std::string ifname;  // empty for routes
    nlohmann::json data;
    // net.link.<ifname>.<action>, net.addr.<ifname>.<action>, net.route.<action>
    std::string subject() const;
};

class EventTracker {
  public:
    // Starts from a snapshot without reporting it.
    void reset(const NetState& s);
    std::vector<NetEvent> on_message(const NlMessage& m);
    // After lost notifications: the events that take the remembered state to `s`.
    std::vector<NetEvent> resync(const NetState& s);

    const NetState& links() const { return links_; }
    uint64_t skipped() const { return skipped_; }

  private:
    void link_changed(const Link& now, std::vector<NetEvent>& out);
    void link_removed(const Link& gone, std::vector<NetEvent>& out);
    void address_event(const Address& a, bool added, std::vector<NetEvent>& out);
    std::string name_of(int index) const;

    NetState links_;  // links only; names for the other payloads
    std::set<std::tuple<int, IpPrefix>> addresses_;
    uint64_t skipped_ = 0;
};

}  // namespace keel::net
