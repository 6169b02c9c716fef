#include "base/fd.h"

#include <unistd.h>

namespace keel {

void Fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);  // close(2) errors are not actionable: the fd is gone either way
    fd_ = fd;
}

}  // namespace keel
