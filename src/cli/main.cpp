// keel: one multi-call binary. `keel VERB ...`, or invoked through a symlink
// named after the verb (busybox style).
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/args.h"
#include "cli/image_verbs.h"
#include "cli/verbs.h"

namespace {

struct Verb {
    const char* name;
    int (*fn)(int, char**);
    const char* summary;
};

constexpr Verb kVerbs[] = {
    {"bus", keel::cli::bus_main, "run the message bus (a NATS-protocol server)"},
    {"pub", keel::cli::pub_main, "publish a message"},
    {"sub", keel::cli::sub_main, "print messages on a subject"},
    {"req", keel::cli::req_main, "send a request and print the reply"},
    {"reply", keel::cli::reply_main, "answer requests on a subject"},
    {"bench", keel::cli::bench_main, "measure bus throughput and latency"},
    {"lua", keel::cli::lua_main, "run a Lua script with the keel library"},
    {"luad", keel::cli::luad_main, "the Lua fork server: runs scripts in a prewarmed process"},
    {"net", keel::cli::net_main, "network daemon: declarative links, addresses, routes, DNS, DHCP; net.* events"},
    {"init", keel::cli::init_main, "PID 1 and service supervisor"},
    {"svc", keel::cli::svc_main, "service status, start, stop, restart, logs (asks init)"},
    {"poweroff", keel::cli::poweroff_main, "ask init to stop everything and power off"},
    {"reboot", keel::cli::reboot_main, "ask init to stop everything and reboot"},
    {"dev", keel::cli::dev_main, "device manager: uevents to hardware.*, coldplug, modules, rules"},
    {"build", keel::cli::forward_to_keel_image, "build a system image from a definition (keel-image)"},
    {"boot", keel::cli::forward_to_keel_image, "boot an image under QEMU (keel-image)"},
    {"run", keel::cli::forward_to_keel_image, "run a root file system as a container (keel-image)"},
};

int usage(FILE* out) {
    std::fprintf(out, "Usage: keel VERB [OPTIONS] [ARGS]\n\nKeel: a small, declarative, Lua-scriptable Linux system.\n\nVerbs:\n");
    for (const auto& v : kVerbs) std::fprintf(out, "  %-8s %s\n", v.name, v.summary);
    std::fprintf(out, "\nRun `keel VERB --help` for a verb's options. `keel --version` prints the version.\n");
    return out == stdout ? keel::cli::kExitOk : keel::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    std::string self = argv[0];
    if (auto slash = self.rfind('/'); slash != std::string::npos) self = self.substr(slash + 1);
    // "keel-lua" is the lua verb too (a symlink for shebang lines).
    if (self.rfind("keel-", 0) == 0) self = self.substr(5);
    for (const auto& v : kVerbs)
        if (self == v.name) return v.fn(argc, argv);

    if (argc < 2) return usage(stderr);
    std::string verb = argv[1];
    if (verb == "-h" || verb == "--help" || verb == "help") return usage(stdout);
    if (verb == "--version" || verb == "version") {
        std::printf("keel %s\n", KEEL_VERSION);
        return keel::cli::kExitOk;
    }
    for (const auto& v : kVerbs)
        if (verb == v.name) return v.fn(argc - 1, argv + 1);
    std::fprintf(stderr, "keel: unknown verb '%s'\n", verb.c_str());
    return usage(stderr);
}
