// Where keel-image finds what it puts into images: the keel binary built or
// installed beside it, and the Lua DSL (installed share/keel/lua, else the
// source tree it was built from).
#pragma once

#include <string>

#include "base/result.h"

namespace keel::cli {

struct ImageToolPaths {
    std::string keel;     // the device binary: /usr/bin/keel in images
    std::string lua_dir;  // holds keel/system.lua and keel/services/
};

Result<ImageToolPaths> image_tool_paths();
// `path` made absolute against the working directory (no symlinks resolved).
std::string absolute_path(const std::string& path);

}  // namespace keel::cli
