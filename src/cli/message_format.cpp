#include "cli/message_format.h"

#include <nlohmann/json.hpp>

namespace keel::cli {

std::string format_message(const bus::Message& m, uint64_t n, MessageFormat f) {
    switch (f) {
        case MessageFormat::kRaw:
            return std::string(m.data) + "\n";
        case MessageFormat::kJson: {
            nlohmann::json j = {{"subject", m.subject}, {"data", m.data}};
            if (!m.reply.empty()) j["reply"] = m.reply;
            if (m.headers) {
                nlohmann::json h = nlohmann::json::object();
                for (const auto& [k, v] : m.headers->fields)
                    h[k].push_back(v);
                j["headers"] = h;
                if (m.headers->status) j["status"] = m.headers->status;
            }
            // Invalid UTF-8 in a payload is replaced rather than aborting the stream.
            return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        }
        case MessageFormat::kHuman: {
            std::string s = "[#" + std::to_string(n) + "] " + std::string(m.subject);
            if (!m.reply.empty()) s += " (reply: " + std::string(m.reply) + ")";
            s += "\n";
            if (m.headers) {
                for (const auto& [k, v] : m.headers->fields)
                    s += "  " + k + ": " + v + "\n";
            }
            s += std::string(m.data) + "\n";
            return s;
        }
    }
    return {};
}

bool add_header_arg(bus::Headers& h, const std::string& arg) {
    auto sep = arg.find_first_of(":=");
    if (sep == std::string::npos || sep == 0) return false;
    std::string value = arg.substr(sep + 1);
    while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
    h.add(arg.substr(0, sep), value);
    return true;
}

}  // namespace keel::cli
