#include "cli/image_paths.h"

#include <unistd.h>

#include "base/sys_fs.h"

namespace keel::cli {
namespace {

bool is_file(const std::string& path) {
    return ::access(path.c_str(), R_OK) == 0;
}

std::string dir_of(const std::string& path) {
    return path.substr(0, path.rfind('/'));
}

}  // namespace

std::string absolute_path(const std::string& path) {
    if (path.empty() || path[0] == '/') return path;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return path;
    return std::string(cwd) + "/" + path;
}

Result<ImageToolPaths> image_tool_paths() {
    std::string self = KEEL_TRY(sys::read_link("/proc/self/exe"));
    std::string bin = dir_of(self);
    ImageToolPaths p;
    p.keel = bin + "/keel";
    if (!is_file(p.keel))
        return Error("no keel binary beside " + self + " (looked for " + p.keel + ")");
    for (std::string dir : {dir_of(bin) + "/share/keel/lua", std::string(KEEL_SOURCE_LUA_DIR)})
        if (is_file(dir + "/keel/system.lua")) {
            p.lua_dir = dir;
            return p;
        }
    return Error("cannot find the keel Lua DSL (share/keel/lua beside " + bin + ", or " +
                 KEEL_SOURCE_LUA_DIR + ")");
}

}  // namespace keel::cli
