#include "image/qemu_runner.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/c_strings.h"
#include "base/log.h"
#include "base/sys.h"
#include "image/qmp_client.h"
#include "image/state_file.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"
#include "loop/signal_watch.h"
#include "loop/timer.h"

namespace keel::image {
namespace {

using namespace std::chrono_literals;

// Runs `mov al,0x42; out 0x10,al; hlt` in a fresh VM: proves /dev/kvm can
// actually run a guest, not just open.
bool kvm_runs_a_guest(std::string* why) {
    // Some nested setups expose a /dev/kvm that runs the probe below yet hangs a
    // Linux guest early in boot; they also hide vmx/svm from the CPU flags.
    auto cpuinfo = sys::read_file("/proc/cpuinfo");
    if (!cpuinfo || (cpuinfo->find(" vmx") == std::string::npos &&
                     cpuinfo->find(" svm") == std::string::npos)) {
        *why = "the CPU flags show no vmx/svm, so /dev/kvm is not trusted";
        return false;
    }
    Fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (!kvm) {
        *why = std::string("/dev/kvm: ") + std::strerror(errno);
        return false;
    }
    if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        *why = "/dev/kvm has an unexpected API version";
        return false;
    }
    Fd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
    if (!vm) {
        *why = std::string("KVM_CREATE_VM: ") + std::strerror(errno);
        return false;
    }
    const size_t page = 0x2000;
    void* mem = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return false;
    const unsigned char code[] = {0xb0, 0x42, 0xe6, 0x10, 0xf4};
    std::memcpy(static_cast<char*>(mem) + 0x1000, code, sizeof code);
    bool ok = false;
    kvm_userspace_memory_region region{0, 0, 0, page, reinterpret_cast<uint64_t>(mem)};
    Fd vcpu;
    int run_size = ::ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (::ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION, &region) == 0 &&
        (vcpu = Fd(::ioctl(vm.get(), KVM_CREATE_VCPU, 0))) && run_size > 0) {
        void* run_map =
            ::mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.get(), 0);
        kvm_sregs sregs{};
        kvm_regs regs{};
        if (run_map != MAP_FAILED && ::ioctl(vcpu.get(), KVM_GET_SREGS, &sregs) == 0) {
            sregs.cs.base = 0;
            sregs.cs.selector = 0;
            regs.rip = 0x1000;
            regs.rflags = 2;
            auto* run = static_cast<kvm_run*>(run_map);
            if (::ioctl(vcpu.get(), KVM_SET_SREGS, &sregs) == 0 &&
                ::ioctl(vcpu.get(), KVM_SET_REGS, &regs) == 0)
                for (int i = 0; i < 4 && !ok; ++i) {
                    if (::ioctl(vcpu.get(), KVM_RUN, 0) != 0) break;
                    ok = run->exit_reason == KVM_EXIT_HLT;
                    if (run->exit_reason != KVM_EXIT_IO && !ok) break;
                }
            ::munmap(run_map, run_size);
        }
    }
    ::munmap(mem, page);
    if (!ok) *why = "/dev/kvm opens but cannot run a guest";
    return ok;
}

Result<uint16_t> free_port() {
    auto fd = KEEL_TRY(sys::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    KEEL_TRY_STATUS(sys::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a));
    socklen_t len = sizeof a;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return errno_error("getsockname");
    return ntohs(a.sin_port);
}

// The sockets' directory, removed with them.
class RuntimeDir {
  public:
    static Result<RuntimeDir> create() {
        const char* base = std::getenv("XDG_RUNTIME_DIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/keel-boot-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            return errno_error("cannot create a directory for QMP sockets");
        return RuntimeDir(tmpl);
    }
    RuntimeDir(RuntimeDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
    ~RuntimeDir() {
        if (path_.empty()) return;
        for (const char* f : {"/control.sock", "/qmp.sock"})
            (void)sys::unlink_if_exists(path_ + f);
        (void)sys::rmdir(path_);
    }
    std::string file(const char* name) const { return path_ + "/" + name; }

  private:
    explicit RuntimeDir(std::string p) : path_(std::move(p)) {}
    std::string path_;
};

// The terminal in character mode (no line editing, no local echo: the guest
// echoes) with signals kept, so Ctrl-C reaches us and not the guest.
class TerminalMode {
  public:
    explicit TerminalMode(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) != 0) return;
        termios t = saved_;
        t.c_lflag &= ~(ICANON | ECHO | ECHONL | IEXTEN);
        t.c_iflag &= ~(ICRNL | INLCR | IXON);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        active_ = ::tcsetattr(fd_, TCSANOW, &t) == 0;
    }
    ~TerminalMode() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }

  private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

