// ModuleIndex: the kernel's module database for one release (/lib/modules/<release>),
// answering what modprobe answers: which modules an alias (a device's MODALIAS)
// names, and in which order to load a module with its dependencies.
//
// modules.alias, modules.dep and the rest are mapped read-only, not copied; only
// sorted line offsets live on the heap (about 4 bytes per alias).
#pragma once

#include <cstdint>
#include <optional>
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
    // As modprobe resolves a name: modprobe.d aliases (add_alias), a module's own
    // name, else the modules.alias globs (fnmatch, '-' and '_' equal outside
    // brackets), else built-in aliases.
    Lookup lookup(std::string_view name) const;

    struct Step {
        std::string name, path;  // path is absolute
        bool soft = false;       // a softdep: its failure does not fail the load
    };
    // What to load for `module`, in kmod's order: each dependency (the deepest
    // first) wrapped in its own pre/post softdeps, then the module's pre softdeps,
    // the module, its post softdeps. A softdep applies from the first "softdep"
    // entry whose name matches, as in modprobe. Each module appears once (its
    // first place); built-in modules are left out; an unknown module is an Error.
    Result<std::vector<Step>> plan(std::string_view module) const;

    bool is_module(std::string_view name) const;
    bool is_builtin(std::string_view name) const;
    // An "alias PATTERN MODULE" line of modprobe.d: consulted before everything else.
    void add_alias(const std::string& pattern, const std::string& module);
    size_t alias_count() const { return alias_lines_.size(); }
    size_t module_count() const { return dep_lines_.size(); }

    // Soft dependencies from modprobe.d ("softdep M pre: A post: B"): they are
    // consulted before the tree's own modules.softdep.
    void add_softdep(const std::string& module, std::vector<std::string> pre,
                     std::vector<std::string> post);

  private:
    struct Soft {
        std::string module;  // a glob over normalised names
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
    struct PlanState {
        std::vector<std::string> visited;
        std::vector<Step> out;
        int depth = 0;
    };
    const Soft* softdep_of(const std::string& name) const;
    void probe_list(const std::string& name, bool soft, PlanState& st) const;
    void fill_softdep(const std::string& name, bool soft, PlanState& st) const;

    std::string dir_;
    MappedFile alias_, dep_;
    std::vector<uint32_t> alias_lines_;  // sorted by literal prefix (normalized)
    std::vector<uint32_t> dep_lines_;    // sorted by normalized module name
    std::vector<std::pair<std::string, std::string>> builtin_aliases_;  // (pattern, module)
    std::vector<std::string> builtin_;                                  // sorted names
    std::vector<Soft> config_soft_, tree_soft_;  // modprobe.d's, then modules.softdep's
    std::vector<std::pair<std::string, std::string>>
        config_aliases_;  // (normalised pattern, module)
};

// Module name from a name or a path: basename, extension(s) dropped, '-' -> '_'.
std::string module_name(std::string_view name_or_path);
// A "softdep MODULE pre: A B post: C" line, split into words.
struct Softdep {
    std::string module;
    std::vector<std::string> pre, post;
};
std::optional<Softdep> parse_softdep(const std::vector<std::string_view>& words);
// modprobe's alias normalisation: '-' -> '_' except inside [...] classes.
std::string normalize_alias(std::string_view alias);

}  // namespace keel::dev
