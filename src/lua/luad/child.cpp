#include "lua/luad/child.h"

#include <alloca.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "base/sys.h"
#include "lua/luad/request.h"
#include "lua/runner.h"

extern char** environ;

namespace keel::luad {
namespace {

constexpr int kExitSetup = 111;
constexpr int kExitUsage = 100;
constexpr int kControlFd = 3;  // the child's end of its pair with the server

bool g_control_open = false;  // until the request is in, refusals go to the server

// Ends the child before the script runs: to the server (which answers the client)
// while the control socket is open, else to the client's stderr.
[[noreturn]] void refuse(int code, const std::string& why) {
    if (g_control_open) {
        std::string msg = "E" + std::to_string(code) + " " + why;
        (void)::send(kControlFd, msg.data(), msg.size(), MSG_NOSIGNAL);
    } else {
        std::string line = "keel-run: " + why + "\n";
        (void)!::write(2, line.data(), line.size());
    }
    _exit(code);
}

// A step of the set-up failed.
[[noreturn]] void die(const std::string& what) {
    refuse(kExitSetup, "keel luad cannot " + what + ": " + std::strerror(errno));
}

uint64_t random64() {
    uint64_t v = 0;
    if (::getrandom(&v, sizeof v, 0) != sizeof v) die("read random bytes");
    return v;
}

// ---- a Lua state at a random address ----
// Lua derives its string hash seed from the address of the new state, a stack
// address and the time. A forked child would get its parent's values, so the
// state's first block (the one holding it) is mapped at a random address.

struct FirstBlock {
    void* map = nullptr;
    size_t len = 0;
    void* ptr = nullptr;
    bool pending = true;
} g_first;

void* random_block(size_t n) {
    const size_t page = 4096;
    size_t len = (n + 2 * page - 1) / page * page;
    for (int tries = 0; tries < 8; ++tries) {
        // 47-bit user space, away from the lowest 4 GiB.
        uintptr_t hint = (random64() & 0x00007ffff0000000ull) | 0x100000000ull;
        void* m = ::mmap(reinterpret_cast<void*>(hint & ~(page - 1)), len, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (m == MAP_FAILED) continue;
        g_first.map = m;
        g_first.len = len;
        // A random 16-byte-aligned offset within the first page.
        g_first.ptr = static_cast<char*>(m) + (random64() & (page - 16) & ~size_t{15});
        return g_first.ptr;
    }
    return std::malloc(n);
}

void* child_alloc(void*, void* ptr, size_t osize, size_t nsize) {
    if (ptr && ptr == g_first.ptr) {
        void* moved = nsize ? std::malloc(nsize) : nullptr;
        if (moved) std::memcpy(moved, ptr, std::min(osize, nsize));
        ::munmap(g_first.map, g_first.len);
        g_first.ptr = nullptr;
        return moved;
    }
    if (nsize == 0) {
        std::free(ptr);
        return nullptr;
    }
    if (!ptr && g_first.pending) {
        g_first.pending = false;
        return random_block(nsize);
    }
    return std::realloc(ptr, nsize);
}

int panic(lua_State* L) {
    const char* msg = lua_tostring(L, -1);
    std::fprintf(stderr, "keel-run: unprotected Lua error: %s\n", msg ? msg : "?");
    std::fflush(nullptr);
    _exit(1);
}

lua_State* fresh_state() {
    // The stack address Lua mixes in moves too.
    volatile char* pad = static_cast<char*>(alloca(16 + (random64() & 0x3ff0)));
    pad[0] = 0;
    lua_State* L = lua_newstate(child_alloc, nullptr);
    if (!L) {
        errno = ENOMEM;
        die("create a Lua state");
    }
    lua_atpanic(L, panic);
    return L;
}

// ---- before a client: the same for every one ----

void close_from(int first) {
    if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0u, 0u) < 0) {
        for (int fd = first; fd < 65536; ++fd)
            ::close(fd);
    }
}

void reset_signals() {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        ::sigaction(s, &sa, nullptr);  // fails harmlessly for the C library's own signals
    }
}

