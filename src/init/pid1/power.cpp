#include "init/pid1/power.h"

#include <signal.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sys.h"
#include "init/pid1/mounts.h"

namespace keel::init {

void trap_ctrl_alt_del() {
    if (::reboot(RB_DISABLE_CAD) < 0)
        log::debug("cannot trap Ctrl-Alt-Del (not in the initial namespace?)");
}

void signal_all(int sig) {
    if (::getpid() != 1) return;  // kill(-1) from anything but PID 1 would hit the whole machine
    (void)sys::kill(-1, sig);
    if (sig != SIGKILL) (void)sys::kill(-1, SIGCONT);
}

void power_off(const std::string& action) {
    log::info("%s", action == "reboot" ? "rebooting"
                    : action == "halt" ? "halting"
                                       : "powering off");
    ::sync();
    unmount_all();
    ::sync();
    int cmd = action == "reboot" ? RB_AUTOBOOT : action == "halt" ? RB_HALT_SYSTEM : RB_POWER_OFF;
    if (::reboot(cmd) < 0) log::error("reboot(2) failed: %s", std::strerror(errno));
}

}  // namespace keel::init
