// Subscription: one SUB of one session (or an internal subscriber of the bus).
#pragma once

#include <cstdint>
#include <string>

namespace keel::bus {

class Session;

struct Subscription {
    std::string subject;
    std::string queue;  // empty: not in a queue group
    std::string sid;
    Session* session = nullptr;  // null for the bus's own subscriptions
    uint64_t max = 0;            // auto-unsubscribe after this many; 0: never
    uint64_t delivered = 0;
    bool closed = false;       // unsubscribed; still in the trie until the delivery pass ends
    bool deny_filter = false;  // wildcard overlapping a subscribe-deny rule: filter at delivery
};

}  // namespace keel::bus
