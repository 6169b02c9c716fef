#include "init/supervisor/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/sys.h"

namespace keel::init {

namespace {

enum Stage {
    kStageSignals,
    kStageSession,
    kStageCgroup,
    kStageFds,
    kStageCwd,
    kStageRlimit,
    kStageBounding,
    kStageKeepCaps,
    kStageGroups,
    kStageGid,
    kStageUid,
    kStageCapset,
    kStageAmbient,
    kStageNoNewPrivs,
    kStageExec,
    kStageCount
};
const char* const kStageNames[] = {"reset signals",
                                   "setsid",
                                   "join cgroup",
                                   "set up fds",
                                   "chdir",
                                   "setrlimit",
                                   "drop bounding capabilities",
                                   "keep capabilities",
                                   "setgroups",
                                   "setgid",
                                   "setuid",
                                   "capset",
                                   "raise ambient capabilities",
                                   "set no_new_privs",
                                   "exec"};
static_assert(sizeof kStageNames / sizeof kStageNames[0] == kStageCount);

// Lowest fd used to park sources while the child arranges its fds: above every
// target, and low enough for the kernel's RLIMIT_NOFILE of PID 1 (soft 1024),
// where a fixed 1024 made every F_DUPFD fail with EINVAL.
int park_fd(const SpawnPlan& p) {
    return std::max(3, p.notify_fd + 1);
}

std::optional<std::string> lookup_env(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& e : env)
        if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return std::nullopt;
}

Result<std::vector<std::string>> find_program(const std::string& name,
                                              const std::vector<std::string>& env) {
    if (name.find('/') != std::string::npos) return std::vector<std::string>{name};
    std::vector<std::string> found;
    std::string path =
        lookup_env(env, "PATH")
            .value_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        struct stat st;
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) found.push_back(candidate);
        start = end + 1;
    }
    if (found.empty()) return Error("program '" + name + "' not found in PATH");
    return found;
}

// Child side: report the failing stage and errno through the status pipe, then die.
[[noreturn]] void child_fail(int status_fd, int stage) {
    ExecFailure f{stage, errno};
    ssize_t ignored = ::write(status_fd, &f, sizeof f);
    (void)ignored;
    ::_exit(127);
}

// Places `src` at `target` without clobbering other sources (they are parked above park_fd()
// first).
bool place_fd(int src, int target) {
    if (src == target) return ::fcntl(target, F_SETFD, 0) == 0;
    return ::dup2(src, target) == target;
}

[[noreturn]] void run_child(const SpawnPlan& p, char* const* argv, char* const* envp, int status_fd,
                            int null_fd, const gid_t* groups, size_t ngroups, bool join_cgroup) {
    sigset_t none;
    sigemptyset(&none);
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) < 0) child_fail(status_fd, kStageSignals);
    // Dispositions init set to "ignore" survive exec; services get the defaults.
    for (int sig : {SIGPIPE, SIGXFSZ, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGQUIT,
                    SIGTSTP, SIGTTIN, SIGTTOU})
        ::signal(sig, SIG_DFL);
    if (::setsid() < 0) child_fail(status_fd, kStageSession);
    if (join_cgroup) {
        int procs = ::openat(p.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0 || ::write(procs, "0", 1) != 1) child_fail(status_fd, kStageCgroup);
        ::close(procs);
    }

    const int park = park_fd(p);
    int out = ::fcntl(p.output_fd, F_DUPFD_CLOEXEC, park);
    int in = ::fcntl(null_fd, F_DUPFD_CLOEXEC, park);
    int notify = p.notify_src >= 0 ? ::fcntl(p.notify_src, F_DUPFD_CLOEXEC, park) : -1;
    if (out < 0 || in < 0 || (p.notify_src >= 0 && notify < 0)) child_fail(status_fd, kStageFds);
    if (!place_fd(in, 0) || !place_fd(out, 1) || !place_fd(out, 2))
        child_fail(status_fd, kStageFds);
    if (notify >= 0 && !place_fd(notify, p.notify_fd)) child_fail(status_fd, kStageFds);

    if (p.umask) ::umask(*p.umask);
    if (::chdir(p.cwd.c_str()) < 0) child_fail(status_fd, kStageCwd);
    for (const auto& l : p.rlimits) {
        rlimit r{static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &r) < 0)
            child_fail(status_fd, kStageRlimit);
    }
    if (p.cap_bounding) {
        for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
            bool keep = false;
            for (int k : *p.cap_bounding)
                keep |= k == cap;
            if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                child_fail(status_fd, kStageBounding);
        }
    }
    bool ambient = !p.cap_ambient.empty();
    if (ambient && p.uid && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        child_fail(status_fd, kStageKeepCaps);
    // Raw system calls: glibc's set*id wrappers synchronise threads through signals.
    if (groups && ::syscall(SYS_setgroups, ngroups, groups) < 0)
        child_fail(status_fd, kStageGroups);
    if (p.gid && ::syscall(SYS_setresgid, *p.gid, *p.gid, *p.gid) < 0)
        child_fail(status_fd, kStageGid);
    if (p.uid && ::syscall(SYS_setresuid, *p.uid, *p.uid, *p.uid) < 0)
        child_fail(status_fd, kStageUid);
    if (ambient) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        for (int cap : p.cap_ambient) {
            uint32_t bit = 1u << (cap % 32);
            data[cap / 32].effective |= bit;
            data[cap / 32].permitted |= bit;
            data[cap / 32].inheritable |= bit;
        }
        if (::syscall(SYS_capset, &header, data) < 0) child_fail(status_fd, kStageCapset);
        for (int cap : p.cap_ambient)
            if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                child_fail(status_fd, kStageAmbient);
    }
    if (p.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(status_fd, kStageNoNewPrivs);
    bool denied = false;
    for (const auto& path : p.candidates) {
        ::execve(path.c_str(), argv, envp);
        if (errno != EACCES && errno != ENOENT && errno != ENOTDIR) break;
        denied |= errno == EACCES;
    }
    if (denied && (errno == ENOENT || errno == ENOTDIR)) errno = EACCES;
    child_fail(status_fd, kStageExec);
}

}  // namespace

