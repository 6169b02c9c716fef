// The machine-level steps of PID 1: before services (Ctrl-Alt-Del as a signal,
// hostname), and the end (kill what is left, sync, unmount, reboot(2)).
#pragma once

#include <string>

namespace keel::init {

// Ctrl-Alt-Del sends SIGINT to PID 1 instead of rebooting at once.
void trap_ctrl_alt_del();

// SIGTERM (+SIGCONT) or SIGKILL to every process but PID 1 (kill(-1)): PID 1 only.
void signal_all(int sig);

// sync, unmount everything, reboot(2) with `action` ("poweroff", "reboot", "halt").
// In a PID namespace the kernel turns this into the namespace's end. Returns only
// when reboot(2) failed (logged).
void power_off(const std::string& action);

}  // namespace keel::init
