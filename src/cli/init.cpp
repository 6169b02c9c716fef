// keel init: PID 1 and service supervisor (src/init, docs/init.md).
#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/log.h"
#include "cli/args.h"
#include "cli/verbs.h"
#include "init/init_daemon.h"

namespace keel::cli {

namespace {

// argv without the bare words that are neither an option nor an option's value.
std::vector<char*> options_only(int argc, char** argv) {
    std::vector<char*> out{argv[0]};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.empty() || a[0] != '-') continue;
        out.push_back(argv[i]);
        bool flag = a == "-v" || a == "--verbose" || a == "-h" || a == "--help" ||
                    a.find('=') != std::string::npos;
        if (!flag && i + 1 < argc) out.push_back(argv[++i]);
    }
    return out;
}

}  // namespace

int init_main(int argc, char** argv) {
    init::InitOptions o;
    std::string config;
    int64_t ready_fd = -1;
    Args args("init", "",
              "Supervises the services of the system manifest, and is the machine's PID 1 when\n"
              "it runs as process 1 (or through a symlink named init).");
    args.option("manifest", 'm', "FILE",
                "system manifest (JSON; see docs/manifest.md) [/etc/keel/system.json]",
                &o.manifest);
    args.option("config", 'c', "FILE",
                "a file holding just the \"services\" array (instead of --manifest)", &config);
    args.option("state-dir", 'd', "DIR", "where log files go [/run/keel/init]", &o.state_dir);
    args.option("server", 0, "URL",
                "the bus init talks to (also KEEL_BUS for services) "
                "[$KEEL_BUS, else /run/keel/bus.sock, else 127.0.0.1:4222]",
                &o.server);
    args.option(
        "cgroup-root", 0, "DIR",
        "cgroup v2 mount for per-service cgroups [/sys/fs/cgroup, else /sys/fs/cgroup/unified]",
        &o.cgroup_root);
    args.option("cgroup-name", 0, "NAME",
                "cgroup (under the root) holding the services' cgroups [keel for the machine's "
                "init, else keel-init-RANDOM]",
                &o.cgroup_name);
    args.option("ready-fd", 0, "FD", "write a newline to FD once every service is ready or failed",
                &ready_fd);
    args.option("emergency-shell", 0, "PATH",
                "shell PID 1 starts when the manifest is broken [/bin/sh]", &o.emergency_shell);
    bool verbose = false;
    args.flag("verbose", 'v', "log every state change", &verbose);
    args.epilog(
        "Signals: as PID 1, SIGTERM/SIGUSR2/SIGPWR power off and SIGINT (Ctrl-Alt-Del)/SIGUSR1\n"
        "reboot; otherwise they stop every service (dependents first) and exit. Every other\n"
        "signal is logged and ignored (docs/init.md).\n"
        "Exit codes: 0 stopped cleanly, 100 bad usage or manifest, 111 system error.");
    // The kernel hands PID 1 the boot arguments it did not understand ("splash",
    // "single"...): exiting over them would panic the machine, so PID 1 drops them.
    std::vector<char*> kept =
        ::getpid() == 1 ? options_only(argc, argv) : std::vector<char*>(argv, argv + argc);
    if (auto rc = args.parse(static_cast<int>(kept.size()), kept.data())) return *rc;
    if (verbose) log::set_level(log::Level::kDebug);
    if (!config.empty()) {
        o.manifest = config;
        o.services_only = true;
    }
    if (o.cgroup_name.find('/') != std::string::npos)
        return args.usage_error("--cgroup-name must be one path component");
    // An fd that is not open would be the number of the first fd init opens itself.
    if (ready_fd >= 0 && ::fcntl(static_cast<int>(ready_fd), F_GETFD) < 0)
        return args.usage_error("--ready-fd " + std::to_string(ready_fd) +
                                " is not an open file descriptor");
    o.ready_fd = static_cast<int>(ready_fd);
    o.pid1 = ::getpid() == 1;
    return init::run_init(o);
}

}  // namespace keel::cli
