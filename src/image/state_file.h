// The small JSON file keel boot / keel run write once started (ports, QMP
// socket, addresses) so scripts and tests find them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace keel::image {

// Through sys::write_file_atomic: a reader sees all of it or nothing.
Status write_state_file(const std::string& path, const nlohmann::json& state);

}  // namespace keel::image
