// keel.bus: the async bus::Client for Lua.
//   local bus = keel.bus.connect()            -- $KEEL_BUS, /run/keel/bus.sock, 127.0.0.1:4222
//   bus:subscribe("hardware.block.add", function(msg) ... end)
//   local reply = bus:request("dev.list", "")  -- in a task: yields; elsewhere: runs the loop
// Handlers run as tasks. Messages are tables: subject, data, reply, headers,
// status, bus; msg:json() decodes data, msg:respond(data) answers a request.
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "bus/client/client.h"
#include "lua/json.h"
#include "lua/lua_util.h"
#include "lua/modules.h"
#include "lua/runtime.h"

namespace keel::lua {
namespace {

constexpr const char* kBus = "keel.bus";
constexpr const char* kSub = "keel.bus.subscription";
constexpr const char* kMsg = "keel.bus.msg";
constexpr double kDefaultTimeout = 5.0;

struct Sub;

struct Bus {
    std::shared_ptr<Runtime> rt;
    std::unique_ptr<bus::Client> client;
    int self = LUA_NOREF;  // registry anchor while subscriptions or waits are active
    int active = 0;
    int event_fn = LUA_NOREF;
    uint64_t finisher = 0;
    bool connected = false;
    std::string error;
    Runtime::Done connect_waiter;
    std::set<Sub*> subs;

    ~Bus() {
        if (finisher && rt) rt->remove_finisher(finisher);
        if (event_fn != LUA_NOREF && rt) luaL_unref(rt->main(), LUA_REGISTRYINDEX, event_fn);
        drop_client();
    }
    // Destroys the client without another callback into us. Inside a dispatch
    // (perhaps one of the client's own callbacks, still on the stack) it is
    // destroyed after the current batch.
    void drop_client() {
        if (!client) return;
        client->on_event(nullptr);
        if (rt && rt->dispatching()) {
            std::shared_ptr<bus::Client> c(client.release());
            rt->loop().defer([c] {});
        }
        client.reset();
    }
    void retain(lua_State* L, int idx) {
        if (active++ == 0) {
            lua_pushvalue(L, idx);
            self = luaL_ref(L, LUA_REGISTRYINDEX);
        }
    }
    void unretain() {
        if (--active == 0 && self != LUA_NOREF) {
            luaL_unref(rt->main(), LUA_REGISTRYINDEX, self);
            self = LUA_NOREF;
        }
    }
    // Pushes the bus userdata (only valid while retained).
    void push_self(lua_State* L) const { lua_rawgeti(L, LUA_REGISTRYINDEX, self); }
    void stop_subs();
};

struct Sub {
    Bus* bus = nullptr;  // user value 2 keeps it alive
    uint64_t sid = 0;
    uint64_t max = 0, received = 0;
    int self = LUA_NOREF;
    std::string subject;

