// JSON views of links, addresses and routes, shaped like `ip -j` output
// (ifname, flags, operstate, local/prefixlen, dst/gateway/dev...). Used for
// net.status answers and the payloads of net.* events.
#pragma once

#include <nlohmann/json.hpp>

#include "net/model.h"

namespace keel::net {

nlohmann::json to_json(const Link& l, const NetState& names);
nlohmann::json to_json(const Address& a, const NetState& names);
nlohmann::json to_json(const Route& r, const NetState& names);
// {"links": [...], "addresses": [...], "routes": [...]}
nlohmann::json to_json(const NetState& s);
// "10.0.0.0/24 via 10.0.0.1 dev eth0 metric 100 table 7", as `ip route` prints it.
std::string describe(const Route& r, const NetState& names);

}  // namespace keel::net
