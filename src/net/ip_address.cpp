#include "net/ip_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace keel::net {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN + 1];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

std::optional<IpAddress> IpAddress::from_bytes(std::span<const uint8_t> raw) {
    IpAddress a;
    if (raw.size() == 4)
        a.family = AF_INET;
    else if (raw.size() == 16)
        a.family = AF_INET6;
    else
        return std::nullopt;
    std::memcpy(a.bytes.data(), raw.data(), raw.size());
    return a;
}

std::string IpAddress::to_string() const {
    if (!valid()) return "";
    char buf[INET6_ADDRSTRLEN];
    if (!::inet_ntop(family, bytes.data(), buf, sizeof buf)) return "";
    return buf;
}

bool IpAddress::is_link_local() const {
    if (family == AF_INET6) return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
    if (family == AF_INET) return bytes[0] == 169 && bytes[1] == 254;
    return false;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    auto slash = text.find('/');
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    const unsigned max = addr->family == AF_INET ? 32 : 128;
    unsigned len = max;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            len > max)
            return std::nullopt;
    }
    return IpPrefix{*addr, static_cast<uint8_t>(len)};
}

std::string IpPrefix::to_string() const {
    return addr.to_string() + "/" + std::to_string(len);
}

IpPrefix IpPrefix::network() const {
    IpPrefix p = *this;
    for (size_t i = 0; i < p.addr.size(); ++i) {
        const int keep = static_cast<int>(len) - static_cast<int>(i) * 8;
        if (keep >= 8) continue;
        p.addr.bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    }
    return p;
}

bool IpPrefix::contains(const IpAddress& a) const {
    if (a.family != addr.family) return false;
    return IpPrefix{a, len}.network() == network();
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    MacAddress m;
    size_t i = 0;
    while (i < text.size()) {
        if (m.len == m.bytes.size()) return std::nullopt;
        unsigned v = 0;
        auto [end, ec] =
            std::from_chars(text.data() + i, text.data() + std::min(text.size(), i + 2), v, 16);
        if (ec != std::errc() || end != text.data() + std::min(text.size(), i + 2))
            return std::nullopt;
        m.bytes[m.len++] = static_cast<uint8_t>(v);
        i += 2;
        if (i == text.size()) break;
        if (text[i] != ':' || i + 1 == text.size()) return std::nullopt;
        ++i;
    }
    // Ethernet's 6 bytes at least; longer for InfiniBand and the like.
    if (m.len < 6) return std::nullopt;
    return m;
}

std::string MacAddress::to_string() const {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    for (uint8_t i = 0; i < len; ++i) {
        if (i) s += ':';
        s += kHex[bytes[i] >> 4];
        s += kHex[bytes[i] & 15];
    }
    return s;
}

}  // namespace keel::net
