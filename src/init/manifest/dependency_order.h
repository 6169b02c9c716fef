// Orders services so that each comes after everything it depends on, rejecting
// unknown names and cycles with an error that names them.
#pragma once

#include <vector>

#include "base/result.h"
#include "init/manifest/service_spec.h"

namespace keel::init {

// Reorders `services` in place (stable for independent services).
Status order_by_dependencies(std::vector<ServiceSpec>& services);

}  // namespace keel::init
