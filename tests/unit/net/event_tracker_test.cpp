#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net/event_tracker.h"
#include "net/netlink_request.h"

namespace keel::net {
namespace {

struct Msg {
    char buf[512];
    NlMessage m;
};

NlMessage link_msg(Msg& out, uint16_t type, int index, const char* name, uint32_t flags,
                   uint8_t family = AF_UNSPEC) {
    nlmsghdr* h = mnl_nlmsg_put_header(out.buf);
    h->nlmsg_type = type;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    ifi->ifi_family = family;
    ifi->ifi_index = index;
    ifi->ifi_flags = flags;
    mnl_attr_put_strz(h, IFLA_IFNAME, name);
    auto msgs = split_messages(Bytes(reinterpret_cast<uint8_t*>(out.buf), h->nlmsg_len));
    return msgs->at(0);
}

std::vector<std::string> subjects(const std::vector<NetEvent>& ev) {
    std::vector<std::string> out;
    for (const auto& e : ev)
        out.push_back(e.subject());
    return out;
}

TEST(EventTracker, LinkLifecycle) {
    EventTracker t;
    t.reset({});
    Msg m;
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_NEWLINK, 5, "v0", 0))),
              std::vector<std::string>{"net.link.v0.added"});
    // Up without carrier is not "up" yet; carrier makes it so.
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_NEWLINK, 5, "v0", IFF_UP))),
              std::vector<std::string>{});
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_NEWLINK, 5, "v0", IFF_UP | IFF_LOWER_UP))),
              std::vector<std::string>{"net.link.v0.up"});
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_NEWLINK, 5, "v0", IFF_UP))),
              std::vector<std::string>{"net.link.v0.down"});
    auto renamed = t.on_message(link_msg(m, RTM_NEWLINK, 5, "lan", IFF_UP));
    ASSERT_EQ(subjects(renamed), std::vector<std::string>{"net.link.lan.renamed"});
    EXPECT_EQ(renamed[0].data["old_ifname"], "v0");
    // A bridge-port message is not the link going away.
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_DELLINK, 5, "lan", 0, AF_BRIDGE))),
              std::vector<std::string>{});
    EXPECT_EQ(subjects(t.on_message(link_msg(m, RTM_DELLINK, 5, "lan", 0))),
              std::vector<std::string>{"net.link.lan.removed"});
}

TEST(EventTracker, AddressesOnceEachAndRoutes) {
    EventTracker t;
    NetState s;
    Link l;
    l.index = 2;
    l.name = "eth0";
    s.links = {l};
    t.reset(s);
    RequestBatch b;
    Address a;
    a.index = 2;
    a.prefix = *IpPrefix::parse("10.0.0.2/24");
    b.address(true, a);
    b.address(true, a);  // a lifetime refresh
    b.address(false, a);
    Route r;
    r.family = AF_INET;
    r.dst = *IpPrefix::parse("10.1.0.0/16");
    r.oif = 2;
    b.route(RouteOp::kAdd, r);
    auto msgs =
        split_messages(Bytes(reinterpret_cast<const uint8_t*>(b.bytes().data()), b.bytes().size()));
    std::vector<NetEvent> all;
    for (const auto& m : *msgs)
        for (auto& e : t.on_message(m))
            all.push_back(std::move(e));
    EXPECT_EQ(subjects(all),
              (std::vector<std::string>{"net.addr.eth0.added", "net.addr.eth0.removed",
                                        "net.route.added"}));
    EXPECT_EQ(all[0].data["local"], "10.0.0.2");
    EXPECT_EQ(all[2].data["dev"], "eth0");
    EXPECT_EQ(all[2].data["dst"], "10.1.0.0/16");
}

TEST(EventTracker, GarbageIsCountedNotFatal) {
    EventTracker t;
    char buf[64] = {};
    nlmsghdr* h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = RTM_NEWADDR;  // no ifaddrmsg at all
    auto msgs = split_messages(Bytes(reinterpret_cast<uint8_t*>(buf), h->nlmsg_len));
    EXPECT_TRUE(t.on_message(msgs->at(0)).empty());
    EXPECT_EQ(t.skipped(), 1u);
}

TEST(EventTracker, ResyncReportsTheDifference) {
    EventTracker t;
    NetState before;
    Link a;
    a.index = 2;
    a.name = "a";
    before.links = {a};
    t.reset(before);
    NetState after;
    Link b;
    b.index = 3;
    b.name = "b";
    b.flags = IFF_UP | IFF_LOWER_UP;
    after.links = {b};
    EXPECT_EQ(
        subjects(t.resync(after)),
        (std::vector<std::string>{"net.link.a.removed", "net.link.b.added", "net.link.b.up"}));
}

}  // namespace
}  // namespace keel::net
