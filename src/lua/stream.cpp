#include "lua/stream.h"

#include <sys/epoll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "base/sys.h"
#include "loop/fd_watch.h"
#include "lua/lua_util.h"
#include "lua/runtime.h"

namespace keel::lua {
namespace {

struct Stream {
    Fd fd;
    std::string in;   // read but not yet returned
    std::string out;  // accepted by write() but not yet written
    bool eof = false;
    bool busy_read = false, busy_write = false;
    loop::FdWatch watch;
    Runtime::Done waiter;  // a task waiting for readiness

    ~Stream() { wake(); }
    // Wakes a waiting task (it then sees the new state, e.g. closed).
    void wake() {
        watch.stop();
        if (auto w = std::move(waiter)) {
            waiter = nullptr;
            w([](lua_State*) { return 0; });
        }
    }
};

Stream* check_stream(lua_State* L, int arg = 1) {
    return static_cast<Stream*>(luaL_checkudata(L, arg, kStream));
}

// Waits until the stream's fd is ready for `events`, then continues in k.
int wait_ready(lua_State* L, Stream* s, uint32_t events, lua_KFunction k) {
    auto& rt = Runtime::of(L);
    if (const char* why = rt.wait_blocker(L)) {
        (events == EPOLLIN ? s->busy_read : s->busy_write) = false;
        return luaL_error(L, "%s", why);
    }
    return rt.await(
        L,
        [s, events, &rt](Runtime::Done done) {
            s->waiter = std::move(done);
            auto st = s->watch.start(rt.loop(), s->fd.get(), events, [s](uint32_t) { s->wake(); });
            if (!st) s->wake();  // not pollable (a regular file): just try again
        },
        k, 0);
}

// Fills s->in with one read; false with errno set on EAGAIN or failure.
bool fill(Stream* s) {
    char buf[16384];
    auto n = sys::read(s->fd.get(), buf, sizeof buf);
    if (!n) {
        errno = n.error().code();
        return false;
    }
    if (*n == 0)
        s->eof = true;
    else
        s->in.append(buf, *n);
    return true;
}

// Tries to satisfy a read from the buffer; pushes the result and returns true if done.
bool take(lua_State* L, Stream* s, int fmt_arg) {
    if (lua_type(L, fmt_arg) == LUA_TNUMBER) {
        auto want = static_cast<size_t>(lua_tointeger(L, fmt_arg));
        if (want == 0) {
            if (!s->in.empty() || !s->eof)
                lua_pushliteral(L, "");
            else
                lua_pushnil(L);
            return true;
        }
        if (s->in.empty() && !s->eof) return false;
        if (s->in.empty()) {
            lua_pushnil(L);
            return true;
        }
        size_t n = std::min(want, s->in.size());
        lua_pushlstring(L, s->in.data(), n);
        s->in.erase(0, n);
        return true;
    }
    const char* f = lua_tostring(L, fmt_arg);
    if (*f == '*') ++f;  // Lua 5.1 style "*l"
    if (*f == 'a') {
        if (!s->eof) return false;
        push(L, s->in);
        s->in.clear();
        return true;
    }
    bool keep_nl = *f == 'L';
    auto nl = s->in.find('\n');
    if (nl == std::string::npos) {
        if (!s->eof) return false;
        if (s->in.empty())
            lua_pushnil(L);
        else
            push(L, s->in);
        s->in.clear();
        return true;
    }
    lua_pushlstring(L, s->in.data(), keep_nl ? nl + 1 : nl);
    s->in.erase(0, nl + 1);
    return true;
}

int read_k(lua_State* L, int, lua_KContext) {
    Stream* s = check_stream(L);
    for (;;) {
        if (!s->fd) {
            s->busy_read = false;
            return push_error(L, "stream is closed", EBADF);
        }
        if (take(L, s, 2)) {
            s->busy_read = false;
            return 1;
        }
        if (fill(s)) continue;
        if (errno == EAGAIN) return wait_ready(L, s, EPOLLIN, read_k);
        s->busy_read = false;
        return push_errno(L, "read");
    }
}

// stream:read([fmt]) with fmt "l" (default), "L", "a" or a byte count.
int s_read(lua_State* L) {
    Stream* s = check_stream(L);
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_pushliteral(L, "l");
    } else if (lua_type(L, 2) == LUA_TNUMBER) {
        luaL_argcheck(L, luaL_checkinteger(L, 2) >= 0, 2, "count must not be negative");
    } else {
        const char* f = luaL_checkstring(L, 2);
        if (*f == '*') ++f;
        luaL_argcheck(L, *f == 'l' || *f == 'L' || *f == 'a', 2, "invalid format");
    }
    lua_settop(L, 2);
    if (s->busy_read) return luaL_error(L, "stream is already being read by another task");
    s->busy_read = true;
    return read_k(L, LUA_OK, 0);
}

int write_k(lua_State* L, int, lua_KContext) {
    Stream* s = check_stream(L);
    while (!s->out.empty()) {
        if (!s->fd) {
            s->busy_write = false;
            return push_error(L, "stream is closed", EBADF);
        }
        auto n = sys::write(s->fd.get(), s->out.data(), s->out.size());
        if (!n) {
            if (n.error().code() == EAGAIN) return wait_ready(L, s, EPOLLOUT, write_k);
            s->out.clear();
            s->busy_write = false;
            return push_error(L, "write: " + std::string(std::strerror(n.error().code())),
                              n.error().code());
        }
        s->out.erase(0, *n);
    }
    s->busy_write = false;
    lua_settop(L, 1);
    return 1;
}

// stream:write(...): strings or numbers; returns the stream, or nil, message, errno.
int s_write(lua_State* L) {
    Stream* s = check_stream(L);
    int n = lua_gettop(L);
    for (int i = 2; i <= n; ++i)
        luaL_checklstring(L, i, nullptr);
    if (s->busy_write) return luaL_error(L, "stream is already being written by another task");
    if (!s->fd) return push_error(L, "stream is closed", EBADF);
    for (int i = 2; i <= n; ++i) {
        size_t len;
        const char* p = lua_tolstring(L, i, &len);
        s->out.append(p, len);
    }
    s->busy_write = true;
    return write_k(L, LUA_OK, 0);
}

int s_close(lua_State* L) {
    Stream* s = check_stream(L);
    s->fd.reset();
    s->wake();
    lua_pushboolean(L, 1);
    return 1;
}

int s_fileno(lua_State* L) {
    Stream* s = check_stream(L);
    lua_pushinteger(L, s->fd.get());
    return 1;
}

// for line in stream:lines() do ... end
int lines_iter(lua_State* L) {
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushliteral(L, "l");
    return s_read(L);
}

int s_lines(lua_State* L) {
    check_stream(L);
    lua_settop(L, 1);
    lua_pushcclosure(L, lines_iter, 1);
    return 1;
}

int s_tostring(lua_State* L) {
    Stream* s = check_stream(L);
    if (s->fd)
        lua_pushfstring(L, "keel.stream (fd %d)", s->fd.get());
    else
        lua_pushliteral(L, "keel.stream (closed)");
    return 1;
}

}  // namespace

