#include "integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "loop/event_loop.h"
#include "loop/timer.h"

extern char** environ;

namespace keel::it {
namespace {

// The test process writes to sockets whose peers die on purpose: EPIPE, not SIGPIPE.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

[[noreturn]] void fail_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

int ms_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    return static_cast<int>(std::min<long long>(left, 1 << 30));
}

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) fail_errno("fcntl");
}

struct Pipe {
    Fd r, w;
};
Pipe make_pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) fail_errno("pipe2");
    return {Fd(p[0]), Fd(p[1])};
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir()
    : TempDir(std::getenv("TMPDIR") && *std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") {}

TempDir::TempDir(const std::string& base) {
    std::string tmpl = base + "/keel-it-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) fail_errno("mkdtemp " + tmpl);
    path_ = buf.data();
}

TempDir::~TempDir() {
    if (const char* keep = std::getenv("KEEL_IT_KEEP"); keep && *keep == '1') return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file_atomic(const std::string& path, std::string_view contents) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error("cannot write " + tmp);
        f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        if (!f) throw std::runtime_error("cannot write " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("rename " + tmp);
}

// ---- Process ----

std::string ExitStatus::describe() const {
    if (signal)
        return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "exit code " + std::to_string(code);
}

Process::Process(Spec spec) : spec_(std::move(spec)) {
    if (spec_.argv.empty()) throw std::runtime_error("Process: empty argv");
    Pipe out = make_pipe();
    Pipe err = spec_.merge_output ? Pipe{} : make_pipe();
    Pipe in = spec_.stdin_data ? make_pipe() : Pipe{};
    Pipe stop = make_pipe();
    if (!spec_.log_path.empty()) {
        log_fd_ =
            Fd(::open(spec_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        if (!log_fd_) fail_errno("open " + spec_.log_path);
    }
    Fd fd3;
    if (spec_.fd3 >= 0) {
        // dup2(3, 3) would keep close-on-exec: make sure the source is not 3 already.
        fd3 = Fd(::fcntl(spec_.fd3, F_DUPFD_CLOEXEC, 10));
        if (!fd3) fail_errno("fcntl F_DUPFD_CLOEXEC");
    }

    // Nothing below throws until both spawn objects are destroyed again.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in.r)
        posix_spawn_file_actions_adddup2(&fa, in.r.get(), 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out.w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, spec_.merge_output ? out.w.get() : err.w.get(), 2);
    if (fd3) posix_spawn_file_actions_adddup2(&fa, fd3.get(), 3);

    // The child starts with default dispositions and nothing blocked, whatever the
    // test process did (it ignores SIGPIPE).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2})
        sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    for (auto& a : spec_.argv)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, argv[0], &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw std::runtime_error("cannot spawn " + spec_.argv[0] + ": " + std::strerror(rc));

    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pfd < 0) {
        // Cannot wait for it safely: do not leave it behind.
        ::kill(pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
        fail_errno("pidfd_open");
    }
    pidfd_ = Fd(pfd);
    // Our copies of the child's ends go; the pipes then end when the child does.
    out_r_ = std::move(out.r);
    err_r_ = std::move(err.r);
    stdin_w_ = std::move(in.w);
    stop_r_ = std::move(stop.r);
    stop_w_ = std::move(stop.w);
    set_nonblocking(out_r_.get());
    if (err_r_)
        set_nonblocking(err_r_.get());
    else
        err_eof_ = true;
    if (stdin_w_) set_nonblocking(stdin_w_.get());
    thread_ = std::thread([this] { pump(); });
}

Process::~Process() {
    terminate();
    if (stop_w_) {
        char c = 1;
        ssize_t ignored = ::write(stop_w_.get(), &c, 1);
        (void)ignored;
    }
    if (thread_.joinable()) thread_.join();
}

void Process::terminate() {
    if (!running()) return;
    signal(SIGTERM);
    if (wait_exit(slow(5s))) return;
    signal(SIGKILL);
    (void)wait_exit(slow(10s));
}

void Process::pump() {
    const std::string& input = spec_.stdin_data ? *spec_.stdin_data : std::string();
    size_t in_off = 0;
    if (stdin_w_ && input.empty()) stdin_w_.reset();
    bool stopping = false;
    char buf[64 * 1024];
    auto drain = [&](Fd& fd, std::string& into, bool& eof) {
        for (;;) {
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            if (n > 0) {
                if (log_fd_) {
                    ssize_t ignored = ::write(log_fd_.get(), buf, static_cast<size_t>(n));
                    (void)ignored;
                }
                std::lock_guard lock(mu_);
                into.append(buf, static_cast<size_t>(n));
                cv_.notify_all();
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            std::lock_guard lock(mu_);
            eof = true;
            cv_.notify_all();
            return;
        }
    };
    for (;;) {
        bool out_eof, err_eof;
        {
            std::lock_guard lock(mu_);
            out_eof = out_eof_;
            err_eof = err_eof_;
        }
        if (stopping || (out_eof && err_eof)) break;
        pollfd fds[4];
        int n = 0, i_out = -1, i_err = -1, i_in = -1;
        if (!out_eof) fds[i_out = n++] = {out_r_.get(), POLLIN, 0};
        if (!err_eof) fds[i_err = n++] = {err_r_.get(), POLLIN, 0};
        if (stdin_w_) fds[i_in = n++] = {stdin_w_.get(), POLLOUT, 0};
        const int i_stop = n;
        fds[n++] = {stop_r_.get(), POLLIN, 0};
        if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (i_out >= 0 && fds[i_out].revents) drain(out_r_, out_, out_eof_);
        if (i_err >= 0 && fds[i_err].revents) drain(err_r_, err_, err_eof_);
        if (i_in >= 0 && fds[i_in].revents) {
            ssize_t w = ::write(stdin_w_.get(), input.data() + in_off, input.size() - in_off);
            if (w > 0) in_off += static_cast<size_t>(w);
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == input.size())
                stdin_w_.reset();
        }
        if (fds[i_stop].revents) {
            // The child is gone: take what is left in the pipes and stop.
            stopping = true;
            if (!out_eof_) drain(out_r_, out_, out_eof_);
            if (!err_eof_ && err_r_) drain(err_r_, err_, err_eof_);
        }
    }
    std::lock_guard lock(mu_);
    out_eof_ = err_eof_ = true;
    cv_.notify_all();
}

bool Process::running() {
    if (status_) return false;
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {
        (void)wait_exit(0ms);
        return !status_;
    }
    return true;
}

bool Process::signal(int sig) {
    if (status_) return false;  // reaped: the PID may belong to someone else now
    return ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) == 0;
}

std::optional<ExitStatus> Process::wait_exit(Ms timeout) {
    if (status_) return status_;
    pollfd p{pidfd_.get(), POLLIN, 0};
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int r = ::poll(&p, 1, ms_left(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return std::nullopt;
        break;
    }
    int st = 0;
    pid_t r;
    do
        r = ::waitpid(pid_, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid_) return std::nullopt;
    ExitStatus s;
    if (WIFEXITED(st))
        s.code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st))
        s.signal = WTERMSIG(st);
    status_ = s;
    // What it printed last may still be in the pipes: out() after wait_exit() has
    // all of it (bounded: a grandchild may hold the pipes open).
    wait_output_closed(slow(5s));
    return status_;
}

bool Process::wait_output(std::string_view text, Ms timeout, bool stderr_stream, size_t from) {
    std::unique_lock lock(mu_);
    const std::string& s = stderr_stream ? err_ : out_;
    const bool& eof = stderr_stream ? err_eof_ : out_eof_;
    auto found = [&] { return s.size() > from && s.find(text, from) != std::string::npos; };
    return cv_.wait_for(lock, timeout, [&] { return found() || eof; }) && found();
}

bool Process::wait_output_closed(Ms timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return out_eof_ && err_eof_; });
}

