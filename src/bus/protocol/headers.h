// NATS message headers: "NATS/1.0[ status[ description]]\r\nKey: Value\r\n...\r\n".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace keel::bus {

struct Headers {
    int status = 0;  // e.g. 503 for "no responders"; 0 when absent
    std::string description;
    std::vector<std::pair<std::string, std::string>> fields;

    // The first value for `key` (case-insensitive), or empty.
    std::string_view get(std::string_view key) const;
    void add(std::string key, std::string value) {
        fields.emplace_back(std::move(key), std::move(value));
    }
    bool empty() const { return status == 0 && fields.empty(); }
};

std::string encode_headers(const Headers& h);
Result<Headers> parse_headers(std::string_view block);

}  // namespace keel::bus
