// keel.sys.spawn / exec and process objects. spawn takes
//   sys.spawn({"ls", "-l"}, {cwd=, env=, stdin=, stdout=, stderr=, setsid=})
// (options may also sit in the argv table's hash part). Each of stdin/stdout/
// stderr is "inherit" (default), "null", "pipe" (the process gets a stream),
// an fd number, a stream or a Lua file; stderr may also be "stdout".
// process:wait() returns like os.execute: true|nil, "exit"|"signal", n — and
// waits on a pidfd, so inside a task it does not block the loop.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "loop/fd_watch.h"
#include "lua/lua_util.h"
#include "lua/runtime.h"
#include "lua/stream.h"
#include "lua/sys_parts.h"

extern char** environ;

namespace keel::lua {
namespace {

constexpr const char* kProcess = "keel.process";

struct Process {
    pid_t pid = -1;
    Fd pidfd;
    bool reaped = false;
    int status = 0;
    loop::FdWatch watch;
    Runtime::Done waiter;

    ~Process() {
        watch.stop();
        if (!reaped && pid > 0) (void)::waitpid(pid, &status, WNOHANG);
    }
    // Reaps without blocking; true once the process has ended.
    bool poll() {
        if (reaped) return true;
        int st;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            reaped = true;
            status = st;
            pidfd.reset();
        } else if (r < 0 && errno == ECHILD) {
            reaped = true;  // someone else reaped it; the status is lost
            status = 0;
            pidfd.reset();
        }
        return reaped;
    }
};

int push_wait_status(lua_State* L, int status) {
    if (WIFSIGNALED(status)) {
        lua_pushnil(L);
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WTERMSIG(status));
        return 3;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    if (code == 0)
        lua_pushboolean(L, 1);
    else
        lua_pushnil(L);
    lua_pushliteral(L, "exit");
    lua_pushinteger(L, code);
    return 3;
}

Process* check_process(lua_State* L) {
    return static_cast<Process*>(luaL_checkudata(L, 1, kProcess));
}

int wait_k(lua_State* L, int, lua_KContext) {
    Process* p = check_process(L);
    if (p->poll()) return push_wait_status(L, p->status);
    auto& rt = Runtime::of(L);
    rt.check_can_wait(L);
    return rt.await(
        L,
        [p, &rt](Runtime::Done done) {
            p->waiter = std::move(done);
            auto st = p->watch.start(rt.loop(), p->pidfd.get(), EPOLLIN, [p](uint32_t) {
                p->watch.stop();
                if (auto w = std::move(p->waiter)) w([](lua_State*) { return 0; });
            });
            if (!st) {
                p->watch.stop();
                if (auto w = std::move(p->waiter)) w([](lua_State*) { return 0; });
            }
        },
        wait_k, 0);
}

// process:wait()
int p_wait(lua_State* L) {
    Process* p = check_process(L);
    if (p->waiter)
        return luaL_error(L, "another task is already waiting for process %d",
                          static_cast<int>(p->pid));
    return wait_k(L, LUA_OK, 0);
}

// process:kill([signal = "TERM"])
int p_kill(lua_State* L) {
    Process* p = check_process(L);
    int sig = lua_isnoneornil(L, 2) ? SIGTERM : check_signal(L, 2);
    if (p->poll()) return push_error(L, "process " + std::to_string(p->pid) + " has exited", ESRCH);
    // Through the pidfd: the pid cannot have been reused by another process.
    if (::syscall(SYS_pidfd_send_signal, p->pidfd.get(), sig, nullptr, 0) < 0)
        return push_errno(L, "kill " + std::to_string(p->pid));
    lua_pushboolean(L, 1);
    return 1;
}

int p_index(lua_State* L) {
    Process* p = check_process(L);
    const char* k = luaL_checkstring(L, 2);
    if (std::strcmp(k, "pid") == 0) {
        lua_pushinteger(L, p->pid);
        return 1;
    }
    static const char* const kStreams[] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; ++i) {
        if (std::strcmp(k, kStreams[i]) == 0) {
            lua_getiuservalue(L, 1, i + 1);
            return 1;
        }
    }
    luaL_getmetatable(L, kProcess);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, k);
    return 1;
}