    ~Sub() { stop(); }
    void stop() {
        if (self == LUA_NOREF) return;
        bus->subs.erase(this);
        if (bus->client && !bus->client->closed()) bus->client->unsubscribe(sid);
        luaL_unref(bus->rt->main(), LUA_REGISTRYINDEX, self);
        self = LUA_NOREF;
        bus->rt->release();
        bus->unretain();
    }
};

void Bus::stop_subs() {
    auto all = subs;
    for (Sub* s : all)
        s->stop();
}

Bus* check_bus(lua_State* L) {
    auto* b = static_cast<Bus*>(luaL_checkudata(L, 1, kBus));
    if (!b->client) luaL_argerror(L, 1, "bus connection is closed");
    return b;
}

void push_headers(lua_State* L, const bus::Headers& h) {
    lua_createtable(L, 0, static_cast<int>(h.fields.size()));
    for (const auto& [k, v] : h.fields) {
        push(L, k);
        if (lua_rawget(L, -2) == LUA_TNIL) {
            lua_pop(L, 1);
            push(L, k);
            push(L, v);
            lua_rawset(L, -3);
            continue;
        }
        // A repeated key: its values become an array.
        if (!lua_istable(L, -1)) {
            lua_createtable(L, 2, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
        }
        push(L, v);
        lua_rawseti(L, -2, static_cast<lua_Integer>(luaL_len(L, -2) + 1));
        push(L, k);
        lua_insert(L, -2);
        lua_rawset(L, -3);
    }
}

// Pushes a message table; `bus_idx` is the stack index of its bus userdata.
void push_msg(lua_State* L, std::string_view subject, std::string_view reply, std::string_view data,
              const bus::Headers* headers, int bus_idx) {
    bus_idx = lua_absindex(L, bus_idx);
    lua_createtable(L, 0, 6);
    push(L, subject);
    lua_setfield(L, -2, "subject");
    push(L, data);
    lua_setfield(L, -2, "data");
    if (!reply.empty()) {
        push(L, reply);
        lua_setfield(L, -2, "reply");
    }
    if (headers) {
        push_headers(L, *headers);
        lua_setfield(L, -2, "headers");
        if (headers->status) {
            lua_pushinteger(L, headers->status);
            lua_setfield(L, -2, "status");
        }
    }
    lua_pushvalue(L, bus_idx);
    lua_setfield(L, -2, "bus");
    luaL_setmetatable(L, kMsg);
}

// Checks a headers argument: nil or a table of string -> string | {strings}.
void check_headers(lua_State* L, int arg) {
    if (lua_isnoneornil(L, arg)) return;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        bool ok = lua_type(L, -2) == LUA_TSTRING;
        if (lua_istable(L, -1)) {
            lua_Integer n = luaL_len(L, -1);
            for (lua_Integer i = 1; ok && i <= n; ++i) {
                ok = lua_rawgeti(L, -1, i) == LUA_TSTRING;
                lua_pop(L, 1);
            }
        } else {
            ok = ok && lua_type(L, -1) == LUA_TSTRING;
        }
        if (!ok) luaL_argerror(L, arg, "headers must map names to strings or arrays of strings");
        lua_pop(L, 1);
    }
}

bus::Headers to_headers(lua_State* L, int arg) {
    bus::Headers h;
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        std::string k = lua_tostring(L, -2);
        if (lua_istable(L, -1)) {
            lua_Integer n = luaL_len(L, -1);
            for (lua_Integer i = 1; i <= n; ++i) {
                lua_rawgeti(L, -1, i);
                h.add(k, lua_tostring(L, -1));
                lua_pop(L, 1);
            }
        } else {
            h.add(k, lua_tostring(L, -1));
        }
        lua_pop(L, 1);
    }
    return h;
}

// Message data at `arg`: a string, a number, nil (empty) or a table (JSON-encoded,
// replacing the value on the stack). Raises for other types.
std::string_view check_data(lua_State* L, int arg) {
    switch (lua_type(L, arg)) {
        case LUA_TNONE:
        case LUA_TNIL:
            return {};
        case LUA_TSTRING:
        case LUA_TNUMBER:
            return check_view(L, arg);
        case LUA_TTABLE:
            if (!push_json(L, arg)) luaL_argerror(L, arg, lua_tostring(L, -1));
            lua_replace(L, arg);
            return check_view(L, arg);
        default:
            luaL_typeerror(L, arg, "string or table");
            return {};
    }
}

// ---- connect ----

void on_client_event(Bus* b, bus::ClientEvent e, std::string_view detail) {
    if (e == bus::ClientEvent::kConnected) b->connected = true;
    if (e == bus::ClientEvent::kClosed) b->stop_subs();
    if (e == bus::ClientEvent::kError || e == bus::ClientEvent::kClosed ||
        e == bus::ClientEvent::kDisconnected)
        if (!detail.empty() && detail != "closed") b->error = std::string(detail);
    if (b->connect_waiter &&
        (e == bus::ClientEvent::kConnected || e == bus::ClientEvent::kClosed)) {
        auto w = std::move(b->connect_waiter);
        b->connect_waiter = nullptr;
        w([](lua_State*) { return 0; });
    }
    if (b->event_fn != LUA_NOREF) {
        lua_State* L = b->rt->main();
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->event_fn);
        lua_pushstring(L, bus::to_string(e));
        push(L, detail);
        b->rt->spawn(L, 2);
    }
}

int connect_k(lua_State* L, int, lua_KContext) {
    auto* b = static_cast<Bus*>(lua_touserdata(L, -1));
    if (b->connected) return 1;
    std::string why = b->error.empty() ? "connection closed" : b->error;
    b->drop_client();
    return push_error(L, "cannot connect to the bus: " + why);
}

