// LoadPolicy: what code a script in a keel luad child may load. A precompiled
// (binary) chunk is not checked by Lua and can read or write any memory of the
// process, and a C module is native code: either would let a script step outside
// Lua. So load, loadfile, dofile and require's Lua searcher take text chunks only
// (unless allow_binary), and package.loadlib and require's C searchers take only
// files under the configured directories that nobody but root can change.
#pragma once

#include <lua.hpp>

#include <string>
#include <vector>

#include "lua/luad/config.h"
#include "lua/luad/preload.h"

namespace keel::luad {

struct LoadPolicy {
    bool allow_binary = false;
    std::vector<std::string> c_module_dirs;   // resolved (no symlinks, no trailing slash)
    std::vector<std::string> c_module_files;  // preloaded C modules (already linked): allowed
};

// The policy of `cfg` (c_module_dirs resolved now; missing ones are left out).
LoadPolicy make_load_policy(const LuadConfig& cfg, const std::vector<Preload>& preloads);

// Why `path` must not be loaded as a C module, or "" when it may; `*resolved` gets
// the path without symlinks, the one to load (so that nothing can be swapped in
// between the check and the load).
std::string c_module_refusal(const LoadPolicy& p, const std::string& path, std::string* resolved);

// Replaces load, loadfile, dofile, package.loadlib and require's Lua and C
// searchers in L (after the standard libraries are open) by versions that keep
// nothing of Lua's own reachable, not even through the debug library. `p` must
// outlive L; one policy per process (the last applied).
void apply_load_policy(lua_State* L, const LoadPolicy& p);

}  // namespace keel::luad
