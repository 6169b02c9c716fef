#include "cli/bus_connection.h"

#include <cstdio>

#include "base/sys.h"

namespace keel::cli {

void add_connect_options(Args& args, ConnectArgs* out) {
    args.option("server", 0, "URL",
                "bus to use: nats://HOST:PORT, unix:PATH, comma-separated list "
                "[$KEEL_BUS, else /run/keel/bus.sock, else 127.0.0.1:4222]",
                &out->server);
    args.option("user", 0, "NAME", "user name", &out->user);
    args.option("password", 0, "PASS", "password", &out->password);
    args.option("token", 0, "TOKEN", "authentication token", &out->token);
    args.option("name", 0, "NAME", "connection name shown in bus stats", &out->name);
    args.duration_option("wait", "keep trying to reach the bus this long (a device booting) [0]",
                         &out->wait);
}

void signal_ready(int64_t fd) {
    if (fd < 0) return;
    Fd owned(static_cast<int>(fd));
    (void)sys::write(owned.get(), "\n", 1);
}

int fail(const char* verb, const std::string& message, int code) {
    std::fprintf(stderr, "keel %s: %s\n", verb, message.c_str());
    return code;
}

Result<std::unique_ptr<BusConnection>> BusConnection::open(const ConnectArgs& a, bool reconnect) {
    auto c = std::unique_ptr<BusConnection>(new BusConnection());
    c->loop_ = KEEL_TRY(loop::EventLoop::create());
    bus::ClientOptions o;
    if (!a.server.empty()) o.servers = KEEL_TRY(bus::parse_server_list(a.server));
    o.user = a.user;
    o.pass = a.password;
    o.token = a.token;
    if (!a.name.empty()) o.name = a.name;
    o.reconnect = reconnect || a.wait.count() > 0;
    // Short rounds while waiting: a device booting should be seen as soon as its bus is.
    if (a.wait.count() > 0) o.reconnect_wait_max = std::chrono::milliseconds(250);
    // Reconnecting is for a bus lost later; a bus that cannot be reached at all
    // (or refuses the credentials) is reported at once, or after --wait.
    o.retry_on_failed_connect = a.wait.count() > 0;
    o.connect_timeout = a.connect_timeout;
    c->client_ = std::make_unique<bus::Client>(*c->loop_, o);
    BusConnection* self = c.get();
    bool up = false;
    c->client_->on_event([self, &up](bus::ClientEvent e, std::string_view detail) {
        if (e == bus::ClientEvent::kConnected) up = true;
        if (e == bus::ClientEvent::kError) self->error_ = std::string(detail);
    });
    c->client_->connect();
    std::optional<std::chrono::nanoseconds> limit;
    if (a.wait.count() > 0) limit = a.wait;
    auto st = c->run_until([&] { return up || self->client_->closed(); }, limit);
    c->client_->on_event([self](bus::ClientEvent e, std::string_view detail) {
        if (e == bus::ClientEvent::kError || e == bus::ClientEvent::kDisconnected)
            self->error_ = std::string(detail);
    });
    if (!up) {
        std::string where = a.server.empty() ? "the bus" : a.server;
        std::string why = c->error_.empty() ? (st ? "closed" : st.error().message()) : c->error_;
        if (a.wait.count() > 0) why += " (kept trying for the --wait time)";
        return Error("cannot connect to " + where + ": " + why);
    }
    return c;
}

Status BusConnection::run_until(const std::function<bool()>& done,
                                std::optional<std::chrono::nanoseconds> timeout) {
    bool timed_out = false;
    std::optional<loop::Timer> timer;
    if (timeout) {
        timer.emplace(*loop_, [&] { timed_out = true; });
        timer->arm_after(*timeout);
    }
    while (!done() && !timed_out && !client_->closed() && !loop_->stopped())
        KEEL_TRY_STATUS(loop_->run_once(std::chrono::milliseconds(-1)));
    if (done()) return {};
    if (timed_out) return Error("timed out");
    if (client_->closed()) return Error(error_.empty() ? "connection closed" : error_);
    return {};
}

Status BusConnection::flush_and_close(std::chrono::nanoseconds timeout) {
    bool finished = false;
    Status result;
    client_->flush(timeout, [&](Status st) {
        result = st;
        finished = true;
    });
    KEEL_TRY_STATUS(run_until([&] { return finished; }));
    client_->close();
    // A -ERR (e.g. a permissions violation) answers the publish, not the flush.
    if (!error_.empty()) return Error(error_);
    return result;
}

}  // namespace keel::cli