std::string Process::out() const {
    std::lock_guard lock(mu_);
    return out_;
}

std::string Process::err() const {
    std::lock_guard lock(mu_);
    return err_;
}

// ---- CLI ----

std::string CliResult::describe() const {
    return "exit " + std::to_string(code) + (timed_out ? " (timed out)" : "") +
           "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
}

CliResult run_cli(std::vector<std::string> args, std::optional<std::string> stdin_data,
                  Ms timeout) {
    args.insert(args.begin(), KEEL_BIN);
    Process p({std::move(args), std::move(stdin_data), false, ""});
    CliResult r;
    auto st = p.wait_exit(timeout);
    if (!st) {
        r.timed_out = true;
        p.signal(SIGKILL);
        st = p.wait_exit(slow(10s));
    }
    if (st) r.code = st->signal ? 128 + st->signal : st->code;
    r.out = p.out();
    r.err = p.err();
    return r;
}

std::unique_ptr<Process> start_cli(std::vector<std::string> args) {
    args.insert(args.begin(), KEEL_BIN);
    return std::make_unique<Process>(Process::Spec{std::move(args), std::nullopt, false, ""});
}

std::unique_ptr<Process> spawn_ready(const std::vector<std::string>& argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    Fd r(p[0]), w(p[1]);
    Process::Spec spec{argv};
    spec.fd3 = w.get();
    auto proc = std::make_unique<Process>(spec);
    w.reset();
    pollfd pfd{r.get(), POLLIN, 0};
    char c = 0;
    if (::poll(&pfd, 1, static_cast<int>(slow(10s).count())) != 1 || ::read(r.get(), &c, 1) != 1)
        throw std::runtime_error(argv[0] + " did not become ready: " + proc->err());
    return proc;
}