void push_stream(lua_State* L, Fd fd) {
    (void)sys::set_nonblocking(fd.get(), true);
    auto* s = new_udata<Stream>(L, kStream);
    s->fd = std::move(fd);
}

void define_stream(lua_State* L) {
    static const luaL_Reg kMethods[] = {
        {"read", s_read},     {"write", s_write}, {"close", s_close},
        {"fileno", s_fileno}, {"lines", s_lines}, {nullptr, nullptr},
    };
    static const luaL_Reg kMeta[] = {{"__tostring", s_tostring}, {nullptr, nullptr}};
    define_class<Stream>(L, kStream, kMethods, kMeta);
}

int fd_of(lua_State* L, int arg) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Integer fd = luaL_checkinteger(L, arg);
        luaL_argcheck(L, fd >= 0 && fd <= INT32_MAX, arg, "invalid fd");
        return static_cast<int>(fd);
    }
    if (auto* s = static_cast<Stream*>(luaL_testudata(L, arg, kStream))) {
        luaL_argcheck(L, s->fd.valid(), arg, "stream is closed");
        return s->fd.get();
    }
    if (auto* f = static_cast<luaL_Stream*>(luaL_testudata(L, arg, LUA_FILEHANDLE))) {
        luaL_argcheck(L, f->closef != nullptr && f->f != nullptr, arg, "file is closed");
        return fileno(f->f);
    }
    return luaL_typeerror(L, arg, "fd, keel stream or file");
}

}  // namespace keel::lua
