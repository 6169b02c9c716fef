// Fuzzer for rtnetlink parsing: any datagram is split and every message decoded
// as a link, address, route and ack, and fed to the event tracker, without a
// crash or a read out of bounds. Whatever decodes as a route or address is
// encoded again (libmnl) and must decode to the same value.
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstdlib>

#include "net/event_tracker.h"
#include "net/netlink_message.h"
#include "net/netlink_request.h"

using namespace keel::net;

namespace {

NlMessage reencoded(const RequestBatch& b) {
    auto msgs =
        split_messages(Bytes(reinterpret_cast<const uint8_t*>(b.bytes().data()), b.bytes().size()));
    if (!msgs || msgs->size() != 1) std::abort();
    return msgs->at(0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto msgs = split_messages(Bytes(data, size));
    if (!msgs) return 0;
    EventTracker tracker;
    for (const auto& m : *msgs) {
        if (m.payload.data() < data || m.payload.data() + m.payload.size() > data + size)
            std::abort();
        (void)decode_link(m);
        (void)decode_ack(m);
        (void)tracker.on_message(m);
        if (auto r = decode_route(m); r && r->family) {
            RequestBatch b;
            b.route(RouteOp::kAdd, *r);
            auto again = decode_route(reencoded(b));
            if (!again || again->dst != r->dst || again->gateway != r->gateway ||
                again->oif != r->oif || again->table != r->table || again->metric != r->metric)
                std::abort();
        }
        if (auto a = decode_address(m); a && !a->peer.valid()) {
            RequestBatch b;
            b.address(true, *a);
            auto again = decode_address(reencoded(b));
            if (!again || again->prefix != a->prefix || again->index != a->index) std::abort();
        }
    }
    return 0;
}
