#include "lua/runtime.h"

#include "base/log.h"

namespace keel::lua {

namespace {

const char kRuntimeKey = 0;  // registry key: its address
constexpr size_t kIdleThreads = 16;

// The registry anchor: a userdata owning the runtime, closed with the state.
struct RuntimeAnchor {
    std::shared_ptr<Runtime> rt;
};

int anchor_gc(lua_State* L) {
    auto* a = static_cast<RuntimeAnchor*>(lua_touserdata(L, 1));
    a->~RuntimeAnchor();
    return 0;
}

}  // namespace

std::shared_ptr<Runtime> Runtime::shared(lua_State* L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kRuntimeKey);
    auto* a = static_cast<RuntimeAnchor*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (a) return a->rt;
    // The main thread, so that callbacks never run on a coroutine that has ended.
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State* main = lua_tothread(L, -1);
    lua_pop(L, 1);
    void* p = lua_newuserdatauv(L, sizeof(RuntimeAnchor), 0);
    a = new (p) RuntimeAnchor{std::make_shared<Runtime>(main)};
    a->rt->self_ = a->rt;
    lua_newtable(L);
    lua_pushcfunction(L, anchor_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kRuntimeKey);
    return a->rt;
}

Runtime& Runtime::of(lua_State* L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kRuntimeKey);
    auto* a = static_cast<RuntimeAnchor*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (a) return *a->rt;
    return *shared(L);  // the anchor keeps it alive
}

Runtime::Runtime(lua_State* main) : main_(main) {}

Runtime::~Runtime() {
    // Timers first: they reference the loop.
    timers_.clear();
}

loop::EventLoop& Runtime::loop() {
    if (!loop_) {
        auto l = loop::EventLoop::create();
        if (!l)
            luaL_error(main_, "keel: cannot create the event loop: %s",
                       l.error().message().c_str());
        loop_ = std::move(l).value();
    }
    return *loop_;
}

