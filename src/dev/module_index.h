// ModuleIndex: the kernel's module database for one release (/lib/modules/<release>),
// answering what modprobe answers: which modules an alias (a device's MODALIAS)
// names, and in which order to load a module with its dependencies.
//
// modules.alias, modules.dep and the rest are mapped read-only, not copied; only
// sorted line offsets live on the heap (about 4 bytes per alias).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"

namespace keel::dev {

class ModuleIndex {
public:
    // `dir` must hold modules.dep and modules.alias; modules.softdep, modules.builtin
    // and modules.builtin.modinfo are used when present.
    static Result<ModuleIndex> load(const std::string& dir);
    const std::string& dir() const { return dir_; }

    struct Lookup {
        std::vector<std::string> modules;  // loadable modules, in modules.order order
        std::vector<std::string> builtin;  // built-in modules it names (nothing to load)
    };
    // As modprobe resolves a name: a module's own name, else the modules.alias
    // globs (fnmatch, '-' and '_' equal outside brackets), else built-in aliases.
    Lookup lookup(std::string_view name) const;

    struct Step {
        std::string name, path;  // path is absolute
        bool soft = false;       // a softdep: its failure does not fail the load
    };
    // What to load for `module`, in order: its pre softdeps, its dependencies (the
    // deepest first, as modprobe), the module, its post softdeps. Built-in
    // modules are left out; an unknown module is an Error.
    Result<std::vector<Step>> plan(std::string_view module) const;

    bool is_module(std::string_view name) const;
    bool is_builtin(std::string_view name) const;
    size_t alias_count() const { return alias_lines_.size(); }
    size_t module_count() const { return dep_lines_.size(); }

    // Adds soft dependencies from modprobe.d configuration ("softdep M pre: A post: B").
    void add_softdep(const std::string& module, std::vector<std::string> pre,
                     std::vector<std::string> post);

private:
    struct Soft {
        std::vector<std::string> pre, post;
    };
    struct DepLine {
        std::string_view path;
        std::vector<std::string_view> deps;
    };
    std::string_view alias_pattern(uint32_t off) const;
    std::string_view alias_module(uint32_t off) const;
    std::string_view dep_name_at(uint32_t off, std::string* scratch) const;
    bool find_dep(std::string_view normalized, DepLine* out) const;
    void visit(const std::string& name, bool soft, std::vector<std::string>* seen,
               std::vector<Step>* out, int depth) const;

    std::string dir_;
    MappedFile alias_, dep_;
    std::vector<uint32_t> alias_lines_;  // sorted by literal prefix (normalized)
    std::vector<uint32_t> dep_lines_;    // sorted by normalized module name
    std::vector<std::pair<std::string, std::string>> builtin_aliases_;  // (pattern, module)
    std::vector<std::string> builtin_;  // sorted names
    std::map<std::string, Soft, std::less<>> soft_;
};

// Module name from a name or a path: basename, extension(s) dropped, '-' -> '_'.
std::string module_name(std::string_view name_or_path);
// modprobe's alias normalisation: '-' -> '_' except inside [...] classes.
std::string normalize_alias(std::string_view alias);

}  // namespace keel::dev
