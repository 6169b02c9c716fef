#include "lua/luad/server.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/endpoint.h"
#include "base/log.h"
#include "base/sys.h"
#include "lua/luad/child.h"
#include "lua/luad/request.h"
#include "lua/luad/wire.h"

namespace keel::luad {
namespace {

constexpr int kExitUsage = 100;
constexpr int kExitTemporary = 111;

// Signals a client may forward to its script.
bool forwardable(int sig) {
    switch (sig) {
        case SIGHUP:
        case SIGINT:
        case SIGQUIT:
        case SIGTERM:
        case SIGUSR1:
        case SIGUSR2:
        case SIGWINCH:
        case SIGALRM:
        case SIGCONT:
            return true;
        default:
            return false;
    }
}

void signal_group(pid_t pid, int sig) {
    // Before the child's setsid() its group does not exist yet: signal it directly.
    if (::kill(-pid, sig) < 0) ::kill(pid, sig);
}

}  // namespace

struct Server::Conn {
    Fd fd;
    loop::FdWatch watch;
    std::unique_ptr<loop::Timer> timeout;
    RequestParser parser;
    Fd stdio[3];
    bool got_fds = false;
    ucred cred{};
    std::vector<gid_t> groups;
    pid_t pid = -1;                  // the child, once forked
    std::vector<int> early_signals;  // forwarded before the child existed
    bool queued = false;

    explicit Conn(size_t max) : parser(max) {}
};

Server::Server(loop::EventLoop& loop, LuadConfig config, std::vector<Preload> preloads)
    : loop_(loop),
      cfg_(std::move(config)),
      preloads_(std::move(preloads)),
      accept_retry_(loop,
                    [this] {
                        accept_paused_ = false;
                        update_accepting();
                    }),
      kill_timer_(loop, [this] {
          for (auto& [pid, c] : children_)
              signal_group(pid, SIGKILL);
      }) {
    // Every pending client holds up to four fds: make room, but give children
    // the limit the server started with.
    ::getrlimit(RLIMIT_NOFILE, &open_files_);
    rlimit raised = open_files_;
    raised.rlim_cur = raised.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &raised);
}

Server::~Server() {
    listen_watch_.stop();
    if (listen_fd_) (void)sys::unlink_if_exists(cfg_.socket);
}

Status Server::start() {
    Endpoint ep;
    ep.kind = Endpoint::Kind::kUnix;
    ep.path = cfg_.socket;
    listen_fd_ = KEEL_TRY(listen_on(ep, cfg_.socket_mode));
    KEEL_TRY_STATUS(
        listen_watch_.start(loop_, listen_fd_.get(), EPOLLIN, [this](uint32_t) { on_accept(); }));
    return {};
}

size_t Server::attached_children() const {
    size_t n = 0;
    for (const auto& [pid, c] : children_)
        if (c) ++n;
    return n;
}

void Server::update_accepting() {
    if (!listen_fd_) return;
    bool want = !stopping_ && !accept_paused_ && pending() < cfg_.max_pending;
    if (want && !listen_watch_.active()) {
        (void)listen_watch_.start(loop_, listen_fd_.get(), EPOLLIN,
                                  [this](uint32_t) { on_accept(); });
    } else if (!want && listen_watch_.active()) {
        listen_watch_.stop();
    }
}

void Server::on_accept() {
    while (!stopping_ && pending() < cfg_.max_pending) {
        auto fd = sys::accept(listen_fd_.get(), nullptr, nullptr);
        if (!fd) {
            int err = fd.error().code();
            log::warning("cannot accept: %s", fd.error().message().c_str());
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of fds: wait for some to come back rather than spin.
                accept_paused_ = true;
                accept_retry_.arm_after(std::chrono::milliseconds(100));
            }
            break;
        }
        if (!fd->valid()) break;
        add_conn(std::move(fd).value());
    }
    update_accepting();
}