// Pushes a new bus whose client is connecting (returns 1), or the error triple.
// `wait`: whether the caller waits for the outcome. Raises only before it creates
// anything with a destructor.
int new_bus(lua_State* L, bool* wait) {
    int opts = 0;
    const char* url = nullptr;
    if (lua_type(L, 1) == LUA_TSTRING)
        url = lua_tostring(L, 1);
    else if (lua_istable(L, 1))
        opts = 1;
    else if (!lua_isnoneornil(L, 1))
        return luaL_typeerror(L, 1, "URL string or options table");
    if (opts) url = opt_string(L, opts, 1, "url");
    const char* name = opt_string(L, opts, 1, "name");
    const char* user = opt_string(L, opts, 1, "user");
    const char* password = opt_string(L, opts, 1, "password");
    const char* token = opt_string(L, opts, 1, "token");
    double timeout = opt_number(L, opts, 1, "timeout", 2.0);
    *wait = opt_bool(L, opts, 1, "wait", true);
    luaL_argcheck(L, timeout > 0 && timeout < 1e6, 1, "timeout must be positive");
    auto& rt = Runtime::of(L);
    rt.loop();
    if (*wait) rt.check_can_wait(L);
    auto* b = new_udata<Bus>(L, kBus);
    b->rt = Runtime::shared(L);
    bus::ClientOptions o;
    if (url && *url) {
        auto servers = bus::parse_server_list(url);
        if (!servers) return push_error(L, servers.error());
        o.servers = std::move(servers).value();
    }
    o.name = name ? name : "keel-lua";
    if (user) o.user = user;
    if (password) o.pass = password;
    if (token) o.token = token;
    o.connect_timeout = std::chrono::nanoseconds(static_cast<long long>(timeout * 1e9));
    // Waiting: walk the server list once and report. Not waiting: keep trying in
    // the background (publishes are buffered meanwhile).
    o.retry_on_failed_connect = !*wait;
    b->client = std::make_unique<bus::Client>(rt.loop(), std::move(o));
    b->client->on_event([b](bus::ClientEvent e, std::string_view d) { on_client_event(b, e, d); });
    // Before the program ends, what was published gets to the bus.
    b->finisher = rt.add_finisher([b](bool now, std::function<void()> done) {
        if (!b->client || b->client->closed()) return done();
        if (now) {
            b->client->close();  // writes what it can without waiting
            return done();
        }
        b->client->flush(std::chrono::seconds(2), [b, done](Status) {
            if (b->client) b->client->close();
            done();
        });
    });
    b->client->connect();
    return 1;
}

// connect([url | {url=, name=, user=, password=, token=, timeout=2, wait=true}])
int l_connect(lua_State* L) {
    bool wait = true;
    int n = new_bus(L, &wait);
    if (n != 1 || !wait) return n;
    auto* b = static_cast<Bus*>(lua_touserdata(L, -1));
    return b->rt->await(
        L,
        [b](Runtime::Done done) {
            if (b->connected || !b->client || b->client->closed())
                return done([](lua_State*) { return 0; });
            b->connect_waiter = std::move(done);
        },
        connect_k, 0);
}

// ---- publish / subscribe ----

int b_publish(lua_State* L) {
    Bus* b = check_bus(L);
    std::string_view subject = check_view(L, 2);
    std::string_view data = check_data(L, 3);
    check_headers(L, 4);
    if (lua_isnoneornil(L, 4)) return push_status(L, b->client->publish(subject, data));
    bus::Headers h = to_headers(L, 4);
    return push_status(L, b->client->publish(subject, data, {}, &h));
}

// subscribe(subject, fn [, queue | {queue=, max=}])
int b_subscribe(lua_State* L) {
    Bus* b = check_bus(L);
    std::string_view subject = check_view(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    std::string_view queue;
    lua_Integer max = 0;
    if (lua_type(L, 4) == LUA_TSTRING) {
        queue = check_view(L, 4);
    } else {
        check_opt_table(L, 4);
        size_t n = 0;
        const char* q = opt_string(L, 4, 4, "queue", &n);
        if (q) queue = {q, n};
        max = opt_int(L, 4, 4, "max", 0);
        luaL_argcheck(L, max >= 0, 4, "max must not be negative");
    }
    auto* s = new_udata<Sub>(L, kSub, 2);
    int sub_idx = lua_gettop(L);
    s->bus = b;
    s->subject = std::string(subject);
    s->max = static_cast<uint64_t>(max);
    b->subs.insert(s);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, sub_idx, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, sub_idx, 2);
    lua_pushvalue(L, sub_idx);
    s->self = luaL_ref(L, LUA_REGISTRYINDEX);
    b->rt->hold();
    b->retain(L, 1);
    s->sid = b->client->subscribe(
        subject,
        [s](const bus::Message& m) {
            if (s->self == LUA_NOREF) return;
            lua_State* M = s->bus->rt->main();
            lua_rawgeti(M, LUA_REGISTRYINDEX, s->self);
            int sub = lua_gettop(M);
            lua_getiuservalue(M, sub, 1);  // the handler
            lua_getiuservalue(M, sub, 2);  // the bus
            push_msg(M, m.subject, m.reply, m.data, m.headers, -1);
            lua_remove(M, -2);
            lua_remove(M, sub);
            // The client forgets the subscription after `max` messages; so do we.
            if (s->max && ++s->received >= s->max) s->stop();
            s->bus->rt->spawn(M, 1);
        },
        queue, static_cast<uint64_t>(max));
    return 1;
}

