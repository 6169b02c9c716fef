// UeventSocket: the kernel's NETLINK_KOBJECT_UEVENT multicast group, read without
// blocking. Only datagrams from the kernel itself are passed on (sender port 0 and
// SCM_CREDENTIALS uid 0: CVE-2009-1185, CVE-2012-3520); truncated and foreign
// ones are counted and dropped, and a receive-queue overflow (ENOBUFS) is reported
// so the caller can rescan /sys.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace keel::dev {

class UeventSocket {
  public:
    // `receive_buffer` bytes of kernel queue (SO_RCVBUFFORCE when privileged).
    static Result<UeventSocket> open(int receive_buffer);

    int fd() const { return fd_.get(); }

    enum class Kind {
        kMessage,   // `data` holds one kernel uevent datagram
        kEmpty,     // nothing more to read now
        kOverflow,  // the kernel dropped events (ENOBUFS): resynchronise
        kRejected,  // dropped: not from the kernel, truncated, or oversized (see `why`)
    };
    struct Received {
        Kind kind = Kind::kEmpty;
        std::string_view data;
        const char* why = "";
    };
    // Reads one datagram; the view stays valid until the next call.
    Result<Received> receive();

  private:
    explicit UeventSocket(Fd fd);
    Fd fd_;
    std::unique_ptr<char[]> buf_;
};

}  // namespace keel::dev
