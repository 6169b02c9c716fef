// Server: keel luad's event-driven core. Accepts connections on a unix socket,
// reads each request and the client's stdio fds, forks a child (child.h) when a
// slot is free, forwards the client's signals to the child's process group and
// answers with its exit status. Bounded everywhere: pending connections,
// concurrent children, request size, time to send a request.
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
#include "lua/luad/preload.h"

namespace keel::luad {

class Server {
  public:
    // `loop` must outlive the server.
    Server(loop::EventLoop& loop, LuadConfig config, std::vector<Preload> preloads);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Listens on config.socket.
    Status start();
    // Reaps children (call on SIGCHLD).
    void reap();
    // Stops accepting, refuses queued requests and sends SIGTERM to running
    // children (SIGKILL after `grace`); done() once the last has exited.
    void shutdown(std::chrono::nanoseconds grace);
    bool done() const { return stopping_ && children_.empty(); }

    size_t running() const { return children_.size(); }
    size_t pending() const { return conns_.size() - attached_children(); }

  private:
    struct Conn;
    void on_accept();
    void add_conn(Fd fd);
    void on_readable(Conn* c);
    void on_request_bytes(Conn* c, const char* p, size_t n);
    void on_signal_bytes(Conn* c, const char* p, size_t n);
    void ready(Conn* c);
    void start_queued();
    void fork_child(Conn* c);
    void refuse(Conn* c, int code, const std::string& why);
    void finish(Conn* c, const std::string& line);
    void close_conn(Conn* c);
    void update_accepting();
    size_t attached_children() const;

    loop::EventLoop& loop_;
    LuadConfig cfg_;
    std::vector<Preload> preloads_;
    rlimit open_files_{};
    Fd listen_fd_;
    loop::FdWatch listen_watch_;
    loop::Timer accept_retry_;
    loop::Timer kill_timer_;
    bool accept_paused_ = false;  // after EMFILE
    bool stopping_ = false;
    std::map<Conn*, std::unique_ptr<Conn>> conns_;
    std::deque<Conn*> queue_;          // complete requests waiting for a child slot
    std::map<pid_t, Conn*> children_;  // Conn* is null once the client went away
};

}  // namespace keel::luad
