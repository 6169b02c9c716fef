#include "net/model.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace keel::net {

bool Link::admin_up() const {
    return flags & IFF_UP;
}
bool Link::carrier() const {
    return flags & IFF_LOWER_UP;
}
bool Address::permanent() const {
    return flags & IFA_F_PERMANENT;
}

const Link* NetState::link(int index) const {
    for (const auto& l : links)
        if (l.index == index) return &l;
    return nullptr;
}

const Link* NetState::link(const std::string& name) const {
    for (const auto& l : links)
        if (l.name == name) return &l;
    return nullptr;
}

std::string NetState::link_name(int index) const {
    const Link* l = link(index);
    return l ? l->name : std::string();
}

std::string protocol_name(uint8_t p) {
    switch (p) {
        case RTPROT_UNSPEC:
            return "unspec";
        case RTPROT_REDIRECT:
            return "redirect";
        case RTPROT_KERNEL:
            return "kernel";
        case RTPROT_BOOT:
            return "boot";
        case RTPROT_STATIC:
            return "static";
        case RTPROT_RA:
            return "ra";
        case RTPROT_DHCP:
            return "dhcp";
        default:
            return std::to_string(p);
    }
}

std::string scope_name(uint8_t s) {
    switch (s) {
        case RT_SCOPE_UNIVERSE:
            return "global";
        case RT_SCOPE_SITE:
            return "site";
        case RT_SCOPE_LINK:
            return "link";
        case RT_SCOPE_HOST:
            return "host";
        case RT_SCOPE_NOWHERE:
            return "nowhere";
        default:
            return std::to_string(s);
    }
}

std::string route_type_name(uint8_t t) {
    static const char* const kNames[] = {"unspec",   "unicast",   "local",     "broadcast",
                                         "anycast",  "multicast", "blackhole", "unreachable",
                                         "prohibit", "throw",     "nat",       "xresolve"};
    if (t < sizeof kNames / sizeof *kNames) return kNames[t];
    return std::to_string(t);
}

std::string table_name(uint32_t t) {
    switch (t) {
        case RT_TABLE_MAIN:
            return "main";
        case RT_TABLE_LOCAL:
            return "local";
        case RT_TABLE_DEFAULT:
            return "default";
        default:
            return std::to_string(t);
    }
}

std::string operstate_name(uint8_t s) {
    static const char* const kNames[] = {"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN",
                                         "TESTING", "DORMANT",    "UP"};
    if (s < sizeof kNames / sizeof *kNames) return kNames[s];
    return std::to_string(s);
}

std::string family_name(int family) {
    if (family == AF_INET) return "inet";
    if (family == AF_INET6) return "inet6";
    return std::to_string(family);
}

}  // namespace keel::net