int p_tostring(lua_State* L) {
    lua_pushfstring(L, "keel.process (pid %d)", static_cast<int>(check_process(L)->pid));
    return 1;
}

// ---- spawn ----

enum class Redirect { kInherit, kNull, kPipe, kFd, kStdout };

Redirect check_redirect(lua_State* L, int opts, int arg, const char* name, int* fd) {
    if (lua_getfield(L, opts, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return Redirect::kInherit;
    }
    Redirect r = Redirect::kFd;
    if (lua_type(L, -1) == LUA_TSTRING) {
        std::string_view s = lua_tostring(L, -1);
        if (s == "inherit")
            r = Redirect::kInherit;
        else if (s == "null")
            r = Redirect::kNull;
        else if (s == "pipe")
            r = Redirect::kPipe;
        else if (s == "stdout" && std::strcmp(name, "stderr") == 0)
            r = Redirect::kStdout;
        else
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "option '%s': unknown value '%s'", name, s.data()));
    } else {
        *fd = fd_of(L, lua_gettop(L));
    }
    lua_pop(L, 1);
    return r;
}

// Validates that t[1..n] are strings; returns n.
lua_Integer check_string_array(lua_State* L, int t, int arg, const char* what) {
    lua_Integer n = luaL_len(L, t);
    for (lua_Integer i = 1; i <= n; ++i) {
        if (lua_rawgeti(L, t, i) != LUA_TSTRING)
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "%s[%d] must be a string", what, static_cast<int>(i)));
        lua_pop(L, 1);
    }
    return n;
}

// Pushes a table of "K=V" strings from the env option (a map, or an array of
// "K=V"), or nil when absent.
void push_env(lua_State* L, int opts, int arg) {
    if (lua_getfield(L, opts, "env") == LUA_TNIL) return;
    if (!lua_istable(L, -1)) luaL_argerror(L, arg, "option 'env': table expected");
    int env = lua_gettop(L);
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, env)) {
        if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else if (lua_type(L, -2) == LUA_TSTRING &&
                   (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
            lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
        } else {
            luaL_argerror(L, arg, "option 'env': entries must be NAME=value strings");
        }
        lua_rawseti(L, out, ++n);
        lua_pop(L, 1);
    }
    lua_remove(L, env);
}

std::vector<const char*> c_strings(lua_State* L, int t) {
    std::vector<const char*> v;
    lua_Integer n = luaL_len(L, t);
    for (lua_Integer i = 1; i <= n; ++i) {
        lua_rawgeti(L, t, i);
        v.push_back(lua_tostring(L, -1));  // the table keeps the string alive
        lua_pop(L, 1);
    }
    v.push_back(nullptr);
    return v;
}

struct SpawnPlan {
    Redirect how[3];
    int fd[3] = {-1, -1, -1};
};

