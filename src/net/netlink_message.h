// Pure decoding of rtnetlink bytes: splitting a datagram into messages, walking
// attributes (bounds-checked, never trusting a length), and turning
// RTM_NEWLINK/NEWADDR/NEWROUTE and NLMSG_ERROR messages into model values. No
// sockets here: everything is tested on byte strings and fuzzed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/model.h"

namespace keel::net {

using Bytes = std::span<const uint8_t>;

struct NlMessage {
    uint16_t type = 0;
    uint16_t flags = 0;
    uint32_t seq = 0;
    uint32_t port = 0;
    Bytes payload;  // after the 16-byte header, within the message length
};

// Splits one received datagram. A message whose length is shorter than its
// header or runs past the end is an error naming its offset.
Result<std::vector<NlMessage>> split_messages(Bytes datagram);

// Attributes of one level, indexed by type (NLA_F_* bits masked off). Types above
// the table are skipped; a later duplicate wins, as in the kernel.
class AttrTable {
  public:
    explicit AttrTable(size_t max_type) : attrs_(max_type + 1) {}
    // Fails on a truncated or overlong attribute header.
    Status parse(Bytes data);
    bool has(uint16_t type) const { return type < attrs_.size() && !attrs_[type].empty(); }
    Bytes get(uint16_t type) const { return type < attrs_.size() ? attrs_[type] : Bytes{}; }

  private:
    std::vector<Bytes> attrs_;
};

// Links decoded from a message of another family (AF_BRIDGE port events) carry
// that family so callers can ignore them.
struct DecodedLink {
    Link link;
    uint8_t family = 0;
};

Result<DecodedLink> decode_link(const NlMessage& m);
Result<Address> decode_address(const NlMessage& m, int* family = nullptr);
Result<Route> decode_route(const NlMessage& m);

// NLMSG_ERROR: error 0 is an ACK. `message` is the kernel's extended-ack text.
struct NlAck {
    int error = 0;  // positive errno
    uint32_t seq = 0;
    std::string message;
};
Result<NlAck> decode_ack(const NlMessage& m);

// "cannot add ...: <kernel's text>: <strerror>": `e`'s text (may be empty) after `doing`.
Error in_context(const std::string& doing, const Error& e);

// "RTM_NEWLINK" or the number.
std::string message_type_name(uint16_t type);

}  // namespace keel::net
