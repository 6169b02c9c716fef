// keel run: a root file system directory as a container (src/image/container_runner.h).
#include <cstring>

#include "base/log.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/image_build_step.h"
#include "cli/image_verbs.h"
#include "image/container_runner.h"

namespace keel::cli {

int image_run_main(int argc, char** argv) {
    log::set_program("keel run");
    image::RunOptions o;
    bool no_net = false;
    // Everything after "--" is the command to run instead of /init.
    int split = argc;
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    for (int i = split + 1; i < argc; ++i)
        o.command.push_back(argv[i]);
    std::string out = "out";
    Args args(
        "run", "DIR | SYSTEM.lua [-- COMMAND [ARGS...]]",
        "Runs a root file system directory as a container, as root: new mount, PID, UTS,\n"
        "IPC and network namespaces, the directory under an overlay with a tmpfs upper layer\n"
        "(it stays unchanged), /proc, /sys and a small /dev, a veth pair to the host\n"
        "(10.0.N.1/30 on the host, 10.0.N.2/30 on the container's eth0), and /init (keel\n"
        "init) or COMMAND as PID 1, with DHCP on the host end leasing that same address.\n"
        "Ctrl-C or SIGTERM powers it off cleanly (twice: kill). Given a definition, builds\n"
        "it first (as keel build --rootfs -o OUT would) and runs OUT/rootfs.");
    args.positional("DIR", "the root file system, or a system definition to build first", &o.rootfs,
                    true);
    args.option("out", 'o', "DIR", "with a definition: where its outputs go [out]", &out);
    args.option("hostname", 0, "NAME", "the container's host name until its init sets one [keel]",
                &o.hostname);
    args.flag("writable", 'w', "bind DIR itself (changes persist) instead of an overlay",
              &o.writable);
    args.flag("no-address", 0, "leave eth0 unconfigured (for keel net inside)", &no_net);
    args.option("state", 's', "FILE", "write {pid, interface, host_address, address, bus} as JSON",
                &o.state_path);
    std::chrono::nanoseconds stop_timeout = o.stop_timeout;
    args.duration_option("stop-timeout", "after SIGTERM to PID 1, SIGKILL after this [20s]",
                         &stop_timeout);
    args.epilog(
        "Exit status: 0 after a poweroff, else the container init's exit status (128+N "
        "when killed by signal N); 100 bad usage, 111 cannot start.");
    if (auto rc = args.parse(split, argv)) return *rc;
    if (is_definition(o.rootfs)) {
        image::BuildOptions b;
        b.out_dir = out;
        b.rootfs = true;
        auto step = build_definition(o.rootfs, b, false);
        if (step.exit_code != kExitOk) return step.exit_code;
        o.rootfs = step.result.rootfs;
    }
    o.configure_network = !no_net;
    o.stop_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(stop_timeout);
    auto rc = image::run_container(o);
    if (!rc) return fail("run", rc.error().message(), image_exit_code(rc.error().code()));
    return *rc;
}

}  // namespace keel::cli