// Does the spawning once everything is validated; returns an errno or 0.
int do_spawn(const std::vector<const char*>& argv, char* const* envp, const char* cwd, bool setsid,
             SpawnPlan& plan, Fd ours[3], pid_t* pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    Fd theirs[3];
    int err = 0;
    for (int i = 0; i < 3 && !err; ++i) {
        switch (plan.how[i]) {
            case Redirect::kInherit:
                break;
            case Redirect::kNull:
                err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
                                                       i == 0 ? O_RDONLY : O_WRONLY, 0);
                break;
            case Redirect::kPipe: {
                int p[2];
                if (::pipe2(p, O_CLOEXEC) < 0) {
                    err = errno;
                    break;
                }
                ours[i] = Fd(i == 0 ? p[1] : p[0]);
                theirs[i] = Fd(i == 0 ? p[0] : p[1]);
                err = posix_spawn_file_actions_adddup2(&fa, theirs[i].get(), i);
                break;
            }
            case Redirect::kFd:
                err = posix_spawn_file_actions_adddup2(&fa, plan.fd[i], i);
                break;
            case Redirect::kStdout:
                err = posix_spawn_file_actions_adddup2(&fa, 1, 2);
                break;
        }
    }
    if (!err && cwd) err = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    // The child starts with default signal handling and nothing blocked, whatever
    // keel.loop.signal blocked here.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (setsid) flags |= POSIX_SPAWN_SETSID;
    if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
    if (!err) err = posix_spawnattr_setsigdefault(&attr, &all);
    if (!err) err = posix_spawnattr_setflags(&attr, flags);
    if (!err) {
        auto* args = const_cast<char* const*>(argv.data());
        err = std::strchr(argv[0], '/') ? posix_spawn(pid, argv[0], &fa, &attr, args, envp)
                                        : posix_spawnp(pid, argv[0], &fa, &attr, args, envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return err;
}

int l_spawn(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int opts = lua_isnoneornil(L, 2) ? 1 : (luaL_checktype(L, 2, LUA_TTABLE), 2);
    int opts_arg = opts;
    lua_Integer argc = check_string_array(L, 1, 1, "argv");
    luaL_argcheck(L, argc >= 1, 1, "argv must name a program");
    const char* cwd = opt_string(L, opts, opts_arg, "cwd");
    bool setsid = opt_bool(L, opts, opts_arg, "setsid", false);
    SpawnPlan plan;
    static const char* const kNames[] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; ++i)
        plan.how[i] = check_redirect(L, opts, opts_arg, kNames[i], &plan.fd[i]);
    lua_settop(L, 2);
    push_env(L, opts, opts_arg);  // index 3: "K=V" strings, or nil
    // Validation is done: from here on nothing raises.
    auto argv = c_strings(L, 1);
    std::vector<const char*> envv;
    if (!lua_isnil(L, 3)) envv = c_strings(L, 3);
    char* const* envp = lua_isnil(L, 3) ? environ : const_cast<char* const*>(envv.data());
    Fd ours[3];
    pid_t pid = -1;
    std::fflush(nullptr);  // what is buffered belongs to us, not to the child too
    int err = do_spawn(argv, envp, cwd, setsid, plan, ours, &pid);
    if (err) {
        errno = err;
        return push_errno(L, std::string("cannot run ") + argv[0]);
    }
    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    auto* p = new_udata<Process>(L, kProcess, 3);
    p->pid = pid;
    p->pidfd = Fd(pfd);
    for (int i = 0; i < 3; ++i) {
        if (ours[i])
            push_stream(L, std::move(ours[i]));
        else
            lua_pushnil(L);
        lua_setiuservalue(L, -2, i + 1);
    }
    return 1;
}

// exec(argv [, {env=}]): replaces this process; returns only on failure.
int l_exec(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int opts = lua_isnoneornil(L, 2) ? 1 : (luaL_checktype(L, 2, LUA_TTABLE), 2);
    lua_Integer argc = check_string_array(L, 1, 1, "argv");
    luaL_argcheck(L, argc >= 1, 1, "argv must name a program");
    lua_settop(L, 2);
    push_env(L, opts, opts);
    auto argv = c_strings(L, 1);
    std::vector<const char*> envv;
    if (!lua_isnil(L, 3)) envv = c_strings(L, 3);
    char* const* envp = lua_isnil(L, 3) ? environ : const_cast<char* const*>(envv.data());
    std::fflush(nullptr);
    sigset_t none, old;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &old);
    ::execvpe(argv[0], const_cast<char* const*>(argv.data()), envp);
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return push_errno(L, std::string("cannot run ") + argv[0]);
}

}  // namespace

void add_sys_process(lua_State* L) {
    if (luaL_newmetatable(L, kProcess)) {
        static const luaL_Reg kMethods[] = {{"wait", p_wait}, {"kill", p_kill}, {nullptr, nullptr}};
        lua_newtable(L);
        luaL_setfuncs(L, kMethods, 0);
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, gc_udata<Process>);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, p_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, p_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    static const luaL_Reg kFuncs[] = {{"spawn", l_spawn}, {"exec", l_exec}, {nullptr, nullptr}};
    luaL_setfuncs(L, kFuncs, 0);
}

}  // namespace keel::lua
