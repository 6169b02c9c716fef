#include "base/signals.h"

#include <signal.h>
#include <string.h>
#include <strings.h>

#include <cstdio>

namespace keel {

int signal_from_name(std::string_view name) {
    if (name.size() > 3 && strncasecmp(name.data(), "SIG", 3) == 0) name.remove_prefix(3);
    for (int sig = 1; sig < NSIG; ++sig) {
        const char* abbrev = sigabbrev_np(sig);  // glibc's own table: "TERM", "HUP", ...
        if (abbrev && std::string_view(abbrev).size() == name.size() &&
            strncasecmp(abbrev, name.data(), name.size()) == 0)
            return sig;
    }
    return 0;
}

const char* signal_to_name(int signo) {
    if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
        static char buf[16];
        std::snprintf(buf, sizeof buf, "RTMIN+%d", signo - SIGRTMIN);
        return buf;
    }
    return signo > 0 && signo < NSIG ? sigabbrev_np(signo) : nullptr;
}

}  // namespace keel
