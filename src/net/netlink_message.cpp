#include "net/netlink_message.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

namespace keel::net {
namespace {

constexpr size_t kHeader = 16;  // sizeof(nlmsghdr)

size_t align4(size_t n) {
    return (n + 3) & ~size_t(3);
}

template <typename T>
T load(Bytes b, size_t off = 0) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

Error bad(const NlMessage& m, const std::string& what) {
    return Error("netlink: " + message_type_name(m.type) + ": " + what);
}

Result<uint32_t> u32(const NlMessage& m, const AttrTable& t, uint16_t type, const char* name) {
    Bytes b = t.get(type);
    if (b.size() < 4)
        return bad(m, std::string(name) + " is " + std::to_string(b.size()) + " bytes, want 4");
    return load<uint32_t>(b);
}

std::string str(Bytes b) {
    const auto* p = reinterpret_cast<const char*>(b.data());
    return std::string(p, strnlen(p, b.size()));
}

// IFA_*/RTA_* address attribute: must be the family's size.
Result<IpAddress> address_attr(const NlMessage& m, Bytes b, int family, const char* name) {
    auto a = IpAddress::from_bytes(b);
    if (!a || a->family != family)
        return bad(m, std::string(name) + " is " + std::to_string(b.size()) + " bytes, not a " +
                          family_name(family) + " address");
    return *a;
}

}  // namespace

Result<std::vector<NlMessage>> split_messages(Bytes d) {
    std::vector<NlMessage> out;
    size_t off = 0;
    while (off < d.size()) {
        if (d.size() - off < kHeader)
            return Error("netlink: truncated message header at byte " + std::to_string(off));
        const auto h = load<nlmsghdr>(d, off);
        if (h.nlmsg_len < kHeader || h.nlmsg_len > d.size() - off)
            return Error("netlink: message at byte " + std::to_string(off) + " claims " +
                         std::to_string(h.nlmsg_len) + " bytes, " + std::to_string(d.size() - off) +
                         " left");
        out.push_back({h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid,
                       d.subspan(off + kHeader, h.nlmsg_len - kHeader)});
        off += align4(h.nlmsg_len);
    }
    return out;
}

Status AttrTable::parse(Bytes d) {
    for (auto& a : attrs_)
        a = {};
    size_t off = 0;
    while (d.size() - off >= 4) {
        const auto a = load<nlattr>(d, off);
        if (a.nla_len < 4 || a.nla_len > d.size() - off)
            return Error("attribute at byte " + std::to_string(off) + " claims " +
                         std::to_string(a.nla_len) + " bytes, " + std::to_string(d.size() - off) +
                         " left");
        const uint16_t type = a.nla_type & NLA_TYPE_MASK;
        if (type < attrs_.size()) attrs_[type] = d.subspan(off + 4, a.nla_len - 4u);
        off += align4(a.nla_len);
        if (off > d.size()) off = d.size();  // the last attribute's padding may be absent
    }
    return {};
}

Result<DecodedLink> decode_link(const NlMessage& m) {
    if (m.payload.size() < sizeof(ifinfomsg)) return bad(m, "shorter than ifinfomsg");
    const auto ifi = load<ifinfomsg>(m.payload);
    DecodedLink d;
    d.family = ifi.ifi_family;
    Link& l = d.link;
    l.index = ifi.ifi_index;
    l.flags = ifi.ifi_flags;
    l.type = ifi.ifi_type;
    AttrTable t(IFLA_MAX);
    if (auto st = t.parse(m.payload.subspan(sizeof(ifinfomsg))); !st)
        return bad(m, st.error().what());
    if (t.has(IFLA_IFNAME)) l.name = str(t.get(IFLA_IFNAME));
    if (t.has(IFLA_MTU)) l.mtu = KEEL_TRY(u32(m, t, IFLA_MTU, "IFLA_MTU"));
    if (t.has(IFLA_MASTER))
        l.master = static_cast<int>(KEEL_TRY(u32(m, t, IFLA_MASTER, "IFLA_MASTER")));
    if (t.has(IFLA_LINK)) l.parent = static_cast<int>(KEEL_TRY(u32(m, t, IFLA_LINK, "IFLA_LINK")));
    if (t.has(IFLA_OPERSTATE)) l.operstate = t.get(IFLA_OPERSTATE)[0];
    if (t.has(IFLA_ADDRESS)) {
        Bytes b = t.get(IFLA_ADDRESS);
        if (b.size() > l.mac.bytes.size()) return bad(m, "IFLA_ADDRESS longer than 32 bytes");
        std::memcpy(l.mac.bytes.data(), b.data(), b.size());
        l.mac.len = static_cast<uint8_t>(b.size());
    }
    if (t.has(IFLA_LINKINFO)) {
        AttrTable info(IFLA_INFO_MAX);
        if (auto st = info.parse(t.get(IFLA_LINKINFO)); !st)
            return bad(m, "IFLA_LINKINFO: " + st.error().what());
        l.kind = str(info.get(IFLA_INFO_KIND));
        if (l.kind == "vlan" && info.has(IFLA_INFO_DATA)) {
            AttrTable vlan(IFLA_VLAN_MAX);
            if (auto st = vlan.parse(info.get(IFLA_INFO_DATA)); !st)
                return bad(m, "IFLA_INFO_DATA: " + st.error().what());
            Bytes id = vlan.get(IFLA_VLAN_ID);
            if (id.size() >= 2) l.vlan_id = load<uint16_t>(id);
        }
    }
    return d;
}

Result<Address> decode_address(const NlMessage& m, int* family) {
    if (m.payload.size() < sizeof(ifaddrmsg)) return bad(m, "shorter than ifaddrmsg");
    const auto ifa = load<ifaddrmsg>(m.payload);
    if (family) *family = ifa.ifa_family;
    if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
        return bad(m, "address family " + std::to_string(ifa.ifa_family));
    Address a;
    a.index = static_cast<int>(ifa.ifa_index);
    a.scope = ifa.ifa_scope;
    a.flags = ifa.ifa_flags;
    const uint8_t max = ifa.ifa_family == AF_INET ? 32 : 128;
    if (ifa.ifa_prefixlen > max)
        return bad(m, "prefix length " + std::to_string(ifa.ifa_prefixlen));
    AttrTable t(IFA_MAX);
    if (auto st = t.parse(m.payload.subspan(sizeof(ifaddrmsg))); !st)
        return bad(m, st.error().what());
    IpAddress local, address;
    if (t.has(IFA_LOCAL))
        local = KEEL_TRY(address_attr(m, t.get(IFA_LOCAL), ifa.ifa_family, "IFA_LOCAL"));
    if (t.has(IFA_ADDRESS))
        address = KEEL_TRY(address_attr(m, t.get(IFA_ADDRESS), ifa.ifa_family, "IFA_ADDRESS"));
    if (!local.valid()) local = address;
    if (!local.valid()) return bad(m, "no IFA_LOCAL or IFA_ADDRESS");
    a.prefix = {local, ifa.ifa_prefixlen};
    if (address.valid() && address != local) a.peer = address;
    if (t.has(IFA_BROADCAST))
        a.broadcast =
            KEEL_TRY(address_attr(m, t.get(IFA_BROADCAST), ifa.ifa_family, "IFA_BROADCAST"));
    if (t.has(IFA_LABEL)) a.label = str(t.get(IFA_LABEL));
    if (t.has(IFA_FLAGS)) a.flags = KEEL_TRY(u32(m, t, IFA_FLAGS, "IFA_FLAGS"));
    if (t.has(IFA_CACHEINFO)) {
        Bytes b = t.get(IFA_CACHEINFO);
        if (b.size() < sizeof(ifa_cacheinfo)) return bad(m, "IFA_CACHEINFO too short");
        const auto ci = load<ifa_cacheinfo>(b);
        a.valid_lft = ci.ifa_valid;
        a.preferred_lft = ci.ifa_prefered;
    }
    return a;
}

Result<Route> decode_route(const NlMessage& m) {
    if (m.payload.size() < sizeof(rtmsg)) return bad(m, "shorter than rtmsg");
    const auto rt = load<rtmsg>(m.payload);
    if (rt.rtm_family != AF_INET && rt.rtm_family != AF_INET6)
        return bad(m, "route family " + std::to_string(rt.rtm_family));
    Route r;
    r.family = rt.rtm_family;
    r.table = rt.rtm_table;
    r.protocol = rt.rtm_protocol;
    r.scope = rt.rtm_scope;
    r.type = rt.rtm_type;
    r.tos = rt.rtm_tos;
    const uint8_t max = r.family == AF_INET ? 32 : 128;
    if (rt.rtm_dst_len > max) return bad(m, "destination length " + std::to_string(rt.rtm_dst_len));
    r.dst.addr.family = r.family;
    r.dst.len = rt.rtm_dst_len;
    AttrTable t(RTA_MAX);
    if (auto st = t.parse(m.payload.subspan(sizeof(rtmsg))); !st) return bad(m, st.error().what());
    if (t.has(RTA_DST)) r.dst.addr = KEEL_TRY(address_attr(m, t.get(RTA_DST), r.family, "RTA_DST"));
    if (t.has(RTA_GATEWAY))
        r.gateway = KEEL_TRY(address_attr(m, t.get(RTA_GATEWAY), r.family, "RTA_GATEWAY"));
    if (t.has(RTA_PREFSRC))
        r.prefsrc = KEEL_TRY(address_attr(m, t.get(RTA_PREFSRC), r.family, "RTA_PREFSRC"));
    if (t.has(RTA_OIF)) r.oif = static_cast<int>(KEEL_TRY(u32(m, t, RTA_OIF, "RTA_OIF")));
    if (t.has(RTA_PRIORITY)) r.metric = KEEL_TRY(u32(m, t, RTA_PRIORITY, "RTA_PRIORITY"));
    if (t.has(RTA_TABLE)) r.table = KEEL_TRY(u32(m, t, RTA_TABLE, "RTA_TABLE"));
    // Canonical form: no host bits beyond the length (the kernel never sends them;
    // comparing routes relies on it).
    r.dst = r.dst.network();
    return r;
}

Result<NlAck> decode_ack(const NlMessage& m) {
    if (m.payload.size() < sizeof(nlmsgerr)) return bad(m, "shorter than nlmsgerr");
    const auto e = load<nlmsgerr>(m.payload);
    NlAck ack;
    ack.error = e.error < 0 ? -e.error : e.error;
    ack.seq = e.msg.nlmsg_seq;
    if (!(m.flags & NLM_F_ACK_TLVS)) return ack;
    // The echoed request: only its header unless the socket did not cap acks.
    size_t skip = sizeof(nlmsgerr);
    if (!(m.flags & NLM_F_CAPPED)) {
        if (e.msg.nlmsg_len < kHeader) return bad(m, "echoed request shorter than its header");
        skip = sizeof(int) + align4(e.msg.nlmsg_len);
    }
    if (skip > m.payload.size()) return bad(m, "extended ack past the end");
    AttrTable t(NLMSGERR_ATTR_MAX);
    if (auto st = t.parse(m.payload.subspan(skip)); !st) return bad(m, st.error().what());
    if (t.has(NLMSGERR_ATTR_MSG)) ack.message = str(t.get(NLMSGERR_ATTR_MSG));
    return ack;
}

Error in_context(const std::string& doing, const Error& e) {
    return Error(e.what().empty() ? doing : doing + ": " + e.what(), e.code());
}

std::string message_type_name(uint16_t type) {
    switch (type) {
        case NLMSG_NOOP:
            return "NLMSG_NOOP";
        case NLMSG_ERROR:
            return "NLMSG_ERROR";
        case NLMSG_DONE:
            return "NLMSG_DONE";
        case NLMSG_OVERRUN:
            return "NLMSG_OVERRUN";
        case RTM_NEWLINK:
            return "RTM_NEWLINK";
        case RTM_DELLINK:
            return "RTM_DELLINK";
        case RTM_GETLINK:
            return "RTM_GETLINK";
        case RTM_NEWADDR:
            return "RTM_NEWADDR";
        case RTM_DELADDR:
            return "RTM_DELADDR";
        case RTM_GETADDR:
            return "RTM_GETADDR";
        case RTM_NEWROUTE:
            return "RTM_NEWROUTE";
        case RTM_DELROUTE:
            return "RTM_DELROUTE";
        case RTM_GETROUTE:
            return "RTM_GETROUTE";
        default:
            return "message type " + std::to_string(type);
    }
}

}  // namespace keel::net
