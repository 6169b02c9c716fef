// Runs a host tool (apt-get, apt-cache) to completion: stdout is handed over
// line by line as it arrives (for progress) and returned whole; a failure
// names the command, its exit status and the end of what it wrote to stderr.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace keel::image {

struct Command {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    std::vector<std::string> env;   // "NAME=value" added to (or replacing in) our environment
    std::string cwd;                // "" = ours
};

Result<std::string> run_command(const Command& cmd,
                                const std::function<void(std::string_view line)>& on_line = {});

}  // namespace keel::image
