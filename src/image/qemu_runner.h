// `keel boot`: a kernel and initramfs under qemu-system-x86_64, with the serial
// console on the terminal (or in a log file), the guest's bus and ssh ports
// forwarded to free host ports, a USB controller for hot-plugged sticks, and
// QMP sockets: a private one for the runner's own clean shutdown on Ctrl-C and
// a public one (named in the state file) for scripts and tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace keel::image {

struct BootOptions {
    std::string kernel;  // bzImage (vmlinuz)
    std::string initrd;  // compressed cpio
    std::string append;  // added to "console=ttyS0 panic=-1"
    std::string memory = "256M";
    int cpus = 0;            // virtual CPUs; 0: the host's, at most 4
    std::string accel;       // "kvm" | "tcg" | "" (KVM when it works, else TCG)
    bool headless = false;   // no terminal: console only to log_path
    std::string log_path;    // console copy (headless: where the console goes)
    std::string state_path;  // JSON with ports and the QMP socket, while QEMU runs
    int ready_fd = -1;       // gets a newline once QEMU runs and the state file is written
    std::string qemu = "qemu-system-x86_64";
    std::chrono::milliseconds powerdown_timeout{30000};  // Ctrl-C: ACPI powerdown, then quit
};

// Host ports forwarded to the guest (127.0.0.1:host -> guest).
struct Forward {
    std::string name;  // "bus", "ssh"
    uint16_t host = 0;
    uint16_t guest = 0;
};

// The command line for QEMU (console on its stdin/stdout; QMP on the two sockets).
std::vector<std::string> qemu_command(const BootOptions& options, const std::string& accel,
                                      const std::vector<Forward>& forwards,
                                      const std::string& control_socket,
                                      const std::string& qmp_socket);

// "kvm" when /dev/kvm opens and runs a one-instruction guest, else "tcg";
// $KEEL_QEMU_ACCEL overrides. `why` says why TCG was chosen.
std::string choose_accel(std::string* why);

// Runs QEMU until it exits; its exit status (128+N when killed by signal N).
Result<int> boot(const BootOptions& options);

}  // namespace keel::image
