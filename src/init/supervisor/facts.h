// Facts a service wants (wants_facts): each holds after its "on" message and ceases
// after its "off" message, both filtered by the JSON payload's `match` keys. Pure:
// the bus link feeds messages in, the supervisor asks whether everything holds.
#pragma once

#include <string_view>
#include <vector>

#include "init/manifest/service_spec.h"

namespace keel::init {

class FactSet {
  public:
    explicit FactSet(const std::vector<Fact>& facts) : facts_(facts), holds_(facts.size(), false) {}

    // Returns true when any fact changed.
    bool on_message(std::string_view subject, std::string_view payload);
    bool all_hold() const;
    const std::vector<Fact>& facts() const { return facts_; }
    bool holds(size_t i) const { return holds_[i]; }

  private:
    std::vector<Fact> facts_;
    std::vector<bool> holds_;
};

// True when `payload` is a JSON object with every key of `match` equal to its value
// (strings compare as text; numbers and booleans by their JSON text).
bool payload_matches(std::string_view payload, const std::map<std::string, std::string>& match);

}  // namespace keel::init
