// The loopback interface, up before any service starts: services bind and
// readiness checks connect to 127.0.0.1 (the kernel adds 127.0.0.1/8 and ::1
// when lo goes up), and nothing else would raise it in a fresh machine or
// network namespace.
#pragma once

#include "base/result.h"

namespace keel::init {

Status bring_loopback_up();

}  // namespace keel::init
