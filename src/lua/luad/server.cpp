#include "lua/luad/server.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/endpoint.h"
#include "base/log.h"
#include "base/sys.h"
#include "lua/luad/child.h"
#include "lua/luad/wire.h"

namespace keel::luad {
namespace {

constexpr int kExitUsage = 100;
constexpr int kExitTemporary = 111;
constexpr int kExitTimeout = 124;  // as timeout(1)

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
    if (::kill(-pid, sig) < 0) ::kill(pid, sig);
}

size_t count_of(const std::map<uid_t, size_t>& counts, uid_t uid) {
    auto it = counts.find(uid);
    return it == counts.end() ? 0 : it->second;
}

std::string seconds(std::chrono::nanoseconds d) {
    char s[32];
    std::snprintf(s, sizeof s, "%g s", static_cast<double>(d.count()) / 1e9);
    return s;
}

double cpu_seconds(const rusage& ru) {
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// Sends the handoff and the client's connection to a waiting child.
bool send_handoff(int control, const Handoff& h, int conn) {
    iovec iov{const_cast<Handoff*>(&h), sizeof h};
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = buf;
    msg.msg_controllen = sizeof buf;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &conn, sizeof conn);
    return ::sendmsg(control, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(sizeof h);
}

}  // namespace

struct Server::Conn {
    enum class Stage {
        kNew,       // not yet counted as waiting (being checked)
        kIdle,      // nothing sent yet (the request timeout runs)
        kQueued,    // has sent something, waits for a slot
        kStarting,  // its child reads the request; the server keeps off the socket
        kRunning,   // the script runs; what the client sends are signal numbers
    };
    Fd fd;
    loop::FdWatch watch;
    std::unique_ptr<loop::Timer> timeout;
    ucred cred{};
    Stage stage = Stage::kNew;
    Child* child = nullptr;
};

struct Server::Child {
    pid_t pid = -1;
    Fd control;
    loop::FdWatch control_watch;
    bool waiting = true;   // not yet given a client
    Conn* conn = nullptr;  // the client, while it is connected
    uid_t uid = 0;
    std::unique_ptr<loop::Timer> wall;
    bool timed_out = false;
    std::string error;  // "error CODE MESSAGE\n" when the child refused the request
};

Server::Server(loop::EventLoop& loop, LuadConfig config, std::vector<Preload> preloads)
    : loop_(loop),
      cfg_(std::move(config)),
      preloads_(std::move(preloads)),
      policy_(make_load_policy(cfg_, preloads_)),
      own_uid_(::geteuid()),
      accept_retry_(loop,
                    [this] {
                        accept_paused_ = false;
                        if (listen_fd_ && !stopping_)
                            (void)listen_watch_.start(loop_, listen_fd_.get(), EPOLLIN,
                                                      [this](uint32_t) { on_accept(); });
                    }),
      top_up_(loop, [this] { top_up_waiting(); }),
      kill_timer_(loop, [this] {
          for (auto& [pid, ch] : children_)
              signal_group(pid, SIGKILL);
      }) {
    // Waiting connections hold an fd each: make room, but give children the limit
    // the server started with.
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
    top_up_waiting();
    return {};
}

// ---- connections ----

void Server::on_accept() {
    while (!stopping_) {
        auto fd = sys::accept(listen_fd_.get(), nullptr, nullptr);
        if (!fd) {
            int err = fd.error().code();
            log::warning("cannot accept: %s", fd.error().message().c_str());
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of fds: wait for some to come back rather than spin.
                accept_paused_ = true;
                listen_watch_.stop();
                accept_retry_.arm_after(std::chrono::milliseconds(100));
            }
            break;
        }
        if (!fd->valid()) break;
        add_conn(std::move(fd).value());
    }
}

