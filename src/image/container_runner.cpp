#include "image/container_runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/c_strings.h"
#include "base/log.h"
#include "base/sys.h"
#include "image/container_dhcp.h"
#include "image/state_file.h"

extern char** environ;

namespace keel::image {
namespace {

// An external command (ip, nsenter) to completion.
// `quiet`: its error output is dropped (cleanup of what may already be gone).
Status run_tool(const std::vector<std::string>& argv, bool quiet = false) {
    auto args = c_strings(argv);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    if (quiet) ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int e = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (e != 0) return Error("cannot run " + argv[0], e);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return errno_error("waitpid " + argv[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string cmd;
        for (const auto& a : argv)
            cmd += (cmd.empty() ? "" : " ") + a;
        return Error("`" + cmd + "` failed");
    }
    return {};
}

// The staging directory the container's mounts hang from (in its own mount
// namespace: the host sees it empty), removed afterwards.
class StageDir {
  public:
    StageDir() = default;
    StageDir(StageDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    static Result<StageDir> create() {
        std::string tmpl = "/run/keel-run-XXXXXX";
        if (!::mkdtemp(tmpl.data())) {
            tmpl = "/tmp/keel-run-XXXXXX";
            if (!::mkdtemp(tmpl.data())) return errno_error("cannot create a staging directory");
        }
        StageDir d;
        d.path_ = tmpl;
        return d;
    }
    ~StageDir() {
        if (!path_.empty()) (void)sys::rmdir(path_);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// The host end of the veth pair; deleting it deletes both ends.
class Veth {
  public:
    Veth() = default;
    Veth(Veth&& o) noexcept : name_(std::move(o.name_)) { o.name_.clear(); }
    static Result<Veth> create(pid_t child, const std::string& host_cidr) {
        Veth v;
        std::string name = "keel" + std::to_string(child);
        if (name.size() > 15) name = name.substr(0, 15);
        KEEL_TRY_STATUS(run_tool({"ip", "link", "add", name, "type", "veth", "peer", "name", "eth0",
                                  "netns", std::to_string(child)}));
        v.name_ = name;
        KEEL_TRY_STATUS(run_tool({"ip", "addr", "add", host_cidr, "dev", name}));
        KEEL_TRY_STATUS(run_tool({"ip", "link", "set", name, "up"}));
        return v;
    }
    ~Veth() {
        // Usually gone already: the pair dies with the container's namespace.
        if (!name_.empty() && ::access(("/sys/class/net/" + name_).c_str(), F_OK) == 0)
            (void)run_tool({"ip", "link", "del", name_}, true);
    }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
};

// A /30 in 10.0.N.0/24 no host interface uses: N from 100 on.
Result<int> free_subnet() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return errno_error("getifaddrs");
    std::vector<bool> used(256);
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        uint32_t a = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
        if ((a >> 16) == ((10u << 8) | 0u)) used[(a >> 8) & 0xff] = true;
    }
    ::freeifaddrs(list);
    for (int n = 100; n < 255; ++n)
        if (!used[n]) return n;
    return Error("no free 10.0.N.0/30 subnet for the container's veth");
}

// --- In the child (new namespaces): everything below returns an error text.

std::string fail(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

std::string mount_or(const char* src, const std::string& dst, const char* type, unsigned long flags,
                     const std::string& data = "") {
    if (::mount(src, dst.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
        return fail(std::string("cannot mount ") + (type ? type : src) + " on " + dst);
    return "";
}

std::string make_dev(const std::string& root) {
    std::string dev = root + "/dev";
    ::mkdir(dev.c_str(), 0755);
    if (auto e = mount_or("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m");
        !e.empty())
        return e;
    // Bind-mounted host nodes, not devtmpfs: a container must not see the
    // host's disks. The console is our terminal when there is one.
    std::string console = ::isatty(0) ? ::ttyname(0) : "/dev/null";
    const std::pair<const char*, std::string> nodes[] = {
        {"null", "/dev/null"},     {"zero", "/dev/zero"},       {"full", "/dev/full"},
        {"random", "/dev/random"}, {"urandom", "/dev/urandom"}, {"tty", "/dev/tty"},
        {"console", console},
    };
    for (const auto& [name, host] : nodes) {
        std::string at = dev + "/" + name;
        int fd = ::open(at.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0) return fail("cannot create " + at);
        ::close(fd);
        if (auto e = mount_or(host.c_str(), at, nullptr, MS_BIND); !e.empty()) return e;
    }
    std::string pts = dev + "/pts";
    ::mkdir(pts.c_str(), 0755);
    if (auto e = mount_or("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
                          "newinstance,ptmxmode=0666,mode=0620,gid=5");
        !e.empty())
        return e;
    ::mkdir((dev + "/shm").c_str(), 01777);
    for (auto [link, target] : {std::pair{"ptmx", "pts/ptmx"},
                                {"fd", "/proc/self/fd"},
                                {"stdin", "/proc/self/fd/0"},
                                {"stdout", "/proc/self/fd/1"},
                                {"stderr", "/proc/self/fd/2"}})
        if (::symlink(target, (dev + "/" + link).c_str()) != 0)
            return fail("cannot link /dev/" + std::string(link));
    return "";
}

std::string setup_root(const RunOptions& o, const std::string& stage) {
    if (auto e = mount_or(nullptr, "/", nullptr, MS_REC | MS_PRIVATE); !e.empty()) return e;
    if (auto e = mount_or("keel-run", stage, "tmpfs", 0, "mode=0755"); !e.empty()) return e;
    std::string root = stage + "/root";
    for (const char* d : {"/root", "/upper", "/work"})
        if (::mkdir((stage + d).c_str(), 0755) != 0) return fail("cannot create " + stage + d);
    if (o.writable) {
        if (auto e = mount_or(o.rootfs.c_str(), root, nullptr, MS_BIND | MS_REC); !e.empty())
            return e;
    } else if (auto e = mount_or("overlay", root, "overlay", 0,
                                 "lowerdir=" + o.rootfs + ",upperdir=" + stage +
                                     "/upper,workdir=" + stage + "/work");
               !e.empty()) {
        return e + " (the rootfs is kept read-only under an overlay; --writable binds it instead)";
    }
    for (const char* d : {"/proc", "/sys"})
        ::mkdir((root + d).c_str(), 0555);
    if (auto e = mount_or("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        !e.empty())
        return e;
    if (auto e =
            mount_or("sysfs", root + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
        !e.empty())
        return e;
    if (auto e = make_dev(root); !e.empty()) return e;
    // pivot_root(".", "."): the old root ends up stacked on "/", detached below.
    if (::chdir(root.c_str()) != 0) return fail("cannot enter " + root);
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail("pivot_root");
    if (::umount2(".", MNT_DETACH) != 0) return fail("cannot detach the host's root");
    if (::chdir("/") != 0) return fail("chdir /");
    if (::sethostname(o.hostname.data(), o.hostname.size()) != 0) return fail("sethostname");
    return "";
}

[[noreturn]] void child_main(const RunOptions& o, const std::string& stage, int go_r, int err_w) {
    char go;
    std::string error;
    // The container must not outlive a runner that is killed outright (its
    // parent, not reparented yet: clone3 left us a child of the runner).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::read(go_r, &go, 1) != 1) ::_exit(111);  // the runner gave up
    error = setup_root(o, stage);
    // The container shares the host's clock and kernel (no namespace
    // virtualises CLOCK_REALTIME or the module list): a time daemon of the
    // system (the demo's ntpd) must not set or slew the clock, and its keel dev,
    // which sees the host's devices, must not load modules into the host's
    // kernel. Out of the bounding set, the capabilities are gone after exec.
    for (auto [cap, name] :
         {std::pair{CAP_SYS_TIME, "CAP_SYS_TIME"}, {CAP_SYS_MODULE, "CAP_SYS_MODULE"}})
        if (error.empty() && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            error = fail(std::string("cannot drop ") + name + " from the bounding set");
    if (error.empty()) {
        std::vector<std::string> cmd =
            o.command.empty() ? std::vector<std::string>{"/init"} : o.command;
        auto argv = c_strings(cmd);
        std::string term =
            std::string("TERM=") + (std::getenv("TERM") ? std::getenv("TERM") : "linux");
        char* env[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
                       const_cast<char*>("HOME=/"), term.data(), nullptr};
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // A session of its own: the terminal's Ctrl-C is for the runner, which
        // turns it into a clean poweroff.
        ::setsid();
        ::execve(argv[0], argv.data(), env);
        error = fail("cannot run " + cmd[0] + " in " + o.rootfs);
    }
    (void)!::write(err_w, error.data(), error.size());
    ::_exit(111);
}

int report(pid_t pid, int status) {
    if (WIFEXITED(status)) {
        std::fprintf(stderr, "keel run: container init (pid %d) exited with status %d\n", pid,
                     WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    int sig = WTERMSIG(status);
    // reboot(2) in a PID namespace ends it with init killed by SIGINT
    // (poweroff/halt) or SIGHUP (restart).
    if (sig == SIGINT || sig == SIGHUP) {
        std::fprintf(stderr, "keel run: container %s\n",
                     sig == SIGINT ? "powered off" : "rebooted");
        return 0;
    }
    std::fprintf(stderr, "keel run: container init killed by %s\n", strsignal(sig));
    return 128 + sig;
}

}  // namespace

Result<int> run_container(const RunOptions& o) {
    if (::geteuid() != 0)
        return Error(
            "keel run needs root: it creates namespaces, mounts and a veth pair "
            "(run it with sudo)");
    struct stat st {};
    if (::stat(o.rootfs.c_str(), &st) != 0) return errno_error("cannot use rootfs " + o.rootfs);
    if (!S_ISDIR(st.st_mode)) return Error("rootfs " + o.rootfs + " is not a directory");
    std::string init = o.rootfs + (o.command.empty() ? "/init" : "");
    if (o.command.empty() && ::faccessat(AT_FDCWD, init.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) != 0)
        return Error(o.rootfs + " has no /init (give a command to run instead)");
    int subnet = KEEL_TRY(free_subnet());
    std::string prefix = "10.0." + std::to_string(subnet) + ".";
    auto stage = KEEL_TRY(StageDir::create());
    auto [go_r, go_w] = KEEL_TRY(sys::pipe());
    auto [err_r, err_w] = KEEL_TRY(sys::pipe());

    // Blocked before the clone so no signal is lost; the child unblocks them.
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD})
        sigaddset(&mask, s);
    sigset_t old;
    ::sigprocmask(SIG_BLOCK, &mask, &old);
    struct Restore {
        sigset_t s;
        ~Restore() { ::sigprocmask(SIG_SETMASK, &s, nullptr); }
    } restore{old};

    int pidfd = -1;
    clone_args args{};
    args.flags =
        CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return errno_error("cannot create the container's namespaces (clone3)");
    if (pid == 0) {
        go_w = Fd();
        err_r = Fd();
        child_main(o, stage.path(), go_r.get(), err_w.get());
    }
    Fd child_pidfd(pidfd);
    go_r = Fd();
    err_w = Fd();
    // Whatever happens from here, the child does not outlive the runner.
    struct Reaper {
        pid_t pid;
        bool done = false;
        ~Reaper() {
            if (done) return;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{static_cast<pid_t>(pid)};

    auto veth = KEEL_TRY(Veth::create(pid, prefix + "1/30"));
    if (o.configure_network) {
        std::string ns = "--net=/proc/" + std::to_string(pid) + "/ns/net";
        KEEL_TRY_STATUS(run_tool({"nsenter", ns, "ip", "link", "set", "lo", "up"}));
        KEEL_TRY_STATUS(
            run_tool({"nsenter", ns, "ip", "addr", "add", prefix + "2/30", "dev", "eth0"}));
        KEEL_TRY_STATUS(run_tool({"nsenter", ns, "ip", "link", "set", "eth0", "up"}));
        KEEL_TRY_STATUS(
            run_tool({"nsenter", ns, "ip", "route", "add", "default", "via", prefix + "1"}));
    }
    auto dhcp = KEEL_TRY(ContainerDhcp::start(veth.name(), prefix + "2", prefix + "1"));
    if (::write(go_w.get(), "g", 1) != 1) return errno_error("cannot start the container");
    go_w = Fd();
    std::string error;
    char buf[512];
    for (ssize_t n; (n = ::read(err_r.get(), buf, sizeof buf)) > 0;)
        error.append(buf, n);
    if (!error.empty()) {
        reaper.done = ::waitpid(pid, nullptr, 0) == pid;
        return Error(error);
    }

    // The state file first: whoever sees the printed lines may read it at once.
    if (!o.state_path.empty()) {
        nlohmann::json state = {{"pid", pid},
                                {"interface", veth.name()},
                                {"host_address", prefix + "1"},
                                {"address", prefix + "2"},
                                {"bus", "nats://" + prefix + "2:4222"},
                                {"dhcp", dhcp.running()}};
        KEEL_TRY_STATUS(write_state_file(o.state_path, state));
    }

    std::fprintf(stderr, "keel run: container pid %ld, %s: host %s1/30, container eth0 %s2/30%s\n",
                 pid, veth.name().c_str(), prefix.c_str(), prefix.c_str(),
                 o.configure_network ? "" : " (left to keel net)");
    if (dhcp.running())
        std::fprintf(stderr, "keel run: DHCP on %s leases %s2 to the container\n",
                     veth.name().c_str(), prefix.c_str());
    std::fprintf(stderr, "bus: nats://%s2:4222\n", prefix.c_str());
    // SIGTERM is keel init's poweroff; a second signal or the timeout kills.
    enum class Phase { running, stopping, killed } phase = Phase::running;
    auto deadline = std::chrono::steady_clock::time_point::max();
    for (;;) {
        siginfo_t info{};
        int sig;
        if (phase == Phase::stopping) {
            auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
                deadline - std::chrono::steady_clock::now());
            auto ns = std::max<int64_t>(0, left.count());
            timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
            sig = ::sigtimedwait(&mask, &info, &wait);
        } else {
            sig = ::sigwaitinfo(&mask, &info);
        }
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            reaper.done = true;
            return report(pid, status);
        }
        bool asked = sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
        if (asked && phase == Phase::running) {
            std::fprintf(stderr, "\nkeel run: %s: stopping the container (again to kill)\n",
                         strsignal(sig));
            ::kill(pid, SIGTERM);
            phase = Phase::stopping;
            deadline = std::chrono::steady_clock::now() + o.stop_timeout;
        } else if (phase == Phase::stopping &&
                   (asked || std::chrono::steady_clock::now() >= deadline)) {
            if (!asked) log::warning("the container did not stop in time: killing it");
            ::kill(pid, SIGKILL);
            phase = Phase::killed;
        }
    }
}

}  // namespace keel::image