std::unique_ptr<Process> start_ready(std::vector<std::string> args) {
    std::vector<std::string> argv = {KEEL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--ready-fd", "3"});
    return spawn_ready(argv);
}

// ---- misc ----

uint16_t free_port() {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) fail_errno("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail_errno("bind");
    socklen_t len = sizeof a;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        fail_errno("getsockname");
    return ntohs(a.sin_port);
}

long rss_kib(pid_t pid) {
    if (pid <= 0) return -1;
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

bool run_until(loop::EventLoop& loop, const std::function<bool()>& pred, Ms timeout) {
    bool expired = false;
    loop::Timer t(loop, [&] { expired = true; });
    t.arm_after(timeout);
    while (!pred() && !expired) {
        if (!loop.run_once(Ms(-1))) return false;
    }
    return pred();
}

// ---- BusProcess ----

BusProcess::BusProcess(Options options) : opts_(std::move(options)) {
    port_ = opts_.port;
    socket_path_ = opts_.socket_path.empty() ? dir_.file("bus.sock") : opts_.socket_path;
    log_path_ = dir_.file("bus.log");
    start();
}

BusProcess::~BusProcess() {
    std::optional<ExitStatus> st;
    bool was_running = proc_ && proc_->running();
    if (was_running) {
        proc_->signal(SIGTERM);
        st = proc_->wait_exit(slow(10s));
        if (st && !st->exited_ok())
            ADD_FAILURE() << "keel bus did not shut down cleanly on SIGTERM: " << st->describe();
        if (!st) ADD_FAILURE() << "keel bus did not exit within 10 s of SIGTERM";
    }
    const std::string text = log();
    for (const char* bad : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
        if (text.find(bad) != std::string::npos) ADD_FAILURE() << "sanitizer report in the bus log";
    }
    // During unwinding (a harness exception) the failure is not recorded yet.
    if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0)
        std::cerr << "----- keel bus log (" << dir() << ") -----\n"
                  << text << "----- end of bus log -----\n";
    proc_.reset();  // SIGKILL only if SIGTERM did not work
}

std::string BusProcess::log() const {
    return previous_logs_ + (proc_ ? proc_->out() : std::string());
}

bool BusProcess::wait_log(std::string_view text, Ms timeout, size_t from) {
    if (from < previous_logs_.size() && previous_logs_.find(text, from) != std::string::npos)
        return true;
    const size_t skip = from > previous_logs_.size() ? from - previous_logs_.size() : 0;
    return proc_ && proc_->wait_output(text, timeout, false, skip);
}

std::optional<ExitStatus> BusProcess::wait_exit(Ms timeout) {
    if (!proc_) return std::nullopt;
    return proc_->wait_exit(timeout);
}

void BusProcess::restart() {
    if (proc_) {
        if (proc_->running()) {
            proc_->signal(SIGTERM);
            if (!proc_->wait_exit(slow(10s)))
                throw std::runtime_error("bus did not stop for a restart");
        }
        previous_logs_ += proc_->out();
        proc_.reset();
    }
    start();
}

void BusProcess::start() {
    const bool fixed_port = port_ != 0;  // given, or a restart keeping its port
    for (int attempt = 0;; ++attempt) {
        if (!fixed_port) port_ = free_port();
        std::vector<std::string> argv = {KEEL_BIN,     "bus",
                                         "--listen",   "127.0.0.1:" + std::to_string(port_),
                                         "--socket",   opts_.unix_socket ? socket_path_ : "none",
                                         "--ready-fd", "3"};
        argv.insert(argv.end(), opts_.args.begin(), opts_.args.end());
        // Readiness (s6-style): the bus writes a newline to fd 3 once it listens and
        // handles its signals; end of file instead means it failed to start.
        Pipe ready = make_pipe();
        Process::Spec spec{argv, std::nullopt, true, log_path_};
        spec.fd3 = ready.w.get();
        proc_ = std::make_unique<Process>(spec);
        ready.w.reset();
        pollfd p{ready.r.get(), POLLIN, 0};
        char c = 0;
        const bool ready_ok = ::poll(&p, 1, static_cast<int>(slow(10s).count())) == 1 &&
                              ::read(ready.r.get(), &c, 1) == 1 && c == '\n';
        if (ready_ok) {
            // INFO on a fresh connection: the loop runs and accepts.
            int err = 0;
            auto conn = RawConn::try_tcp(port_, &err);
            if (conn && conn->info().rfind("INFO ", 0) == 0) return;
            throw std::runtime_error("keel bus is not answering on port " + std::to_string(port_) +
                                     ": " + (err ? std::strerror(err) : "no INFO") + "\n" +
                                     proc_->out());
        }
        auto st = proc_->wait_exit(slow(5s));
        std::string out = proc_->out();
        if (st && !fixed_port && attempt < 3 &&
            out.find("Address already in use") != std::string::npos) {
            previous_logs_ += out;  // someone took the port meanwhile: pick another
            continue;
        }
        throw std::runtime_error("keel bus did not become ready (" +
                                 (st ? st->describe() : "still running") + "):\n" + out);
    }
}

nlohmann::json BusProcess::stats() const {
    auto connect = nlohmann::json::parse(opts_.probe_connect);
    connect["name"] = "it-stats";
    RawConn c = RawConn::tcp(port_);
    c.hello(connect.dump());
    if (!c.send("SUB _INBOX.it-stats 1\r\nPUB bus.stats _INBOX.it-stats 0\r\n\r\n"))
        throw std::runtime_error("stats: send failed");
    const auto deadline = Clock::now() + slow(5s);
    for (;;) {
        auto f =
            c.read_frame(std::max(Ms(1), std::chrono::duration_cast<Ms>(deadline - Clock::now())));
        if (!f) throw std::runtime_error("stats: no answer from bus.stats");
        if (f->op == "MSG") return nlohmann::json::parse(f->payload);
        if (f->op == "-ERR") throw std::runtime_error("stats: -ERR " + f->err());
        if (f->op == "PING") c.send("PONG\r\n");
    }
}

nlohmann::json BusProcess::wait_stats(const std::function<bool(const nlohmann::json&)>& pred,
                                      Ms timeout) const {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        nlohmann::json j = stats();
        if (pred(j) || Clock::now() >= deadline) return j;
        // Nothing announces these changes (e.g. a session reaped): poll, gently.
        ::poll(nullptr, 0, 20);
    }
}

