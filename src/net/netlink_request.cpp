#include "net/netlink_request.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <cstring>

namespace keel::net {
namespace {

// Room reserved per message: the largest we build (a veth with its nested peer) is
// far below this.
constexpr size_t kMaxMessage = 1024;

uint32_t g_next_seq = 1;

}  // namespace

RequestBatch::RequestBatch() = default;

void* RequestBatch::start(uint16_t type, uint16_t flags, size_t extra) {
    const size_t off = bytes_.size();
    bytes_.resize(off + kMaxMessage);
    cur_ = mnl_nlmsg_put_header(bytes_.data() + off);
    cur_->nlmsg_type = type;
    cur_->nlmsg_flags = NLM_F_REQUEST | flags;
    cur_->nlmsg_seq = g_next_seq;
    offsets_.push_back(off);
    seqs_.push_back(g_next_seq);
    return mnl_nlmsg_put_extra_header(cur_, extra);
}

uint32_t RequestBatch::finish() {
    bytes_.resize(offsets_.back() + cur_->nlmsg_len);
    cur_ = nullptr;
    return g_next_seq++;
}

void RequestBatch::clear() {
    bytes_.clear();
    offsets_.clear();
    seqs_.clear();
}

uint32_t RequestBatch::dump(uint16_t type, uint8_t family) {
    // Every dump request starts with a struct at least as large as rtgenmsg; the
    // kernel reads only its family byte for these three.
    size_t extra = type == RTM_GETLINK   ? sizeof(ifinfomsg)
                   : type == RTM_GETADDR ? sizeof(ifaddrmsg)
                                         : sizeof(rtmsg);
    auto* hdr = static_cast<uint8_t*>(start(type, NLM_F_DUMP, extra));
    hdr[0] = family;
    return finish();
}

uint32_t RequestBatch::link_create(const LinkSpec& spec) {
    auto* ifi = static_cast<ifinfomsg*>(
        start(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(cur_, IFLA_IFNAME, spec.name.c_str());
    if (spec.parent) mnl_attr_put_u32(cur_, IFLA_LINK, static_cast<uint32_t>(spec.parent));
    nlattr* info = mnl_attr_nest_start(cur_, IFLA_LINKINFO);
    mnl_attr_put_strz(cur_, IFLA_INFO_KIND, spec.kind.c_str());
    if (spec.kind == "vlan") {
        nlattr* data = mnl_attr_nest_start(cur_, IFLA_INFO_DATA);
        mnl_attr_put_u16(cur_, IFLA_VLAN_ID, static_cast<uint16_t>(spec.vlan_id));
        mnl_attr_nest_end(cur_, data);
    } else if (spec.kind == "veth" && !spec.peer.empty()) {
        nlattr* data = mnl_attr_nest_start(cur_, IFLA_INFO_DATA);
        nlattr* peer = mnl_attr_nest_start(cur_, VETH_INFO_PEER);
        auto* pifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(cur_, sizeof(ifinfomsg)));
        std::memset(pifi, 0, sizeof *pifi);
        mnl_attr_put_strz(cur_, IFLA_IFNAME, spec.peer.c_str());
        mnl_attr_nest_end(cur_, peer);
        mnl_attr_nest_end(cur_, data);
    }
    mnl_attr_nest_end(cur_, info);
    return finish();
}

uint32_t RequestBatch::link_set(const LinkSet& set) {
    auto* ifi = static_cast<ifinfomsg*>(start(RTM_NEWLINK, NLM_F_ACK, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = set.index;
    if (set.up >= 0) {
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = set.up ? IFF_UP : 0;
    }
    if (set.mtu) mnl_attr_put_u32(cur_, IFLA_MTU, set.mtu);
    if (!set.mac.empty()) mnl_attr_put(cur_, IFLA_ADDRESS, set.mac.len, set.mac.bytes.data());
    if (set.master >= 0) mnl_attr_put_u32(cur_, IFLA_MASTER, static_cast<uint32_t>(set.master));
    if (!set.name.empty()) mnl_attr_put_strz(cur_, IFLA_IFNAME, set.name.c_str());
    return finish();
}

uint32_t RequestBatch::link_delete(int index) {
    auto* ifi = static_cast<ifinfomsg*>(start(RTM_DELLINK, NLM_F_ACK, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    return finish();
}

uint32_t RequestBatch::address(bool add, const Address& a) {
    const uint16_t flags = add ? (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK) : NLM_F_ACK;
    auto* ifa =
        static_cast<ifaddrmsg*>(start(add ? RTM_NEWADDR : RTM_DELADDR, flags, sizeof(ifaddrmsg)));
    const IpAddress& local = a.prefix.addr;
    ifa->ifa_family = static_cast<uint8_t>(local.family);
    ifa->ifa_prefixlen = a.prefix.len;
    ifa->ifa_index = static_cast<uint32_t>(a.index);
    ifa->ifa_scope = a.scope;
    mnl_attr_put(cur_, IFA_LOCAL, local.size(), local.bytes.data());
    const IpAddress& address = a.peer.valid() ? a.peer : local;
    mnl_attr_put(cur_, IFA_ADDRESS, address.size(), address.bytes.data());
    if (add && a.broadcast.valid())
        mnl_attr_put(cur_, IFA_BROADCAST, a.broadcast.size(), a.broadcast.bytes.data());
    if (add && (a.valid_lft != 0xffffffff || a.preferred_lft != 0xffffffff)) {
        ifa_cacheinfo ci{};
        ci.ifa_valid = a.valid_lft;
        ci.ifa_prefered = a.preferred_lft;
        mnl_attr_put(cur_, IFA_CACHEINFO, sizeof ci, &ci);
    }
    return finish();
}

uint32_t RequestBatch::route(RouteOp op, const Route& r) {
    uint16_t flags = NLM_F_ACK;
    if (op == RouteOp::kAdd) flags |= NLM_F_CREATE | NLM_F_EXCL;
    if (op == RouteOp::kReplace) flags |= NLM_F_CREATE | NLM_F_REPLACE;
    auto* rt = static_cast<rtmsg*>(
        start(op == RouteOp::kDelete ? RTM_DELROUTE : RTM_NEWROUTE, flags, sizeof(rtmsg)));
    rt->rtm_family = static_cast<uint8_t>(r.family);
    rt->rtm_dst_len = r.dst.len;
    rt->rtm_tos = r.tos;
    rt->rtm_table =
        r.table < 256 ? static_cast<uint8_t>(r.table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rt->rtm_protocol = r.protocol;
    rt->rtm_scope = r.scope;
    rt->rtm_type = r.type;
    if (r.table >= 256) mnl_attr_put_u32(cur_, RTA_TABLE, r.table);
    if (r.dst.len) mnl_attr_put(cur_, RTA_DST, r.dst.addr.size(), r.dst.addr.bytes.data());
    if (r.gateway.valid())
        mnl_attr_put(cur_, RTA_GATEWAY, r.gateway.size(), r.gateway.bytes.data());
    if (r.prefsrc.valid())
        mnl_attr_put(cur_, RTA_PREFSRC, r.prefsrc.size(), r.prefsrc.bytes.data());
    if (r.oif) mnl_attr_put_u32(cur_, RTA_OIF, static_cast<uint32_t>(r.oif));
    // Deleting with metric 0 would match only metric 0 on IPv4 but "any" on IPv6:
    // always send the one we mean.
    mnl_attr_put_u32(cur_, RTA_PRIORITY, r.metric);
    return finish();
}

}  // namespace keel::net
