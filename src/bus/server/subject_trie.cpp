#include "bus/server/subject_trie.h"

#include <algorithm>

namespace keel::bus {

struct SubjectTrie::Node {
    std::unique_ptr<Level> next;
    std::vector<Subscription*> plain;
    std::vector<std::vector<Subscription*>> queues;  // grouped by queue name
    bool empty() const { return !next && plain.empty() && queues.empty(); }
};

struct SubjectTrie::Level {
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> literal;
    std::unique_ptr<Node> pwc, fwc;
    bool empty() const { return literal.empty() && !pwc && !fwc; }
};

namespace {

void split_tokens(std::string_view s, std::vector<std::string_view>& out) {
    out.clear();
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        if (dot == std::string_view::npos) {
            out.push_back(s.substr(start));
            return;
        }
        out.push_back(s.substr(start, dot - start));
        start = dot + 1;
    }
}

}  // namespace

SubjectTrie::SubjectTrie() : root_(std::make_unique<Level>()), seen_(kFilterSlots, 0) {}
SubjectTrie::~SubjectTrie() = default;

void SubjectTrie::insert(Subscription* sub) {
    std::vector<std::string_view> tokens;
    split_tokens(sub->subject, tokens);
    Level* level = root_.get();
    Node* node = nullptr;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string_view t = tokens[i];
        if (!level) {
            node->next = std::make_unique<Level>();
            level = node->next.get();
        }
        std::unique_ptr<Node>* slot;
        if (t == "*") {
            slot = &level->pwc;
        } else if (t == ">") {
            slot = &level->fwc;
        } else {
            auto it = level->literal.find(t);
            if (it == level->literal.end())
                it = level->literal.emplace(std::string(t), nullptr).first;
            slot = &it->second;
        }
        if (!*slot) *slot = std::make_unique<Node>();
        node = slot->get();
        level = node->next.get();
    }
    if (sub->queue.empty()) {
        node->plain.push_back(sub);
    } else {
        auto g = std::find_if(node->queues.begin(), node->queues.end(),
                              [&](const auto& grp) { return grp.front()->queue == sub->queue; });
        if (g == node->queues.end())
            node->queues.emplace_back().push_back(sub);
        else
            g->push_back(sub);
    }
    ++count_;
    invalidate();
}

void SubjectTrie::invalidate() {
    cache_.clear();
    last_result_ = nullptr;
}

bool SubjectTrie::remove(Subscription* sub) {
    std::vector<std::string_view> tokens;
    split_tokens(sub->subject, tokens);
    // Remember the path so empty nodes can be pruned bottom-up.
    struct Step {
        Level* level;
        std::string_view token;
    };
    std::vector<Step> path;
    Level* level = root_.get();
    Node* node = nullptr;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string_view t = tokens[i];
        if (!level) return false;
        Node* n = nullptr;
        if (t == "*")
            n = level->pwc.get();
        else if (t == ">")
            n = level->fwc.get();
        else if (auto it = level->literal.find(t); it != level->literal.end())
            n = it->second.get();
        if (!n) return false;
        path.push_back({level, t});
        node = n;
        level = n->next.get();  // may be pruned away on the last token's node
    }
    bool found = false;
    if (sub->queue.empty()) {
        auto it = std::find(node->plain.begin(), node->plain.end(), sub);
        if (it != node->plain.end()) {
            node->plain.erase(it);
            found = true;
        }
    } else {
        for (auto g = node->queues.begin(); g != node->queues.end(); ++g) {
            auto it = std::find(g->begin(), g->end(), sub);
            if (it == g->end()) continue;
            g->erase(it);
            if (g->empty()) node->queues.erase(g);
            found = true;
            break;
        }
    }
    if (!found) return false;
    --count_;
    invalidate();
    // Prune: drop nodes whose level below is empty and that hold nothing.
    for (size_t i = path.size(); i-- > 0;) {
        Level* l = path[i].level;
        std::string_view t = path[i].token;
        std::unique_ptr<Node>* slot;
        if (t == "*")
            slot = &l->pwc;
        else if (t == ">")
            slot = &l->fwc;
        else
            slot = &l->literal.find(t)->second;
        Node* n = slot->get();
        if (n->next && n->next->empty()) n->next.reset();
        if (!n->empty()) break;
        if (t == "*" || t == ">")
            slot->reset();
        else
            l->literal.erase(l->literal.find(t));
    }
    return true;
}

void SubjectTrie::add_node(const Node* n, MatchResult& out) {
    out.plain.insert(out.plain.end(), n->plain.begin(), n->plain.end());
    for (const auto& g : n->queues) {
        auto it = std::find_if(out.queues.begin(), out.queues.end(),
                               [&](const auto& o) { return o.front()->queue == g.front()->queue; });
        if (it == out.queues.end())
            out.queues.push_back(g);
        else
            it->insert(it->end(), g.begin(), g.end());
    }
}

void SubjectTrie::collect(const Level* level, const std::vector<std::string_view>& tokens, size_t i,
                          MatchResult& out) const {
    if (level->fwc) add_node(level->fwc.get(), out);
    const std::string_view t = tokens[i];
    const bool last = i + 1 == tokens.size();
    auto visit = [&](const Node* n) {
        if (last)
            add_node(n, out);
        else if (n->next)
            collect(n->next.get(), tokens, i + 1, out);
    };
    if (level->pwc) visit(level->pwc.get());
    if (auto it = level->literal.find(t); it != level->literal.end()) visit(it->second.get());
}

const MatchResult& SubjectTrie::match(std::string_view subject) {
    if (last_result_ && subject == last_subject_) return *last_result_;
    const size_t hash = StringHash{}(subject);
    const MatchResult* result;
    if (auto it = cache_.find(subject); it != cache_.end()) {
        result = &it->second;
    } else {
        scratch_.plain.clear();
        scratch_.queues.clear();
        split_tokens(subject, tokens_);
        // Empty tokens ("a..b") match nothing.
        if (std::none_of(tokens_.begin(), tokens_.end(), [](auto t) { return t.empty(); }))
            collect(root_.get(), tokens_, 0, scratch_);
        size_t& slot = seen_[hash % kFilterSlots];
        if (slot != hash) {
            slot = hash;
            result = &scratch_;
        } else {
            if (cache_.size() >= kCacheLimit) cache_.clear();
            result = &cache_.emplace(std::string(subject), scratch_).first->second;
        }
    }
    last_subject_.assign(subject);
    last_result_ = result;
    return *result;
}

}  // namespace keel::bus
