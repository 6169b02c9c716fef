#include "image/container_dhcp.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/c_strings.h"
#include "base/durable.h"
#include "base/log.h"
#include "base/sys.h"
#include "base/sys_fs.h"

extern char** environ;

namespace keel::image {

std::string udhcpd_config(const std::string& interface, const std::string& address,
                          const std::string& router, const std::string& dir) {
    // No dns option: the host's resolver (often 127.0.0.53) is not reachable from
    // the container; a definition names its own DNS servers.
    return "interface " + interface + "\nstart " + address + "\nend " + address +
           "\nmax_leases 1\noption subnet 255.255.255.252\noption router " + router +
           "\noption lease 86400\nlease_file " + dir + "/leases\npidfile " + dir + "/udhcpd.pid\n";
}

ContainerDhcp::ContainerDhcp(ContainerDhcp&& o) noexcept : pid_(o.pid_), dir_(std::move(o.dir_)) {
    o.pid_ = -1;
    o.dir_.clear();
}

ContainerDhcp::~ContainerDhcp() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    if (!dir_.empty()) (void)sys::remove_tree(dir_);
}

Result<ContainerDhcp> ContainerDhcp::start(const std::string& interface, const std::string& address,
                                           const std::string& router) {
    ContainerDhcp d;
    std::string busybox;
    for (const char* p : {"/usr/bin/busybox", "/bin/busybox", "/usr/sbin/busybox"})
        if (::access(p, X_OK) == 0) {
            busybox = p;
            break;
        }
    if (busybox.empty()) {
        log::warning(
            "no busybox on this host: a container asking for DHCP on eth0 gets no lease "
            "(apt-get install busybox-static)");
        return d;
    }
    std::string tmpl = "/run/keel-dhcp-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
        tmpl = "/tmp/keel-dhcp-XXXXXX";
        if (!::mkdtemp(tmpl.data())) return errno_error("cannot create a directory for udhcpd");
    }
    d.dir_ = tmpl;
    const std::string conf = d.dir_ + "/udhcpd.conf";
    KEEL_TRY_STATUS(
        sys::write_file_atomic(conf, udhcpd_config(interface, address, router, d.dir_)));
    KEEL_TRY_STATUS(sys::write_file_atomic(d.dir_ + "/leases", ""));
    const std::string log_path = d.dir_ + "/udhcpd.log";
    const std::vector<std::string> args = {busybox, "udhcpd", "-f", conf};
    auto argv = c_strings(args);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0644);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // Its own process group: the terminal's Ctrl-C is for keel run, which
    // stops the container first and udhcpd last.
    posix_spawnattr_t attr;
    ::posix_spawnattr_init(&attr);
    // keel run blocks the signals it waits for: udhcpd gets them back.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    ::posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setpgroup(&attr, 0);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &all);
    pid_t pid;
    int e = ::posix_spawn(&pid, busybox.c_str(), &actions, &attr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (e != 0) return Error("cannot run " + busybox + " udhcpd", e);
    d.pid_ = pid;
    return d;
}

}  // namespace keel::image
