#include "base/endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include "base/sys.h"

namespace keel {
namespace {

std::string_view strip_prefix(std::string_view s, std::string_view prefix) {
    if (s.substr(0, prefix.size()) == prefix) s.remove_prefix(prefix.size());
    return s;
}

Status split_credentials(std::string_view creds, Endpoint* ep) {
    auto colon = creds.find(':');
    if (colon == std::string_view::npos) {
        ep->token = std::string(creds);
    } else {
        ep->user = std::string(creds.substr(0, colon));
        ep->password = std::string(creds.substr(colon + 1));
    }
    return {};
}

Result<Endpoint> parse_unix(std::string_view path) {
    Endpoint ep;
    ep.kind = Endpoint::Kind::kUnix;
    if (path.empty()) return Error("empty unix socket path");
    if (path.size() >= sizeof(sockaddr_un{}.sun_path))
        return Error("unix socket path too long: " + std::string(path));
    ep.path = std::string(path);
    return ep;
}

}  // namespace

std::string Endpoint::to_string() const {
    if (kind == Kind::kUnix) return "unix:" + path;
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
    std::string_view s = text;
    if (s.empty()) return Error("empty address");
    if (s.front() == '/') return parse_unix(s);
    if (s.substr(0, 5) == "unix:") {
        s.remove_prefix(5);
        s = strip_prefix(s, "//");
        return parse_unix(s);
    }
    for (std::string_view scheme : {"nats://", "tcp://"})
        s = strip_prefix(s, scheme);

    Endpoint ep;
    if (auto at = s.rfind('@'); at != std::string_view::npos) {
        KEEL_TRY_STATUS(split_credentials(s.substr(0, at), &ep));
        s.remove_prefix(at + 1);
    }
    if (!s.empty() && s.back() == '/') s.remove_suffix(1);

    std::string_view host = s, port_text;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos)
            return Error("bad address '" + std::string(text) + "'");
        host = s.substr(1, close - 1);
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return Error("bad address '" + std::string(text) + "'");
            port_text = rest.substr(1);
        }
    } else if (auto colon = s.rfind(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        port_text = s.substr(colon + 1);
    }
    if (host.empty()) host = "127.0.0.1";
    ep.host = std::string(host);
    ep.port = default_port;
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535)
            return Error("bad port in address '" + std::string(text) + "'");
        ep.port = static_cast<uint16_t>(port);
    }
    return ep;
}

Result<SocketAddress> resolve(const Endpoint& ep) {
    SocketAddress sa;
    if (ep.kind == Endpoint::Kind::kUnix) {
        auto* un = reinterpret_cast<sockaddr_un*>(&sa.storage);
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, ep.path.c_str(), ep.path.size() + 1);
        sa.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + ep.path.size() + 1);
        return sa;
    }
    std::string host = ep.host == "localhost" ? "127.0.0.1" : ep.host;
    auto* in4 = reinterpret_cast<sockaddr_in*>(&sa.storage);
    if (::inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(ep.port);
        sa.len = sizeof(sockaddr_in);
        return sa;
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa.storage);
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(ep.port);
        sa.len = sizeof(sockaddr_in6);
        return sa;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0)
        return Error("cannot resolve " + host + ": " + ::gai_strerror(rc));
    std::memcpy(&sa.storage, res->ai_addr, res->ai_addrlen);
    sa.len = res->ai_addrlen;
    ::freeaddrinfo(res);
    if (sa.family() == AF_INET) in4->sin_port = htons(ep.port);
    if (sa.family() == AF_INET6) in6->sin6_port = htons(ep.port);
    return sa;
}

Result<Fd> listen_on(const Endpoint& ep, unsigned unix_mode, int backlog) {
    const std::string where = "cannot listen on " + ep.to_string();
    auto addr = resolve(ep);
    if (!addr) return Error(where + ": " + addr.error().message());
    auto fd = sys::socket(addr->family(), SOCK_STREAM, 0);
    if (!fd) return Error(where, fd.error().code());
    if (ep.kind == Endpoint::Kind::kUnix) {
        auto slash = ep.path.rfind('/');
        if (slash != std::string::npos && slash > 0) {
            if (auto st = sys::make_dirs(ep.path.substr(0, slash), 0755); !st)
                return Error(where + ": " + st.error().message());
        }
        // A socket file left by a crashed bus would make bind fail forever.
        if (auto st = sys::unlink_if_exists(ep.path); !st)
            return Error(where + ": " + st.error().message());
    } else {
        if (auto st = sys::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, 1); !st)
            return Error(where, st.error().code());
    }
    if (auto st = sys::bind(fd->get(), addr->get(), addr->len); !st)
        return Error(where, st.error().code());
    if (ep.kind == Endpoint::Kind::kUnix) {
        if (auto st = sys::chmod(ep.path, unix_mode); !st)
            return Error(where + ": " + st.error().message());
    }
    if (auto st = sys::listen(fd->get(), backlog); !st) return Error(where, st.error().code());
    return std::move(fd).value();
}

Result<Fd> connect_to(const Endpoint& ep, bool* in_progress) {
    const std::string where = "cannot connect to " + ep.to_string();
    auto addr = resolve(ep);
    if (!addr) return Error(where + ": " + addr.error().message());
    auto fd = sys::socket(addr->family(), SOCK_STREAM, 0);
    if (!fd) return Error(where, fd.error().code());
    if (ep.kind == Endpoint::Kind::kTcp) {
        // Small control lines (PING, SUB) must not wait for Nagle.
        (void)sys::setsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, 1);
    }
    if (auto st = sys::connect(fd->get(), addr->get(), addr->len, in_progress); !st)
        return Error(where, st.error().code());
    return std::move(fd).value();
}

Result<uint16_t> local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        return errno_error("getsockname");
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return Error("not a TCP socket");
}

std::string peer_name(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "?";
    char buf[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
    }
    if (ss.ss_family == AF_INET6) {
        auto* in = reinterpret_cast<sockaddr_in6*>(&ss);
        ::inet_ntop(AF_INET6, &in->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in->sin6_port));
    }
    return "unix";
}

}  // namespace keel
