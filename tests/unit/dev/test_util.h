// Helpers for the dev unit tests: captured data, temporary trees, the installed
// Debian kernel's module directory.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/source_tree.h"

namespace keel::dev::testing {

inline std::string data_dir() {
    return keel::source_file("tests/data");
}

inline std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write(const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << data;
}

inline void mkdirs(const std::string& path) {
    std::string partial;
    for (size_t pos = 0; pos != std::string::npos;) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        ::mkdir(partial.c_str(), 0755);
    }
}

inline void symlink(const std::string& target, const std::string& path) {
    if (::symlink(target.c_str(), path.c_str()) != 0)
        throw std::runtime_error("cannot link " + path);
}

inline std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') out.emplace_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

// A temporary directory removed (recursively) afterwards.
class TempTree {
  public:
    TempTree() {
        char tmpl[] = "/tmp/keel-dev-test-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempTree() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

  private:
    std::string path_;
};

// /lib/modules/<release> of the Debian kernel that scripts/deps installs
// (linux-image-amd64), or "" when there is none.
inline std::string debian_modules_dir() {
    for (const auto& name : list_dir("/lib/modules")) {
        std::string dir = "/lib/modules/" + name;
        struct stat st;
        if (::stat((dir + "/modules.alias").c_str(), &st) == 0 &&
            ::stat((dir + "/modules.dep").c_str(), &st) == 0)
            return dir;
    }
    return "";
}

// Output of a shell command (stdout), and its exit status.
inline std::string run(const std::string& cmd, int* status = nullptr) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = ::pclose(p);
    if (status) *status = st;
    return out;
}

}  // namespace keel::dev::testing
