// keel.sys: system calls for scripts — mount/umount (flags by name), hostname,
// ids, kill, sync, reboot, uname, time/clock, cwd and environment, pipes; file
// calls (sys_fs.cpp) and processes (sys_process.cpp). Failures return
// nil, message, errno (the luaposix convention); wrong argument types raise.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/sys.h"
#include "lua/lua_util.h"
#include "lua/modules.h"
#include "lua/stream.h"
#include "lua/sys_parts.h"

extern char** environ;

namespace keel::lua {
namespace {

struct Flag {
    const char* name;
    unsigned long value;
};

constexpr Flag kMountFlags[] = {
    {"ro", MS_RDONLY},
    {"rdonly", MS_RDONLY},
    {"rw", 0},
    {"nosuid", MS_NOSUID},
    {"nodev", MS_NODEV},
    {"noexec", MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS},
    {"remount", MS_REMOUNT},
    {"mand", MS_MANDLOCK},
    {"dirsync", MS_DIRSYNC},
    {"noatime", MS_NOATIME},
    {"nodiratime", MS_NODIRATIME},
    {"bind", MS_BIND},
    {"rbind", MS_BIND | MS_REC},
    {"move", MS_MOVE},
    {"rec", MS_REC},
    {"silent", MS_SILENT},
    {"unbindable", MS_UNBINDABLE},
    {"private", MS_PRIVATE},
    {"slave", MS_SLAVE},
    {"shared", MS_SHARED},
    {"relatime", MS_RELATIME},
    {"strictatime", MS_STRICTATIME},
    {"lazytime", MS_LAZYTIME},
    {"defaults", 0},
};

constexpr Flag kUmountFlags[] = {
    {"force", MNT_FORCE},   {"detach", MNT_DETACH},        {"lazy", MNT_DETACH},
    {"expire", MNT_EXPIRE}, {"nofollow", UMOUNT_NOFOLLOW},
};

// Options as "ro,nosuid,size=1m" or {"ro", "nosuid", "size=1m"}: known names become
// flags; anything else goes to the file system's data string, as mount(8) does.
// Returns false (message on the stack) for an unknown name when `data` is null.
template <size_t N>
bool parse_flags(lua_State* L, int arg, const Flag (&table)[N], unsigned long* flags,
                 std::string* data) {
    auto one = [&](std::string_view word) {
        if (word.empty()) return true;
        for (const auto& f : table) {
            if (word == f.name) {
                *flags |= f.value;
                return true;
            }
        }
        if (!data) return false;
        if (!data->empty()) *data += ',';
        *data += word;
        return true;
    };
    if (lua_isnoneornil(L, arg)) return true;
    if (lua_type(L, arg) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, arg);
        for (lua_Integer i = 1; i <= n; ++i) {
            lua_rawgeti(L, arg, i);
            std::string word = lua_tostring(L, -1);
            lua_pop(L, 1);
            if (!one(word)) {
                lua_pushfstring(L, "unknown flag '%s'", word.c_str());
                return false;
            }
        }
        return true;
    }
    std::string_view s = check_view(L, arg);
    while (!s.empty()) {
        auto comma = s.find(',');
        std::string_view word = s.substr(0, comma);
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
        if (!one(word)) {
            lua_pushfstring(L, "unknown flag '%s'", std::string(word).c_str());
            return false;
        }
    }
    return true;
}

// Raises unless `arg` is nil, a string or a table of strings (before any C++ object exists).
void check_flag_arg(lua_State* L, int arg) {
    if (lua_isnoneornil(L, arg)) return;
    if (!lua_istable(L, arg)) {
        luaL_checkstring(L, arg);
        return;
    }
    lua_Integer n = luaL_len(L, arg);
    for (lua_Integer i = 1; i <= n; ++i) {
        if (lua_rawgeti(L, arg, i) != LUA_TSTRING) luaL_argerror(L, arg, "flags must be strings");
        lua_pop(L, 1);
    }
}

// mount(source, target [, fstype [, options [, data]]])
int l_mount(lua_State* L) {
    const char* source = luaL_optstring(L, 1, nullptr);
    const char* target = luaL_checkstring(L, 2);
    const char* fstype = luaL_optstring(L, 3, nullptr);
    check_flag_arg(L, 4);
    const char* extra = luaL_optstring(L, 5, nullptr);
    unsigned long flags = 0;
    std::string data;
    parse_flags(L, 4, kMountFlags, &flags, &data);
    if (extra && *extra) data += (data.empty() ? "" : ",") + std::string(extra);
    if (::mount(source, target, fstype, flags, data.empty() ? nullptr : data.c_str()) < 0)
        return push_errno(
            L, std::string("cannot mount ") + (source ? source : "none") + " on " + target);
    lua_pushboolean(L, 1);
    return 1;
}

// umount(target [, flags]): flags "force", "detach" (or "lazy"), "expire", "nofollow".
int l_umount(lua_State* L) {
    const char* target = luaL_checkstring(L, 1);
    check_flag_arg(L, 2);
    unsigned long flags = 0;
    if (!parse_flags(L, 2, kUmountFlags, &flags, nullptr))
        return luaL_argerror(L, 2, lua_tostring(L, -1));
    if (::umount2(target, static_cast<int>(flags)) < 0)
        return push_errno(L, std::string("cannot unmount ") + target);
    lua_pushboolean(L, 1);
    return 1;
}

// hostname() returns it; hostname(name) sets it.
int l_hostname(lua_State* L) {
    if (!lua_isnoneornil(L, 1)) {
        std::string_view name = check_view(L, 1);
        if (::sethostname(name.data(), name.size()) < 0)
            return push_errno(L, "cannot set hostname");
        lua_pushboolean(L, 1);
        return 1;
    }
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) < 0) return push_errno(L, "cannot get hostname");
    lua_pushstring(L, buf);
    return 1;
}

