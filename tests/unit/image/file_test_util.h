// Helpers for the image tests that work with files: a temporary directory, a
// file's bytes, a shell command's output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace keel::image::test {

struct TempDir {
    TempDir() {
        char t[] = "/tmp/keel-image-test-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

inline std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Standard output and exit status of a shell command (add 2>&1 for its errors).
inline std::pair<std::string, int> run_shell(const std::string& cmd) {
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return {"", -1};
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        out.append(buf, n);
    int st = ::pclose(f);
    return {out, WIFEXITED(st) ? WEXITSTATUS(st) : -1};
}

}  // namespace keel::image::test
