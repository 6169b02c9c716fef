// Integration-test harness: starts the real `keel` binary (KEEL_BIN) and talks to
// it over real sockets. Everything here owns what it creates — temp dirs, fds,
// child processes — and gives it back in its destructor; a harness object only
// ever signals or reaps the PIDs it spawned itself.
//
// Waiting is event-driven: child exit through a pidfd, output through a pump
// thread and a condition variable, socket data through poll() with deadlines.
// Failures to set something up are thrown (GoogleTest reports them as test
// failures with the message); assertions are left to the tests.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "support/skip.h"
#include "support/source_tree.h"

namespace keel::loop {
class EventLoop;
}

namespace keel::it {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Sanitizer builds run the bus and the tests several times slower: timeouts are
// stretched and load is scaled down.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// A timeout, stretched under sanitizers.
inline Ms slow(Ms t) {
    return kSanitized ? t * 4 : t;
}
// An iteration count, reduced under sanitizers (never below 1).
inline int scaled(int n, int divisor = 4) {
    return kSanitized ? std::max(1, n / divisor) : n;
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
  public:
    TempDir();
    // Under `base` instead of $TMPDIR (e.g. where a PID namespace's init will not mount a tmpfs).
    explicit TempDir(const std::string& base);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  private:
    std::string path_;
};

// Writes a file atomically (temp file + rename), so a reader never sees half of it.
void write_file_atomic(const std::string& path, std::string_view contents);

struct ExitStatus {
    int code = -1;   // exit code when the process exited
    int signal = 0;  // the signal that killed it, else 0
    bool exited_ok() const { return signal == 0 && code == 0; }
    std::string describe() const;
};

// A child process with its stdout and stderr captured (optionally also copied to
// a log file) by a pump thread.
class Process {
  public:
    struct Spec {
        std::vector<std::string> argv;          // argv[0] is the program path
        std::optional<std::string> stdin_data;  // nothing: stdin is /dev/null
        bool merge_output = false;              // stderr into stdout (one stream, in order)
        std::string log_path;                   // if set, all output is appended here too
        int fd3 = -1;                           // if set, given to the child as its fd 3
    };
    // Throws std::runtime_error if the process cannot be spawned.
    explicit Process(Spec spec);
    // SIGTERM, then SIGKILL after a grace period, if the child has not been reaped.
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    // True until the child has been reaped by wait_exit().
    bool running();
    bool signal(int sig);
    // Waits for the child to exit and reaps it, then (up to 2 s) for the rest of its
    // output; nothing on timeout.
    std::optional<ExitStatus> wait_exit(Ms timeout);
    // Waits until the captured stdout (or stderr) contains `text` at or after byte `from`.
    bool wait_output(std::string_view text, Ms timeout, bool stderr_stream = false,
                     size_t from = 0);
    // Waits until the output pipes reached end of file (all output captured).
    bool wait_output_closed(Ms timeout);
    std::string out() const;
    std::string err() const;

  private:
    void pump();
    void terminate();

    Spec spec_;
    pid_t pid_ = -1;
    Fd pidfd_, stdin_w_, out_r_, err_r_, log_fd_, stop_r_, stop_w_;
    std::optional<ExitStatus> status_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string out_, err_;
    bool out_eof_ = false, err_eof_ = false;
};

// `keel ARGS...` to completion. `code` is the exit code, or 128+signal.
struct CliResult {
    int code = -1;
    std::string out, err;
    bool timed_out = false;
    std::string describe() const;  // for assertion messages
};
CliResult run_cli(std::vector<std::string> args,
                  std::optional<std::string> stdin_data = std::nullopt, Ms timeout = slow(10s));
// Starts `keel ARGS...` in the background.
std::unique_ptr<Process> start_cli(std::vector<std::string> args);
// Starts argv (which passes --ready-fd 3) and returns it once it wrote its
// readiness newline; throws if it does not within 10 s.
std::unique_ptr<Process> spawn_ready(const std::vector<std::string>& argv);
// `keel ARGS... --ready-fd 3`, returned once it is ready (its stdout stays its own).
std::unique_ptr<Process> start_ready(std::vector<std::string> args);

// A whole file's bytes ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// A file of the source tree, e.g. repo_file("examples/demo/system.lua").
inline std::string repo_file(const std::string& rel) {
    return source_file(rel);
}

// A loopback TCP port that was free a moment ago.
uint16_t free_port();

// RSS of a process in KiB (VmRSS), or -1 if it is gone.
long rss_kib(pid_t pid);

// `keel bus` on a free loopback port and a unix socket in its own temp dir.
class BusProcess {
  public:
    struct Options {
        std::vector<std::string> args;  // extra arguments, e.g. {"--max-pending", "1MiB"}
        uint16_t port = 0;              // 0: a free one
        bool unix_socket = true;
        std::string socket_path;  // default: <tempdir>/bus.sock
        // CONNECT JSON used by the readiness probe and stats() (for buses with --auth).
        std::string probe_connect = "{\"verbose\":false,\"pedantic\":false}";
    };
    BusProcess() : BusProcess(Options{}) {}
    explicit BusProcess(std::vector<std::string> args) : BusProcess(Options{std::move(args)}) {}
    explicit BusProcess(Options options);
    ~BusProcess();
    BusProcess(const BusProcess&) = delete;
    BusProcess& operator=(const BusProcess&) = delete;

