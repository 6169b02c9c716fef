// keel build|boot|run: the host-side verbs live in keel-image (libarchive,
// QEMU and namespace glue have no place on the device), installed beside keel.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/image_verbs.h"

namespace keel::cli {

int forward_to_keel_image(int argc, char** argv) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        std::fprintf(stderr, "keel: fatal: cannot find keel-image: /proc/self/exe: %s\n",
                     std::strerror(errno));
        return kExitTemporary;
    }
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string tool = dir + "/keel-image";
    // argv[0] is the verb (or a path ending in it, when called through a link).
    std::string verb = argv[0];
    verb = verb.substr(verb.rfind('/') + 1);
    std::vector<char*> args = {const_cast<char*>(tool.c_str()), verb.data()};
    for (int i = 1; i < argc; ++i)
        args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(tool.c_str(), args.data());
    std::fprintf(stderr,
                 "keel %s: fatal: cannot run %s: %s\n(keel %s needs the host tool keel-image, "
                 "installed beside keel by `cmake --install`)\n",
                 verb.c_str(), tool.c_str(), std::strerror(errno), verb.c_str());
    return errno == ENOENT ? kExitUsage : kExitTemporary;
}

}  // namespace keel::cli
