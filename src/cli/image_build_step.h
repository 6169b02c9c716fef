// Building a definition, as `keel build` does and as `keel boot|run SYSTEM.lua`
// do before they start it: progress on the terminal, the size report, where
// the outputs went.
#pragma once

#include <string>

#include "image/build.h"

namespace keel::cli {

// True when `arg` names a definition (a .lua file) rather than an output dir.
bool is_definition(const std::string& arg);

// Builds `definition` with `options` (its definition and lua paths filled in
// here). The outputs on success, else the exit code after the error is printed.
struct BuildStep {
    image::BuildResult result;
    int exit_code = 0;
};
BuildStep build_definition(const std::string& definition, image::BuildOptions options, bool quiet);

}  // namespace keel::cli
