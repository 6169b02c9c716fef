// Subject rules, as nats-server applies them: tokens separated by '.', none
// empty; '*' matches one token, '>' (last token only) matches one or more.
#pragma once

#include <string_view>

namespace keel::bus {

// Valid for SUB: non-empty tokens, '>' only as the last token, no whitespace.
bool is_valid_subject(std::string_view subject);
// Valid for PUB (pedantic): valid and without wildcard tokens.
bool is_valid_publish_subject(std::string_view subject);
bool has_wildcard(std::string_view subject);

// Does `pattern` (may contain wildcards) match the literal `subject`?
bool subject_matches(std::string_view pattern, std::string_view subject);
// Is every subject matched by `sub` also matched by `pattern`? (permissions: a
// subscription is allowed when an allow pattern covers it entirely)
bool subject_is_subset(std::string_view sub, std::string_view pattern);
// Can some subject match both? (a wildcard subscription overlapping a deny rule)
bool subjects_collide(std::string_view a, std::string_view b);

}  // namespace keel::bus
