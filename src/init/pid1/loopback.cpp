#include "init/pid1/loopback.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "base/sys.h"

namespace keel::init {

Status bring_loopback_up() {
    Fd s = KEEL_TRY(sys::socket(AF_INET, SOCK_DGRAM, 0));
    ifreq req{};
    std::strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &req) < 0) return errno_error("cannot read the flags of lo");
    if (req.ifr_flags & IFF_UP) return {};
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &req) < 0) return errno_error("cannot bring lo up");
    return {};
}

}  // namespace keel::init
