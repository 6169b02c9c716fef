// Test-only image building for the keel boot / keel run tests: a merged-/usr
// Tree with busybox-static, the real build/keel and its shared libraries, a
// subset of the host kernel's modules and a manifest. keel's libraries come
// from `ldd` output here until the ELF closure (src/image/elf_closure.h) lands;
// the integrator switches this helper to it.
#pragma once

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "image/tree.h"

namespace keel::it {

inline std::string command_output(const std::string& cmd) {
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) throw std::runtime_error("cannot run " + cmd);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
        out.append(buf, n);
    if (::pclose(f) != 0) throw std::runtime_error("`" + cmd + "` failed");
    return out;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void check(const Result<std::string>& r) {
    if (!r) throw std::runtime_error(r.error().message());
}

// Every absolute path ldd names for `binary` (the loader included).
inline std::vector<std::string> ldd_libraries(const std::string& binary) {
    std::vector<std::string> libs;
    std::istringstream in(command_output("ldd '" + binary + "'"));
    for (std::string line; std::getline(in, line);) {
        auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        auto end = line.find(' ', slash);
        libs.push_back(line.substr(slash, end == std::string::npos ? end : end - slash));
    }
    return libs;
}

// The host kernel's newest Debian image, or "" (then tests skip).
inline std::string host_kernel() {
    std::string k =
        command_output("ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true");
    while (!k.empty() && k.back() == '\n')
        k.pop_back();
    return k;
}

// The tree every test image starts from.
inline image::Tree base_tree(const nlohmann::json& manifest, const std::string& keel_bin) {
    image::Tree t;
    for (auto [link, target] : {std::pair{"/bin", "usr/bin"},
                                {"/sbin", "usr/sbin"},
                                {"/lib", "usr/lib"},
                                {"/lib64", "usr/lib64"}})
        check(t.put_symlink(link, target, "base"));
    for (const char* d : {"/proc", "/sys", "/dev", "/run", "/tmp", "/var", "/etc/keel"})
        check(t.put_dir(d, std::string(d) == "/tmp" ? 01777 : 0755, "base"));
    check(t.put_host_file("/usr/bin/busybox", "/bin/busybox", 0755, "pkg:busybox-static"));
    for (const char* applet : {"sh", "echo", "cat", "sleep", "ls", "mount", "ip", "grep", "head",
                               "hostname", "mkdir", "dd", "poweroff"})
        check(t.put_symlink(std::string("/usr/bin/") + applet, "busybox", "pkg:busybox-static"));
    check(t.put_host_file("/usr/bin/keel", keel_bin, 0755, "host"));
    for (const auto& lib : ldd_libraries(keel_bin))
        check(t.put_host_file(lib, lib, 0755, "host"));
    check(t.put_symlink("/init", "usr/bin/keel", "definition"));
    check(t.put_file("/etc/keel/system.json", manifest.dump(2) + "\n", 0644, "definition"));
    check(t.put_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644, "definition"));
    check(t.put_file("/etc/group", "root:x:0:\n", 0644, "definition"));
    return t;
}

// `modules` and what they depend on (modprobe --show-depends), with the
// module index keel dev loads by modalias from.
inline void add_kernel_modules(image::Tree& t, const std::string& release,
                               const std::vector<std::string>& modules) {
    std::string dir = "/lib/modules/" + release;
    std::set<std::string> files;
    for (const auto& m : modules) {
        std::istringstream in(command_output("modprobe -S " + release + " --show-depends " + m));
        for (std::string line; std::getline(in, line);)
            if (line.starts_with("insmod ")) {
                auto path = line.substr(7);
                path = path.substr(0, path.find(' '));
                files.insert(path);
            }
    }
    for (const auto& f : files)
        check(t.put_host_file(f, f, 0644, "kernel"));
    for (const char* index :
         {"modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin", "modules.softdep",
          "modules.symbols", "modules.symbols.bin", "modules.builtin", "modules.builtin.bin",
          "modules.builtin.modinfo", "modules.order", "modules.devname"})
        if (::access((dir + "/" + index).c_str(), R_OK) == 0)
            check(t.put_host_file(dir + "/" + index, dir + "/" + index, 0644, "kernel"));
}

}  // namespace keel::it