int sub_unsubscribe(lua_State* L) {
    static_cast<Sub*>(luaL_checkudata(L, 1, kSub))->stop();
    return 0;
}

int sub_index(lua_State* L) {
    auto* s = static_cast<Sub*>(luaL_checkudata(L, 1, kSub));
    const char* k = luaL_checkstring(L, 2);
    if (std::strcmp(k, "subject") == 0) {
        push(L, s->subject);
        return 1;
    }
    if (std::strcmp(k, "unsubscribe") == 0) {
        lua_pushcfunction(L, sub_unsubscribe);
        return 1;
    }
    return 0;
}

// ---- request / flush / close ----

struct Reply {
    bool ok = false;
    bus::OwnedMessage msg;
    std::string error;
};

// Pushes msg or nil, error for a reply; the bus userdata is at `bus_idx`.
int push_reply(lua_State* L, const Reply& r, int bus_idx) {
    if (!r.ok) return push_error(L, r.error);
    push_msg(L, r.msg.subject, r.msg.reply, r.msg.data,
             r.msg.headers.empty() ? nullptr : &r.msg.headers, bus_idx);
    return 1;
}

Reply to_reply(Result<bus::OwnedMessage> r) {
    Reply reply;
    reply.ok = r.ok();
    if (r)
        reply.msg = std::move(r).value();
    else
        reply.error = r.error().message();
    return reply;
}

// Sends a request with the headers at stack index `headers` (0: none).
void send_request(lua_State* L, Bus* b, std::string_view subject, std::string_view data,
                  int headers, std::chrono::nanoseconds timeout,
                  bus::Client::ReplyHandler handler) {
    if (!headers) return b->client->request(subject, data, timeout, std::move(handler));
    bus::Headers h = to_headers(L, headers);
    b->client->request(subject, data, timeout, std::move(handler), &h);
}

// request(subject, data [, timeout | {timeout=, headers=}] [, callback])
int b_request(lua_State* L) {
    Bus* b = check_bus(L);
    std::string_view subject = check_view(L, 2);
    std::string_view data = check_data(L, 3);
    double timeout = kDefaultTimeout;
    int cb = 0, headers = 0;
    if (lua_type(L, 4) == LUA_TNUMBER) {
        timeout = lua_tonumber(L, 4);
    } else if (lua_istable(L, 4)) {
        timeout = opt_number(L, 4, 4, "timeout", kDefaultTimeout);
        lua_getfield(L, 4, "headers");
        headers = lua_isnil(L, -1) ? 0 : lua_gettop(L);
        if (headers)
            check_headers(L, headers);
        else
            lua_pop(L, 1);
    } else if (lua_isfunction(L, 4)) {
        cb = 4;
    } else if (!lua_isnoneornil(L, 4)) {
        return luaL_typeerror(L, 4, "timeout, options table or callback");
    }
    if (!cb && lua_isfunction(L, 5))
        cb = 5;
    else if (!cb && !lua_isnoneornil(L, 5))
        return luaL_typeerror(L, 5, "callback");
    luaL_argcheck(L, timeout > 0 && timeout < 1e6, 4, "timeout must be positive");
    auto& rt = *b->rt;
    if (!cb) rt.check_can_wait(L);
    auto ns = std::chrono::nanoseconds(static_cast<long long>(timeout * 1e9));
    b->retain(L, 1);
    if (cb) {
        // The callback runs as a task with (msg) or (nil, error).
        lua_pushvalue(L, cb);
        int ref = luaL_ref(L, LUA_REGISTRYINDEX);
        rt.hold();
        send_request(L, b, subject, data, headers, ns, [b, ref](Result<bus::OwnedMessage> r) {
            Reply reply = to_reply(std::move(r));
            lua_State* M = b->rt->main();
            lua_rawgeti(M, LUA_REGISTRYINDEX, ref);
            luaL_unref(M, LUA_REGISTRYINDEX, ref);
            b->push_self(M);
            int n = push_reply(M, reply, -1);
            lua_remove(M, -1 - n);
            b->rt->release();
            b->unretain();
            b->rt->spawn(M, n);
        });
        lua_pushboolean(L, 1);
        return 1;
    }
    // The subject and data stay on L's stack while the request is sent.
    return rt.await(L, [L, b, subject, data, headers, ns](Runtime::Done done) {
        send_request(L, b, subject, data, headers, ns, [b, done](Result<bus::OwnedMessage> r) {
            auto reply = std::make_shared<Reply>(to_reply(std::move(r)));
            done([b, reply](lua_State* T) {
                b->push_self(T);
                int n = push_reply(T, *reply, -1);
                lua_remove(T, -1 - n);
                b->unretain();
                return n;
            });
        });
    });
}