int client_connections(const nlohmann::json& stats) {
    int n = 0;
    for (const auto& c : stats.at("connection_details"))
        if (c.value("name", "") != "it-stats") ++n;
    return n;
}

int subscriptions_of(const nlohmann::json& stats, std::string_view name) {
    for (const auto& c : stats.at("connection_details"))
        if (c.value("name", "") == name) return c.value("subscriptions", 0);
    return -1;
}

// ---- RawConn ----

std::string Frame::err() const {
    std::string t = line.size() > 5 ? line.substr(5) : std::string();
    if (t.size() >= 2 && t.front() == '\'' && t.back() == '\'') t = t.substr(1, t.size() - 2);
    return t;
}

std::optional<RawConn> RawConn::connect_addr(int family, const void* addr, unsigned len, int* err,
                                             const ConnectOptions& o) {
    *err = 0;
    Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) fail_errno("socket");
    if (o.rcvbuf > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof o.rcvbuf);
    if (family == AF_INET) {
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (::connect(fd.get(), static_cast<const sockaddr*>(addr), len) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            *err = errno;
            return std::nullopt;
        }
        pollfd p{fd.get(), POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(o.timeout.count())) != 1) {
            *err = ETIMEDOUT;
            return std::nullopt;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            *err = soerr;
            return std::nullopt;
        }
    }
    RawConn c;
    c.fd_ = std::move(fd);
    if (o.read_info) {
        auto line = c.read_line(o.timeout);
        if (!line) {
            *err = c.closed_ ? ECONNRESET : ETIMEDOUT;
            return std::nullopt;
        }
        c.info_ = *line;
    }
    return c;
}

