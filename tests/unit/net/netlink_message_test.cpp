// Encoding with RequestBatch (libmnl) and decoding with our parser agree; the
// parser rejects every truncation and lie about lengths without reading past the
// buffer.
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "net/netlink_message.h"
#include "net/netlink_request.h"

namespace keel::net {
namespace {

Bytes bytes(const std::string& s) {
    return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

NlMessage only(const std::string& datagram) {
    auto msgs = split_messages(bytes(datagram));
    EXPECT_TRUE(msgs.ok());
    EXPECT_EQ(msgs->size(), 1u);
    return msgs->at(0);
}

TEST(NetlinkMessage, LinkCreateRoundTrips) {
    RequestBatch b;
    LinkSpec spec{"eth0.10", "vlan", "", 7, 10};
    const uint32_t seq = b.link_create(spec);
    NlMessage m = only(b.bytes());
    EXPECT_EQ(m.type, RTM_NEWLINK);
    EXPECT_EQ(m.seq, seq);
    EXPECT_TRUE(m.flags & NLM_F_ACK);
    EXPECT_TRUE(m.flags & NLM_F_CREATE);
    auto d = decode_link(m);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->link.name, "eth0.10");
    EXPECT_EQ(d->link.kind, "vlan");
    EXPECT_EQ(d->link.vlan_id, 10);
    EXPECT_EQ(d->link.parent, 7);
}

TEST(NetlinkMessage, LinkSetCarriesOnlyWhatChanges) {
    RequestBatch b;
    LinkSet s;
    s.index = 4;
    s.up = 1;
    s.mtu = 9000;
    s.mac = *MacAddress::parse("52:54:00:12:34:56");
    s.master = 9;
    b.link_set(s);
    auto d = decode_link(only(b.bytes()));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->link.index, 4);
    EXPECT_TRUE(d->link.flags & IFF_UP);
    EXPECT_EQ(d->link.mtu, 9000u);
    EXPECT_EQ(d->link.mac.to_string(), "52:54:00:12:34:56");
    EXPECT_EQ(d->link.master, 9);
    EXPECT_EQ(d->link.name, "");
}

TEST(NetlinkMessage, AddressRoundTrips) {
    RequestBatch b;
    Address a;
    a.index = 3;
    a.prefix = *IpPrefix::parse("fd00::5/64");
    a.valid_lft = 600;
    a.preferred_lft = 300;
    b.address(true, a);
    int family = 0;
    auto d = decode_address(only(b.bytes()), &family);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(family, AF_INET6);
    EXPECT_EQ(d->index, 3);
    EXPECT_EQ(d->prefix.to_string(), "fd00::5/64");
    EXPECT_FALSE(d->peer.valid());
    EXPECT_EQ(d->valid_lft, 600u);
    EXPECT_EQ(d->preferred_lft, 300u);
}

TEST(NetlinkMessage, RouteRoundTripsWithLargeTable) {
    RequestBatch b;
    Route r;
    r.family = AF_INET;
    r.dst = *IpPrefix::parse("10.1.0.0/16");
    r.gateway = *IpAddress::parse("10.0.0.1");
    r.oif = 2;
    r.table = 1000;
    r.metric = 77;
    r.protocol = RTPROT_STATIC;
    b.route(RouteOp::kReplace, r);
    NlMessage m = only(b.bytes());
    EXPECT_TRUE(m.flags & NLM_F_REPLACE);
    auto d = decode_route(m);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->dst.to_string(), "10.1.0.0/16");
    EXPECT_EQ(d->gateway.to_string(), "10.0.0.1");
    EXPECT_EQ(d->oif, 2);
    EXPECT_EQ(d->table, 1000u);
    EXPECT_EQ(d->metric, 77u);
    EXPECT_EQ(d->protocol, RTPROT_STATIC);
}

TEST(NetlinkMessage, BatchKeepsEveryRequestApart) {
    RequestBatch b;
    b.link_delete(5);
    b.dump(RTM_GETROUTE);
    b.link_create({"br0", "bridge"});
    auto msgs = split_messages(bytes(b.bytes()));
    ASSERT_TRUE(msgs.ok());
    ASSERT_EQ(msgs->size(), 3u);
    EXPECT_EQ(msgs->at(0).type, RTM_DELLINK);
    EXPECT_EQ(msgs->at(1).type, RTM_GETROUTE);
    EXPECT_TRUE(msgs->at(1).flags & NLM_F_DUMP);
    EXPECT_EQ(msgs->at(2).type, RTM_NEWLINK);
    for (size_t i = 0; i < 3; ++i)
        EXPECT_EQ(msgs->at(i).seq, b.seq(i));
    EXPECT_EQ(b.seq(1), b.seq(0) + 1);
}

