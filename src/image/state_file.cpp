#include "image/state_file.h"

#include <fcntl.h>

#include "base/sys.h"

namespace keel::image {

Status write_state_file(const std::string& path, const nlohmann::json& state) {
    std::string tmp = path + ".tmp";
    std::string text = state.dump(2) + "\n";
    {
        auto fd = KEEL_TRY(sys::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        for (size_t off = 0; off < text.size();)
            off += KEEL_TRY(sys::write(fd.get(), text.data() + off, text.size() - off));
    }
    auto st = sys::rename(tmp, path);
    if (!st) (void)sys::unlink_if_exists(tmp);
    return st;
}

}  // namespace keel::image