std::optional<RawConn> RawConn::try_tcp(uint16_t port, int* err, ConnectOptions o) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect_addr(AF_INET, &a, sizeof a, err, o);
}

std::optional<RawConn> RawConn::try_unix(const std::string& path, int* err, ConnectOptions o) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path)
        throw std::runtime_error("unix socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return connect_addr(AF_UNIX, &a, sizeof a, err, o);
}

RawConn RawConn::tcp(uint16_t port, ConnectOptions o) {
    int err = 0;
    auto c = try_tcp(port, &err, o);
    if (!c)
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                                 std::strerror(err));
    return std::move(*c);
}

RawConn RawConn::unix_socket(const std::string& path, ConnectOptions o) {
    int err = 0;
    auto c = try_unix(path, &err, o);
    if (!c) throw std::runtime_error("cannot connect to unix:" + path + ": " + std::strerror(err));
    return std::move(*c);
}

nlohmann::json RawConn::info_json() const {
    if (info_.rfind("INFO ", 0) != 0) return nullptr;
    return nlohmann::json::parse(info_.substr(5));
}

bool RawConn::fill(Clock::time_point deadline) {
    if (closed_ || !fd_) return false;
    char tmp[64 * 1024];
    for (;;) {
        ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, 0);
        if (n > 0) {
            buf_.append(tmp, static_cast<size_t>(n));
            return true;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            closed_ = true;  // EOF, or ECONNRESET and friends
            return false;
        }
        if (errno == EINTR) continue;
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, ms_left(deadline));
        if (r == 0) return false;
        if (r < 0 && errno != EINTR) return false;
    }
}

bool RawConn::send(std::string_view bytes, Ms timeout) {
    if (!fd_) return false;
    const auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return false;
        pollfd p{fd_.get(), POLLOUT, 0};
        if (::poll(&p, 1, ms_left(deadline)) <= 0) return false;
    }
    return true;
}

