// keel.loop: run/stop, timers, fd watches and signals on the runtime's event loop,
// plus keel.spawn and keel.sleep. Callbacks run as tasks (see runtime.h).
#include <signal.h>

#include "base/signals.h"
#include "base/sys.h"
#include "loop/fd_watch.h"
#include "loop/signal_watch.h"
#include "lua/handle.h"
#include "lua/lua_util.h"
#include "lua/modules.h"
#include "lua/runtime.h"
#include "lua/stream.h"

namespace keel::lua {
namespace {

constexpr const char* kTimer = "keel.loop.timer";
constexpr const char* kWatch = "keel.loop.watch";
constexpr const char* kSignal = "keel.loop.signal";

std::chrono::nanoseconds to_ns(long long ns) {
    return std::chrono::nanoseconds(ns);
}

// ---- timers ----

struct TimerHandle : Handle {
    std::unique_ptr<loop::Timer> timer;
    std::chrono::nanoseconds repeat{0};
    ~TimerHandle() {
        timer.reset();
        deactivate();
    }
};

TimerHandle* check_timer(lua_State* L) {
    return static_cast<TimerHandle*>(luaL_checkudata(L, 1, kTimer));
}

int new_timer(lua_State* L, long long first, long long repeat) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    auto& rt = Runtime::of(L);
    rt.loop();
    auto* t = new_udata<TimerHandle>(L, kTimer);
    t->rt = Runtime::shared(L);
    t->repeat = to_ns(repeat);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 1);
    t->timer = std::make_unique<loop::Timer>(rt.loop(), [t] {
        if (t->repeat.count() > 0) {
            t->timer->arm_after(t->repeat);
            t->fire(nullptr);
            return;
        }
        t->fire(nullptr, /*last=*/true);
    });
    t->timer->arm_after(to_ns(first));
    t->activate(L, -1);
    return 1;
}

// keel.loop.timer(seconds, fn [, repeat_seconds])
int l_timer(lua_State* L) {
    long long first = check_seconds_ns(L, 1);
    long long repeat = lua_isnoneornil(L, 3) ? 0 : check_seconds_ns(L, 3);
    return new_timer(L, first, repeat);
}

// keel.loop.every(seconds, fn)
int l_every(lua_State* L) {
    long long every = check_seconds_ns(L, 1);
    luaL_argcheck(L, every > 0, 1, "interval must be positive");
    return new_timer(L, every, every);
}

int timer_cancel(lua_State* L) {
    auto* t = check_timer(L);
    t->timer->cancel();
    t->deactivate();
    return 0;
}

// timer:again([seconds]): re-arms (after `seconds`, else the repeat interval or 0).
int timer_again(lua_State* L) {
    auto* t = check_timer(L);
    long long ns = lua_isnoneornil(L, 2) ? t->repeat.count() : check_seconds_ns(L, 2);
    t->timer->arm_after(to_ns(ns));
    t->activate(L, 1);
    return 0;
}

int timer_active(lua_State* L) {
    lua_pushboolean(L, check_timer(L)->timer->armed());
    return 1;
}

// ---- fd watches ----

struct WatchHandle : Handle {
    loop::FdWatch watch;
    ~WatchHandle() {
        watch.stop();
        deactivate();
    }
};

int l_watch(lua_State* L) {
    int fd = fd_of(L, 1);
    const char* ev = luaL_optstring(L, 2, "r");
    uint32_t events = 0;
    for (const char* c = ev; *c; ++c) {
        if (*c == 'r')
            events |= EPOLLIN;
        else if (*c == 'w')
            events |= EPOLLOUT;
        else
            luaL_argerror(L, 2, "events must be \"r\", \"w\" or \"rw\"");
    }
    luaL_argcheck(L, events != 0, 2, "events must be \"r\", \"w\" or \"rw\"");
    luaL_checktype(L, 3, LUA_TFUNCTION);
    auto& rt = Runtime::of(L);
    rt.loop();
    auto* w = new_udata<WatchHandle>(L, kWatch);
    w->rt = Runtime::shared(L);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, -2, 1);
    auto st = w->watch.start(rt.loop(), fd, events, [w](uint32_t e) {
        const char* what = (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (e & EPOLLOUT) ? "rw"
                           : (e & EPOLLOUT)                                        ? "w"
                                                                                   : "r";
        w->fire(what);
    });
    if (!st)
        return push_error(L, "cannot watch fd " + std::to_string(fd) + ": " + st.error().message(),
                          st.error().code());
    w->activate(L, -1);
    return 1;
}

