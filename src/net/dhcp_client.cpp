#include "net/dhcp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/c_strings.h"
#include "base/log.h"
#include "base/sys.h"
#include "net/resolv_conf.h"

extern char** environ;

namespace keel::net {
namespace {

bool executable(const std::string& p) {
    return ::access(p.c_str(), X_OK) == 0;
}

std::string in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = std::string(path ? path : "") + ":/sbin:/usr/sbin:/bin:/usr/bin";
    size_t start = 0;
    while (start <= dirs.size()) {
        size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string dir = dirs.substr(start, end - start);
        if (!dir.empty() && executable(dir + "/" + name)) return dir + "/" + name;
        start = end + 1;
    }
    return "";
}

}  // namespace

std::vector<std::string> find_udhcpc() {
    if (auto p = in_path("udhcpc"); !p.empty()) return {p};
    if (auto p = in_path("busybox"); !p.empty()) return {p, "udhcpc"};
    return {};
}

Status write_hook_script(const std::string& path, const std::string& keel_binary) {
    if (keel_binary.find('\'') != std::string::npos)
        return Error("keel's path contains a quote: " + keel_binary);
    const std::string text =
        "#!/bin/sh\n# udhcpc's script: hands each lease event to keel net.\nexec '" + keel_binary +
        "' net dhcp-hook \"$@\"\n";
    auto w = write_file_if_changed(path, text);
    if (!w) return w.error();
    return sys::chmod(path, 0755);
}

DhcpClient::DhcpClient(loop::EventLoop& loop, DhcpClientOptions options, LeaseHandler on_lease)
    : loop_(loop),
      opts_(std::move(options)),
      on_lease_(std::move(on_lease)),
      restart_timer_(loop, [this] { spawn(); }) {}

DhcpClient::~DhcpClient() {
    stop_child();
}

void DhcpClient::start() {
    spawn();
}

void DhcpClient::spawn() {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0) {
        log::error("dhcp %s: %s", opts_.ifname.c_str(),
                   errno_error("cannot create a pipe").message().c_str());
        restart_timer_.arm_after(backoff_);
        return;
    }
    Fd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) {
        log::error("dhcp %s: %s", opts_.ifname.c_str(),
                   errno_error("cannot create a pipe").message().c_str());
        restart_timer_.arm_after(backoff_);
        return;
    }
    Fd err_r(err[0]), err_w(err[1]);

    std::vector<std::string> args = opts_.udhcpc;
    // -f foreground, -R release on exit, -t/-T/-A: 4 discovers 2 s apart, then 5 s
    // pause; ask for search domains and classless routes.
    for (const char* a :
         {"-f", "-R", "-t", "4", "-T", "2", "-A", "5", "-O", "search", "-O", "staticroutes", "-i"})
        args.push_back(a);
    args.push_back(opts_.ifname);
    args.push_back("-s");
    args.push_back(opts_.hook);
    if (!opts_.hostname.empty()) {
        args.push_back("-x");
        args.push_back("hostname:" + opts_.hostname);
    }
    auto argv = c_strings(args);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The daemon blocks the signals it takes through signalfd: the child must not.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        log::error("dhcp %s: cannot start %s: %s", opts_.ifname.c_str(), argv[0],
                   std::strerror(rc));
        restart_timer_.arm_after(backoff_);
        backoff_ = std::min(backoff_ * 2, std::chrono::seconds(30));
        return;
    }
    pid_ = pid;
    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pfd < 0) {
        log::error("dhcp %s: %s", opts_.ifname.c_str(),
                   errno_error("pidfd_open").message().c_str());
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid_ = -1;
        restart_timer_.arm_after(backoff_);
        return;
    }
    pidfd_ = Fd(pfd);
    out_ = std::move(out_r);
    err_ = std::move(err_r);
    (void)sys::set_nonblocking(out_.get(), true);
    (void)sys::set_nonblocking(err_.get(), true);
    started_ = loop_.refresh_now();
    (void)pid_watch_.start(loop_, pidfd_.get(), EPOLLIN, [this](uint32_t) { on_exit(); });
    (void)out_watch_.start(loop_, out_.get(), EPOLLIN, [this](uint32_t) { on_output(true); });
    (void)err_watch_.start(loop_, err_.get(), EPOLLIN, [this](uint32_t) { on_output(false); });
    log::info("dhcp %s: started udhcpc (pid %d)", opts_.ifname.c_str(), pid);
}

void DhcpClient::on_output(bool is_stdout) {
    Fd& fd = is_stdout ? out_ : err_;
    loop::FdWatch& watch = is_stdout ? out_watch_ : err_watch_;
    LineBuffer& lines = is_stdout ? out_lines_ : err_lines_;
    auto handle = [&](std::string_view line) {
        if (is_stdout && line.substr(0, kLeaseLinePrefix.size()) == kLeaseLinePrefix) {
            auto j = nlohmann::json::parse(line.substr(kLeaseLinePrefix.size()), nullptr, false);
            auto lease = lease_from_json(j);
            if (!lease) {
                log::warning("dhcp %s: ignoring a bad lease report: %s", opts_.ifname.c_str(),
                             lease.error().message().c_str());
                return;
            }
            if (lease->ifname != opts_.ifname) {
                log::warning("dhcp %s: ignoring a lease report for %s", opts_.ifname.c_str(),
                             lease->ifname.c_str());
                return;
            }
            on_lease_(*lease);
            return;
        }
        log::info("dhcp %s: %.*s", opts_.ifname.c_str(), static_cast<int>(line.size()),
                  line.data());
    };
    char buf[4096];
    for (;;) {
        auto n = sys::read(fd.get(), buf, sizeof buf);
        if (!n) {
            if (n.error().code() == EAGAIN) return;
            break;
        }
        if (*n == 0) break;
        lines.feed(std::string_view(buf, *n), handle);
    }
    lines.finish(handle);
    watch.stop();
    fd.reset();
}

void DhcpClient::on_exit() {
    // Whatever it printed last is still in the pipes.
    if (out_) on_output(true);
    if (err_) on_output(false);
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED | WNOHANG) < 0 ||
        info.si_pid == 0)
        return;
    pid_watch_.stop();
    pidfd_.reset();
    pid_ = -1;
    const bool ran_long = loop_.refresh_now() - started_ > std::chrono::minutes(1);
    if (ran_long) backoff_ = std::chrono::seconds(1);
    log::warning("dhcp %s: udhcpc %s %d; starting it again in %llds", opts_.ifname.c_str(),
                 info.si_code == CLD_EXITED ? "exited with" : "killed by signal", info.si_status,
                 static_cast<long long>(backoff_.count()));
    ++restarts_;
    restart_timer_.arm_after(backoff_);
    backoff_ = std::min(backoff_ * 2, std::chrono::seconds(30));
}

void DhcpClient::stop_child() {
    restart_timer_.cancel();
    pid_watch_.stop();
    out_watch_.stop();
    err_watch_.stop();
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    pollfd p{pidfd_.get(), POLLIN, 0};
    // udhcpc sends its release and exits at once; never hang a shutdown on it.
    if (::poll(&p, 1, 1000) != 1) ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

}  // namespace keel::net
