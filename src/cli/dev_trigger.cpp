// keel dev trigger: make the kernel send events again for devices already present
// (like `udevadm trigger`): writes the action to each device's uevent file.
#include <cstdio>

#include <algorithm>

#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/verbs.h"
#include "dev/sysfs.h"
#include "dev/uevent_parser.h"

namespace keel::cli {

int dev_trigger_main(int argc, char** argv) {
    std::string action = "change", sysfs_root = "/sys";
    std::vector<std::string> subsystems, devices;
    bool dry_run = false, verbose = false;
    std::string first;
    bool have_first = false;
    Args args(
        "dev trigger", "[DEVPATH...]",
        "Makes the kernel resend a uevent for devices already present: every device, those of\n"
        "--subsystem, or the DEVPATHs given.");
    args.option("action", 'a', "ACTION",
                "add, remove, change, move, online, offline, bind, unbind [change]", &action);
    args.list_option("subsystem", 's', "NAME", "only devices of this subsystem (repeatable)",
                     &subsystems);
    args.flag("dry-run", 'n', "only print what would be triggered", &dry_run);
    args.flag("verbose", 'v', "print each DEVPATH triggered", &verbose);
    args.option("sysfs", 0, "DIR", "sysfs mount [/sys]", &sysfs_root);
    args.positional("DEVPATH", "devices to trigger (/devices/... or /sys/devices/...)", &first,
                    false, &have_first);
    args.epilog("Exit codes: 0 all triggered, 1 some could not be, 100 bad usage.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (!dev::known_action(action)) return args.usage_error("unknown action '" + action + "'");
    dev::Sysfs sysfs(sysfs_root);
    std::vector<std::string> paths;
    if (have_first) {
        std::string p = first;
        if (p.starts_with(sysfs_root + "/")) p = p.substr(sysfs_root.size());
        paths.push_back(p);
    } else {
        auto st = sysfs.scan([&](dev::Device&& d) {
            if (subsystems.empty() ||
                std::find(subsystems.begin(), subsystems.end(), d.subsystem()) != subsystems.end())
                paths.emplace_back(d.devpath());
        });
        if (!st) return fail("dev trigger", st.error().message(), kExitTemporary);
    }
    int failed = 0;
    for (const auto& p : paths) {
        if (verbose || dry_run) std::printf("%s\n", p.c_str());
        if (dry_run) continue;
        if (auto st = sysfs.trigger(p, action); !st) {
            ++failed;
            std::fprintf(stderr, "keel dev trigger: %s\n", st.error().message().c_str());
        }
    }
    return failed ? kExitNo : kExitOk;
}

}  // namespace keel::cli
