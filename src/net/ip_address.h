// IpAddress, IpPrefix, MacAddress: the values netlink carries, with the text
// forms people write ("10.0.0.2/24", "fd00::1", "52:54:00:12:34:56").
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace keel::net {

struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6; 0: none
    std::array<uint8_t, 16> bytes{};

    static std::optional<IpAddress> parse(std::string_view text);
    // From netlink attribute bytes: 4 bytes are IPv4, 16 are IPv6.
    static std::optional<IpAddress> from_bytes(std::span<const uint8_t> raw);
    bool valid() const { return family != 0; }
    size_t size() const { return family == 10 ? 16 : 4; }  // AF_INET6 == 10
    std::string to_string() const;
    bool is_link_local() const;  // fe80::/10 or 169.254/16
    auto operator<=>(const IpAddress&) const = default;
};

struct IpPrefix {
    IpAddress addr;
    uint8_t len = 0;

    // "10.0.0.2/24"; a bare address is a host prefix (/32, /128).
    static std::optional<IpPrefix> parse(std::string_view text);
    std::string to_string() const;
    // The prefix with host bits cleared ("10.0.0.2/24" -> "10.0.0.0/24").
    IpPrefix network() const;
    bool contains(const IpAddress& a) const;
    auto operator<=>(const IpPrefix&) const = default;
};

struct MacAddress {
    std::array<uint8_t, 32> bytes{};  // hardware addresses up to MAX_ADDR_LEN
    uint8_t len = 0;

    static std::optional<MacAddress> parse(std::string_view text);
    std::string to_string() const;
    bool empty() const { return len == 0; }
    auto operator<=>(const MacAddress&) const = default;
};

}  // namespace keel::net
