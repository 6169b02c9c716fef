// ModuleLoader: loads the modules a MODALIAS names, with their dependencies, as
// modprobe would: modules.alias globs, modules.dep order, softdeps, the blacklist
// (which, as in modprobe, only filters what an alias names: a blacklisted module
// still loads as another's dependency) and module options. Loading is
// finit_module; compressed modules go to the kernel as such when it can
// decompress (MODULE_INIT_COMPRESSED_FILE), otherwise they are decompressed here.
//
// Blocking (module init runs in the calling thread): the daemon calls it from
// its module worker thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dev/module_index.h"

namespace keel::dev {

struct ModuleConfig {
    std::string dir;                             // /lib/modules/<release>
    std::set<std::string> blacklist;             // module names (normalised)
    std::map<std::string, std::string> options;  // module -> "param=value ..."
    bool modprobe_d = true;                      // also read /lib/modprobe.d, /etc/modprobe.d
    bool load = true;                            // false: resolve only (report, load nothing)
};

// What modprobe.d files say (blacklist, options, softdep and alias lines; install
// and remove commands are not run and are ignored).
struct ModprobeD {
    std::set<std::string> blacklist;
    std::map<std::string, std::string> options;
    std::vector<Softdep> softdeps;
    std::vector<std::pair<std::string, std::string>> aliases;  // (pattern, module)
};
// Reads the *.conf files of `dirs`; a file name in an earlier directory hides the
// same name in later ones, as with kmod.
ModprobeD read_modprobe_d(const std::vector<std::string>& dirs);

class ModuleLoader {
  public:
    // `sysfs_root` tells which modules are already live (/sys/module/<name>).
    ModuleLoader(ModuleConfig cfg, std::string sysfs_root = "/sys");

    struct Outcome {
        std::string module, path;
        enum class State { kLoaded, kAlready, kFailed, kResolved } state = State::kFailed;
        std::string error;  // for kFailed
    };
    struct AliasResult {
        std::string alias;
        std::vector<std::string> modules;      // what the alias names (after the blacklist)
        std::vector<std::string> blacklisted;  // named but blacklisted
        std::vector<std::string> builtin;      // named and built into the kernel
        std::vector<Outcome> outcomes;         // every module load attempted, in order
        std::string error;                     // the index could not be read
        bool matched() const {
            return !modules.empty() || !blacklisted.empty() || !builtin.empty();
        }
    };
    AliasResult load_alias(std::string_view modalias);

    // Forgets the index (memory); the next lookup reads it again. True if it was loaded.
    bool drop_index();

  private:
    Status ensure_index();
    Outcome insert(const ModuleIndex::Step& step);
    bool live(const std::string& name) const;

    ModuleConfig cfg_;
    std::string sysfs_root_;
    std::optional<ModuleIndex> index_;
    std::string index_error_;
    std::set<std::string> done_;  // loaded (or found live) by us
    std::string unsupported_;     // set once the kernel said it cannot load modules
};

}  // namespace keel::dev
