#include "net/rtnl.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <map>
#include <optional>

#include "net/netlink_message.h"

namespace keel::net {
namespace {

// Requests per sendmsg: their answers must fit the receive buffer before we read.
constexpr size_t kChunkRequests = 128;
constexpr size_t kChunkBytes = 64 * 1024;
constexpr size_t kRecvBuffer = 64 * 1024;

// The kernel's extended-ack text (may be empty) with the errno.
Error request_error(int err, const std::string& message) {
    return Error(message, err);
}

}  // namespace

void Rtnl::Closer::operator()(mnl_socket* s) const {
    mnl_socket_close(s);
}

Rtnl::Rtnl(mnl_socket* s) : sock_(s), port_(mnl_socket_get_portid(s)), buf_(kRecvBuffer) {}
Rtnl::Rtnl(Rtnl&&) noexcept = default;
Rtnl& Rtnl::operator=(Rtnl&&) noexcept = default;
Rtnl::~Rtnl() = default;

Result<Rtnl> Rtnl::open() {
    mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!s) return errno_error("cannot open rtnetlink socket");
    Rtnl r(s);
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
        return errno_error("cannot bind rtnetlink socket");
    r.port_ = mnl_socket_get_portid(s);
    int one = 1;
    // Errors carry the kernel's explanation; acks do not echo our request back.
    (void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one);
    (void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one);
    // A kernel that never answers must not hang a daemon or an early-boot apply.
    timeval tv{5, 0};
    if (::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return errno_error("cannot set rtnetlink receive timeout");
    int rcvbuf = 1 << 20;
    if (::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        (void)::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    return r;
}

Status Rtnl::dump(uint16_t type, const std::function<Status(const NlMessage&)>& each) {
    for (int attempt = 0;; ++attempt) {
        RequestBatch req;
        const uint32_t seq = req.dump(type);
        if (mnl_socket_sendto(sock_.get(), req.bytes().data(), req.bytes().size()) < 0)
            return errno_error("cannot send " + message_type_name(type) + " dump");
        bool interrupted = false;
        for (bool done = false; !done;) {
            ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
            if (n < 0) return errno_error("cannot receive " + message_type_name(type) + " dump");
            auto msgs = split_messages(Bytes(buf_.data(), static_cast<size_t>(n)));
            if (!msgs) return msgs.error();
            for (const auto& m : *msgs) {
                if (m.seq != seq || m.port != port_) continue;  // a stale answer
                if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
                if (m.type == NLMSG_DONE) {
                    done = true;
                    break;
                }
                if (m.type == NLMSG_ERROR) {
                    auto ack = KEEL_TRY(decode_ack(m));
                    return in_context("cannot dump " + message_type_name(type),
                                      request_error(ack.error, ack.message));
                }
                KEEL_TRY_STATUS(each(m));
            }
        }
        // The kernel's tables changed during the dump: the snapshot may be torn.
        if (!interrupted || attempt == 3) return {};
    }
}

namespace {

// Decodes every message of type `want` in a dump; an undecodable entry is
// skipped, not fatal: one odd driver must not blind the whole daemon.
template <typename T, typename Decode>
Result<std::vector<T>> collect(
    uint16_t get, uint16_t want, Decode decode,
    const std::function<Status(uint16_t, const std::function<Status(const NlMessage&)>&)>& dump) {
    std::vector<T> out;
    KEEL_TRY_STATUS(dump(get, [&](const NlMessage& m) -> Status {
        if (m.type != want) return {};
        if (auto v = decode(m)) out.push_back(std::move(*v));
        return {};
    }));
    return out;
}

std::optional<Link> link_of(const NlMessage& m) {
    auto d = decode_link(m);
    if (!d || d->family != AF_UNSPEC) return std::nullopt;  // AF_BRIDGE: port entries
    return std::move(d->link);
}

}  // namespace

Result<std::vector<Link>> Rtnl::links() {
    return collect<Link>(RTM_GETLINK, RTM_NEWLINK, link_of,
                         [this](uint16_t t, const auto& each) { return dump(t, each); });
}

Result<std::vector<Address>> Rtnl::addresses() {
    return collect<Address>(
        RTM_GETADDR, RTM_NEWADDR, [](const NlMessage& m) { return decode_address(m); },
        [this](uint16_t t, const auto& each) { return dump(t, each); });
}

Result<std::vector<Route>> Rtnl::routes() {
    return collect<Route>(
        RTM_GETROUTE, RTM_NEWROUTE, [](const NlMessage& m) { return decode_route(m); },
        [this](uint16_t t, const auto& each) { return dump(t, each); });
}

Result<NetState> Rtnl::state() {
    NetState s;
    s.links = KEEL_TRY(links());
    s.addresses = KEEL_TRY(addresses());
    s.routes = KEEL_TRY(routes());
    return s;
}

Result<std::vector<Status>> Rtnl::run(const RequestBatch& batch) {
    std::vector<Status> results(batch.count(), Status(Error("no answer from the kernel")));
    size_t i = 0;
    while (i < batch.count()) {
        // A chunk of consecutive requests, sent with one sendmsg.
        size_t j = i;
        while (j < batch.count() && j - i < kChunkRequests &&
               batch.end(j) - batch.offset(i) <= kChunkBytes)
            ++j;
        if (j == i) j = i + 1;
        const char* start = batch.bytes().data() + batch.offset(i);
        if (mnl_socket_sendto(sock_.get(), start, batch.end(j - 1) - batch.offset(i)) < 0)
            return errno_error("cannot send netlink requests");
        std::map<uint32_t, size_t> waiting;
        for (size_t k = i; k < j; ++k)
            waiting[batch.seq(k)] = k;
        while (!waiting.empty()) {
            ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
            if (n < 0) return errno_error("cannot receive netlink answers");
            auto msgs = split_messages(Bytes(buf_.data(), static_cast<size_t>(n)));
            if (!msgs) return msgs.error();
            for (const auto& m : *msgs) {
                if (m.type != NLMSG_ERROR || m.port != port_) continue;
                auto it = waiting.find(m.seq);
                if (it == waiting.end()) continue;
                auto ack = decode_ack(m);
                if (!ack)
                    results[it->second] = ack.error();
                else if (ack->error == 0)
                    results[it->second] = Status();
                else
                    results[it->second] = request_error(ack->error, ack->message);
                waiting.erase(it);
            }
        }
        i = j;
    }
    return results;
}

Status Rtnl::call(const RequestBatch& batch) {
    auto r = KEEL_TRY(run(batch));
    for (auto& st : r)
        if (!st) return st;
    return {};
}

}  // namespace keel::net
