// DhcpClient: one busybox udhcpc per interface, supervised. Its script is our
// hook (`keel net dhcp-hook`), which prints each lease event as one line on
// udhcpc's standard output — a pipe to us; standard error is udhcpc's log. A
// client that exits is started again after a backoff (1 s doubling to 30 s,
// reset once it has run for a minute). Destroying it stops udhcpc (SIGTERM: with
// -R it releases the lease), waiting at most a second before SIGKILL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"
#include "net/dhcp_lease.h"
#include "net/line_buffer.h"

namespace keel::net {

struct DhcpClientOptions {
    std::string ifname;
    std::vector<std::string> udhcpc;  // command: {"/bin/busybox", "udhcpc"} or {"/sbin/udhcpc"}
    std::string hook;                 // script path
    std::string hostname;
};

// The udhcpc command found on this system: udhcpc, else busybox's.
std::vector<std::string> find_udhcpc();
// Writes the script udhcpc runs (a shell line exec'ing `keel net dhcp-hook`).
Status write_hook_script(const std::string& path, const std::string& keel_binary);

class DhcpClient {
  public:
    using LeaseHandler = std::function<void(const Lease&)>;
    // `loop` must outlive the client.
    DhcpClient(loop::EventLoop& loop, DhcpClientOptions options, LeaseHandler on_lease);
    ~DhcpClient();
    DhcpClient(const DhcpClient&) = delete;
    DhcpClient& operator=(const DhcpClient&) = delete;

    void start();
    pid_t pid() const { return pid_; }
    int restarts() const { return restarts_; }
    const DhcpClientOptions& options() const { return opts_; }

  private:
    void spawn();
    void on_output(bool is_stdout);
    void on_exit();
    void stop_child();

    loop::EventLoop& loop_;
    DhcpClientOptions opts_;
    LeaseHandler on_lease_;
    pid_t pid_ = -1;
    Fd pidfd_, out_, err_;
    loop::FdWatch pid_watch_, out_watch_, err_watch_;
    LineBuffer out_lines_, err_lines_;
    loop::Timer restart_timer_;
    std::chrono::nanoseconds started_{0};
    std::chrono::seconds backoff_{1};
    int restarts_ = 0;
};

}  // namespace keel::net
