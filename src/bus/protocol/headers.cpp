#include "bus/protocol/headers.h"

#include <strings.h>

#include <charconv>

namespace keel::bus {

std::string_view Headers::get(std::string_view key) const {
    for (const auto& [k, v] : fields)
        if (k.size() == key.size() && ::strncasecmp(k.data(), key.data(), k.size()) == 0) return v;
    return {};
}

std::string encode_headers(const Headers& h) {
    std::string s = "NATS/1.0";
    if (h.status) {
        s += ' ' + std::to_string(h.status);
        if (!h.description.empty()) s += ' ' + h.description;
    }
    s += "\r\n";
    for (const auto& [k, v] : h.fields)
        s += k + ": " + v + "\r\n";
    s += "\r\n";
    return s;
}

Result<Headers> parse_headers(std::string_view block) {
    Headers h;
    auto eol = block.find("\r\n");
    if (eol == std::string_view::npos) return Error("headers: no line end");
    std::string_view first = block.substr(0, eol);
    if (first.substr(0, 8) != "NATS/1.0") return Error("headers: missing NATS/1.0");
    first.remove_prefix(8);
    while (!first.empty() && first.front() == ' ')
        first.remove_prefix(1);
    if (!first.empty()) {
        auto sp = first.find(' ');
        std::string_view code = first.substr(0, sp);
        int status = 0;
        auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
        if (ec != std::errc() || p != code.data() + code.size())
            return Error("headers: bad status");
        h.status = status;
        if (sp != std::string_view::npos) h.description = std::string(first.substr(sp + 1));
    }
    std::string_view rest = block.substr(eol + 2);
    while (!rest.empty()) {
        eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
        if (line.empty()) break;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) return Error("headers: line without ':'");
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ')
            v.remove_prefix(1);
        h.fields.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    return h;
}

}  // namespace keel::bus
