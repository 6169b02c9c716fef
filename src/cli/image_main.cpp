// keel-image: the host-side verbs (build, boot, run) that `keel VERB` execs.
// Linked with the image library (libarchive, QEMU and container glue), never
// with the device's keel.
#include <cerrno>
#include <cstdio>
#include <string>

#include "base/log.h"
#include "cli/args.h"
#include "cli/image_verbs.h"

namespace {

struct Verb {
    const char* name;
    int (*fn)(int, char**);
    const char* summary;
};

constexpr Verb kVerbs[] = {
    {"build", keel::cli::image_build_main, "build a system definition into an initramfs and kernel"},
    {"boot", keel::cli::image_boot_main, "boot an initramfs and kernel under QEMU"},
    {"run", keel::cli::image_run_main, "run a root file system as a container (namespaces)"},
};

int usage(FILE* out) {
    std::fprintf(out, "Usage: keel VERB [OPTIONS] [ARGS]   (keel-image VERB ...)\n\n"
                      "Keel's host-side verbs:\n");
    for (const auto& v : kVerbs) std::fprintf(out, "  %-8s %s\n", v.name, v.summary);
    std::fprintf(out, "\nRun `keel VERB --help` for a verb's options.\n");
    return out == stdout ? keel::cli::kExitOk : keel::cli::kExitUsage;
}

}  // namespace

namespace keel::cli {
int image_exit_code(int error_code) {
    switch (error_code) {
    case 0:
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case EISDIR:
        return kExitUsage;
    default:
        return kExitTemporary;
    }
}
}  // namespace keel::cli

int main(int argc, char** argv) {
    if (argc < 2) return usage(stderr);
    std::string verb = argv[1];
    if (verb == "-h" || verb == "--help" || verb == "help") return usage(stdout);
    if (verb == "--version" || verb == "version") {
        std::printf("keel-image %s\n", KEEL_VERSION);
        return keel::cli::kExitOk;
    }
    for (const auto& v : kVerbs)
        if (verb == v.name) return v.fn(argc - 1, argv + 1);
    std::fprintf(stderr, "keel: unknown verb '%s'\n", verb.c_str());
    return usage(stderr);
}
