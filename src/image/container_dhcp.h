// keel run's DHCP server on the host end of the container's veth: busybox
// udhcpd leasing the one address of the /30 to the container. A system whose
// eth0 asks for DHCP (as it must under QEMU's user network) then gets the
// address keel run also sets statically, so one definition runs in both.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/result.h"

namespace keel::image {

class ContainerDhcp {
  public:
    ContainerDhcp() = default;
    ContainerDhcp(ContainerDhcp&& o) noexcept;
    ContainerDhcp& operator=(ContainerDhcp&&) = delete;
    ~ContainerDhcp();  // stops udhcpd and removes its files

    // Leases `address` (netmask 255.255.255.252, `router` as gateway) on
    // `interface`, which must already hold `router`. Without busybox on the
    // host, an inactive server and a warning: the static address still works.
    static Result<ContainerDhcp> start(const std::string& interface, const std::string& address,
                                       const std::string& router);
    bool running() const { return pid_ > 0; }

  private:
    pid_t pid_ = -1;
    std::string dir_;
};

// udhcpd.conf for that lease (pure; the files it names are under `dir`).
std::string udhcpd_config(const std::string& interface, const std::string& address,
                          const std::string& router, const std::string& dir);

}  // namespace keel::image
