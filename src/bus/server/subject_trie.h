// SubjectTrie: the subscription index. One level per subject token, with separate
// children for '*' and '>' (nats-server's sublist design), and a bounded cache of
// match results per literal subject, dropped whenever the subscriptions change.
// A subject enters the cache on its second sighting (a small filter of recent
// misses decides), so one-off subjects such as request inboxes neither allocate
// nor push hot subjects out; and the last result is remembered, because streams
// of one subject are the common case.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bus/server/subscription.h"

namespace keel::bus {

struct MatchResult {
    std::vector<Subscription*> plain;
    // One entry per queue group name; each message goes to one member of each.
    std::vector<std::vector<Subscription*>> queues;
};

class SubjectTrie {
  public:
    SubjectTrie();
    ~SubjectTrie();
    SubjectTrie(const SubjectTrie&) = delete;
    SubjectTrie& operator=(const SubjectTrie&) = delete;

    // The subject must be valid (is_valid_subject). `sub` must stay live until removed.
    void insert(Subscription* sub);
    bool remove(Subscription* sub);

    // The result stays valid until the next insert, remove or match.
    const MatchResult& match(std::string_view subject);

    size_t size() const { return count_; }
    size_t cache_size() const { return cache_.size(); }
    static constexpr size_t kCacheLimit = 4096;
    static constexpr size_t kFilterSlots = 1024;

  private:
    struct Node;
    struct Level;
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Cache = std::unordered_map<std::string, MatchResult, StringHash, std::equal_to<>>;

    void collect(const Level* level, const std::vector<std::string_view>& tokens, size_t i,
                 MatchResult& out) const;
    static void add_node(const Node* n, MatchResult& out);
    void invalidate();

    std::unique_ptr<Level> root_;
    size_t count_ = 0;
    Cache cache_;
    MatchResult scratch_;                   // result for a subject not (yet) cached
    std::vector<size_t> seen_;              // hashes of recent misses, one per slot
    std::vector<std::string_view> tokens_;  // reused by match()
    std::string last_subject_;              // the last match, remembered
    const MatchResult* last_result_ = nullptr;
};

}  // namespace keel::bus