void Server::add_conn(Fd fd) {
    auto owned = std::make_unique<Conn>();
    Conn* c = owned.get();
    c->fd = std::move(fd);
    conns_.emplace(c, std::move(owned));
    socklen_t len = sizeof c->cred;
    if (::getsockopt(c->fd.get(), SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
        refuse(c, kExitTemporary,
               std::string("cannot read the client's credentials: ") + std::strerror(errno));
        return;
    }
    uid_t uid = c->cred.uid;
    if (own_uid_ != 0 && uid != own_uid_) {
        refuse(c, kExitUsage,
               "keel luad runs as uid " + std::to_string(own_uid_) +
                   " and cannot run scripts for uid " + std::to_string(uid));
        return;
    }
    // Refused at once rather than left to wait: the client hears why, and one user's
    // flood of connections cannot fill the server for the others.
    if (pending_ >= cfg_.max_pending) {
        refuse(c, kExitTemporary,
               "keel luad is busy: " + std::to_string(pending_) +
                   " connections are waiting (max_pending)");
        return;
    }
    if (limited(uid) && count_of(pending_of_, uid) >= cfg_.max_pending_per_user) {
        refuse(c, kExitTemporary,
               "uid " + std::to_string(uid) + " already has " +
                   std::to_string(count_of(pending_of_, uid)) +
                   " connections waiting (max_pending_per_user)");
        return;
    }
    c->stage = Conn::Stage::kIdle;
    ++pending_;
    ++pending_of_[uid];
    c->timeout = std::make_unique<loop::Timer>(loop_, [this, c] {
        refuse(
            c, kExitUsage,
            "no request within " + std::to_string(cfg_.request_timeout.count() / 1000000) + " ms");
    });
    c->timeout->arm_after(cfg_.request_timeout);
    auto st = c->watch.start(loop_, c->fd.get(), EPOLLIN | EPOLLRDHUP,
                             [this, c](uint32_t ev) { on_conn_event(c, ev); });
    if (!st) {
        refuse(c, kExitTemporary, st.error().message());
        return;
    }
    // keel-run sends its request right after connecting: often it is there already.
    on_conn_event(c, 0);
}

void Server::on_conn_event(Conn* c, uint32_t events) {
    bool gone = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    switch (c->stage) {
        case Conn::Stage::kIdle: {
            // Whether it sent anything, without reading it.
            int queued = 0;
            if (::ioctl(c->fd.get(), FIONREAD, &queued) == 0 && queued > 0) {
                c->timeout.reset();
                c->stage = Conn::Stage::kQueued;
                // Only a hang-up matters now: the data waits for the child.
                (void)c->watch.set_events(EPOLLRDHUP);
                queue_.push_back(c);
                start_queued();
            } else if (gone) {
                close_conn(c);
            }
            return;
        }
        case Conn::Stage::kQueued:
            if (gone) close_conn(c);
            return;
        case Conn::Stage::kNew:
        case Conn::Stage::kStarting:
            return;  // not watched
        case Conn::Stage::kRunning:
            on_signal_bytes(c);
            return;
    }
}

void Server::on_signal_bytes(Conn* c) {
    for (int round = 0; round < 16; ++round) {
        char buf[256];
        alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(c->fd.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        // Fds have no business here: closed at once.
        for (cmsghdr* h = CMSG_FIRSTHDR(&msg); n >= 0 && h; h = CMSG_NXTHDR(&msg, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            for (size_t i = 0; i < (h->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
                Fd closing(fd);
            }
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
            // The client went away: hang up on its script, like a terminal would.
            if (c->child) {
                log::debug("client of pid %d hung up", c->child->pid);
                signal_group(c->child->pid, SIGHUP);
                signal_group(c->child->pid, SIGCONT);
            }
            close_conn(c);
            return;
        }
        for (ssize_t i = 0; i < n && c->child; ++i) {
            int sig = static_cast<unsigned char>(buf[i]);
            if (forwardable(sig)) signal_group(c->child->pid, sig);
        }
        if (static_cast<size_t>(n) < sizeof buf) return;
    }
}

// ---- slots ----

void Server::start_queued() {
    while (!stopping_ && running_ < cfg_.max_children) {
        auto it = std::find_if(queue_.begin(), queue_.end(), [this](Conn* c) {
            return !limited(c->cred.uid) ||
                   count_of(running_of_, c->cred.uid) < cfg_.max_children_per_user;
        });
        if (it == queue_.end()) break;
        Conn* c = *it;
        queue_.erase(it);
        hand_off(c);
    }
}

void Server::forget_pending(Conn* c) {
    if (c->stage != Conn::Stage::kIdle && c->stage != Conn::Stage::kQueued) return;
    if (c->stage == Conn::Stage::kQueued) std::erase(queue_, c);
    --pending_;
    if (--pending_of_[c->cred.uid] == 0) pending_of_.erase(c->cred.uid);
}

void Server::hand_off(Conn* c) {
    Handoff h{(loop_.refresh_now() + cfg_.request_timeout).count()};
    Child* ch = nullptr;
    // A waiting child may have died unseen yet: then the next one, or a new one.
    for (int attempt = 0; !ch && attempt < 3; ++attempt) {
        if (waiting_.empty() && !fork_child()) break;
        Child* next = waiting_.front();
        waiting_.pop_front();
        if (next->control && send_handoff(next->control.get(), h, c->fd.get())) {
            ch = next;
        } else {
            log::warning("waiting child %d does not take a client: %s", next->pid,
                         std::strerror(errno));
            signal_group(next->pid, SIGKILL);  // reaped as a waiting child
        }
    }
    if (!ch) {
        refuse(c, kExitTemporary, "keel luad cannot start a child for the script");
        return;
    }
    forget_pending(c);
    c->stage = Conn::Stage::kStarting;
    c->watch.stop();  // the child reads the request
    c->child = ch;
    ch->waiting = false;
    ch->conn = c;
    ch->uid = c->cred.uid;
    ++running_;
    ++running_of_[ch->uid];
    const Limits& l = ch->uid == 0 ? cfg_.root_limits : cfg_.limits;
    if (l.wall.count() > 0) {
        ch->wall = std::make_unique<loop::Timer>(loop_, [ch] {
            ch->timed_out = true;
            signal_group(ch->pid, SIGKILL);
        });
        ch->wall->arm_after(l.wall);
    }
    log::debug("pid %d: a script for uid %u", ch->pid, ch->uid);
    // The next child is forked once this script has ended or a moment from now,
    // whichever comes first: not while this one starts (on a busy machine the
    // fork would take the CPU from it). A burst forks on demand (above).
    if (!top_up_.armed()) top_up_.arm_after(std::chrono::milliseconds(2));
}

// ---- children ----

Server::Child* Server::fork_child() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        log::warning("cannot create a socket pair: %s", std::strerror(errno));
        return nullptr;
    }
    Fd mine(pair[0]), theirs(pair[1]);
    ChildContext ctx;
    ctx.config = &cfg_;
    ctx.preloads = &preloads_;
    ctx.policy = &policy_;
    ctx.open_files = open_files_;
    ctx.switch_user = own_uid_ == 0;
    ctx.server = ::getpid();
    std::fflush(nullptr);  // nothing buffered here may be written twice
    pid_t pid = ::fork();

    if (pid == 0) run_child(ctx, theirs.get());
    if (pid < 0) {
        log::warning("cannot fork: %s", std::strerror(errno));
        return nullptr;
    }
    auto owned = std::make_unique<Child>();
    Child* ch = owned.get();
    ch->pid = pid;
    ch->control = std::move(mine);
    (void)sys::set_nonblocking(ch->control.get(), true);
    (void)ch->control_watch.start(loop_, ch->control.get(), EPOLLIN,
                                  [this, ch](uint32_t) { on_control(ch); });
    children_.emplace(pid, std::move(owned));
    waiting_.push_back(ch);
    return ch;
}

void Server::top_up_waiting() {
    while (!stopping_ && waiting_.size() < cfg_.warm_children) {
        if (!fork_child()) {
            top_up_.arm_after(std::chrono::seconds(1));
            return;
        }
    }
}

void Server::on_control(Child* ch) {
    for (;;) {
        char buf[KEEL_RUN_MAX_REPLY];
        ssize_t n = ::recv(ch->control.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {  // the child closed its end: started, or gone
            ch->control_watch.stop();
            ch->control.reset();
            if (ch->waiting) std::erase(waiting_, ch);  // dying: reaped as a waiting child
            return;
        }
        std::string_view m(buf, static_cast<size_t>(n));
        if (m == "R" && ch->conn && ch->conn->stage == Conn::Stage::kStarting) {
            Conn* c = ch->conn;
            c->stage = Conn::Stage::kRunning;
            auto st = c->watch.start(loop_, c->fd.get(), EPOLLIN | EPOLLRDHUP,
                                     [this, c](uint32_t ev) { on_conn_event(c, ev); });
            if (!st) log::warning("cannot watch a client: %s", st.error().message().c_str());
        } else if (m.size() > 1 && m[0] == 'E') {
            ch->error = "error " + std::string(m.substr(1));
            if (ch->error.size() > KEEL_RUN_MAX_REPLY - 1) ch->error.resize(KEEL_RUN_MAX_REPLY - 1);
            ch->error += "\n";
        }
    }
}

void Server::reap() {
    for (;;) {
        int status;
        rusage ru{};
        pid_t pid = ::wait4(-1, &status, WNOHANG, &ru);
        if (pid <= 0) break;
        auto it = children_.find(pid);
        if (it == children_.end()) continue;
        std::unique_ptr<Child> ch = std::move(it->second);
        children_.erase(it);
        if (ch->control) on_control(ch.get());  // a refusal it sent just before exiting
        if (ch->waiting) {
            std::erase(waiting_, ch.get());
            if (!stopping_) {
                log::warning("waiting child %d ended (status %d)", pid, status);
                top_up_.arm_after(std::chrono::milliseconds(100));
            }
            continue;
        }
        --running_;
        if (--running_of_[ch->uid] == 0) running_of_.erase(ch->uid);
        if (Conn* c = ch->conn) {
            c->child = nullptr;
            finish(c, answer(*ch, status, ru));
        }
    }
    if (stopping_ && children_.empty()) kill_timer_.cancel();
    start_queued();
    top_up_waiting();
}

std::string Server::answer(const Child& ch, int status, const rusage& ru) const {
    if (!ch.error.empty()) return ch.error;
    const bool root = ch.uid == 0;
    const Limits& l = root ? cfg_.root_limits : cfg_.limits;
    const char* section = root ? "root_limits" : "limits";
    char line[KEEL_RUN_MAX_REPLY];
    if (ch.timed_out) {
        std::snprintf(line, sizeof line,
                      "killed %d the script was stopped at its wall-clock limit of %s (keel "
                      "luad's %s.wall)\n",
                      kExitTimeout, seconds(l.wall).c_str(), section);
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (l.cpu > 0 && (sig == SIGXCPU || (sig == SIGKILL && cpu_seconds(ru) >= l.cpu)))
            std::snprintf(line, sizeof line,
                          "killed %d the script was stopped at its CPU time limit of %lld s "
                          "(keel luad's %s.cpu)\n",
                          128 + sig, static_cast<long long>(l.cpu), section);
        else
            std::snprintf(line, sizeof line, "signal %d\n", sig);
    } else {
        std::snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(status));
    }
    return line;
}

// ---- answers ----

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
    auto it = conns_.find(c);
    if (it == conns_.end()) return;
    forget_pending(c);
    if (c->child) c->child->conn = nullptr;  // the script runs on without its client
    // The object goes after this batch (we may be inside its own watch callback);
    // its socket goes now.
    auto owned = std::shared_ptr<Conn>(std::move(it->second));
    conns_.erase(it);
    owned->watch.stop();
    owned->timeout.reset();
    owned->fd.reset();
    loop_.defer([owned] {});
}

void Server::shutdown(std::chrono::nanoseconds grace) {
    if (stopping_) return;
    stopping_ = true;
    listen_watch_.stop();
    accept_retry_.cancel();
    top_up_.cancel();
    listen_fd_.reset();
    (void)sys::unlink_if_exists(cfg_.socket);
    std::vector<Conn*> waiting;
    for (auto& [c, owned] : conns_)
        if (c->stage == Conn::Stage::kIdle || c->stage == Conn::Stage::kQueued)
            waiting.push_back(c);
    for (Conn* c : waiting)
        refuse(c, kExitTemporary, "keel luad is shutting down");
    for (auto& [pid, ch] : children_)
        signal_group(pid, ch->waiting ? SIGKILL : SIGTERM);
    waiting_.clear();
    if (!children_.empty()) kill_timer_.arm_after(grace);
}

}  // namespace keel::luad
