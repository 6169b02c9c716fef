// The emergency shell PID 1 offers on the console when the manifest is missing or
// broken, instead of panicking the kernel.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace keel::init {

// Starts `shell` on init's own stdin/stdout/stderr (the console) in a new session.
// Fails when the shell is not an executable file.
Result<pid_t> start_emergency_shell(const std::string& shell);

}  // namespace keel::init
