#include "image/state_file.h"

#include "base/durable.h"

namespace keel::image {

Status write_state_file(const std::string& path, const nlohmann::json& state) {
    return sys::write_file_atomic(path, state.dump(2) + "\n", 0644);
}

}  // namespace keel::image
