#include "init/supervisor/facts.h"

#include <nlohmann/json.hpp>

namespace keel::init {

bool payload_matches(std::string_view payload, const std::map<std::string, std::string>& match) {
    if (match.empty()) return true;
    auto doc = nlohmann::json::parse(payload, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return false;
    for (const auto& [key, want] : match) {
        auto it = doc.find(key);
        if (it == doc.end()) return false;
        std::string have = it->is_string() ? it->get<std::string>() : it->dump();
        if (have != want) return false;
    }
    return true;
}

bool FactSet::on_message(std::string_view subject, std::string_view payload) {
    bool changed = false;
    for (size_t i = 0; i < facts_.size(); ++i) {
        const Fact& f = facts_[i];
        bool on = subject == f.on, off = subject == f.off;
        if (!on && !off) continue;
        if (!payload_matches(payload, f.match)) continue;
        if (holds_[i] != on) {
            holds_[i] = on;
            changed = true;
        }
    }
    return changed;
}

bool FactSet::all_hold() const {
    for (bool h : holds_)
        if (!h) return false;
    return true;
}

}  // namespace keel::init
