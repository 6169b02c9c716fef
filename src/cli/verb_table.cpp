#include "cli/verb_table.h"

#include <cstdio>
#include <string>

#include "cli/args.h"

namespace keel::cli {
namespace {

int usage(const VerbTable& t, FILE* out) {
    std::fprintf(out, "Usage: keel VERB [OPTIONS] [ARGS]\n\n%s\n\nVerbs:\n", t.intro);
    for (const auto& v : t.verbs)
        std::fprintf(out, "  %-8s %s\n", v.name, v.summary);
    std::fprintf(
        out, "\nRun `keel VERB --help` for a verb's options. `%s --version` prints the version.\n",
        t.program);
    return out == stdout ? kExitOk : kExitUsage;
}

}  // namespace

int run_verb(const VerbTable& t, int argc, char** argv) {
    if (argc < 2) return usage(t, stderr);
    std::string verb = argv[1];
    if (verb == "-h" || verb == "--help" || verb == "help") return usage(t, stdout);
    if (verb == "--version" || verb == "version") {
        std::printf("%s %s\n", t.program, KEEL_VERSION);
        return kExitOk;
    }
    for (const auto& v : t.verbs)
        if (verb == v.name) return v.fn(argc - 1, argv + 1);
    std::fprintf(stderr, "%s: unknown verb '%s'\n", t.program, verb.c_str());
    return usage(t, stderr);
}

}  // namespace keel::cli