int watch_stop(lua_State* L) {
    auto* w = static_cast<WatchHandle*>(luaL_checkudata(L, 1, kWatch));
    w->watch.stop();
    w->deactivate();
    return 0;
}

// ---- signals ----

struct SignalHandle : Handle {
    loop::SignalWatch watch;
    ~SignalHandle() { stop(); }
    void stop() {
        watch.stop();
        deactivate();
    }
};

int l_signal(lua_State* L) {
    int signo = check_signal(L, 1);
    luaL_argcheck(L, signo != SIGKILL && signo != SIGSTOP && signo != 0, 1,
                  "signal cannot be caught");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    auto& rt = Runtime::of(L);
    rt.loop();
    auto* s = new_udata<SignalHandle>(L, kSignal);
    s->rt = Runtime::shared(L);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 1);
    // The watch keeps the signal blocked while any handle (or other watch) wants it.
    auto st = s->watch.start(rt.loop(), {signo}, [s](int sig) {
        const char* name = signal_to_name(sig);
        s->fire(name ? name : "?");
    });
    if (!st) {
        s->stop();
        return push_error(L, st.error());
    }
    s->activate(L, -1);
    return 1;
}

int signal_stop(lua_State* L) {
    static_cast<SignalHandle*>(luaL_checkudata(L, 1, kSignal))->stop();
    return 0;
}

// ---- the loop ----

int l_run(lua_State* L) {
    auto& rt = Runtime::of(L);
    if (rt.dispatching()) return luaL_error(L, "keel.loop.run: the loop is already running");
    return push_status(L, rt.run());
}

int l_stop(lua_State* L) {
    Runtime::of(L).stop();
    return 0;
}

int l_now(lua_State* L) {
    lua_pushnumber(L, static_cast<lua_Number>(sys::monotonic_now().count()) / 1e9);
    return 1;
}

int l_on_error(lua_State* L) {
    if (lua_isnil(L, 1)) {
        Runtime::of(L).set_error_handler(LUA_NOREF);
        return 0;
    }
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    Runtime::of(L).set_error_handler(luaL_ref(L, LUA_REGISTRYINDEX));
    return 0;
}

}  // namespace

int l_spawn(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    auto& rt = Runtime::of(L);
    lua_State* T = rt.spawn(L, lua_gettop(L) - 1);
    lua_pushthread(T);
    lua_xmove(T, L, 1);
    return 1;
}

int l_sleep(lua_State* L) {
    long long ns = check_seconds_ns(L, 1);
    auto& rt = Runtime::of(L);
    rt.loop();
    rt.check_can_wait(L);
    return rt.await(L, [&rt, ns](Runtime::Done done) {
        rt.after(to_ns(ns), [done] { done([](lua_State*) { return 0; }); });
    });
}

int open_loop(lua_State* L) {
    static const luaL_Reg kTimerMethods[] = {{"cancel", timer_cancel},
                                             {"again", timer_again},
                                             {"active", timer_active},
                                             {nullptr, nullptr}};
    static const luaL_Reg kWatchMethods[] = {{"stop", watch_stop}, {nullptr, nullptr}};
    static const luaL_Reg kSignalMethods[] = {{"stop", signal_stop}, {nullptr, nullptr}};
    define_class<TimerHandle>(L, kTimer, kTimerMethods);
    define_class<WatchHandle>(L, kWatch, kWatchMethods);
    define_class<SignalHandle>(L, kSignal, kSignalMethods);
    static const luaL_Reg kFuncs[] = {
        {"run", l_run},     {"stop", l_stop},         {"now", l_now},       {"timer", l_timer},
        {"every", l_every}, {"watch", l_watch},       {"signal", l_signal}, {"spawn", l_spawn},
        {"sleep", l_sleep}, {"on_error", l_on_error}, {nullptr, nullptr},
    };
    luaL_newlib(L, kFuncs);
    return 1;
}

}  // namespace keel::lua
