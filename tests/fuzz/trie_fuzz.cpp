// The subject trie against a brute-force reference: the input is a script of
// subscribe / unsubscribe / match operations over a small alphabet of tokens.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bus/protocol/subject.h"
#include "bus/server/subject_trie.h"

namespace {

std::string make_subject(const uint8_t*& p, const uint8_t* end, bool wildcards) {
    static const char* const kTokens[] = {"a", "b", "c", "foo", "*", ">"};
    std::string s;
    int n = 1 + (p < end ? *p++ % 4 : 0);
    for (int i = 0; i < n && p < end; ++i) {
        int t = *p++ % (wildcards ? 6 : 4);
        if (!s.empty()) s += '.';
        s += kTokens[t];
    }
    return s.empty() ? "a" : s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace keel::bus;
    SubjectTrie trie;
    std::vector<std::unique_ptr<Subscription>> live;
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    while (p < end) {
        uint8_t op = *p++ % 3;
        if (op == 0) {
            auto s = std::make_unique<Subscription>();
            s->subject = make_subject(p, end, true);
            if (!is_valid_subject(s->subject)) continue;
            if (p < end && (*p++ & 1)) s->queue = "q";
            trie.insert(s.get());
            live.push_back(std::move(s));
        } else if (op == 1 && !live.empty()) {
            size_t i = (p < end ? *p++ : 0) % live.size();
            if (!trie.remove(live[i].get())) std::abort();
            live.erase(live.begin() + static_cast<long>(i));
        } else {
            std::string subject = make_subject(p, end, false);
            const MatchResult& r = trie.match(subject);
            std::vector<Subscription*> got = r.plain;
            for (const auto& g : r.queues)
                got.insert(got.end(), g.begin(), g.end());
            std::vector<Subscription*> want;
            for (auto& s : live)
                if (subject_matches(s->subject, subject)) want.push_back(s.get());
            std::sort(got.begin(), got.end());
            std::sort(want.begin(), want.end());
            if (got != want) std::abort();
        }
    }
    if (trie.size() != live.size()) std::abort();
    return 0;
}
