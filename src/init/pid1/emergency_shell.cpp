#include "init/pid1/emergency_shell.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace keel::init {

Result<pid_t> start_emergency_shell(const std::string& shell) {
    if (::access(shell.c_str(), X_OK) < 0) return errno_error("no emergency shell at " + shell);
    char* const argv[] = {const_cast<char*>(shell.c_str()), nullptr};
    char* const envp[] = {
        const_cast<char*>("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        const_cast<char*>("TERM=linux"), const_cast<char*>("PS1=(keel emergency) # "), nullptr};
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGXFSZ, SIGINT, SIGTERM, SIGHUP, SIGCHLD})
            ::signal(sig, SIG_DFL);
        ::setsid();
        ::ioctl(0, TIOCSCTTY, 0);  // best effort: job control when fd 0 is a terminal
        ::execve(shell.c_str(), argv, envp);
        ::_exit(127);
    }
    return pid;
}

}  // namespace keel::init