void Server::add_conn(Fd fd) {
    auto owned = std::make_unique<Conn>(cfg_.max_request);
    Conn* c = owned.get();
    c->fd = std::move(fd);
    conns_.emplace(c, std::move(owned));
    socklen_t len = sizeof c->cred;
    if (::getsockopt(c->fd.get(), SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
        refuse(c, kExitTemporary,
               std::string("cannot read the client's credentials: ") + std::strerror(errno));
        return;
    }
    // Supplementary groups as the kernel recorded them at connect().
    std::vector<gid_t> groups(64);
    for (;;) {
        len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(c->fd.get(), SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
            groups.resize(len / sizeof(gid_t));
            break;
        }
        if (errno != ERANGE || groups.size() > 65536) {
            refuse(c, kExitTemporary,
                   std::string("cannot read the client's groups: ") + std::strerror(errno));
            return;
        }
        groups.resize(len / sizeof(gid_t) + 1);
    }
    c->groups = std::move(groups);
    if (::geteuid() != 0 && c->cred.uid != ::geteuid()) {
        refuse(c, kExitUsage,
               "keel luad runs as uid " + std::to_string(::geteuid()) +
                   " and cannot run scripts for uid " + std::to_string(c->cred.uid));
        return;
    }
    c->timeout = std::make_unique<loop::Timer>(loop_, [this, c] {
        refuse(c, kExitUsage,
               "incomplete request (nothing more for " +
                   std::to_string(cfg_.request_timeout.count() / 1000000) + " ms)");
    });
    c->timeout->arm_after(cfg_.request_timeout);
    auto st = c->watch.start(loop_, c->fd.get(), EPOLLIN, [this, c](uint32_t) { on_readable(c); });
    if (!st) refuse(c, kExitTemporary, st.error().message());
}

void Server::on_readable(Conn* c) {
    for (int round = 0; round < 16; ++round) {
        char buf[16384];
        alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(c->fd.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            log::debug("client pid %d: %s", c->cred.pid, std::strerror(errno));
            if (c->pid > 0) signal_group(c->pid, SIGHUP);
            close_conn(c);
            return;
        }
        // Take ownership of every fd that arrived before looking at anything else.
        std::vector<Fd> fds;
        for (cmsghdr* h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
                fds.emplace_back(fd);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC) {
            refuse(c, kExitUsage,
                   "request carried more file descriptors than stdin, stdout and stderr");
            return;
        }
        if (!fds.empty()) {
            if (c->got_fds || fds.size() != 3) {
                refuse(c, kExitUsage, "request must carry exactly three file descriptors, once");
                return;
            }
            for (int i = 0; i < 3; ++i)
                c->stdio[i] = std::move(fds[i]);
            c->got_fds = true;
        }
        if (n == 0) {
            if (c->pid > 0) {
                // The client went away: hang up on its script, like a terminal would.
                log::debug("client of pid %d hung up", c->pid);
                signal_group(c->pid, SIGHUP);
                signal_group(c->pid, SIGCONT);
                children_[c->pid] = nullptr;
            } else if (c->parser.state() == RequestParser::State::kNeedMore) {
                log::debug("client pid %d disconnected before its request was complete",
                           c->cred.pid);
            }
            close_conn(c);
            return;
        }
        if (c->parser.state() == RequestParser::State::kNeedMore)
            on_request_bytes(c, buf, static_cast<size_t>(n));
        else
            on_signal_bytes(c, buf, static_cast<size_t>(n));
        if (!conns_.count(c)) return;  // refused
        if (static_cast<size_t>(n) < sizeof buf) return;
    }
}

void Server::on_request_bytes(Conn* c, const char* p, size_t n) {
    size_t used = c->parser.feed({p, n});
    if (c->parser.state() == RequestParser::State::kError) {
        refuse(c, kExitUsage, "bad request: " + c->parser.error());
        return;
    }
    if (c->parser.state() != RequestParser::State::kDone) return;
    if (!c->got_fds) {
        refuse(c, kExitUsage, "request came without the client's stdin, stdout and stderr");
        return;
    }
    c->timeout.reset();
    on_signal_bytes(c, p + used, n - used);
    ready(c);
}

void Server::on_signal_bytes(Conn* c, const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        int sig = static_cast<unsigned char>(p[i]);
        if (!forwardable(sig)) continue;
        if (c->pid > 0)
            signal_group(c->pid, sig);
        else if (c->early_signals.size() < 16)
            c->early_signals.push_back(sig);
    }
}

