#include "bus/server/permissions.h"

#include "bus/protocol/subject.h"

namespace keel::bus {
namespace {

bool queue_matches(const SubjectRule& r, std::string_view queue) {
    if (r.queue.empty()) return true;
    return !queue.empty() && subject_matches(r.queue, queue);
}

}  // namespace

bool Permissions::can_publish(std::string_view subject) const {
    if (publish_allow) {
        bool allowed = false;
        for (const auto& r : *publish_allow)
            allowed = allowed || subject_matches(r.subject, subject);
        if (!allowed) return false;
    }
    for (const auto& r : publish_deny)
        if (subject_matches(r.subject, subject)) return false;
    return true;
}

Permissions::SubscribeVerdict Permissions::can_subscribe(std::string_view subject,
                                                         std::string_view queue) const {
    if (subscribe_allow) {
        bool allowed = false;
        for (const auto& r : *subscribe_allow)
            allowed = allowed || (subject_is_subset(subject, r.subject) && queue_matches(r, queue));
        if (!allowed) return SubscribeVerdict::kDenied;
    }
    bool overlaps = false;
    for (const auto& r : subscribe_deny) {
        if (subject_is_subset(subject, r.subject) && queue_matches(r, queue))
            return SubscribeVerdict::kDenied;
        if (r.queue.empty() && subjects_collide(subject, r.subject)) overlaps = true;
    }
    return overlaps ? SubscribeVerdict::kAllowedFiltered : SubscribeVerdict::kAllowed;
}

bool Permissions::delivery_denied(std::string_view subject) const {
    for (const auto& r : subscribe_deny)
        if (r.queue.empty() && subject_matches(r.subject, subject)) return true;
    return false;
}

}  // namespace keel::bus