std::string describe(const ExecFailure& f, const std::string& program) {
    std::string what = f.stage >= 0 && f.stage < kStageCount ? kStageNames[f.stage] : "start";
    if (f.stage == kStageExec) what += " " + program;
    return "cannot " + what + ": " + std::strerror(f.err);
}

Result<SpawnPlan> make_spawn_plan(const ServiceSpec& spec,
                                  const std::vector<std::string>& base_env) {
    SpawnPlan p;
    p.env = base_env;
    for (const auto& [k, v] : spec.env) {
        std::string prefix = k + "=";
        std::erase_if(
            p.env, [&](const std::string& e) { return e.compare(0, prefix.size(), prefix) == 0; });
        p.env.push_back(prefix + v);
    }
    p.argv = spec.argv;
    p.candidates = KEEL_TRY(find_program(spec.argv[0], p.env));
    p.cwd = spec.cwd;
    p.umask = spec.umask;
    p.rlimits = spec.rlimits;
    p.no_new_privs = spec.no_new_privs;
    p.cap_bounding = spec.cap_bounding;
    p.cap_ambient = spec.cap_ambient;

    std::optional<gid_t> primary;
    if (!spec.user.empty()) {
        errno = 0;
        const passwd* pw = ::getpwnam(spec.user.c_str());
        if (!pw) return Error("unknown user '" + spec.user + "'");
        p.uid = pw->pw_uid;
        primary = pw->pw_gid;
        if (spec.groups.empty()) {
            // The user's own supplementary groups, as login would give them.
            int n = 64;
            std::vector<gid_t> list(static_cast<size_t>(n));
            while (::getgrouplist(pw->pw_name, pw->pw_gid, list.data(), &n) < 0)
                list.resize(static_cast<size_t>(n));
            list.resize(static_cast<size_t>(n));
            p.groups = list;
        }
    }
    if (!spec.group.empty()) {
        const group* gr = ::getgrnam(spec.group.c_str());
        if (!gr) return Error("unknown group '" + spec.group + "'");
        primary = gr->gr_gid;
    }
    p.gid = primary;
    if (!spec.groups.empty()) {
        std::vector<gid_t> list;
        for (const auto& g : spec.groups) {
            const group* gr = ::getgrnam(g.c_str());
            if (!gr) return Error("unknown group '" + g + "'");
            list.push_back(gr->gr_gid);
        }
        p.groups = list;
    } else if (p.gid && !p.groups) {
        p.groups = std::vector<gid_t>{};  // changing group: drop init's supplementary groups
    }
    return p;
}

Result<Spawned> spawn(const SpawnPlan& plan) {
    std::vector<char*> argv, envp;
    for (const auto& a : plan.argv)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : plan.env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    auto status = KEEL_TRY(sys::pipe());
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) return errno_error("cannot open /dev/null");
    Fd null_owned(null_fd);
    const gid_t* groups = plan.groups ? plan.groups->data() : nullptr;
    size_t ngroups = plan.groups ? plan.groups->size() : 0;
    static const gid_t kNoGroups[1] = {0};
    if (plan.groups && plan.groups->empty()) groups = kNoGroups;

    // Born in its cgroup (clone3 CLONE_INTO_CGROUP, Linux 5.7): moving a process in
    // later takes the cgroup-wide threadgroup lock, which serialises a mass start.
    bool join_cgroup = false;
    pid_t pid = -1;
    if (plan.cgroup_fd >= 0) {
        clone_args args{};
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = static_cast<uint64_t>(plan.cgroup_fd);
        pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
        if (pid < 0 && errno != ENOSYS && errno != EINVAL && errno != E2BIG)
            return errno_error("clone3");
    }
    if (pid < 0) {
        join_cgroup = plan.cgroup_fd >= 0;
        pid = ::fork();
    }
    if (pid < 0) return errno_error("fork");
    if (pid == 0)
        run_child(plan, argv.data(), envp.data(), status.second.get(), null_fd, groups, ngroups,
                  join_cgroup);
    status.second.reset();
    return Spawned{pid, std::move(status.first)};
}

}  // namespace keel::init
