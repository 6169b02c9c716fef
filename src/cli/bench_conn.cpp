#include "cli/bench_conn.h"

#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "base/sys.h"
#include "bus/protocol/handshake.h"
#include "cli/bench_text.h"

namespace keel::cli::bench {
namespace {

// -ERR arrives as "'Text'": keep the text.
std::string unquote(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\''))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\'' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string(s);
}

}  // namespace

BenchConn::BenchConn(std::string role)
    : role_(std::move(role)),
      // INFO from a clustered server can be long. Payloads are bounded by the server's
      // max_payload already; this limit only keeps the parser from trusting a wild size.
      parser_(bus::Role::kClient, *this, bus::ParserLimits{64 * 1024, 64 * 1024 * 1024}),
      rbuf_(new char[kReadSize]) {}

BenchConn::~BenchConn() = default;

Error BenchConn::fail(int code, const char* format, ...) const {
    char text[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    return Error(strf("%s: %s", role_.c_str(), text), code);
}

Error BenchConn::fail_open(const Error& why) const {
    std::string text = why.message();
    // Our own messages start with the role; the server's address says more here.
    if (text.compare(0, role_.size() + 2, role_ + ": ") == 0) text.erase(0, role_.size() + 2);
    return Error(strf("cannot connect to %s: %s", display_.c_str(), text.c_str()));
}

Status BenchConn::open(const ServerSpec& server) {
    display_ = server.display;
    timeout_ = server.timeout;
    bool in_progress = false;
    auto fd = connect_to(server.endpoint, &in_progress);
    if (!fd) return fd.error();  // names the server and the cause
    fd_ = std::move(fd).value();
    if (in_progress) {
        pollfd p{fd_.get(), POLLOUT, 0};
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
        int r;
        do
            r = ::poll(&p, 1, static_cast<int>(ms));
        while (r < 0 && errno == EINTR);
        if (r < 0) return fail_open(errno_error("poll"));
        if (r == 0)
            return fail_open(Error(strf("timed out after %lld ms", static_cast<long long>(ms))));
        auto err = sys::socket_error(fd_.get());
        if (!err) return fail_open(err.error());
        if (*err) return Error("cannot connect to " + display_, *err);
    }
    if (auto st = sys::set_nonblocking(fd_.get(), false); !st) return fail_open(st.error());
    // Blocking I/O with timeouts: a stuck server fails the run instead of hanging it.
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout_).count();
    timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return fail_open(errno_error("setsockopt"));

    while (!info_seen_) {
        if (auto st = read_some(); !st) return fail_open(st.error());
    }
    auto info = bus::parse_info(info_json_);
    if (!info) return fail_open(Error("bad INFO: " + info.error().message()));
    max_payload_ = info->max_payload;

    std::string hello =
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,"
        "\"protocol\":1,\"name\":" +
        json_string(server.name);
    const Endpoint& ep = server.endpoint;
    const bool own = !server.user.empty() || !server.token.empty();
    const std::string& user = own ? server.user : ep.user;
    const std::string& pass = own ? server.password : ep.password;
    const std::string& token = own ? server.token : ep.token;
    if (!user.empty()) hello += ",\"user\":" + json_string(user);
    if (!pass.empty()) hello += ",\"pass\":" + json_string(pass);
    if (!token.empty()) hello += ",\"auth_token\":" + json_string(token);
    hello += "}\r\nPING\r\n";
    Status st = write_all(hello);
    ++pings_sent_;
    if (st) st = wait_pongs(pings_sent_);
    if (!st) return fail_open(st.error());
    return {};
}

Status BenchConn::write_all(std::string_view bytes) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    return writev_all(&iov, 1);
}

Status BenchConn::writev_all(iovec* iov, int count) {
    while (count > 0 && iov->iov_len == 0)
        ++iov, --count;
    while (count > 0) {
        auto n = sys::writev(fd_.get(), iov, count);
        if (!n) {
            const int code = n.error().code();
            if (code == EAGAIN || code == EWOULDBLOCK)
                return fail(0, "the server took no bytes for %.3g s",
                            std::chrono::duration<double>(timeout_).count());
            return fail(code, "cannot write to %s", display_.c_str());
        }
        size_t k = *n;
        while (count > 0 && k >= iov->iov_len) {
            k -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + k;
            iov->iov_len -= k;
        }
    }
    return {};
}

Status BenchConn::read_some() {
    auto n = sys::read(fd_.get(), rbuf_.get(), kReadSize);
    if (!n) {
        const int code = n.error().code();
        if (code == EAGAIN || code == EWOULDBLOCK)
            return fail(0, "nothing from the server for %.3g s",
                        std::chrono::duration<double>(timeout_).count());
        return fail(code, "cannot read from %s", display_.c_str());
    }
    const bus::ParseError e = *n ? parser_.feed(rbuf_.get(), *n) : bus::ParseError::kNone;
    if (!server_error_.empty()) return fail(0, "server error: -ERR '%s'", server_error_.c_str());
    if (*n == 0) return fail(0, "%s closed the connection", display_.c_str());
    if (e != bus::ParseError::kNone)
        return fail(0, "protocol error from the server: %s", bus::to_string(e));
    if (pings_owed_ > 0) {
        // The server checks we are alive (only on very long runs).
        pings_owed_ = 0;
        return write_all("PONG\r\n");
    }
    return {};
}

Status BenchConn::write_all_pings(int n) {
    static constexpr std::string_view kPings = "PING\r\nPING\r\nPING\r\nPING\r\n";
    while (n > 0) {
        int k = std::min(n, 4);
        KEEL_TRY_STATUS(write_all(kPings.substr(0, static_cast<size_t>(k) * 6)));
        pings_sent_ += static_cast<uint64_t>(k);
        n -= k;
    }
    return {};
}

Status BenchConn::wait_pongs(uint64_t n) {
    while (pongs_ < n)
        KEEL_TRY_STATUS(read_some());
    return {};
}

Status BenchConn::flush() {
    KEEL_TRY_STATUS(send_ping());
    return wait_pongs(pings_sent_);
}

void BenchConn::abort() {
    if (fd_) (void)sys::shutdown(fd_.get(), SHUT_RDWR);
}

bool BenchConn::on_msg(const bus::MsgArgs&, std::string_view payload) {
    ++msgs_;
    payload_bytes_ += payload.size();
    if (expect_size_ >= 0 && static_cast<int64_t>(payload.size()) != expect_size_) ++wrong_size_;
    return true;
}

bool BenchConn::on_info(std::string_view json) {
    if (!info_seen_) {
        info_json_ = std::string(json);
        info_seen_ = true;
    }
    return true;
}

bool BenchConn::on_ping() {
    ++pings_owed_;
    return true;
}

bool BenchConn::on_pong() {
    ++pongs_;
    return true;
}

bool BenchConn::on_err(std::string_view text) {
    if (server_error_.empty()) server_error_ = unquote(text);
    return true;
}

}  // namespace keel::cli::bench
