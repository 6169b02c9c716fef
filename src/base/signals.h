// Signal names and numbers: "TERM", "SIGTERM" and "term" all name SIGTERM.
#pragma once

#include <string_view>

namespace keel {

// The signal number, or 0 if the name is unknown.
int signal_from_name(std::string_view name);
// "TERM" for SIGTERM, "RTMIN+3" for real-time signals, nullptr if out of range.
const char* signal_to_name(int signo);

}  // namespace keel
