#include "bus/protocol/subject.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel::bus {
namespace {

TEST(Subject, ValidityAsNatsServer) {
    for (const char* s : {"foo", "foo.bar", "foo.*", "foo.>", ">", "*", "*.*", "foo.*.baz", "f*o",
                          "foo.bar>", "$SYS.x"})
        EXPECT_TRUE(is_valid_subject(s)) << s;
    for (const char* s :
         {"", ".", "foo.", ".foo", "foo..bar", "foo.>.bar", ">.foo", "foo bar", "foo\tbar", "a.\n"})
        EXPECT_FALSE(is_valid_subject(s)) << s;
}

TEST(Subject, PublishSubjectsAreLiteral) {
    EXPECT_TRUE(is_valid_publish_subject("foo.bar"));
    EXPECT_TRUE(is_valid_publish_subject("f*o.b>r"));  // wildcards only as whole tokens
    EXPECT_FALSE(is_valid_publish_subject("foo.*"));
    EXPECT_FALSE(is_valid_publish_subject("foo.>"));
    EXPECT_FALSE(is_valid_publish_subject("foo..bar"));
}

TEST(Subject, FastPublishCheckAgreesWithTheRules) {
    // Every string of up to 6 characters over an alphabet that hits each rule.
    const std::string alphabet = "a.*> \t";
    std::vector<std::string> frontier = {""};
    for (int len = 0; len < 6; ++len) {
        std::vector<std::string> next;
        for (const auto& s : frontier) {
            for (char c : alphabet)
                next.push_back(s + c);
        }
        for (const auto& s : next) {
            ASSERT_EQ(is_valid_publish_subject(s), is_valid_subject(s) && !has_wildcard(s))
                << "'" << s << "'";
        }
        frontier = std::move(next);
    }
}

TEST(Subject, Matching) {
    EXPECT_TRUE(subject_matches("foo.*", "foo.bar"));
    EXPECT_FALSE(subject_matches("foo.*", "foo.bar.baz"));
    EXPECT_FALSE(subject_matches("foo.*", "foo"));
    EXPECT_TRUE(subject_matches("foo.>", "foo.bar.baz"));
    EXPECT_FALSE(subject_matches("foo.>", "foo"));
    EXPECT_TRUE(subject_matches(">", "a"));
    EXPECT_TRUE(subject_matches("*.b.*", "a.b.c"));
    EXPECT_FALSE(subject_matches("*.b.*", "a.x.c"));
    EXPECT_TRUE(subject_matches("a.b", "a.b"));
    EXPECT_FALSE(subject_matches("a.b", "a.bc"));
}

TEST(Subject, SubsetForPermissions) {
    EXPECT_TRUE(subject_is_subset("foo.bar", "foo.*"));
    EXPECT_TRUE(subject_is_subset("foo.*", "foo.*"));
    EXPECT_TRUE(subject_is_subset("foo.*", "foo.>"));
    EXPECT_TRUE(subject_is_subset("foo.>", "foo.>"));
    EXPECT_TRUE(subject_is_subset("secret.*.*", "secret.>"));
    EXPECT_FALSE(subject_is_subset("foo.>", "foo.*"));
    EXPECT_FALSE(subject_is_subset("foo.*", "foo.bar"));
    EXPECT_FALSE(subject_is_subset(">", "foo.>"));
    EXPECT_FALSE(subject_is_subset("foo", "foo.>"));
}

TEST(Subject, Collisions) {
    EXPECT_TRUE(subjects_collide(">", "secret.x"));
    EXPECT_TRUE(subjects_collide("*.x", "secret.*"));
    EXPECT_TRUE(subjects_collide("foo.>", "foo.bar.baz"));
    EXPECT_FALSE(subjects_collide("foo.>", "foo"));
    EXPECT_FALSE(subjects_collide("foo.*", "bar.*"));
    EXPECT_FALSE(subjects_collide("a.*", "a.b.c"));
}

}  // namespace
}  // namespace keel::bus
