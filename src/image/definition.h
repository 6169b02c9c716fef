// Evaluates a Lua system definition (lua/keel's DSL and service catalog) in a
// sandboxed Lua state into a Plan. Errors carry the definition's file:line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "image/plan.h"

namespace keel::image {

struct DefinitionOptions {
    std::string lua_dir;      // where keel/system.lua and keel/services/*.lua live
    std::string keel_binary;  // the host keel to put in the image (/usr/bin/keel)
    // A runaway definition is stopped with an error at these limits.
    uint64_t max_instructions = 100'000'000;
    size_t max_memory = 64u << 20;
};

Result<Plan> evaluate_definition(const std::string& path, const DefinitionOptions& options);

}  // namespace keel::image
