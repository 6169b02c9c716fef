// Runtime: what one Lua state shares across the keel.* modules — its event loop
// (created on first use), the tasks (coroutines) running on it, and how Lua code
// waits for something without blocking the loop.
//
// Every callback (timer, fd watch, signal, bus message) runs as a task, so code
// anywhere may call waiting functions (keel.sleep, bus:request, stream reads):
// inside a task they yield and the task is resumed when the result is there;
// in plain code (the main chunk under stock lua5.4) they run the loop until it is.
#pragma once

#include <lua.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "loop/event_loop.h"
#include "loop/timer.h"

namespace keel::lua {

class Runtime {
  public:
    // Pushes a waiting function's results onto the given stack; returns how many.
    using Pusher = std::function<int(lua_State*)>;
    using Done = std::function<void(Pusher)>;
    using Start = std::function<void(Done)>;

    // The runtime of L's Lua state, created (with its registry anchor) on first use.
    static Runtime& of(lua_State* L);
    // A shared handle for C++ objects that must not outlive the runtime's loop.
    static std::shared_ptr<Runtime> shared(lua_State* L);

    explicit Runtime(lua_State* main);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    lua_State* main() const { return main_; }
    // Created on first use; raises a Lua error if epoll is unavailable.
    loop::EventLoop& loop();
    bool has_loop() const { return loop_ != nullptr; }

    // Runs the function below `nargs` arguments on L's stack as a new task (popping
    // them), up to its first wait. Errors are reported, not raised. The `main`
    // task's failure stops the loop and is kept in main_error().
    lua_State* spawn(lua_State* L, int nargs, bool main = false);
    bool in_task(lua_State* L) const { return tasks_.count(L) != 0; }

    // Whether L may wait here: in a task (yieldable), or outside any callback so
    // that running the loop cannot re-enter it. Returns why not, or nullptr.
    const char* wait_blocker(lua_State* L) const;
    // Raises with wait_blocker()'s reason.
    void check_can_wait(lua_State* L);
    // Suspends L until `start`'s Done is called (once; later calls are ignored),
    // then returns the pushed values — or, with `k`, continues in k(L, LUA_OK, ctx).
    // Call check_can_wait first; nothing here raises.
    //
    // A task yields with longjmp, which skips C++ destructors in every frame between
    // here and Lua: `start` must capture only trivially destructible values (pointers,
    // numbers, string_views into Lua strings), and the caller must have no object with
    // a destructor alive when it calls this (write `return rt.await(...)`).
    template <typename F>
    int await(lua_State* L, F start, lua_KFunction k = nullptr, lua_KContext ctx = 0) {
        static_assert(std::is_trivially_destructible_v<F>, "a yield would skip its destructor");
        begin_wait(Start(start));  // the std::function dies here, before any yield
        return end_wait(L, k, ctx);
    }

    // One-shot timer owned by the runtime; cancelled when the runtime goes.
    void after(std::chrono::nanoseconds delay, std::function<void()> fn);

    // Anything that will call back into Lua later holds the runtime running.
    void hold() { ++holds_; }
    void release() { --holds_; }
    int holds() const { return holds_; }

    // Runs the loop until stop() or nothing holds it. Raises nothing.
    Status run();
    void stop() { stopped_ = true; }
    bool dispatching() const { return depth_ > 0; }
    // Runs the loop until `done()` (false: the loop failed).
    bool run_until(const std::function<bool()>& done);

    // Work to do before the program ends (e.g. flushing bus connections). finish()
    // runs the loop until each finisher has called its `done`, at most `timeout`;
    // finish_now() (os.exit) gives each a last chance without waiting.
    using Finisher = std::function<void(bool now, std::function<void()> done)>;
    uint64_t add_finisher(Finisher f);
    void remove_finisher(uint64_t id);
    void finish(std::chrono::nanoseconds timeout);
    void finish_now();

    // Set when the main task failed: the message with its traceback.
    const std::string& main_error() const { return main_error_; }

    // keel.loop.on_error(fn): registry reference of the handler, or LUA_NOREF.
    void set_error_handler(int ref);

  private:
    struct Wait;
    void begin_wait(Start start);
    int end_wait(lua_State* L, lua_KFunction k, lua_KContext ctx);
    void resume(lua_State* T, lua_State* from, int nargs);
    void end_task(lua_State* T, bool reusable);
    void report(lua_State* T);

    lua_State* main_;
    std::unique_ptr<loop::EventLoop> loop_;
    std::unordered_map<lua_State*, int> tasks_;     // task thread -> registry reference
    std::vector<std::pair<lua_State*, int>> idle_;  // finished threads kept for reuse
    lua_State* awaiting_ = nullptr;                 // the task that just yielded through await()
    std::shared_ptr<Wait> pending_;                 // between begin_wait() and end_wait()
    lua_State* main_task_ = nullptr;
    std::string main_error_;
    int error_handler_ = LUA_NOREF;
    int holds_ = 0;
    int depth_ = 0;
    bool stopped_ = false;
    uint64_t next_timer_ = 1, next_finisher_ = 1;
    std::map<uint64_t, std::unique_ptr<loop::Timer>> timers_;
    std::map<uint64_t, Finisher> finishers_;
    std::weak_ptr<Runtime> self_;
};

}  // namespace keel::lua
