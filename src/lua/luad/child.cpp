#include "lua/luad/child.h"

#include <alloca.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lua/runner.h"

extern char** environ;

namespace keel::luad {
namespace {

constexpr int kExitSetup = 111;

// Setup failures go to the client's stderr once it is fd 2 (else nowhere).
[[noreturn]] void die(const char* what) {
    int err = errno;
    char line[512];
    int n =
        std::snprintf(line, sizeof line, "keel luad: cannot %s: %s\n", what, std::strerror(err));
    if (n > 0)
        (void)!::write(2, line,
                       static_cast<size_t>(std::min(n, static_cast<int>(sizeof line) - 1)));
    _exit(kExitSetup);
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

// ---- the steps ----

void install_fds(const int fds[3]) {
    // Out of the way first: a received fd may already be 0, 1 or 2.
    int high[3];
    for (int i = 0; i < 3; ++i) {
        high[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
        if (high[i] < 0) die("take the client's file descriptors");
    }
    for (int i = 0; i < 3; ++i)
        if (::dup2(high[i], i) < 0) _exit(kExitSetup);
    // Nothing else the server had open may reach the script.
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
        for (int fd = 3; fd < 65536; ++fd)
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

void set_limit(int resource, int64_t value, const char* what) {
    if (value < 0) return;
    rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    // CPU: SIGXCPU at the limit, SIGKILL one second later if it is caught.
    if (resource == RLIMIT_CPU) r.rlim_max = r.rlim_cur + 1;
    if (::setrlimit(resource, &r) < 0) die(what);
}

void set_limits(const ChildSpec& s) {
    const Limits& l = s.config->limits;
    set_limit(RLIMIT_CPU, l.cpu, "limit CPU time");
    set_limit(RLIMIT_AS, l.address_space, "limit the address space");
    set_limit(RLIMIT_NPROC, l.processes, "limit the number of processes");
    if (l.open_files >= 0)
        set_limit(RLIMIT_NOFILE, l.open_files, "limit open files");
    else if (::setrlimit(RLIMIT_NOFILE, &s.open_files) < 0)
        die("restore the open-file limit");
}

void become_client(const ChildSpec& s) {
    if (!s.switch_user) return;
    if (::setgroups(s.groups.size(), s.groups.data()) < 0) die("set supplementary groups");
    if (::setresgid(s.gid, s.gid, s.gid) < 0) die("set group id");
    if (::setresuid(s.uid, s.uid, s.uid) < 0) die("set user id");
    uid_t r, e, ss;
    gid_t gr, ge, gs;
    if (::getresuid(&r, &e, &ss) < 0 || r != s.uid || e != s.uid || ss != s.uid ||
        ::getresgid(&gr, &ge, &gs) < 0 || gr != s.gid || ge != s.gid || gs != s.gid) {
        errno = EPERM;
        die("switch to the client's user");
    }
    // Paranoia: the way back to root must be closed.
    if (s.uid != 0 && ::setuid(0) == 0) {
        errno = EPERM;
        die("drop root privileges");
    }
}

void set_environment(const RunRequest& r) {
    auto** env = static_cast<char**>(std::calloc(r.env.size() + 1, sizeof(char*)));
    if (!env) die("allocate the environment");
    for (size_t i = 0; i < r.env.size(); ++i)
        env[i] = const_cast<char*>(r.env[i].c_str());
    environ = env;
}

}  // namespace

void run_child(const ChildSpec& s) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);  // until everything is in place
    if (::setsid() < 0) _exit(kExitSetup);
    install_fds(s.fds);
    reset_signals();
    set_limits(s);
    become_client(s);
    ::umask(s.request->umask);
    const char* cwd = s.request->cwd.empty() ? "/" : s.request->cwd.c_str();
    if (::chdir(cwd) < 0) die(("change to directory " + s.request->cwd).c_str());
    set_environment(*s.request);
    uint64_t seed = random64();
    std::srand(static_cast<unsigned>(seed));
    ::srandom(static_cast<unsigned>(seed >> 32));
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    lua_State* L = fresh_state();
    lua::open_libs(L);
    install_preloads(L, *s.preloads);
    // math.random: its own seed too (Lua seeds it from time and an address).
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, static_cast<lua_Integer>(random64()));
    lua_pushinteger(L, static_cast<lua_Integer>(random64()));
    lua_call(L, 2, 0);
    lua_pop(L, 1);

    lua::Script script;
    script.path = s.request->script;
    script.args = s.request->args;
    script.interpreter = "keel-run";
    script.quick_exit = true;
    int code = lua::run(L, script);
    std::fflush(nullptr);
    _exit(code);
}

}  // namespace keel::luad