// QEMU as our child: killed and reaped if the runner returns early.
struct Child {
    pid_t pid = -1;
    Fd pidfd;
    bool reaped = false;
    Child() = default;
    Child(Child&& o) noexcept : pid(o.pid), pidfd(std::move(o.pidfd)), reaped(o.reaped) {
        o.pid = -1;
    }
    ~Child() {
        if (pid <= 0 || reaped) return;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
};

// fork + exec with QEMU's stdin/stdout on `console`, in a session of its own
// (so the terminal's Ctrl-C is ours to handle). Exec failure comes back as an Error.
Result<Child> spawn(const std::vector<std::string>& argv, int console) {
    auto [err_r, err_w] = KEEL_TRY(sys::pipe());
    auto args = c_strings(argv);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("cannot fork");
    if (pid == 0) {
        // QEMU must not outlive a runner that is killed outright.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(111);
        ::setsid();
        ::dup2(console, 0);
        ::dup2(console, 1);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execvp(args[0], args.data());
        int e = errno;
        (void)!::write(err_w.get(), &e, sizeof e);
        ::_exit(127);
    }
    err_w = Fd();
    int e = 0;
    Child c;
    c.pid = pid;
    if (::read(err_r.get(), &e, sizeof e) == sizeof e) return Error("cannot run " + argv[0], e);
    c.pidfd = Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!c.pidfd) return errno_error("pidfd_open");
    return c;
}

}  // namespace

std::string choose_accel(std::string* why) {
    if (const char* env = std::getenv("KEEL_QEMU_ACCEL"); env && *env) {
        *why = "from $KEEL_QEMU_ACCEL";
        return env;
    }
    return kvm_runs_a_guest(why) ? "kvm" : "tcg";
}

// --cpus, or the host's at most 4.
static int guest_cpus(const BootOptions& o) {
    if (o.cpus > 0) return o.cpus;
    return static_cast<int>(std::clamp(::sysconf(_SC_NPROCESSORS_ONLN), 1L, 4L));
}

std::vector<std::string> qemu_command(const BootOptions& o, const std::string& accel,
                                      const std::vector<Forward>& forwards,
                                      const std::string& control_socket,
                                      const std::string& qmp_socket) {
    std::string append = "console=ttyS0 panic=-1";
    if (!o.append.empty()) append += " " + o.append;
    // The user network: 10.0.2.0/24 with QEMU's DHCP server handing out .15 on.
    std::string netdev = "user,id=net0,net=10.0.2.0/24,dhcpstart=10.0.2.15";
    for (const auto& f : forwards)
        netdev +=
            ",hostfwd=tcp:127.0.0.1:" + std::to_string(f.host) + "-:" + std::to_string(f.guest);
    // TCG runs each virtual CPU on a host thread of its own (multi-threaded TCG):
    // a boot that starts a dozen processes at once is CPU-bound under TCG, and with
    // the host's two cores it reached ready in 0.6 s instead of 1.0 s.
    const int cpus = guest_cpus(o);
    std::vector<std::string> argv = {
        o.qemu,
        "-accel",
        accel == "tcg" && cpus > 1 ? "tcg,thread=multi" : accel,
        "-smp",
        std::to_string(cpus),
        "-m",
        o.memory,
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
        "-monitor",
        "none",
        "-chardev",
        "stdio,id=console,signal=off",
        "-serial",
        "chardev:console",
        "-kernel",
        o.kernel,
        "-initrd",
        o.initrd,
        "-append",
        append,
        "-netdev",
        netdev,
        "-device",
        "virtio-net-pci,netdev=net0",
        "-device",
        "virtio-rng-pci",
        "-device",
        "qemu-xhci,id=xhci",
        "-qmp",
        "unix:" + control_socket + ",server=on,wait=off",
        "-qmp",
        "unix:" + qmp_socket + ",server=on,wait=off",
    };
    // TCG's default CPU (qemu64) has no RDRAND, so the guest kernel's random pool is not
    // seeded until virtio_rng is loaded or jitter entropy is gathered: every getrandom()
    // caller (dropbearkey making the ssh host key) waited 1-3 s at boot. QEMU's RDRAND
    // draws from the host's getrandom(), as virtio-rng does, and every x86 since 2012 has it.
    argv.insert(argv.begin() + 3, {"-cpu", accel == "kvm" ? "host" : "qemu64,+rdrand"});
    return argv;
}