int b_flush(lua_State* L) {
    Bus* b = check_bus(L);
    double timeout = luaL_optnumber(L, 2, kDefaultTimeout);
    luaL_argcheck(L, timeout > 0 && timeout < 1e6, 2, "timeout must be positive");
    b->rt->check_can_wait(L);
    auto ns = std::chrono::nanoseconds(static_cast<long long>(timeout * 1e9));
    return b->rt->await(L, [b, ns](Runtime::Done done) {
        b->client->flush(ns, [done](Status st) {
            auto err = st ? std::string() : st.error().message();
            done([err](lua_State* T) {
                if (!err.empty()) return push_error(T, err);
                lua_pushboolean(T, 1);
                return 1;
            });
        });
    });
}

int b_close(lua_State* L) {
    auto* b = static_cast<Bus*>(luaL_checkudata(L, 1, kBus));
    if (b->client) {
        b->stop_subs();
        b->client->close();  // safe inside its own callbacks; emits "closed"
        b->drop_client();
    }
    lua_pushboolean(L, 1);
    return 1;
}

// on_event(fn): fn(event, detail) for "connected", "disconnected", "reconnected", "error",
// "closed".
int b_on_event(lua_State* L) {
    Bus* b = check_bus(L);
    if (b->event_fn != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, b->event_fn);
    b->event_fn = LUA_NOREF;
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_pushvalue(L, 2);
        b->event_fn = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    return 0;
}

int b_connected(lua_State* L) {
    auto* b = static_cast<Bus*>(luaL_checkudata(L, 1, kBus));
    lua_pushboolean(L, b->client && b->client->connected());
    return 1;
}

int b_dropped(lua_State* L) {
    Bus* b = check_bus(L);
    lua_pushinteger(L, static_cast<lua_Integer>(b->client->dropped()));
    return 1;
}

// ---- messages ----

int msg_json(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "data");
    size_t n;
    const char* s = lua_tolstring(L, -1, &n);
    if (!s) return push_error(L, "message has no data");
    return json_decode(L, {s, n});
}

// msg:respond(data [, headers]): publishes to msg.reply on the bus it came from.
int msg_respond(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 3);
    if (lua_getfield(L, 1, "reply") != LUA_TSTRING)
        return push_error(L, "message has no reply subject");
    lua_getfield(L, 1, "bus");
    auto* b = static_cast<Bus*>(luaL_testudata(L, -1, kBus));
    if (!b || !b->client) return push_error(L, "bus connection is closed");
    // msg, data, headers, reply, bus -> bus, reply, data, headers
    lua_replace(L, 1);
    lua_insert(L, 2);
    return b_publish(L);
}

}  // namespace

int open_bus(lua_State* L) {
    static const luaL_Reg kMethods[] = {
        {"publish", b_publish},     {"subscribe", b_subscribe}, {"request", b_request},
        {"flush", b_flush},         {"close", b_close},         {"on_event", b_on_event},
        {"connected", b_connected}, {"dropped", b_dropped},     {nullptr, nullptr},
    };
    define_class<Bus>(L, kBus, kMethods);
    if (luaL_newmetatable(L, kSub)) {
        lua_pushcfunction(L, gc_udata<Sub>);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, sub_index);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, kMsg)) {
        static const luaL_Reg kMsgMethods[] = {
            {"json", msg_json}, {"respond", msg_respond}, {nullptr, nullptr}};
        lua_newtable(L);
        luaL_setfuncs(L, kMsgMethods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    static const luaL_Reg kFuncs[] = {{"connect", l_connect}, {nullptr, nullptr}};
    luaL_newlib(L, kFuncs);
    return 1;
}

}  // namespace keel::lua