TEST(NetlinkMessage, EveryTruncationIsAnErrorOrAShorterList) {
    RequestBatch b;
    b.link_create({"v0", "veth", "v1"});
    Route r;
    r.family = AF_INET6;
    r.dst = *IpPrefix::parse("fd00::/8");
    b.route(RouteOp::kAdd, r);
    const std::string all = b.bytes();
    for (size_t cut = 0; cut < all.size(); ++cut) {
        const std::string part = all.substr(0, cut);
        auto msgs = split_messages(bytes(part));
        if (!msgs) continue;
        EXPECT_LT(msgs->size(), 2u) << "cut at " << cut;
        for (const auto& m : *msgs) {
            (void)decode_link(m);
            (void)decode_route(m);
        }
    }
}

TEST(NetlinkMessage, LengthsThatLieAreRejected) {
    RequestBatch b;
    b.link_create({"br0", "bridge"});
    std::string d = b.bytes();
    // Header claims more than there is.
    std::string longer = d;
    uint32_t len = static_cast<uint32_t>(d.size() + 4);
    std::memcpy(longer.data(), &len, 4);
    EXPECT_FALSE(split_messages(bytes(longer)).ok());
    // Header claims less than a header.
    std::string tiny = d;
    len = 8;
    std::memcpy(tiny.data(), &len, 4);
    EXPECT_FALSE(split_messages(bytes(tiny)).ok());
    // An attribute claims more than the message holds.
    std::string attr = d;
    const size_t first_attr = 16 + sizeof(ifinfomsg);
    uint16_t nla_len = 0xfff0;
    std::memcpy(attr.data() + first_attr, &nla_len, 2);
    auto m = only(attr);
    auto link = decode_link(m);
    ASSERT_FALSE(link.ok());
    EXPECT_NE(link.error().message().find("RTM_NEWLINK"), std::string::npos)
        << link.error().message();
}

TEST(NetlinkMessage, WrongSizedValuesAreErrorsNotReads) {
    char buf[256];
    nlmsghdr* h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = RTM_NEWLINK;
    mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg));
    uint16_t two = 1500;
    mnl_attr_put(h, IFLA_MTU, sizeof two, &two);
    auto d = decode_link(only(std::string(buf, h->nlmsg_len)));
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message().find("IFLA_MTU is 2 bytes"), std::string::npos)
        << d.error().message();

    h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 24;
    uint8_t six[6] = {1, 2, 3, 4, 5, 6};
    mnl_attr_put(h, IFA_LOCAL, sizeof six, six);
    auto a = decode_address(only(std::string(buf, h->nlmsg_len)));
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.error().message().find("IFA_LOCAL"), std::string::npos);
}

TEST(NetlinkMessage, AckWithExtendedMessage) {
    char buf[256];
    nlmsghdr* h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = NLMSG_ERROR;
    h->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(h, sizeof(nlmsgerr)));
    e->error = -EEXIST;
    e->msg.nlmsg_seq = 42;
    e->msg.nlmsg_len = 16;
    mnl_attr_put_strz(h, NLMSGERR_ATTR_MSG, "Nexthop has invalid gateway");
    auto ack = decode_ack(only(std::string(buf, h->nlmsg_len)));
    ASSERT_TRUE(ack.ok()) << ack.error().message();
    EXPECT_EQ(ack->error, EEXIST);
    EXPECT_EQ(ack->seq, 42u);
    EXPECT_EQ(ack->message, "Nexthop has invalid gateway");
}

TEST(NetlinkMessage, BridgePortMessagesCarryTheirFamily) {
    char buf[256];
    nlmsghdr* h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = RTM_DELLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = 3;
    auto d = decode_link(only(std::string(buf, h->nlmsg_len)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->family, AF_BRIDGE);
}

}  // namespace
}  // namespace keel::net
