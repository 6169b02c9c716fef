#include "image/elf_closure.h"

#include <elf.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "image/elf_file.h"

namespace keel::image {
namespace {

std::string dirname_of(const std::string& p) {
    size_t s = p.rfind('/');
    return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}

std::string real_path(const std::string& p) {
    char buf[PATH_MAX];
    return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

Result<ElfInfo> read_elf(const std::string& path) {
    auto map = sys::map_file(path);
    if (!map) return map.error();
    return parse_elf(map->view(), path);
}

// /etc/ld.so.conf with its "include" globs, in file order, as ldconfig reads it.
void read_ld_so_conf(const std::string& file, int depth, std::vector<std::string>* dirs) {
    if (depth > 8) return;
    auto text = sys::read_file(file);
    if (!text) return;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t end = text->find('\n', pos);
        if (end == std::string::npos) end = text->size();
        std::string line = text->substr(pos, end - pos);
        pos = end + 1;
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
            line.pop_back();
        size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos) continue;
        line = line.substr(start);
        if (line.starts_with("include") && line.size() > 7 &&
            std::isspace(static_cast<unsigned char>(line[7]))) {
            std::string pattern = line.substr(line.find_first_not_of(" \t", 7));
            if (pattern[0] != '/') pattern = dirname_of(file) + "/" + pattern;
            glob_t g{};
            if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; ++i)
                    read_ld_so_conf(g.gl_pathv[i], depth + 1, dirs);
            ::globfree(&g);
        } else if (line[0] == '/') {
            dirs->push_back(line);
        }
    }
}

// The dirs ld.so searches after RPATH/RUNPATH: ld.so.conf's, then its built-in ones.
std::vector<std::string> system_dirs(uint16_t machine) {
    std::vector<std::string> dirs;
    read_ld_so_conf("/etc/ld.so.conf", 0, &dirs);
    for (auto& d : builtin_library_dirs(machine))
        dirs.push_back(std::move(d));
    return dirs;
}

std::string expand_origin(std::string dir, const std::string& origin) {
    for (const char* token : {"${ORIGIN}", "$ORIGIN"}) {
        size_t at;
        while ((at = dir.find(token)) != std::string::npos)
            dir.replace(at, std::strlen(token), origin);
    }
    return dir;
}

// A candidate ld.so would accept: an ELF file of the same machine.
bool usable(const std::string& path, uint16_t machine) {
    auto st = sys::stat_path(path, true);
    if (!st || !S_ISREG(st->st_mode)) return false;
    auto info = read_elf(path);
    return info.ok() && info->is_elf && info->machine == machine;
}

struct Loaded {
    std::string path;
    ElfInfo info;
};

}  // namespace

const char* multiarch(uint16_t machine) {
    switch (machine) {
        case EM_X86_64:
            return "x86_64-linux-gnu";
        case EM_AARCH64:
            return "aarch64-linux-gnu";
        case EM_RISCV:
            return "riscv64-linux-gnu";
        default:
            return nullptr;
    }
}

std::vector<std::string> builtin_library_dirs(uint16_t machine) {
    std::vector<std::string> dirs;
    if (const char* triplet = multiarch(machine)) {
        dirs.push_back(std::string("/lib/") + triplet);
        dirs.push_back(std::string("/usr/lib/") + triplet);
    }
    for (const char* d : {"/lib64", "/usr/lib64", "/lib", "/usr/lib"})
        dirs.emplace_back(d);
    return dirs;
}

Result<std::string> find_host_library(const std::string& soname, uint16_t machine) {
    for (const auto& d : system_dirs(machine))
        if (usable(d + "/" + soname, machine)) return d + "/" + soname;
    return Error("cannot find " + soname +
                 " on this host (searched ld.so.conf and the default dirs)");
}

Result<std::vector<std::string>> elf_closure(const std::string& path) {
    ElfInfo root = KEEL_TRY(read_elf(path));
    if (!root.is_elf) return std::vector<std::string>{};
    const auto sys_dirs = system_dirs(root.machine);
    std::vector<std::string> out;
    if (!root.interp.empty()) out.push_back(root.interp);

    std::set<std::string> seen_names;  // ld.so loads each soname once
    std::deque<Loaded> queue{{path, root}};
    while (!queue.empty()) {
        Loaded obj = std::move(queue.front());
        queue.pop_front();
        std::string origin = dirname_of(real_path(obj.path));
        std::vector<std::string> search;
        // DT_RPATH counts only when DT_RUNPATH is absent (ld.so(8)).
        for (const auto& d : obj.info.runpath.empty() ? obj.info.rpath : obj.info.runpath)
            search.push_back(expand_origin(d, origin));
        search.insert(search.end(), sys_dirs.begin(), sys_dirs.end());
        for (const auto& name : obj.info.needed) {
            if (!seen_names.insert(name).second) continue;
            std::string found;
            if (name.find('/') != std::string::npos) {
                found = name[0] == '/' ? name : origin + "/" + name;
                if (!usable(found, root.machine)) found.clear();
            } else {
                for (const auto& d : search)
                    if (usable(d + "/" + name, root.machine)) {
                        found = d + "/" + name;
                        break;
                    }
            }
            if (found.empty())
                return Error("cannot find " + name + " needed by " + obj.path +
                             " (searched RUNPATH/RPATH, ld.so.conf and the default dirs)");
            out.push_back(found);
            queue.push_back({found, KEEL_TRY(read_elf(found))});
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

namespace {

// Puts host path `path` at the same path in the tree; a symlink stays a symlink
// and the file it names comes too (libz.so.1 -> libz.so.1.2.13).
Status add_host_path(Tree& tree, std::string path, const std::string& origin) {
    for (int hops = 0; hops < 40; ++hops) {
        auto st = KEEL_TRY(sys::stat_path(path));
        if (S_ISLNK(st.st_mode)) {
            std::string target = KEEL_TRY(sys::read_link(path));
            KEEL_TRY(tree.put_symlink(path, target, origin));
            // Relative to the real directory: the host's own dir symlinks may differ from the
            // image's.
            path = normalize_path(target[0] == '/' ? target
                                                   : real_path(dirname_of(path)) + "/" + target);
            continue;
        }
        KEEL_TRY(tree.put_host_file(path, path, st.st_mode & 07777, origin));
        return {};
    }
    return Error("too many levels of symbolic links at " + path);
}

}  // namespace

Status add_with_closure(Tree& tree, const HostFile& file) {
    auto st = sys::stat_path(file.source, true);
    if (!st) return Error("cannot add host file " + file.source + ": " + st.error().message());
    uint32_t mode = file.mode ? file.mode : (st->st_mode & 07777);
    KEEL_TRY(tree.put_host_file(file.dest, file.source, mode, "host"));
    auto libs = elf_closure(file.source);
    if (!libs) return Error("cannot add host file " + file.source + ": " + libs.error().message());
    for (const auto& lib : *libs)
        KEEL_TRY_STATUS(add_host_path(tree, lib, "host"));
    return {};
}

}  // namespace keel::image
