// Encoding rtnetlink requests with libmnl into one contiguous batch, each with
// its own sequence number and NLM_F_ACK so every request gets an answer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/model.h"

struct nlmsghdr;

namespace keel::net {

// What to create: the link's name and kind plus kind-specific data.
struct LinkSpec {
    std::string name;
    std::string kind;  // "dummy", "bridge", "veth", "vlan"
    std::string peer;  // veth: the peer's name
    int parent = 0;    // vlan: the parent link's index
    int vlan_id = -1;  // vlan
};

// Attributes to set on an existing link; unset fields are left alone.
struct LinkSet {
    int index = 0;
    int up = -1;  // 1 up, 0 down, -1 unchanged
    uint32_t mtu = 0;
    MacAddress mac;
    int master = -1;   // index; 0 detaches
    std::string name;  // rename
};

enum class RouteOp { kAdd, kReplace, kDelete };

class RequestBatch {
  public:
    // Sequence numbers continue across batches in the process, so a late answer to an
    // earlier batch is never taken for one of this batch's.
    RequestBatch();

    // Each returns the request's sequence number.
    uint32_t dump(uint16_t type, uint8_t family = 0);  // RTM_GETLINK/GETADDR/GETROUTE
    uint32_t link_create(const LinkSpec& spec);
    uint32_t link_set(const LinkSet& set);
    uint32_t link_delete(int index);
    // Add replaces an existing equal address (updating its lifetimes).
    uint32_t address(bool add, const Address& a);
    uint32_t route(RouteOp op, const Route& r);

    const std::string& bytes() const { return bytes_; }
    size_t count() const { return offsets_.size(); }
    // Where request i starts in bytes(), and its sequence number.
    size_t offset(size_t i) const { return offsets_[i]; }
    uint32_t seq(size_t i) const { return seqs_[i]; }
    size_t end(size_t i) const { return i + 1 < offsets_.size() ? offsets_[i + 1] : bytes_.size(); }
    void clear();

  private:
    // Starts a message with room for its attributes; returns its fixed header.
    void* start(uint16_t type, uint16_t flags, size_t extra);
    uint32_t finish();

    std::string bytes_;
    std::vector<size_t> offsets_;
    std::vector<uint32_t> seqs_;
    nlmsghdr* cur_ = nullptr;
};

}  // namespace keel::net