void Server::ready(Conn* c) {
    c->queued = true;
    queue_.push_back(c);
    start_queued();
}

void Server::start_queued() {
    while (!queue_.empty() && children_.size() < cfg_.max_children && !stopping_) {
        Conn* c = queue_.front();
        queue_.pop_front();
        c->queued = false;
        fork_child(c);
    }
    update_accepting();
}

void Server::fork_child(Conn* c) {
    ChildSpec spec;
    for (int i = 0; i < 3; ++i)
        spec.fds[i] = c->stdio[i].get();
    spec.uid = c->cred.uid;
    spec.gid = c->cred.gid;
    spec.groups = c->groups;
    spec.switch_user = ::geteuid() == 0;
    spec.request = &c->parser.request();
    spec.config = &cfg_;
    spec.preloads = &preloads_;
    spec.open_files = open_files_;
    std::fflush(nullptr);  // nothing buffered here may be written twice
    pid_t pid = ::fork();
    if (pid == 0) run_child(spec);
    if (pid < 0) {
        refuse(c, kExitTemporary, std::string("cannot fork: ") + std::strerror(errno));
        return;
    }
    c->pid = pid;
    children_[pid] = c;
    // The child has its copies; the server keeps none of the client's stdio.
    for (auto& fd : c->stdio)
        fd.reset();
    log::debug("pid %d: uid %u runs %s", pid, c->cred.uid, c->parser.request().script.c_str());
    for (int sig : c->early_signals)
        signal_group(pid, sig);
    c->early_signals.clear();
    c->parser.request() = RunRequest{};
}

void Server::reap() {
    for (;;) {
        int status;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        auto it = children_.find(pid);
        if (it == children_.end()) continue;
        Conn* c = it->second;
        children_.erase(it);
        if (c) {
            char line[64];
            if (WIFSIGNALED(status))
                std::snprintf(line, sizeof line, "signal %d\n", WTERMSIG(status));
            else
                std::snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(status));
            finish(c, line);
        }
    }
    if (stopping_ && children_.empty()) kill_timer_.cancel();
    start_queued();
}

void Server::refuse(Conn* c, int code, const std::string& why) {
    log::debug("refused client pid %d: %s", c->cred.pid, why.c_str());
    std::string line = "error " + std::to_string(code) + " " + why;
    if (line.size() > KEEL_RUN_MAX_REPLY - 1) line.resize(KEEL_RUN_MAX_REPLY - 1);
    finish(c, line + "\n");
}

void Server::finish(Conn* c, const std::string& line) {
    // One short line into an idle socket: it fits, or the client is beyond help.
    if (c->fd) (void)sys::write(c->fd.get(), line.data(), line.size());
    close_conn(c);
}

void Server::close_conn(Conn* c) {
    if (c->queued) std::erase(queue_, c);
    if (c->pid > 0) {
        auto it = children_.find(c->pid);
        if (it != children_.end() && it->second == c) it->second = nullptr;
    }
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    // The object goes after this batch (we may be inside its own watch callback);
    // its socket and the client's stdio go now.
    auto owned = std::shared_ptr<Conn>(std::move(it->second));
    conns_.erase(it);
    owned->watch.stop();
    owned->timeout.reset();
    owned->fd.reset();
    for (auto& fd : owned->stdio)
        fd.reset();
    loop_.defer([owned] {});
    update_accepting();
}

void Server::shutdown(std::chrono::nanoseconds grace) {
    if (stopping_) return;
    stopping_ = true;
    listen_watch_.stop();
    listen_fd_.reset();
    (void)sys::unlink_if_exists(cfg_.socket);
    std::vector<Conn*> waiting;
    for (auto& [c, owned] : conns_)
        if (c->pid <= 0) waiting.push_back(c);
    for (Conn* c : waiting)
        refuse(c, kExitTemporary, "keel luad is shutting down");
    for (auto& [pid, c] : children_)
        signal_group(pid, SIGTERM);
    if (!children_.empty()) kill_timer_.arm_after(grace);
}

}  // namespace keel::luad