lua_State* prepare_lua(const ChildContext& ctx) {
    uint64_t seed = random64();
    std::srand(static_cast<unsigned>(seed));
    ::srandom(static_cast<unsigned>(seed >> 32));
    lua_State* L = fresh_state();
    lua::open_libs(L);
    install_preloads(L, *ctx.preloads);
    apply_load_policy(L, *ctx.policy);
    // math.random: its own seed too (Lua seeds it from time and an address).
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, static_cast<lua_Integer>(random64()));
    lua_pushinteger(L, static_cast<lua_Integer>(random64()));
    lua_call(L, 2, 0);
    lua_pop(L, 1);
    return L;
}

// Waits for the server's handoff; returns the client's connection.
int wait_for_client(Handoff* h) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    iovec iov{h, sizeof *h};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(kControlFd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) _exit(0);  // the server closed its end: not needed any more
    int fd = -1;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (n != sizeof *h || fd < 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) _exit(kExitSetup);
    return fd;
}

// ---- one client ----

struct Peer {
    ucred cred{};
    std::vector<gid_t> groups;
};

// Who the client is, as the kernel recorded it at connect(): never the request.
Peer peer_of(int conn) {
    Peer p;
    socklen_t len = sizeof p.cred;
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &p.cred, &len) < 0)
        die("read the client's credentials");
    p.groups.resize(64);
    for (;;) {
        len = static_cast<socklen_t>(p.groups.size() * sizeof(gid_t));
        if (::getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, p.groups.data(), &len) == 0) break;
        if (errno != ERANGE || p.groups.size() > 65536) die("read the client's groups");
        p.groups.resize(len / sizeof(gid_t) + 1);
    }
    p.groups.resize(len / sizeof(gid_t));
    return p;
}

void set_limit(int resource, int64_t value, const char* what) {
    if (value <= 0) return;
    rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    // CPU: SIGXCPU at the limit, SIGKILL one second later if it is caught.
    if (resource == RLIMIT_CPU) r.rlim_max = r.rlim_cur + 1;
    if (::setrlimit(resource, &r) < 0) die(what);
}

void set_limits(const Limits& l, const rlimit& server_open_files) {
    set_limit(RLIMIT_CPU, l.cpu, "limit CPU time");
    set_limit(RLIMIT_AS, l.address_space, "limit the address space");
    set_limit(RLIMIT_NPROC, l.processes, "limit the number of processes");
    if (l.open_files > 0)
        set_limit(RLIMIT_NOFILE, l.open_files, "limit open files");
    else if (::setrlimit(RLIMIT_NOFILE, &server_open_files) < 0)
        die("restore the open-file limit");
}

// Needs CAP_SETPCAP, so before the switch to the user.
void drop_bounding_set() {
    for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) die("drop the capability bounding set");
}

// No privilege left, and none to gain by running a set-user-ID or file-capability
// program.
void lock_down() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("set no_new_privs");
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        die("clear the ambient capabilities");
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capset, &header, data) < 0) die("drop the capabilities");
}

void become_client(const Peer& p, bool switch_user) {
    uid_t uid = p.cred.uid;
    gid_t gid = p.cred.gid;
    if (switch_user) {
        if (uid != 0) drop_bounding_set();
        if (::setgroups(p.groups.size(), p.groups.data()) < 0) die("set supplementary groups");
        if (::setresgid(gid, gid, gid) < 0) die("set group id");
        if (::setresuid(uid, uid, uid) < 0) die("set user id");
        uid_t r, e, s;
        gid_t gr, ge, gs;
        if (::getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
            ::getresgid(&gr, &ge, &gs) < 0 || gr != gid || ge != gid || gs != gid) {
            errno = EPERM;
            die("switch to the client's user");
        }
        // Paranoia: the way back to root must be closed.
        if (uid != 0 && ::setuid(0) == 0) {
            errno = EPERM;
            die("drop root privileges");
        }
    }
    if (uid != 0) lock_down();
}

