// keel modprobe: loads modules by name or alias with their dependencies, on the
// same loader keel dev uses (modules.dep order, softdeps, modprobe.d, compressed
// modules). Images link /usr/sbin/modprobe to keel, so the kernel's own
// requests (request_module: "fs-vfat" on a mount, "nls_cp437", "net-pf-10", ...)
// are served as kmod's modprobe would: the kernel runs `modprobe -q -- NAME`.
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "cli/args.h"
#include "cli/verbs.h"
#include "dev/module_loader.h"

namespace keel::cli {

namespace {

constexpr const char* kUsage =
    "Usage: keel modprobe [-q] [-v] [-n] [-S RELEASE] [-d DIR] [--] NAME...\n\n"
    "Loads each NAME (a module name or an alias such as fs-vfat or a MODALIAS) with its\n"
    "dependencies from /lib/modules/RELEASE, as kmod's modprobe does; modprobe.d blacklists\n"
    "(for aliases), options and softdeps apply. As /usr/sbin/modprobe it serves the kernel's\n"
    "module requests.\n\n"
    "  -q, --quiet         no message for a name nothing matches\n"
    "  -v, --verbose       print each module loaded\n"
    "  -n, --dry-run       resolve and print, load nothing\n"
    "  -S, --set-version R the kernel release [uname -r]\n"
    "  -d, --dirname DIR   the tree holding lib/modules [/]\n\n"
    "Exit codes: 0 every NAME loaded (or was already), 1 one failed or matched nothing,\n"
    "100 bad usage.\n";

}  // namespace

int modprobe_main(int argc, char** argv) {
    log::set_program("keel modprobe");
    bool quiet = false, verbose = false, dry_run = false;
    std::string release, root;
    std::vector<std::string> names;
    // By hand rather than with Args: the kernel's exact calling convention
    // ("-q -- NAME") and kmod's short options must be accepted as they are.
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* what) -> const char* {
            if (i + 1 < argc) return argv[++i];
            std::fprintf(stderr, "keel modprobe: %s needs a value\n", what);
            return nullptr;
        };
        if (options_done || a.empty() || a[0] != '-') {
            names.push_back(a);
        } else if (a == "--") {
            options_done = true;
        } else if (a == "-q" || a == "--quiet") {
            quiet = true;
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else if (a == "-n" || a == "--dry-run" || a == "--show") {
            dry_run = true;
        } else if (a == "-b" || a == "--use-blacklist") {
            // always: the blacklist filters what an alias names
        } else if (a == "-S" || a == "--set-version") {
            const char* v = value("-S");
            if (!v) return kExitUsage;
            release = v;
        } else if (a == "-d" || a == "--dirname") {
            const char* v = value("-d");
            if (!v) return kExitUsage;
            root = v;
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        } else if (a == "-r" || a == "--remove") {
            std::fprintf(stderr, "keel modprobe: removing modules is not supported\n");
            return kExitUsage;
        } else {
            std::fprintf(stderr, "keel modprobe: unknown option '%s'\n%s", a.c_str(), kUsage);
            return kExitUsage;
        }
    }
    if (names.empty()) {
        std::fprintf(stderr, "keel modprobe: which module?\n%s", kUsage);
        return kExitUsage;
    }
    if (release.empty()) {
        utsname u{};
        ::uname(&u);
        release = u.release;
    }
    dev::ModuleConfig cfg;
    cfg.dir = root + "/lib/modules/" + release;
    cfg.load = !dry_run;
    dev::ModuleLoader loader(cfg);

    int rc = kExitOk;
    for (const auto& name : names) {
        auto r = loader.load_alias(name);
        if (!r.error.empty()) {
            log::error("%s", r.error.c_str());
            return kExitNo;
        }
        if (!r.matched()) {
            if (!quiet) log::error("module %s not found in %s", name.c_str(), cfg.dir.c_str());
            rc = kExitNo;
            continue;
        }
        if (r.modules.empty() && !r.blacklisted.empty() && !quiet)
            log::warning("%s names only blacklisted modules", name.c_str());
        for (const auto& o : r.outcomes) {
            using State = dev::ModuleLoader::Outcome::State;
            if (o.state == State::kFailed) {
                log::error("cannot load %s: %s", o.module.c_str(), o.error.c_str());
                rc = kExitNo;
            } else if (o.state == State::kResolved || (verbose && o.state == State::kLoaded)) {
                std::printf("insmod %s\n", o.path.c_str());
            }
        }
    }
    return rc;
}

}  // namespace keel::cli