lua_State* Runtime::spawn(lua_State* L, int nargs, bool main) {
    lua_State* T;
    int ref;
    if (!idle_.empty()) {
        std::tie(T, ref) = idle_.back();
        idle_.pop_back();
    } else {
        T = lua_newthread(L);
        ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    tasks_.emplace(T, ref);
    if (main) main_task_ = T;
    lua_xmove(L, T, nargs + 1);
    resume(T, L, nargs);
    return T;
}

void Runtime::resume(lua_State* T, lua_State* from, int nargs) {
    int nres = 0;
    awaiting_ = nullptr;
    int st = lua_resume(T, from, nargs, &nres);
    if (st == LUA_YIELD) {
        lua_pop(T, nres);
        if (awaiting_ == T) {
            awaiting_ = nullptr;
            return;
        }
        // A bare coroutine.yield() in a task: let the others run, then go on.
        hold();
        std::weak_ptr<Runtime> self = self_;
        loop().defer([self, T] {
            auto rt = self.lock();
            if (!rt) return;
            rt->release();
            rt->resume(T, nullptr, 0);
        });
        return;
    }
    if (st != LUA_OK) report(T);
    end_task(T, st == LUA_OK);
}

void Runtime::end_task(lua_State* T, bool reusable) {
    auto it = tasks_.find(T);
    if (it == tasks_.end()) return;
    int ref = it->second;
    tasks_.erase(it);
    if (T == main_task_) main_task_ = nullptr;
    if (reusable && idle_.size() < kIdleThreads) {
        lua_settop(T, 0);
        idle_.emplace_back(T, ref);
    } else {
        luaL_unref(main_, LUA_REGISTRYINDEX, ref);
    }
}

void Runtime::report(lua_State* T) {
    const char* msg = lua_tostring(T, -1);
    if (!msg) {
        if (luaL_callmeta(T, -1, "__tostring") && lua_type(T, -1) == LUA_TSTRING)
            msg = lua_tostring(T, -1);
        else
            msg = lua_pushfstring(T, "(error object is a %s value)", luaL_typename(T, -1));
    }
    luaL_traceback(main_, T, msg, 0);
    std::string text = lua_tostring(main_, -1);
    lua_pop(main_, 1);
    if (T == main_task_) {
        main_error_ = text;
        stop();
        return;
    }
    if (error_handler_ != LUA_NOREF) {
        lua_rawgeti(main_, LUA_REGISTRYINDEX, error_handler_);
        lua_pushstring(main_, text.c_str());
        if (lua_pcall(main_, 1, 0, 0) == LUA_OK) return;
        text += "\n(and the error handler failed: " + std::string(lua_tostring(main_, -1)) + ")";
        lua_pop(main_, 1);
    }
    log::error("%s", text.c_str());
}

void Runtime::set_error_handler(int ref) {
    if (error_handler_ != LUA_NOREF) luaL_unref(main_, LUA_REGISTRYINDEX, error_handler_);
    error_handler_ = ref;
}

const char* Runtime::wait_blocker(lua_State* L) const {
    if (in_task(L)) {
        if (lua_isyieldable(L)) return nullptr;
        return "cannot wait here: a C function (e.g. a metamethod or table.sort) is in between; "
               "move the waiting call out of it";
    }
    if (dispatching())
        return "waiting here would block the event loop: call it from a keel.spawn task or a "
               "callback";
    return nullptr;
}

void Runtime::check_can_wait(lua_State* L) {
    if (const char* why = wait_blocker(L)) luaL_error(L, "%s", why);
}

struct Runtime::Wait {
    bool suspended = false;  // the task yielded; completion resumes it
    bool done = false;
    lua_State* task = nullptr;
    std::unique_ptr<Pusher> result;  // completion before suspending
};

void Runtime::begin_wait(Start start) {
    auto w = std::make_shared<Wait>();
    pending_ = w;
    std::weak_ptr<Runtime> self = self_;
    start([w, self](Pusher p) {
        if (w->done) return;
        w->done = true;
        if (!w->suspended) {
            w->result = std::make_unique<Pusher>(std::move(p));
            return;
        }
        auto rt = self.lock();
        if (!rt) return;
        // Resumed after the current batch: never inside the code that completed us.
        rt->loop().defer([self, w, p = std::move(p)] {
            auto rt = self.lock();
            if (!rt) return;
            rt->release();
            int n = p(w->task);
            rt->resume(w->task, nullptr, n);
        });
    });
}

int Runtime::end_wait(lua_State* L, lua_KFunction k, lua_KContext ctx) {
    bool yield = false, failed = false;
    int n = 0;
    {
        std::shared_ptr<Wait> w = std::move(pending_);
        if (!w->result && in_task(L)) {
            // The Done closure now holds the only reference to w.
            w->suspended = true;
            w->task = L;
            hold();
            awaiting_ = L;
            yield = true;
        } else {
            if (!w->result) run_until([&] { return w->result != nullptr; });
            if (w->result)
                n = (*w->result)(L);
            else
                failed = true;  // the loop failed; nothing sensible to return
        }
    }
    // Nothing with a destructor is alive from here on: lua_yieldk and k may longjmp.
    if (yield) return lua_yieldk(L, 0, ctx, k);
    if (failed) return 0;
    if (k) return k(L, LUA_OK, ctx);
    return n;
}

bool Runtime::run_until(const std::function<bool()>& done) {
    auto& l = loop();
    ++depth_;
    bool ok = true;
    while (!done()) {
        auto st = l.run_once(std::chrono::milliseconds(-1));
        if (!st) {
            log::error("event loop: %s", st.error().message().c_str());
            ok = false;
            break;
        }
    }
    --depth_;
    return ok;
}

Status Runtime::run() {
    if (holds_ == 0 && !loop_) return {};
    auto& l = loop();
    ++depth_;
    Status result;
    while (!stopped_ && holds_ > 0) {
        auto st = l.run_once(std::chrono::milliseconds(-1));
        if (!st) {
            result = st;
            break;
        }
    }
    --depth_;
    stopped_ = false;
    return result;
}

void Runtime::after(std::chrono::nanoseconds delay, std::function<void()> fn) {
    uint64_t id = next_timer_++;
    auto t = std::make_unique<loop::Timer>(loop(), [this, id, fn = std::move(fn)] {
        auto it = timers_.find(id);
        if (it == timers_.end()) return;
        auto keep = std::move(it->second);  // destroyed after the callback returns
        timers_.erase(it);
        fn();
    });
    t->arm_after(delay);
    timers_.emplace(id, std::move(t));
}

uint64_t Runtime::add_finisher(Finisher f) {
    uint64_t id = next_finisher_++;
    finishers_.emplace(id, std::move(f));
    return id;
}

void Runtime::remove_finisher(uint64_t id) {
    finishers_.erase(id);
}

void Runtime::finish(std::chrono::nanoseconds timeout) {
    if (finishers_.empty() || !loop_) return;
    auto all = std::move(finishers_);
    finishers_.clear();
    auto pending = std::make_shared<size_t>(all.size());
    bool timed_out = false;
    loop::Timer timer(*loop_, [&] { timed_out = true; });
    timer.arm_after(timeout);
    for (auto& [id, f] : all)
        f(false, [pending] { --*pending; });
    run_until([&] { return *pending == 0 || timed_out; });
}

void Runtime::finish_now() {
    auto all = std::move(finishers_);
    finishers_.clear();
    for (auto& [id, f] : all)
        f(true, [] {});
}

}  // namespace keel::lua