    pid_t pid() const { return proc_ ? proc_->pid() : -1; }
    uint16_t port() const { return port_; }
    const std::string& socket_path() const { return socket_path_; }
    const std::string& dir() const { return dir_.path(); }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    std::string unix_url() const { return "unix:" + socket_path_; }
    std::string log() const;
    // Waits for `text` in the log at or after byte `from` (e.g. an earlier log().size()).
    bool wait_log(std::string_view text, Ms timeout, size_t from = 0);
    long rss_kib() const { return it::rss_kib(pid()); }
    bool signal(int sig) { return proc_ && proc_->signal(sig); }
    bool running() { return proc_ && proc_->running(); }
    std::optional<ExitStatus> wait_exit(Ms timeout);
    // Starts the bus again (same port, socket and arguments); stops it first if it runs.
    void restart();
    // bus.stats over a fresh connection; throws on failure.
    nlohmann::json stats() const;
    // Polls bus.stats until `pred` holds; returns the last answer (check pred again).
    nlohmann::json wait_stats(const std::function<bool(const nlohmann::json&)>& pred,
                              Ms timeout) const;

  private:
    void start();

    Options opts_;
    TempDir dir_;
    uint16_t port_ = 0;
    std::string socket_path_;
    std::string log_path_;
    std::unique_ptr<Process> proc_;
    std::string previous_logs_;  // output of earlier runs (restart)
};

// Client connections in a stats answer, not counting the harness's own stats probes.
int client_connections(const nlohmann::json& stats);
// Subscriptions of the connection named `name` in a stats answer, or -1 if absent.
int subscriptions_of(const nlohmann::json& stats, std::string_view name);

// One protocol unit read from a raw connection.
struct Frame {
    std::string op;  // "MSG", "HMSG", "PING", "PONG", "+OK", "-ERR", "INFO", or the raw line's verb
    std::string line;  // the control line without CRLF
    std::string subject, sid, reply;
    std::string payload;      // MSG/HMSG body (headers included for HMSG)
    std::string err() const;  // -ERR text without quotes
};

struct ConnOptions {
    bool read_info = true;  // wait for the INFO line
    int rcvbuf = 0;         // SO_RCVBUF before connect (0: kernel default)
    Ms timeout = slow(5s);
};

// A blocking-style raw client socket (TCP or unix) with deadlines on every wait.
class RawConn {
  public:
    RawConn() = default;
    RawConn(RawConn&&) = default;
    RawConn& operator=(RawConn&&) = default;

    using ConnectOptions = ConnOptions;
    // Throw std::runtime_error when the connection or the INFO line fails.
    static RawConn tcp(uint16_t port) { return tcp(port, ConnectOptions{}); }
    static RawConn tcp(uint16_t port, ConnectOptions o);
    static RawConn unix_socket(const std::string& path, ConnectOptions o = {});
    // Non-throwing connect: nothing on failure, errno value in *err.
    static std::optional<RawConn> try_tcp(uint16_t port, int* err, ConnectOptions o = {});
    static std::optional<RawConn> try_unix(const std::string& path, int* err,
                                           ConnectOptions o = {});

    int fd() const { return fd_.get(); }
    bool valid() const { return fd_.valid(); }
    const std::string& info() const { return info_; }
    nlohmann::json info_json() const;
    bool closed() const { return closed_; }

    // CONNECT (json) + PING, and waits for PONG; throws with any -ERR the server sent.
    void hello(std::string_view connect_json = "{\"verbose\":false,\"pedantic\":false}");
    // Writes all of `bytes` (waiting for the socket as needed); false if the peer is gone.
    bool send(std::string_view bytes, Ms timeout = slow(10s));
    // PING, then reads frames until PONG; MSGs seen meanwhile are appended to *msgs.
    bool ping(Ms timeout = slow(5s), std::vector<Frame>* msgs = nullptr);

    std::optional<std::string> read_line(Ms timeout);
    // Everything up to and including `text`; nothing on timeout or close.
    std::optional<std::string> read_until(std::string_view text, Ms timeout);
    std::optional<Frame> read_frame(Ms timeout);
    struct Drained {
        std::string data;
        bool closed = false;
    };
    // Reads until the peer closes (closed = true) or the timeout passes.
    Drained read_all_until_close(Ms timeout);

    // SO_LINGER {1, 0}: close() then sends RST instead of FIN.
    void set_linger_zero();
    void shutdown_write();
    void close() { fd_.reset(); }

  private:
    static std::optional<RawConn> connect_addr(int family, const void* addr, unsigned len, int* err,
                                               const ConnectOptions& o);
    // Reads what is available, waiting until the deadline for at least one byte.
    bool fill(Clock::time_point deadline);

    Fd fd_;
    std::string buf_;
    std::string info_;
    bool closed_ = false;
};

// Runs the event loop until `pred` holds (true) or the timeout passes (false).
bool run_until(loop::EventLoop& loop, const std::function<bool()>& pred, Ms timeout);

// For a stock program (lua5.4) that loads keel.so: in a sanitizer build the
// sanitizer runtimes must be loaded first, so `env` gets these (none otherwise).
std::vector<std::string> sanitizer_preload_env();

}  // namespace keel::it
