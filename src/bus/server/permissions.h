// Permissions: what one user may publish and subscribe to, with nats-server's
// semantics — no allow list allows all, deny wins over allow, and a wildcard
// subscription overlapping a deny rule is accepted but the denied subjects are
// filtered out at delivery. Rules may name a queue group: "orders.* workers".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel::bus {

struct SubjectRule {
    std::string subject;
    std::string queue;  // subscribe rules only; empty: any (or no) queue
};

struct Permissions {
    std::optional<std::vector<SubjectRule>> publish_allow, subscribe_allow;
    std::vector<SubjectRule> publish_deny, subscribe_deny;

    bool can_publish(std::string_view subject) const;

    enum class SubscribeVerdict { kDenied, kAllowed, kAllowedFiltered };
    SubscribeVerdict can_subscribe(std::string_view subject, std::string_view queue) const;
    // For kAllowedFiltered subscriptions: is this delivered subject denied?
    bool delivery_denied(std::string_view subject) const;
};

}  // namespace keel::bus
