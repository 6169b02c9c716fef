// keel.sys file-system calls: stat/lstat, readdir, readfile/writefile, mkdir,
// rm, rename, symlink/readlink, chmod/chown. Failures return nil, message, errno.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/durable.h"
#include "base/fd.h"
#include "base/sys.h"
#include "lua/lua_util.h"
#include "lua/sys_parts.h"

namespace keel::lua {
namespace {

const char* file_type(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "link";
    if (S_ISCHR(m)) return "char";
    if (S_ISBLK(m)) return "block";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    return "unknown";
}

void set_int(lua_State* L, const char* k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

double seconds(const timespec& ts) {
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

int push_stat(lua_State* L, const struct stat& st) {
    lua_createtable(L, 0, 16);
    lua_pushstring(L, file_type(st.st_mode));
    lua_setfield(L, -2, "type");
    set_int(L, "mode", st.st_mode & 07777);
    set_int(L, "size", st.st_size);
    set_int(L, "uid", st.st_uid);
    set_int(L, "gid", st.st_gid);
    set_int(L, "nlink", static_cast<lua_Integer>(st.st_nlink));
    set_int(L, "ino", static_cast<lua_Integer>(st.st_ino));
    set_int(L, "dev", static_cast<lua_Integer>(st.st_dev));
    set_int(L, "rdev", static_cast<lua_Integer>(st.st_rdev));
    set_int(L, "blocks", st.st_blocks);
    lua_pushnumber(L, seconds(st.st_atim));
    lua_setfield(L, -2, "atime");
    lua_pushnumber(L, seconds(st.st_mtim));
    lua_setfield(L, -2, "mtime");
    lua_pushnumber(L, seconds(st.st_ctim));
    lua_setfield(L, -2, "ctime");
    return 1;
}

int do_stat(lua_State* L, bool follow) {
    const char* path = luaL_checkstring(L, 1);
    struct stat st;
    int rc = follow ? ::stat(path, &st) : ::lstat(path, &st);
    if (rc < 0) return push_errno(L, path);
    return push_stat(L, st);
}
int l_stat(lua_State* L) {
    return do_stat(L, true);
}
int l_lstat(lua_State* L) {
    return do_stat(L, false);
}

// readdir(path): sorted names, without "." and "..".
int l_readdir(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    DIR* d = ::opendir(path);
    if (!d) return push_errno(L, path);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        names.emplace_back(e->d_name);
    }
    int err = errno;
    ::closedir(d);
    if (err) {
        errno = err;
        return push_errno(L, path);
    }
    std::sort(names.begin(), names.end());
    lua_createtable(L, static_cast<int>(names.size()), 0);
    for (size_t i = 0; i < names.size(); ++i) {
        push(L, names[i]);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    return 1;
}

int l_readfile(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return push_errno(L, path);
    Fd owned(fd);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        char* p = luaL_prepbuffsize(&b, 65536);
        ssize_t n = ::read(fd, p, 65536);
        if (n < 0) {
            if (errno == EINTR) continue;
            return push_errno(L, path);
        }
        if (n == 0) break;
        luaL_addsize(&b, static_cast<size_t>(n));
    }
    luaL_pushresult(&b);
    return 1;
}

// writefile(path, data [, {mode=0644, append=false, atomic=false, sync=false}])
// atomic: through sys::write_file_atomic (a temporary beside it, fsync, rename
// over, fsync the directory): readers see the old or the new contents, never a
// mix, and a power cut after it returned keeps the new.
int l_writefile(lua_State* L) {
    std::string_view data = check_view(L, 2);
    const char* path = luaL_checkstring(L, 1);
    check_opt_table(L, 3);
    auto mode = static_cast<mode_t>(opt_int(L, 3, 3, "mode", 0644));
    bool append = opt_bool(L, 3, 3, "append", false);
    bool atomic = opt_bool(L, 3, 3, "atomic", false);
    bool sync = opt_bool(L, 3, 3, "sync", false);
    luaL_argcheck(L, !(append && atomic), 3, "append and atomic exclude each other");
    if (atomic) return push_status(L, sys::write_file_atomic(path, data, mode));
    int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), mode);
    if (fd < 0) return push_errno(L, path);
    Fd owned(fd);
    auto written = sys::write_all(fd, data.data(), data.size());
    if (!written) errno = written.error().code();
    if (!written || (sync && ::fsync(fd) < 0)) return push_errno(L, path);
    lua_pushboolean(L, 1);
    return 1;
}

// mkdir(path [, mode | {mode=0755, parents=false}]): with parents, an existing
// directory is not an error (like mkdir -p).
int l_mkdir(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    mode_t mode = 0755;
    bool parents = false;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        mode = static_cast<mode_t>(luaL_checkinteger(L, 2));
    } else {
        check_opt_table(L, 2);
        mode = static_cast<mode_t>(opt_int(L, 2, 2, "mode", 0755));
        parents = opt_bool(L, 2, 2, "parents", false);
    }
    if (!parents) {
        if (::mkdir(path, mode) < 0) return push_errno(L, path);
        lua_pushboolean(L, 1);
        return 1;
    }
    std::string p = path;
    for (size_t pos = 1; pos <= p.size(); ++pos) {
        if (pos != p.size() && p[pos] != '/') continue;
        std::string part = p.substr(0, pos);
        if (::mkdir(part.c_str(), mode) == 0) continue;
        if (errno != EEXIST) return push_errno(L, part);
        struct stat st;
        if (::stat(part.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return push_errno(L, part);
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

// Removes `path` and, for directories, everything below; does not follow links
// and stays on nothing but what it finds by name.
bool remove_tree(const std::string& path, std::string* failed) {
    struct stat st;
    if (::lstat(path.c_str(), &st) < 0) {
        *failed = path;
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR* d = ::opendir(path.c_str());
        if (!d) {
            *failed = path;
            return false;
        }
        std::vector<std::string> names;
        while (dirent* e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
                names.emplace_back(e->d_name);
        }
        ::closedir(d);
        for (const auto& n : names)
            if (!remove_tree(path + "/" + n, failed)) return false;
        if (::rmdir(path.c_str()) < 0) {
            *failed = path;
            return false;
        }
        return true;
    }
    if (::unlink(path.c_str()) < 0) {
        *failed = path;
        return false;
    }
    return true;
}

// rm(path [, {recursive=false, force=false}]): files, links, empty directories;
// recursive removes whole trees; force ignores a missing path.
int l_rm(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    check_opt_table(L, 2);
    bool recursive = opt_bool(L, 2, 2, "recursive", false);
    bool force = opt_bool(L, 2, 2, "force", false);
    std::string failed = path;
    bool ok;
    if (recursive) {
        ok = remove_tree(path, &failed);
    } else {
        ok = ::unlink(path) == 0 || (errno == EISDIR && ::rmdir(path) == 0);
    }
    if (!ok && !(force && errno == ENOENT)) return push_errno(L, failed);
    lua_pushboolean(L, 1);
    return 1;
}

int l_rename(lua_State* L) {
    const char* from = luaL_checkstring(L, 1);
    const char* to = luaL_checkstring(L, 2);
    if (::rename(from, to) < 0) return push_errno(L, std::string(from) + " -> " + to);
    lua_pushboolean(L, 1);
    return 1;
}

int l_symlink(lua_State* L) {
    const char* target = luaL_checkstring(L, 1);
    const char* link = luaL_checkstring(L, 2);
    if (::symlink(target, link) < 0) return push_errno(L, link);
    lua_pushboolean(L, 1);
    return 1;
}

int l_readlink(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    char buf[4096];
    ssize_t n = ::readlink(path, buf, sizeof buf);
    if (n < 0) return push_errno(L, path);
    lua_pushlstring(L, buf, static_cast<size_t>(n));
    return 1;
}

// Mode as a number (0755) or an octal string ("755", "0755").
mode_t check_mode(lua_State* L, int arg) {
    if (lua_type(L, arg) == LUA_TSTRING) {
        const char* s = lua_tostring(L, arg);
        char* end = nullptr;
        long m = std::strtol(s, &end, 8);
        luaL_argcheck(L, *s && !*end && m >= 0 && m <= 07777, arg, "invalid octal mode");
        return static_cast<mode_t>(m);
    }
    lua_Integer m = luaL_checkinteger(L, arg);
    luaL_argcheck(L, m >= 0 && m <= 07777, arg, "mode out of range");
    return static_cast<mode_t>(m);
}

int l_chmod(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    mode_t mode = check_mode(L, 2);
    if (::chmod(path, mode) < 0) return push_errno(L, path);
    lua_pushboolean(L, 1);
    return 1;
}

// A user or group as a number or a name; -1 (unchanged) for nil. Unknown names: -2.
long long id_arg(lua_State* L, int arg, bool group) {
    if (lua_isnoneornil(L, arg)) return -1;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Integer id = luaL_checkinteger(L, arg);
        luaL_argcheck(L, id >= 0 && id < 4294967295LL, arg, "id out of range");
        return id;
    }
    const char* name = luaL_checkstring(L, arg);
    if (group) {
        const struct group* g = ::getgrnam(name);
        return g ? static_cast<long long>(g->gr_gid) : -2;
    }
    const struct passwd* p = ::getpwnam(name);
    return p ? static_cast<long long>(p->pw_uid) : -2;
}

// chown(path, user, group [, {follow=true}]): numbers or names; nil keeps one.
int l_chown(lua_State* L) {
    const char* path = luaL_checkstring(L, 1);
    long long uid = id_arg(L, 2, false);
    long long gid = id_arg(L, 3, true);
    check_opt_table(L, 4);
    bool follow = opt_bool(L, 4, 4, "follow", true);
    if (uid == -2)
        return push_error(L, std::string("unknown user '") + lua_tostring(L, 2) + "'", EINVAL);
    if (gid == -2)
        return push_error(L, std::string("unknown group '") + lua_tostring(L, 3) + "'", EINVAL);
    int rc = (follow ? ::chown : ::lchown)(path, static_cast<uid_t>(uid), static_cast<gid_t>(gid));
    if (rc < 0) return push_errno(L, path);
    lua_pushboolean(L, 1);
    return 1;
}

}  // namespace

void add_sys_fs(lua_State* L) {
    static const luaL_Reg kFuncs[] = {
        {"stat", l_stat},
        {"lstat", l_lstat},
        {"readdir", l_readdir},
        {"readfile", l_readfile},
        {"writefile", l_writefile},
        {"mkdir", l_mkdir},
        {"rm", l_rm},
        {"rename", l_rename},
        {"symlink", l_symlink},
        {"readlink", l_readlink},
        {"chmod", l_chmod},
        {"chown", l_chown},
        {nullptr, nullptr},
    };
    luaL_setfuncs(L, kFuncs, 0);
}

}  // namespace keel::lua