Result<int> boot(const BootOptions& o) {
    for (const auto* f : {&o.kernel, &o.initrd})
        if (::access(f->c_str(), R_OK) != 0) return errno_error("cannot read " + *f);
    // Not QEMU's to keep open.
    if (o.ready_fd >= 0) ::fcntl(o.ready_fd, F_SETFD, FD_CLOEXEC);
    std::string why;
    std::string accel = o.accel.empty() ? choose_accel(&why) : o.accel;
    if (!o.accel.empty()) why = "as asked";
    std::vector<Forward> forwards = {{"bus", KEEL_TRY(free_port()), 4222},
                                     {"ssh", KEEL_TRY(free_port()), 2222}};
    auto dir = KEEL_TRY(RuntimeDir::create());
    std::string control = dir.file("control.sock"), qmp = dir.file("qmp.sock");

    Fd log_fd;
    if (!o.log_path.empty())
        log_fd = KEEL_TRY(sys::open(o.log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return errno_error("socketpair for the console");
    Fd console(pair[0]), qemu_end(pair[1]);

    auto loop = KEEL_TRY(loop::EventLoop::create());
    // Signals are taken before QEMU starts so that a Ctrl-C in between is not lost.
    loop::SignalWatch signals;
    std::optional<Child> child;
    // Ctrl-C: ACPI powerdown; then (timeout or a second Ctrl-C) QMP quit; then SIGKILL.
    enum class Stage { running, powering_down, quitting, killed } stage = Stage::running;
    std::chrono::nanoseconds powerdown_at{0};
    loop::Timer escalate(*loop, [&] {
        if (!child) return;
        if (stage == Stage::powering_down) {
            stage = Stage::quitting;
            log::warning("quitting QEMU (the guest is not powered off)");
            auto c = QmpClient::connect(control, 2s);
            if (c && c->quit()) {
                escalate.arm_after(5s);
                return;
            }
        }
        log::warning("QEMU does not quit: killing it");
        stage = Stage::killed;
        (void)sys::kill(child->pid, SIGKILL);
    });
    KEEL_TRY_STATUS(signals.start(*loop, {SIGINT, SIGTERM, SIGHUP}, [&](int signo) {
        if (!child || stage == Stage::killed) return;
        if (stage == Stage::running) {
            stage = Stage::powering_down;
            std::fprintf(stderr, "\r\nkeel boot: %s: powering the guest down (again to quit)\r\n",
                         strsignal(signo));
            auto c = QmpClient::connect(control, 2s);
            auto st = c ? c->system_powerdown() : Status(c.error());
            if (st) {
                powerdown_at = sys::monotonic_now();
                escalate.arm_after(o.powerdown_timeout);
                return;
            }
            log::warning("cannot ask for an ACPI powerdown: %s", st.error().message().c_str());
        }
        escalate.arm_after(0ns);
    }));

    auto argv = qemu_command(o, accel, forwards, control, qmp);
    child.emplace(KEEL_TRY(spawn(argv, qemu_end.get())));
    qemu_end = Fd();

    // The state file first: whoever sees the printed lines may read it at once.
    if (!o.state_path.empty()) {
        nlohmann::json state = {{"pid", child->pid},
                                {"accel", accel},
                                {"qmp", qmp},
                                {"log", o.log_path},
                                {"cpus", guest_cpus(o)}};
        for (const auto& f : forwards)
            state[f.name + "_port"] = f.host;
        state["bus"] = "nats://127.0.0.1:" + std::to_string(forwards[0].host);
        KEEL_TRY_STATUS(write_state_file(o.state_path, state));
    }
    // It describes a running guest: gone with it (a stale one would send
    // keel vm to a dead socket).
    struct StateFile {
        const std::string& path;
        ~StateFile() {
            if (!path.empty()) (void)sys::unlink_if_exists(path);
        }
    } state_file{o.state_path};

    std::fprintf(stderr, "keel boot: qemu pid %d, %s%s%s, %d CPUs\n", child->pid, accel.c_str(),
                 why.empty() ? "" : " (", why.empty() ? "" : (why + ")").c_str(), guest_cpus(o));
    for (const auto& f : forwards) {
        if (f.name == "bus")
            std::fprintf(stderr, "bus: nats://127.0.0.1:%u\n", f.host);
        else
            std::fprintf(stderr, "%s: 127.0.0.1:%u -> guest port %u\n", f.name.c_str(), f.host,
                         f.guest);
    }
    std::fprintf(stderr, "qmp: %s\n", qmp.c_str());
    if (!o.log_path.empty()) std::fprintf(stderr, "console: %s\n", o.log_path.c_str());
    if (o.ready_fd >= 0) {
        Fd ready(o.ready_fd);
        (void)sys::write(ready.get(), "\n", 1);
    }
    std::optional<TerminalMode> raw;
    loop::FdWatch in_watch, console_watch, exit_watch;
    const bool interactive = !o.headless;
    if (interactive && ::isatty(0)) raw.emplace(0);
    auto relay_out = [&]() -> bool {
        char buf[8192];
        auto n = sys::read(console.get(), buf, sizeof buf);
        if (!n || *n == 0) return false;
        if (interactive) (void)sys::write_all(1, buf, *n);
        if (log_fd) (void)sys::write_all(log_fd.get(), buf, *n);
        return true;
    };
    KEEL_TRY_STATUS(console_watch.start(*loop, console.get(), EPOLLIN, [&](uint32_t) {
        if (!relay_out()) console_watch.stop();
    }));
    if (interactive)
        KEEL_TRY_STATUS(in_watch.start(*loop, 0, EPOLLIN, [&](uint32_t) {
            char buf[1024];
            auto n = sys::read(0, buf, sizeof buf);
            if (!n || *n == 0) {
                in_watch.stop();
                return;
            }
            (void)sys::write_all(console.get(), buf, *n);
        }));
    int status = 0;
    KEEL_TRY_STATUS(exit_watch.start(*loop, child->pidfd.get(), EPOLLIN, [&](uint32_t) {
        if (::waitpid(child->pid, &status, WNOHANG) != child->pid) return;
        child->reaped = true;
        exit_watch.stop();
        loop->stop();
    }));
    KEEL_TRY_STATUS(loop->run());
    child.reset();
    // What QEMU wrote before exiting is still in the socket.
    (void)sys::set_nonblocking(console.get(), true);
    while (relay_out()) {
    }
    raw.reset();
    // How it ended, for people and scripts: did the guest honour the power button?
    switch (stage) {
        case Stage::running:
            break;
        case Stage::powering_down:
            std::fprintf(
                stderr, "keel boot: the guest powered off %.1f s after the ACPI power button\n",
                std::chrono::duration<double>(sys::monotonic_now() - powerdown_at).count());
            break;
        case Stage::quitting:
            std::fprintf(stderr, "keel boot: QEMU quit over QMP: the guest did not power off\n");
            break;
        case Stage::killed:
            break;
    }
    if (WIFSIGNALED(status)) {
        std::fprintf(stderr, "keel boot: qemu killed by %s\n", strsignal(WTERMSIG(status)));
        return 128 + WTERMSIG(status);
    }
    std::fprintf(stderr, "keel boot: qemu exited with status %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}

}  // namespace keel::image
