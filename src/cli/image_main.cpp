// keel-image: the host-side verbs (build, boot, run, vm) that `keel VERB` execs.
// Linked with the image library (libarchive, QEMU and container glue), never
// with the device's keel.
#include <cerrno>

#include "cli/args.h"
#include "cli/image_verbs.h"
#include "cli/verb_table.h"

namespace {

using keel::cli::Verb;

constexpr Verb kVerbs[] = {
    {"build", keel::cli::image_build_main,
     "build a system definition into an initramfs and kernel"},
    {"boot", keel::cli::image_boot_main, "boot an initramfs and kernel under QEMU"},
    {"run", keel::cli::image_run_main, "run a root file system as a container (namespaces)"},
    {"vm", keel::cli::image_vm_main, "drive a guest keel boot runs: USB sticks, power button, QMP"},
};

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
    return keel::cli::run_verb(
        {"keel-image", "Keel's host-side verbs (keel VERB runs keel-image VERB):", kVerbs}, argc,
        argv);
}
