#include "bus/server/subject_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

namespace keel::bus {
namespace {

class TrieTest : public ::testing::Test {
  protected:
    Subscription* add(const std::string& subject, const std::string& queue = "") {
        auto s = std::make_unique<Subscription>();
        s->subject = subject;
        s->queue = queue;
        s->sid = std::to_string(subs_.size() + 1);
        trie_.insert(s.get());
        subs_.push_back(std::move(s));
        return subs_.back().get();
    }
    std::set<std::string> plain(const std::string& subject) {
        std::set<std::string> out;
        for (auto* s : trie_.match(subject).plain)
            out.insert(s->subject);
        return out;
    }

    SubjectTrie trie_;
    std::vector<std::unique_ptr<Subscription>> subs_;
};

TEST_F(TrieTest, WildcardMatching) {
    add("foo.bar");
    add("foo.*");
    add("foo.>");
    add(">");
    add("*.bar");
    add("foo.*.baz");
    EXPECT_EQ(plain("foo.bar"), (std::set<std::string>{"foo.bar", "foo.*", "foo.>", ">", "*.bar"}));
    EXPECT_EQ(plain("foo.x.baz"), (std::set<std::string>{"foo.>", ">", "foo.*.baz"}));
    EXPECT_EQ(plain("foo"), (std::set<std::string>{">"}));
    EXPECT_EQ(plain("bar"), (std::set<std::string>{">"}));
    EXPECT_EQ(plain("foo..bar"), (std::set<std::string>{}));
    EXPECT_EQ(trie_.size(), 6u);
}

TEST_F(TrieTest, SameSubjectTwiceDeliversTwice) {
    add("a");
    add("a");
    EXPECT_EQ(trie_.match("a").plain.size(), 2u);
}

TEST_F(TrieTest, RemovalPrunesAndInvalidatesCache) {
    auto* a = add("a.b.c");
    auto* b = add("a.*.c");
    EXPECT_EQ(trie_.match("a.b.c").plain.size(), 2u);
    EXPECT_EQ(trie_.match("x").plain.size(), 0u);
    EXPECT_EQ(trie_.match("a.b.c").plain.size(), 2u);  // second sighting: cached
    EXPECT_EQ(trie_.cache_size(), 1u);
    EXPECT_TRUE(trie_.remove(a));
    EXPECT_EQ(trie_.cache_size(), 0u);
    EXPECT_EQ(trie_.match("a.b.c").plain.size(), 1u);
    EXPECT_FALSE(trie_.remove(a));  // already gone
    EXPECT_TRUE(trie_.remove(b));
    EXPECT_EQ(trie_.match("a.b.c").plain.size(), 0u);
    EXPECT_EQ(trie_.size(), 0u);
    // The trie is usable again after being emptied.
    add("a.b.c");
    EXPECT_EQ(trie_.match("a.b.c").plain.size(), 1u);
}

TEST_F(TrieTest, QueueGroupsAreGroupedAcrossWildcards) {
    add("work.*", "q1");
    add("work.a", "q1");
    add("work.>", "q2");
    add("work.a");
    const MatchResult& r = trie_.match("work.a");
    EXPECT_EQ(r.plain.size(), 1u);
    ASSERT_EQ(r.queues.size(), 2u);
    size_t q1 = r.queues[0].front()->queue == "q1" ? 0 : 1;
    EXPECT_EQ(r.queues[q1].size(), 2u);
    EXPECT_EQ(r.queues[1 - q1].size(), 1u);
}

TEST_F(TrieTest, RemovingLastQueueMemberDropsTheGroup) {
    auto* a = add("x", "g");
    auto* b = add("x", "g");
    trie_.remove(a);
    ASSERT_EQ(trie_.match("x").queues.size(), 1u);
    EXPECT_EQ(trie_.match("x").queues[0].size(), 1u);
    trie_.remove(b);
    EXPECT_TRUE(trie_.match("x").queues.empty());
}

TEST_F(TrieTest, CacheIsBounded) {
    add(">");
    for (size_t i = 0; i < SubjectTrie::kCacheLimit * 2; ++i) {
        trie_.match("s." + std::to_string(i));
        trie_.match("t");
        trie_.match("s." + std::to_string(i));
    }
    EXPECT_LE(trie_.cache_size(), SubjectTrie::kCacheLimit);
}

TEST_F(TrieTest, OneOffSubjectsAreNotCached) {
    add("_INBOX.abc.*");
    for (int i = 0; i < 100; ++i) {
        const std::string reply = "_INBOX.abc." + std::to_string(i);
        ASSERT_EQ(trie_.match(reply).plain.size(), 1u);
        ASSERT_EQ(trie_.match("other").plain.size(), 0u);
    }
    EXPECT_LE(trie_.cache_size(), 1u);  // only "other", seen again and again
}

TEST_F(TrieTest, RememberedResultFollowsChanges) {
    add("a");
    EXPECT_EQ(trie_.match("a").plain.size(), 1u);
    auto* b = add("a");
    EXPECT_EQ(trie_.match("a").plain.size(), 2u);
    trie_.remove(b);
    EXPECT_EQ(trie_.match("a").plain.size(), 1u);
}

}  // namespace
}  // namespace keel::bus
