// keel: one multi-call binary. `keel VERB ...`, or invoked through a symlink
// named after the verb (busybox style).
#include <string>

#include "cli/image_verbs.h"
#include "cli/verb_table.h"
#include "cli/verbs.h"

namespace {

using keel::cli::Verb;

constexpr Verb kVerbs[] = {
    {"bus", keel::cli::bus_main, "run the message bus (a NATS-protocol server)"},
    {"pub", keel::cli::pub_main, "publish a message"},
    {"sub", keel::cli::sub_main, "print messages on a subject"},
    {"req", keel::cli::req_main, "send a request and print the reply"},
    {"reply", keel::cli::reply_main, "answer requests on a subject"},
    {"bench", keel::cli::bench_main, "measure bus throughput and latency"},
    {"lua", keel::cli::lua_main, "run a Lua script with the keel library"},
    {"luad", keel::cli::luad_main, "the Lua fork server: runs scripts in a prewarmed process"},
    {"net", keel::cli::net_main,
     "network daemon: declarative links, addresses, routes, DNS, DHCP; net.* events"},
    {"init", keel::cli::init_main, "PID 1 and service supervisor"},
    {"svc", keel::cli::svc_main, "service status, start, stop, restart, logs (asks init)"},
    {"poweroff", keel::cli::poweroff_main, "ask init to stop everything and power off"},
    {"reboot", keel::cli::reboot_main, "ask init to stop everything and reboot"},
    {"dev", keel::cli::dev_main, "device manager: uevents to hardware.*, coldplug, modules, rules"},
    {"modprobe", keel::cli::modprobe_main,
     "load modules by name or alias with their dependencies (the kernel's /sbin/modprobe)"},
    {"build", keel::cli::forward_to_keel_image,
     "build a system image from a definition (keel-image)"},
    {"boot", keel::cli::forward_to_keel_image, "boot an image under QEMU (keel-image)"},
    {"run", keel::cli::forward_to_keel_image, "run a root file system as a container (keel-image)"},
    {"vm", keel::cli::forward_to_keel_image,
     "drive a guest keel boot runs: USB sticks, power button, QMP (keel-image)"},
};

}  // namespace

int main(int argc, char** argv) {
    std::string self = argv[0];
    if (auto slash = self.rfind('/'); slash != std::string::npos) self = self.substr(slash + 1);
    // "keel-lua" is the lua verb too (a symlink for shebang lines).
    if (self.rfind("keel-", 0) == 0) self = self.substr(5);
    for (const auto& v : kVerbs)
        if (self == v.name) return v.fn(argc, argv);

    return keel::cli::run_verb(
        {"keel", "Keel: a small, declarative, Lua-scriptable Linux system.", kVerbs}, argc, argv);
}
