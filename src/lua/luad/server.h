// Server: keel luad's event-driven core. Accepts connections on a unix socket and
// learns who the client is from the socket alone (SO_PEERCRED): it never reads a
// request, so nothing of one client can reach another's child (child.h). A
// connection that has something to say gets a child forked ahead of time, within
// the global and per-user limits on running scripts; the child reads the request
// itself. The server then forwards the client's signals to the script's process
// group, enforces the wall-clock limit and answers with its exit status. Bounded
// everywhere: connections waiting (in all and per user), time to send a request,
// children.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "loop/event_loop.h"
#include "loop/fd_watch.h"
#include "loop/timer.h"
#include "lua/luad/config.h"
#include "lua/luad/load_policy.h"
#include "lua/luad/preload.h"

namespace keel::luad {

class Server {
  public:
    // `loop` must outlive the server.
    Server(loop::EventLoop& loop, LuadConfig config, std::vector<Preload> preloads);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Listens on config.socket and forks the first waiting children.
    Status start();
    // Reaps children (call on SIGCHLD).
    void reap();
    // Stops accepting, refuses waiting connections and sends SIGTERM to running
    // scripts (SIGKILL after `grace`); done() once the last child has exited.
    void shutdown(std::chrono::nanoseconds grace);
    bool done() const { return stopping_ && children_.empty(); }

    size_t running() const { return running_; }

  private:
    struct Conn;
    struct Child;
    void on_accept();
    void add_conn(Fd fd);
    void on_conn_event(Conn* c, uint32_t events);
    void on_signal_bytes(Conn* c);
    void start_queued();
    void hand_off(Conn* c);
    Child* fork_child();
    void top_up_waiting();
    void on_control(Child* ch);
    void refuse(Conn* c, int code, const std::string& why);
    void finish(Conn* c, const std::string& line);
    void close_conn(Conn* c);
    void forget_pending(Conn* c);
    std::string answer(const Child& ch, int status, const rusage& ru) const;
    bool limited(uid_t uid) const { return uid != own_uid_; }

    loop::EventLoop& loop_;
    LuadConfig cfg_;
    std::vector<Preload> preloads_;
    LoadPolicy policy_;
    uid_t own_uid_;
    rlimit open_files_{};
    Fd listen_fd_;
    loop::FdWatch listen_watch_;
    loop::Timer accept_retry_;
    loop::Timer top_up_;  // forks waiting children when the moment is right
    loop::Timer kill_timer_;
    bool accept_paused_ = false;  // after EMFILE
    bool stopping_ = false;
    std::map<Conn*, std::unique_ptr<Conn>> conns_;
    std::deque<Conn*> queue_;  // have sent something, wait for a slot
    std::map<pid_t, std::unique_ptr<Child>> children_;
    std::deque<Child*> waiting_;  // forked ahead, not yet given a client
    size_t pending_ = 0;          // connections not yet handed off
    size_t running_ = 0;          // children given a client, until reaped
    std::map<uid_t, size_t> pending_of_, running_of_;
};

}  // namespace keel::luad
