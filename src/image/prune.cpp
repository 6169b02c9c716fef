#include "image/prune.h"

#include <elf.h>
#include <fnmatch.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "base/sys_fs.h"
#include "image/elf_closure.h"
#include "image/elf_file.h"
#include "image/elf_strip.h"

namespace keel::image {
namespace {

std::string parent_of(const std::string& p) {
    size_t s = p.rfind('/');
    return s == 0 || s == std::string::npos ? "/" : p.substr(0, s);
}

std::string base_name(const std::string& p) {
    return p.substr(p.rfind('/') + 1);
}

bool from_package(const Node& n) {
    return n.origin.starts_with("pkg:");
}

// The first glob matching `path` or a directory above it, or nullptr.
const std::string* match_any(const std::vector<std::string>& globs, const std::string& path) {
    for (std::string p = path; p != "/"; p = parent_of(p))
        for (const auto& g : globs)
            if (::fnmatch(g.c_str(), p.c_str(), 0) == 0) return &g;
    return nullptr;
}

// Calls fn with the bytes of a file node (mapped when it has a host source).
template <typename Fn>
auto with_content(const Node& n, Fn fn) -> decltype(fn(std::string_view())) {
    if (n.source.empty()) return fn(std::string_view(n.data));
    auto map = sys::map_file(n.source);
    if (!map) return map.error();
    return fn(map->view());
}

SizeLine& line_for(std::vector<SizeLine>& lines, const std::string& what) {
    for (auto& l : lines)
        if (l.name == what) return l;
    lines.push_back({what, 0, 0});
    return lines.back();
}

// Removes package directories that pruning left empty, from the deepest up.
void remove_emptied_dirs(Tree& tree, std::set<std::string> emptied) {
    while (!emptied.empty()) {
        std::string dir = *emptied.rbegin();  // the deepest (a child sorts after its parent)
        emptied.erase(std::prev(emptied.end()));
        const Node* n = tree.lookup(dir, false);
        if (!n || n->kind != Node::Kind::dir || !from_package(*n)) continue;
        auto below = tree.nodes().lower_bound(dir + "/");
        if (below != tree.nodes().end() && below->first.starts_with(dir + "/")) continue;
        (void)tree.remove(dir);
        if (parent_of(dir) != "/") emptied.insert(parent_of(dir));
    }
}

Status prune_paths(Tree& tree, const PruneRules& rules, std::vector<SizeLine>& lines) {
    std::vector<std::string> globs = default_prune_patterns();
    globs.insert(globs.end(), rules.remove.begin(), rules.remove.end());
    std::vector<std::string> doomed;
    for (const auto& [path, n] : tree.nodes()) {
        if (n.kind == Node::Kind::dir || !from_package(n)) continue;
        const std::string* glob = match_any(globs, path);
        if (!glob || match_any(rules.keep, path)) continue;
        SizeLine& l = line_for(lines, *glob);
        if (n.kind == Node::Kind::file) {
            l.files++;
            l.bytes += n.size;
        }
        doomed.push_back(path);
    }
    std::set<std::string> emptied;
    for (const auto& p : doomed) {
        KEEL_TRY_STATUS(tree.remove(p));
        emptied.insert(parent_of(p));
    }
    remove_emptied_dirs(tree, std::move(emptied));
    return {};
}

// Follows `path` through symlinks to a file, noting every node on the way.
std::string follow_noting(const Tree& tree, std::string path, std::set<std::string>& noted) {
    for (int hops = 0; hops < 40; ++hops) {
        std::string at = tree.resolve(path, false);
        if (at.empty()) return "";
        auto it = tree.nodes().find(at);
        if (it == tree.nodes().end()) return "";
        if (it->second.kind == Node::Kind::dir) return "";
        noted.insert(at);
        if (it->second.kind == Node::Kind::file) return at;
        const std::string& t = it->second.target;
        if (t.empty()) return "";
        path = t[0] == '/' ? t : parent_of(at) + "/" + t;
    }
    return "";
}

// Debian-installer's mklibs, without rewriting libraries: a package library
// in a directory ld.so searches that no ELF file of the image needs (DT_NEEDED,
// PT_INTERP, transitively) is left out. glibc dlopen()s NSS modules and libgcc_s
// itself, so those stay; `keep` names others a program loads with dlopen().
Status prune_libraries(Tree& tree, const PruneRules& rules, std::vector<SizeLine>& lines,
                       std::vector<std::string>& warnings) {
    std::map<std::string, ElfInfo> elf;  // every ELF file of the image
    std::set<uint16_t> machines;
    for (const auto& entry : tree.nodes()) {
        const std::string& path = entry.first;
        const Node& n = entry.second;
        if (n.kind != Node::Kind::file || path.starts_with("/usr/lib/modules/") || n.size < SELFMAG)
            continue;
        auto info = with_content(n, [&](std::string_view b) { return parse_elf(b, path); });
        if (!info) return info.error();
        if (!info->is_elf) continue;
        machines.insert(info->machine);
        elf.emplace(path, std::move(*info));
    }
    std::set<std::string> lib_dirs;
    for (uint16_t m : machines)
        for (const auto& d : builtin_library_dirs(m))
            if (std::string at = tree.resolve(d); !at.empty()) lib_dirs.insert(at);
    auto candidate = [&](const std::string& path, const Node& n) {
        if (n.kind == Node::Kind::dir || !from_package(n) || !lib_dirs.count(parent_of(path)))
            return false;
        std::string name = base_name(path);
        if (!name.starts_with("lib") ||
            !(name.ends_with(".so") || name.find(".so.") != std::string::npos))
            return false;
        if (name.starts_with("libnss_") || name.starts_with("libgcc_s.")) return false;
        return !match_any(rules.keep, path);
    };

    std::set<std::string> needed;
    std::deque<std::string> queue;
    for (const auto& [path, info] : elf)
        if (!candidate(path, *tree.lookup(path, false))) queue.push_back(path);
    std::set<std::string> visited(queue.begin(), queue.end());
    while (!queue.empty()) {
        std::string path = std::move(queue.front());
        queue.pop_front();
        const ElfInfo& info = elf.at(path);
        auto reach = [&](const std::string& found) {
            if (found.empty() || !elf.count(found)) return false;
            if (visited.insert(found).second) queue.push_back(found);
            return true;
        };
        if (!info.interp.empty() && !reach(follow_noting(tree, info.interp, needed)))
            warnings.push_back(path + " needs its interpreter " + info.interp +
                               ", which is not in the image");
        std::vector<std::string> search;
        for (const auto& d : info.runpath.empty() ? info.rpath : info.runpath) {
            std::string dir = d;
            for (const char* token : {"${ORIGIN}", "$ORIGIN"})
                for (size_t at; (at = dir.find(token)) != std::string::npos;)
                    dir.replace(at, std::string_view(token).size(), parent_of(path));
            search.push_back(dir);
        }
        for (const auto& d : builtin_library_dirs(info.machine))
            search.push_back(d);
        for (const auto& name : info.needed) {
            bool found = false;
            if (name.find('/') != std::string::npos) {
                found = reach(follow_noting(
                    tree, name[0] == '/' ? name : parent_of(path) + "/" + name, needed));
            } else {
                for (const auto& d : search) {
                    std::set<std::string> chain;
                    if (reach(follow_noting(tree, d + "/" + name, chain))) {
                        needed.insert(chain.begin(), chain.end());
                        found = true;
                        break;
                    }
                }
            }
            if (!found) warnings.push_back(path + " needs " + name + ", which is not in the image");
        }
    }

    SizeLine& l = line_for(lines, "unused libraries");
    std::vector<std::string> doomed;
    for (const auto& [path, n] : tree.nodes()) {
        if (!candidate(path, n) || needed.count(path) || visited.count(path)) continue;
        if (n.kind == Node::Kind::file) {
            l.files++;
            l.bytes += n.size;
        }
        doomed.push_back(path);
    }
    for (const auto& p : doomed)
        KEEL_TRY_STATUS(tree.remove(p));
    return {};
}

Status strip_host_files(Tree& tree, std::vector<SizeLine>& lines) {
    SizeLine& l = line_for(lines, "symbols and debug sections (host files)");
    std::vector<std::pair<std::string, Node>> stripped;
    for (const auto& entry : tree.nodes()) {
        const std::string& path = entry.first;
        const Node& n = entry.second;
        if (n.kind != Node::Kind::file || n.origin != "host" || n.size < SELFMAG) continue;
        const std::string& what = n.source.empty() ? path : n.source;
        auto out = with_content(n, [&](std::string_view b) { return strip_elf(b, what); });
        if (!out) return out.error();
        if (!*out) continue;
        Node s = n;
        s.data = std::move(**out);
        s.source.clear();
        l.files++;
        l.bytes += n.size - s.data.size();
        stripped.emplace_back(path, std::move(s));
    }
    for (auto& [path, node] : stripped)
        KEEL_TRY(tree.put(path, std::move(node)));
    return {};
}

}  // namespace

const std::vector<std::string>& default_prune_patterns() {
    static const std::vector<std::string> kPatterns = {
        // documentation and translations (dpkg's usual path-exclude set)
        "/usr/share/doc",
        "/usr/share/doc-base",
        "/usr/share/man",
        "/usr/share/info",
        "/usr/share/locale",
        "/usr/share/lintian",
        "/usr/share/linda",
        "/usr/share/bug",
        "/usr/share/reportbug",
        "/usr/share/menu",
        // shell completions for shells the image does not have
        "/usr/share/bash-completion",
        "/usr/share/zsh",
        "/usr/share/fish",
        // other init systems' and tools' files: keel init supervises, the image is the initramfs
        "/usr/lib/systemd",
        "/etc/systemd",
        "/etc/init.d",
        "/etc/rc[0-6S].d",
        "/etc/init",
        "/usr/share/initramfs-tools",
        "/etc/initramfs-tools",
        "/etc/apparmor.d",
        // glibc's iconv modules (7.8 MiB): only iconv(3) loads them
        "/usr/lib/*/gconv",
    };
    return kPatterns;
}

Result<PruneResult> prune_tree(Tree& tree, const PruneRules& rules) {
    PruneResult r;
    if (!rules.enabled) return r;
    KEEL_TRY_STATUS(prune_paths(tree, rules, r.lines));
    if (rules.libraries) KEEL_TRY_STATUS(prune_libraries(tree, rules, r.lines, r.warnings));
    if (rules.strip) KEEL_TRY_STATUS(strip_host_files(tree, r.lines));
    r.lines.erase(std::remove_if(r.lines.begin(), r.lines.end(),
                                 [](const SizeLine& l) { return l.files == 0; }),
                  r.lines.end());
    return r;
}

}  // namespace keel::image
