#include "image/qmp_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "base/sys.h"

namespace keel::image {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Result<std::vector<json>> QmpReader::feed(std::string_view bytes) {
    partial_.append(bytes);
    std::vector<json> out;
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(partial_.data() + start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        auto j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object())
            return Error("QMP sent a line that is not a JSON object: " +
                         std::string(line.substr(0, 120)));
        out.push_back(std::move(j));
    }
    partial_.erase(0, start);
    // QEMU's messages are small; a huge line without a newline is not QMP.
    if (partial_.size() > (16u << 20)) return Error("QMP message longer than 16 MiB");
    return out;
}

Result<QmpClient> QmpClient::connect(const std::string& socket_path, Ms timeout) {
    auto fd = KEEL_TRY(sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path)
        return Error("QMP socket path too long: " + socket_path);
    socket_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    bool in_progress = false;
    if (auto st =
            sys::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr, &in_progress);
        !st)
        return Error("cannot connect to QMP socket " + socket_path + ": " + st.error().message());
    QmpClient c(std::move(fd));
    auto deadline = Clock::now() + timeout;
    while (c.ready_.empty())
        if (!KEEL_TRY(c.read_message(deadline))) return Error("no QMP greeting on " + socket_path);
    json greeting = std::move(c.ready_.front());
    c.ready_.pop_front();
    if (!greeting.contains("QMP")) return Error("not a QMP greeting on " + socket_path);
    KEEL_TRY(c.execute("qmp_capabilities", json::object(), timeout));
    return c;
}

Result<bool> QmpClient::read_message(Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
        if (left < 0) return false;
        pollfd p{fd_.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("poll on the QMP socket");
        if (n == 0) return false;
        char buf[4096];
        auto got = KEEL_TRY(sys::read(fd_.get(), buf, sizeof buf));
        if (got == 0) return Error("QEMU closed the QMP connection");
        auto msgs = KEEL_TRY(reader_.feed(std::string_view(buf, got)));
        for (auto& m : msgs)
            ready_.push_back(std::move(m));
        if (!ready_.empty()) return true;
    }
}

Result<json> QmpClient::execute(const std::string& command, const json& arguments, Ms timeout) {
    uint64_t id = next_id_++;
    json req = {{"execute", command}, {"id", id}};
    if (!arguments.empty()) req["arguments"] = arguments;
    std::string line = req.dump() + "\n";
    for (size_t off = 0; off < line.size();) {
        auto n = sys::write(fd_.get(), line.data() + off, line.size() - off);
        if (!n) return Error("cannot send QMP " + command + ": " + n.error().message());
        off += *n;
    }
    auto deadline = Clock::now() + timeout;
    for (;;) {
        while (!ready_.empty()) {
            json m = std::move(ready_.front());
            ready_.pop_front();
            if (m.contains("event")) {
                events_.push_back(std::move(m));
                continue;
            }
            if (m.value("id", json()) != json(id)) continue;  // a stale reply
            if (m.contains("error")) {
                const auto& e = m["error"];
                return Error("QMP " + command + " failed: " + e.value("class", std::string("?")) +
                             ": " + e.value("desc", std::string()));
            }
            return m.value("return", json::object());
        }
        if (!KEEL_TRY(read_message(deadline)))
            return Error("QMP " + command + ": no reply within " + std::to_string(timeout.count()) +
                         " ms");
    }
}

std::optional<json> QmpClient::next_event(Ms timeout) {
    return wait_event("", timeout);
}

std::optional<json> QmpClient::wait_event(const std::string& name, Ms timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        while (!ready_.empty()) {
            json m = std::move(ready_.front());
            ready_.pop_front();
            if (m.contains("event")) events_.push_back(std::move(m));
        }
        for (auto it = events_.begin(); it != events_.end(); ++it)
            if (name.empty() || it->value("event", "") == name) {
                json e = std::move(*it);
                events_.erase(it);
                return e;
            }
        auto r = read_message(deadline);
        if (!r || !*r) return std::nullopt;
    }
}

Status QmpClient::add_usb_storage(const std::string& id, const std::string& image, bool read_only) {
    json node = {{"node-name", id + "-drive"},
                 {"driver", "raw"},
                 {"read-only", read_only},
                 {"file", {{"driver", "file"}, {"filename", image}}}};
    KEEL_TRY(execute("blockdev-add", node));
    auto dev = execute("device_add", {{"driver", "usb-storage"},
                                      {"id", id},
                                      {"bus", "xhci.0"},
                                      {"drive", id + "-drive"},
                                      {"removable", true}});
    if (!dev) {
        (void)execute("blockdev-del", {{"node-name", id + "-drive"}});
        return dev.error();
    }
    return {};
}

Status QmpClient::remove_usb_storage(const std::string& id, Ms timeout) {
    KEEL_TRY(execute("device_del", {{"id", id}}));
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now());
        auto e = wait_event("DEVICE_DELETED", left);
        if (!e)
            return Error("QEMU did not delete device " + id + " within " +
                         std::to_string(timeout.count()) + " ms");
        if ((*e)["data"].value("device", "") == id) break;
    }
    KEEL_TRY(execute("blockdev-del", {{"node-name", id + "-drive"}}));
    return {};
}

Status QmpClient::system_powerdown() {
    KEEL_TRY(execute("system_powerdown"));
    return {};
}

Status QmpClient::quit() {
    KEEL_TRY(execute("quit"));
    return {};
}

}  // namespace keel::image