std::optional<std::string> RawConn::read_line(Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    size_t scanned = 0;
    for (;;) {
        if (auto nl = buf_.find('\n', scanned); nl != std::string::npos) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        scanned = buf_.size();
        if (!fill(deadline)) return std::nullopt;
    }
}

std::optional<std::string> RawConn::read_until(std::string_view text, Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto at = buf_.find(text); at != std::string::npos) {
            std::string out = buf_.substr(0, at + text.size());
            buf_.erase(0, at + text.size());
            return out;
        }
        if (!fill(deadline)) return std::nullopt;
    }
}

std::optional<Frame> RawConn::read_frame(Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    auto line = read_line(timeout);
    if (!line) return std::nullopt;
    Frame f;
    f.line = *line;
    std::istringstream in(f.line);
    std::vector<std::string> tok;
    for (std::string t; in >> t;)
        tok.push_back(t);
    f.op = tok.empty() ? std::string() : tok[0];
    for (auto& ch : f.op)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (f.op != "MSG" && f.op != "HMSG") return f;
    // MSG subject sid [reply] size / HMSG subject sid [reply] hdr_size total_size
    const size_t fixed = f.op == "MSG" ? 4 : 5;
    if (tok.size() != fixed && tok.size() != fixed + 1)
        throw std::runtime_error("bad frame: " + f.line);
    f.subject = tok[1];
    f.sid = tok[2];
    if (tok.size() == fixed + 1) f.reply = tok[3];
    const size_t size = std::stoul(tok.back());
    while (buf_.size() < size + 2) {
        if (!fill(deadline)) return std::nullopt;
    }
    f.payload = buf_.substr(0, size);
    if (buf_.compare(size, 2, "\r\n") != 0)
        throw std::runtime_error("payload not followed by CRLF: " + f.line);
    buf_.erase(0, size + 2);
    return f;
}

RawConn::Drained RawConn::read_all_until_close(Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_ && Clock::now() < deadline)
        fill(deadline);
    Drained d{std::move(buf_), closed_};
    buf_.clear();
    return d;
}

void RawConn::hello(std::string_view connect_json) {
    if (!send("CONNECT " + std::string(connect_json) + "\r\nPING\r\n"))
        throw std::runtime_error("hello: send failed");
    const auto deadline = Clock::now() + slow(5s);
    for (;;) {
        auto f =
            read_frame(std::max(Ms(1), std::chrono::duration_cast<Ms>(deadline - Clock::now())));
        if (!f) throw std::runtime_error(closed_ ? "hello: connection closed" : "hello: no PONG");
        if (f->op == "PONG") return;
        if (f->op == "-ERR") throw std::runtime_error("hello: -ERR " + f->err());
    }
}

bool RawConn::ping(Ms timeout, std::vector<Frame>* msgs) {
    if (!send("PING\r\n")) return false;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        auto f = read_frame(left);
        if (!f) return false;
        if (f->op == "PONG") return true;
        if (f->op == "PING")
            send("PONG\r\n");
        else if (msgs)
            msgs->push_back(std::move(*f));
    }
}

void RawConn::set_linger_zero() {
    linger l{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void RawConn::shutdown_write() {
    ::shutdown(fd_.get(), SHUT_WR);
}

std::vector<std::string> sanitizer_preload_env() {
    if (!kSanitized) return {};
    auto lib = [](const char* name) {
        std::string out;
        if (FILE* p = ::popen(("gcc -print-file-name=" + std::string(name)).c_str(), "r")) {
            char buf[512];
            while (size_t n = std::fread(buf, 1, sizeof buf, p))
                out.append(buf, n);
            ::pclose(p);
        }
        while (!out.empty() && out.back() == '\n')
            out.pop_back();
        return out;
    };
    return {"LD_PRELOAD=" + lib("libasan.so") + " " + lib("libubsan.so"),
            "ASAN_OPTIONS=detect_leaks=0"};
}

}  // namespace keel::it
