// Rtnl: a request socket to rtnetlink. Dumps the namespace's links, addresses and
// routes, and runs batches of requests: many per sendmsg, one answer each, the
// kernel's extended-ack text kept with every error. Blocking with a receive
// timeout: each call is a bounded exchange with the kernel, never a wait on peers.
// This is the C++ surface the `keel.net` Lua binding wraps.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "net/model.h"
#include "net/netlink_request.h"

struct mnl_socket;

namespace keel::net {

struct NlMessage;

class Rtnl {
  public:
    static Result<Rtnl> open();
    Rtnl(Rtnl&&) noexcept;
    Rtnl& operator=(Rtnl&&) noexcept;
    ~Rtnl();

    Result<std::vector<Link>> links();
    Result<std::vector<Address>> addresses();
    Result<std::vector<Route>> routes();
    Result<NetState> state();

    // Runs every request in `batch` in order; one Status per request (an error
    // carries errno and the kernel's message). Fails as a whole only when the
    // socket does.
    Result<std::vector<Status>> run(const RequestBatch& batch);
    // One request: the batch must hold exactly one.
    Status call(const RequestBatch& batch);

  private:
    struct Closer {
        void operator()(mnl_socket* s) const;
    };
    explicit Rtnl(mnl_socket* s);
    // Sends one dump request and collects every message of the answer.
    Status dump(uint16_t type, const std::function<Status(const NlMessage&)>& each);

    std::unique_ptr<mnl_socket, Closer> sock_;
    uint32_t port_ = 0;
    std::vector<uint8_t> buf_;
};

}  // namespace keel::net
