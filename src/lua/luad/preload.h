// Preloads: the modules named in keel luad's config, found and compiled once at
// start. Lua modules are kept as bytecode; C modules are linked into the server
// so children map them for free. Children install them as package.preload.
#pragma once

#include <lua.hpp>

#include <string>
#include <vector>

#include "base/result.h"

namespace keel::luad {

struct Preload {
    std::string name;
    std::string path;      // where it was found
    std::string bytecode;  // empty for a C module
};

// Finds and compiles `names` with the search paths of `L` (the server's VM, which
// keeps C modules linked). Errors name the module and why.
Result<std::vector<Preload>> compile_preloads(lua_State* L, const std::vector<std::string>& names);

// Makes each Lua preload require-able in a child's state without searching or
// parsing. `preloads` must outlive L (one set per process: the last installed).
void install_preloads(lua_State* L, const std::vector<Preload>& preloads);

}  // namespace keel::luad
