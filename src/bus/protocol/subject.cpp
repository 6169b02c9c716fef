#include "bus/protocol/subject.h"

#include <vector>

namespace keel::bus {
namespace {

// Calls fn(token) for each '.'-separated token; stops early when fn returns false.
template <typename Fn>
bool for_each_token(std::string_view s, Fn fn) {
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        std::string_view tok =
            s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!fn(tok)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::vector<std::string_view> tokens(std::string_view s) {
    std::vector<std::string_view> out;
    for_each_token(s, [&](std::string_view t) {
        out.push_back(t);
        return true;
    });
    return out;
}

bool is_pwc(std::string_view t) {
    return t == "*";
}
bool is_fwc(std::string_view t) {
    return t == ">";
}

}  // namespace

bool is_valid_subject(std::string_view subject) {
    if (subject.empty()) return false;
    bool after_fwc = false;
    return for_each_token(subject, [&](std::string_view t) {
        if (t.empty() || after_fwc) return false;
        if (t.find_first_of(" \t\n\r\f") != std::string_view::npos) return false;
        if (is_fwc(t)) after_fwc = true;
        return true;
    });
}

bool has_wildcard(std::string_view subject) {
    bool wc = false;
    for_each_token(subject, [&](std::string_view t) {
        wc = is_pwc(t) || is_fwc(t);
        return !wc;
    });
    return wc;
}

// On every PUB, so one pass over the bytes: non-empty tokens, no whitespace, and no
// token that is exactly '*' or '>'.
bool is_valid_publish_subject(std::string_view subject) {
    size_t token_len = 0;
    char first = 0;
    for (char c : subject) {
        if (c == '.') {
            if (token_len == 0 || (token_len == 1 && (first == '*' || first == '>'))) return false;
            token_len = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') return false;
        if (token_len++ == 0) first = c;
    }
    return token_len > 0 && !(token_len == 1 && (first == '*' || first == '>'));
}

bool subject_matches(std::string_view pattern, std::string_view subject) {
    auto p = tokens(pattern), s = tokens(subject);
    size_t i = 0;
    for (; i < p.size(); ++i) {
        if (is_fwc(p[i])) return i < s.size();
        if (i >= s.size()) return false;
        if (!is_pwc(p[i]) && p[i] != s[i]) return false;
    }
    return i == s.size();
}

bool subject_is_subset(std::string_view sub, std::string_view pattern) {
    auto s = tokens(sub), p = tokens(pattern);
    for (size_t i = 0; i < p.size(); ++i) {
        if (is_fwc(p[i])) return i < s.size();
        if (i >= s.size()) return false;
        if (is_fwc(s[i])) return false;  // sub reaches further than a non-'>' pattern
        if (is_pwc(p[i])) continue;
        if (is_pwc(s[i]) || s[i] != p[i]) return false;
    }
    return s.size() == p.size();
}

bool subjects_collide(std::string_view a, std::string_view b) {
    auto x = tokens(a), y = tokens(b);
    size_t n = std::min(x.size(), y.size());
    for (size_t i = 0; i < n; ++i) {
        if (is_fwc(x[i]) || is_fwc(y[i])) return true;
        if (is_pwc(x[i]) || is_pwc(y[i])) continue;
        if (x[i] != y[i]) return false;
    }
    if (x.size() == y.size()) return true;
    // The longer one can only meet the shorter if the shorter ends in '>'; handled above.
    return false;
}

}  // namespace keel::bus
