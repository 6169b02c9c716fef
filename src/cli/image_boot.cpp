// keel boot: a kernel and initramfs under QEMU (src/image/qemu_runner.h).
#include <sys/stat.h>

#include "base/log.h"
#include "cli/args.h"
#include "cli/bus_connection.h"
#include "cli/image_build_step.h"
#include "cli/image_verbs.h"
#include "image/qemu_runner.h"

namespace keel::cli {

int image_boot_main(int argc, char** argv) {
    log::set_program("keel boot");
    image::BootOptions o;
    std::string dir, out = "out";
    bool dir_given = false;
    Args args("boot", "[DIR | SYSTEM.lua]",
              "Boots a kernel and initramfs under qemu-system-x86_64: the serial console on the\n"
              "terminal (or, --headless, in a log file), the guest's bus (4222) and ssh (2222)\n"
              "ports forwarded to free host ports, a USB controller for hot-plugged sticks, and a\n"
              "QMP socket for control (see keel vm). Ctrl-C powers the guest down (twice: quits\n"
              "QEMU). Given a definition, builds it first (as keel build -o OUT would).");
    args.positional("DIR",
                    "an output directory holding vmlinuz and initramfs.img, or a system "
                    "definition to build first",
                    &dir, false, &dir_given);
    args.option("out", 'o', "DIR", "with a definition: where its outputs go [out]", &out);
    args.option("kernel", 'k', "FILE", "the kernel (bzImage) [DIR/vmlinuz]", &o.kernel);
    args.option("initrd", 'i', "FILE", "the initramfs [DIR/initramfs.img]", &o.initrd);
    args.option("append", 'a', "ARGS", "more kernel command line (after console=ttyS0 panic=-1)",
                &o.append);
    args.option("memory", 'm', "SIZE", "guest memory [256M]", &o.memory);
    args.option("accel", 0, "kvm|tcg", "accelerator [kvm when /dev/kvm works, else tcg]", &o.accel);
    int64_t cpus = 0;
    args.option("cpus", 0, "N", "virtual CPUs [the host's, at most 4]", &cpus);
    args.flag("headless", 0, "no terminal: the console goes only to the log file", &o.headless);
    args.option("log", 'l', "FILE", "copy of the console [headless: DIR/console.log]", &o.log_path);
    args.option(
        "state", 's', "FILE",
        "write {pid, bus, bus_port, ssh_port, qmp, accel, cpus, log} as JSON [DIR/boot.json]",
        &o.state_path);
    int64_t ready_fd = -1;
    args.option("ready-fd", 0, "FD",
                "write a newline to FD once QEMU runs and the state file is "
                "written (s6-style readiness)",
                &ready_fd);
    args.epilog(
        "Exit status: QEMU's (0 after the guest powered off); 100 bad usage, 111 cannot start.");
    if (auto rc = args.parse(argc, argv)) return *rc;
    if (dir_given && is_definition(dir)) {
        image::BuildOptions b;
        b.out_dir = out;
        auto step = build_definition(dir, b, false);
        if (step.exit_code != kExitOk) return step.exit_code;
        dir = out;
    }
    if (dir_given) {
        if (o.state_path.empty()) o.state_path = dir + "/boot.json";
        if (o.kernel.empty()) o.kernel = dir + "/vmlinuz";
        if (o.initrd.empty()) o.initrd = dir + "/initramfs.img";
        if (o.headless && o.log_path.empty()) o.log_path = dir + "/console.log";
    }
    if (o.kernel.empty() || o.initrd.empty())
        return args.usage_error("give an output DIR or both --kernel and --initrd");
    if (o.headless && o.log_path.empty()) return args.usage_error("--headless needs --log FILE");
    if (!o.accel.empty() && o.accel != "kvm" && o.accel != "tcg")
        return args.usage_error("--accel is kvm or tcg");
    if (cpus < 0 || cpus > 64) return args.usage_error("--cpus is 1..64");
    o.cpus = static_cast<int>(cpus);
    o.ready_fd = static_cast<int>(ready_fd);
    auto rc = image::boot(o);
    if (!rc) return fail("boot", rc.error().message(), image_exit_code(rc.error().code()));
    return *rc;
}

}  // namespace keel::cli
