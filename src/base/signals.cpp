#include "base/signals.h"

#include <signal.h>
#include <strings.h>

#include <cstdio>

namespace keel {
namespace {

struct Named {
    int signo;
    const char* name;
};

constexpr Named kSignals[] = {
    {SIGHUP, "HUP"},       {SIGINT, "INT"},       {SIGQUIT, "QUIT"},     {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},     {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},       {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},     {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},     {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},     {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"},     {SIGCONT, "CONT"},     {SIGSTOP, "STOP"},     {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"},     {SIGURG, "URG"},       {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},     {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},     {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},         {SIGPWR, "PWR"},       {SIGSYS, "SYS"},
};

}  // namespace

int signal_from_name(std::string_view name) {
    if (name.size() > 3 && strncasecmp(name.data(), "SIG", 3) == 0) name.remove_prefix(3);
    for (const auto& s : kSignals) {
        std::string_view n(s.name);
        if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0)
            return s.signo;
    }
    return 0;
}

const char* signal_to_name(int signo) {
    for (const auto& s : kSignals)
        if (s.signo == signo) return s.name;
    if (signo >= SIGRTMIN && signo <= SIGRTMAX) {
        static char buf[16];
        std::snprintf(buf, sizeof buf, "RTMIN+%d", signo - SIGRTMIN);
        return buf;
    }
    return nullptr;
}

}  // namespace keel