// Reads the request from the client's stream socket, never a byte past it (what
// follows is for the server), by the handoff's deadline.
RunRequest read_request(int conn, const Handoff& h, const LuadConfig& cfg, Fd stdio[3]) {
    RequestParser parser(cfg.max_request);
    bool got_fds = false;
    std::vector<char> buf(64 * 1024);
    while (parser.state() == RequestParser::State::kNeedMore) {
        int64_t left_ms = (h.deadline_ns - sys::monotonic_now().count()) / 1000000;
        pollfd p{conn, POLLIN, 0};
        int ready = left_ms > 0 ? ::poll(&p, 1, static_cast<int>(left_ms)) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0)
            refuse(kExitUsage, "incomplete request (not complete within " +
                                   std::to_string(cfg.request_timeout.count() / 1000000) + " ms)");
        alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
        iovec iov{buf.data(), std::min(parser.wanted(), buf.size())};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = ::recvmsg(conn, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            die("read the request");
        }
        // Own every fd that arrived before looking at anything else.
        std::vector<Fd> fds;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.emplace_back(fd);
            }
        }
        if (msg.msg_flags & MSG_CTRUNC)
            refuse(kExitUsage,
                   "request carried more file descriptors than stdin, stdout and stderr");
        if (!fds.empty()) {
            if (got_fds || fds.size() != 3)
                refuse(kExitUsage, "request must carry exactly three file descriptors, once");
            for (int i = 0; i < 3; ++i)
                stdio[i] = std::move(fds[static_cast<size_t>(i)]);
            got_fds = true;
        }
        if (n == 0) refuse(kExitUsage, "the client left before its request was complete");
        parser.feed({buf.data(), static_cast<size_t>(n)});
    }
    if (parser.state() == RequestParser::State::kError)
        refuse(kExitUsage, "bad request: " + parser.error());
    if (!got_fds) refuse(kExitUsage, "request came without the client's stdin, stdout and stderr");
    return std::move(parser.request());
}

// The client's stdio as 0, 1, 2 and nothing else: the connection and the control
// socket go too, so the script cannot answer for the server.
void install_fds(Fd stdio[3]) {
    // Out of the way first: a received fd may already be 0, 1 or 2.
    int high[3];
    for (int i = 0; i < 3; ++i) {
        high[i] = ::fcntl(stdio[i].get(), F_DUPFD_CLOEXEC, 10);
        if (high[i] < 0) die("take the client's file descriptors");
    }
    for (int i = 0; i < 3; ++i)
        if (::dup2(high[i], i) < 0) die("take the client's file descriptors");
    g_control_open = false;
    for (int i = 0; i < 3; ++i)
        (void)stdio[i].release();  // closed with the rest, just below
    close_from(3);
}

void set_environment(const RunRequest& r) {
    auto** env = static_cast<char**>(std::calloc(r.env.size() + 1, sizeof(char*)));
    if (!env) die("allocate the environment");
    for (size_t i = 0; i < r.env.size(); ++i)
        env[i] = const_cast<char*>(r.env[i].c_str());
    environ = env;
}

[[noreturn]] void serve(const ChildContext& ctx, lua_State* L, int conn, const Handoff& h) {
    const LuadConfig& cfg = *ctx.config;
    Peer peer = peer_of(conn);
    set_limits(peer.cred.uid == 0 ? cfg.root_limits : cfg.limits, ctx.open_files);
    become_client(peer, ctx.switch_user);
    Fd stdio[3];
    RunRequest req = read_request(conn, h, cfg, stdio);
    if (::send(kControlFd, "R", 1, MSG_NOSIGNAL) != 1) _exit(kExitSetup);  // server gone
    install_fds(stdio);
    ::umask(req.umask);
    if (::chdir(req.cwd.empty() ? "/" : req.cwd.c_str()) < 0) die("change to directory " + req.cwd);
    set_environment(req);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    lua::Script script;
    script.path = req.script;
    script.args = req.args;
    script.interpreter = "keel-run";
    script.quick_exit = true;
    script.binary_chunks = cfg.allow_binary;
    int code = lua::run(L, script);
    std::fflush(nullptr);
    _exit(code);
}

}  // namespace

void run_child(const ChildContext& ctx, int control) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);  // until the script starts
    // A waiting child goes with the server.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != ctx.server) _exit(0);
    if (::setsid() < 0) _exit(kExitSetup);
    if (control != kControlFd && ::dup2(control, kControlFd) < 0) _exit(kExitSetup);
    close_from(kControlFd + 1);  // the listening socket, other clients' connections...
    g_control_open = true;
    reset_signals();
    lua_State* L = prepare_lua(ctx);

    Handoff h{};
    int conn = wait_for_client(&h);
    ::prctl(PR_SET_PDEATHSIG, 0);  // from now on the script's life is its own
    serve(ctx, L, conn, h);
}

}  // namespace keel::luad
