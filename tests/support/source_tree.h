// Where the test binaries find the source tree's files (examples, Lua, test data).
// The path comes from CMake, not __FILE__: it holds wherever the tree is cloned
// and however the compiler was handed the file names (ccache's base_dir makes
// them relative to the build directory).
#pragma once

#include <string>
#include <string_view>

namespace keel {

// The absolute path of `rel` in the source tree, e.g. source_file("examples/demo/system.lua");
// the tree itself for "".
std::string source_file(std::string_view rel);

}  // namespace keel