int l_getpid(lua_State* L) {
    lua_pushinteger(L, ::getpid());
    return 1;
}
int l_getppid(lua_State* L) {
    lua_pushinteger(L, ::getppid());
    return 1;
}
int l_getuid(lua_State* L) {
    lua_pushinteger(L, ::getuid());
    return 1;
}
int l_geteuid(lua_State* L) {
    lua_pushinteger(L, ::geteuid());
    return 1;
}
int l_getgid(lua_State* L) {
    lua_pushinteger(L, ::getgid());
    return 1;
}
int l_getegid(lua_State* L) {
    lua_pushinteger(L, ::getegid());
    return 1;
}
int l_getsid(lua_State* L) {
    lua_pushinteger(L, ::getsid(0));
    return 1;
}
int l_getpgrp(lua_State* L) {
    lua_pushinteger(L, ::getpgrp());
    return 1;
}

int l_getgroups(lua_State* L) {
    gid_t groups[256];
    int n = ::getgroups(256, groups);
    if (n < 0) return push_errno(L, "getgroups");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; ++i) {
        lua_pushinteger(L, groups[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

// kill(pid [, signal = "TERM"])
int l_kill(lua_State* L) {
    lua_Integer pid = luaL_checkinteger(L, 1);
    int sig = lua_isnoneornil(L, 2) ? SIGTERM : check_signal(L, 2);
    if (::kill(static_cast<pid_t>(pid), sig) < 0)
        return push_errno(L, "kill " + std::to_string(pid));
    lua_pushboolean(L, 1);
    return 1;
}

int l_sync(lua_State*) {
    ::sync();
    return 0;
}

// reboot(how): "restart", "halt", "poweroff" (after sync), "cad_on", "cad_off".
int l_reboot(lua_State* L) {
    static const char* const kHow[] = {"restart", "halt", "poweroff", "cad_on", "cad_off", nullptr};
    static const unsigned kCmd[] = {RB_AUTOBOOT, RB_HALT_SYSTEM, RB_POWER_OFF, RB_ENABLE_CAD,
                                    RB_DISABLE_CAD};
    int i = luaL_checkoption(L, 1, nullptr, kHow);
    if (i < 3) ::sync();
    if (::reboot(static_cast<int>(kCmd[i])) < 0)
        return push_errno(L, std::string("reboot ") + kHow[i]);
    lua_pushboolean(L, 1);
    return 1;
}

int l_uname(lua_State* L) {
    utsname u;
    if (::uname(&u) < 0) return push_errno(L, "uname");
    lua_createtable(L, 0, 6);
    const std::pair<const char*, const char*> fields[] = {
        {"sysname", u.sysname}, {"nodename", u.nodename}, {"release", u.release},
        {"version", u.version}, {"machine", u.machine},   {"domainname", u.domainname},
    };
    for (const auto& [k, v] : fields) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
    return 1;
}

double clock_seconds(clockid_t id) {
    timespec ts;
    ::clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// time(): seconds since the epoch, with fractions.
int l_time(lua_State* L) {
    lua_pushnumber(L, clock_seconds(CLOCK_REALTIME));
    return 1;
}

// clock([name]): "monotonic" (default), "boottime", "realtime", "process", "thread".
int l_clock(lua_State* L) {
    static const char* const kNames[] = {"monotonic", "boottime", "realtime",
                                         "process",   "thread",   nullptr};
    static const clockid_t kIds[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME,
                                     CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    int i = luaL_checkoption(L, 1, "monotonic", kNames);
    lua_pushnumber(L, clock_seconds(kIds[i]));
    return 1;
}

int l_getcwd(lua_State* L) {
    char buf[4096];
    if (!::getcwd(buf, sizeof buf)) return push_errno(L, "getcwd");
    lua_pushstring(L, buf);
    return 1;
}

int l_chdir(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    if (::chdir(path) < 0) return push_errno(L, path);
    lua_pushboolean(L, 1);
    return 1;
}

// environ(): the whole environment as a table.
int l_environ(lua_State* L) {
    lua_newtable(L);
    for (char** e = environ; e && *e; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (!eq) continue;
        lua_pushlstring(L, *e, static_cast<size_t>(eq - *e));
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    return 1;
}

// setenv(name, value): nil value unsets.
int l_setenv(lua_State* L) {
    const char* name = luaL_checkstring(L, 1);
    const char* value = luaL_optstring(L, 2, nullptr);
    luaL_argcheck(L, *name && !std::strchr(name, '='), 1, "invalid variable name");
    int rc = value ? ::setenv(name, value, 1) : ::unsetenv(name);
    if (rc < 0) return push_errno(L, name);
    lua_pushboolean(L, 1);
    return 1;
}

int l_umask(lua_State* L) {
    lua_Integer m = luaL_optinteger(L, 1, -1);
    mode_t old = ::umask(m < 0 ? 022 : static_cast<mode_t>(m & 0777));
    if (m < 0) ::umask(old);
    lua_pushinteger(L, old);
    return 1;
}

// pipe(): read end, write end (streams).
int l_pipe(lua_State* L) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) return push_errno(L, "pipe");
    push_stream(L, Fd(fds[0]));
    push_stream(L, Fd(fds[1]));
    return 2;
}

}  // namespace

int open_sys(lua_State* L) {
    define_stream(L);
    static const luaL_Reg kFuncs[] = {
        {"mount", l_mount},         {"umount", l_umount},   {"hostname", l_hostname},
        {"getpid", l_getpid},       {"getppid", l_getppid}, {"getuid", l_getuid},
        {"geteuid", l_geteuid},     {"getgid", l_getgid},   {"getegid", l_getegid},
        {"getgroups", l_getgroups}, {"getsid", l_getsid},   {"getpgrp", l_getpgrp},
        {"kill", l_kill},           {"sync", l_sync},       {"reboot", l_reboot},
        {"uname", l_uname},         {"time", l_time},       {"clock", l_clock},
        {"getcwd", l_getcwd},       {"chdir", l_chdir},     {"environ", l_environ},
        {"setenv", l_setenv},       {"umask", l_umask},     {"pipe", l_pipe},
        {nullptr, nullptr},
    };
    luaL_newlib(L, kFuncs);
    add_sys_fs(L);
    add_sys_process(L);
    return 1;
}

}  // namespace keel::lua
