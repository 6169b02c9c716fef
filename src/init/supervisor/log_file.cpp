#include "init/supervisor/log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "base/sys.h"

namespace keel::init {

Status LogFile::open() {
    fd_ = KEEL_TRY(sys::open(path_, O_WRONLY | O_CREAT | O_APPEND, 0640));
    struct stat st;
    size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    return {};
}

Status LogFile::rotate() {
    fd_.reset();
    for (int i = keep_; i >= 1; --i) {
        std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
        std::string to = path_ + "." + std::to_string(i);
        if (auto r = sys::rename(from, to); !r && r.error().code() != ENOENT) return r;
    }
    if (keep_ == 0) (void)sys::unlink_if_exists(path_);
    return open();
}

Status LogFile::append(std::string_view line) {
    if (!fd_) KEEL_TRY_STATUS(open());
    if (size_ > 0 && size_ + line.size() + 1 > max_) KEEL_TRY_STATUS(rotate());
    iovec iov[2] = {{const_cast<char*>(line.data()), line.size()}, {const_cast<char*>("\n"), 1}};
    auto n = sys::writev(fd_.get(), iov, 2);
    if (!n) {
        fd_.reset();
        return Error("cannot write " + path_, n.error().code());
    }
    size_ += *n;
    return {};
}

}  // namespace keel::init
