#include "bus/server/permissions.h"

#include <gtest/gtest.h>

namespace keel::bus {
namespace {

using V = Permissions::SubscribeVerdict;

TEST(Permissions, NoAllowListAllowsAllAndDenyWins) {
    Permissions p;
    p.publish_deny = {{"secret.>", ""}};
    EXPECT_TRUE(p.can_publish("public.x"));
    EXPECT_FALSE(p.can_publish("secret.x"));
    p.publish_allow = std::vector<SubjectRule>{{"public.>", ""}, {"secret.>", ""}};
    EXPECT_FALSE(p.can_publish("other"));
    EXPECT_FALSE(p.can_publish("secret.y"));  // deny wins over allow
    EXPECT_TRUE(p.can_publish("public.y"));
}

TEST(Permissions, WildcardOverlappingDenyIsFiltered) {
    Permissions p;
    p.subscribe_deny = {{"secret.>", ""}};
    EXPECT_EQ(p.can_subscribe("secret.x", ""), V::kDenied);
    EXPECT_EQ(p.can_subscribe("secret.*.*", ""), V::kDenied);  // entirely inside the deny
    EXPECT_EQ(p.can_subscribe(">", ""), V::kAllowedFiltered);
    EXPECT_EQ(p.can_subscribe("*.x", ""), V::kAllowedFiltered);
    EXPECT_EQ(p.can_subscribe("public.>", ""), V::kAllowed);
    EXPECT_TRUE(p.delivery_denied("secret.x"));
    EXPECT_FALSE(p.delivery_denied("public.x"));
}

TEST(Permissions, SubscribeAllowNeedsFullCover) {
    Permissions p;
    p.subscribe_allow = std::vector<SubjectRule>{{"foo.*", ""}};
    EXPECT_EQ(p.can_subscribe("foo.bar", ""), V::kAllowed);
    EXPECT_EQ(p.can_subscribe("foo.*", ""), V::kAllowed);
    EXPECT_EQ(p.can_subscribe("foo.>", ""), V::kDenied);
    EXPECT_EQ(p.can_subscribe(">", ""), V::kDenied);
}

TEST(Permissions, QueueRules) {
    Permissions p;
    p.subscribe_allow = std::vector<SubjectRule>{{"jobs", "workers"}, {"events.>", ""}};
    EXPECT_EQ(p.can_subscribe("jobs", "workers"), V::kAllowed);
    EXPECT_EQ(p.can_subscribe("jobs", "others"), V::kDenied);
    EXPECT_EQ(p.can_subscribe("jobs", ""), V::kDenied);  // only as that queue
    EXPECT_EQ(p.can_subscribe("events.a", "any"), V::kAllowed);
    p.subscribe_deny = {{"events.private", "spies"}};
    EXPECT_EQ(p.can_subscribe("events.private", "spies"), V::kDenied);
    EXPECT_EQ(p.can_subscribe("events.private", ""), V::kAllowed);
}

}  // namespace
}  // namespace keel::bus
