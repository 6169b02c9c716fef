// The init part of the system manifest (docs/manifest.md): "hostname" and "services".
// Parsing is pure (text in, Manifest or an Error naming the JSON path out); other
// top-level keys belong to other daemons and are ignored.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "init/manifest/service_spec.h"

namespace keel::init {

// `source` names the text in errors ("/etc/keel/system.json").
Result<Manifest> parse_manifest(std::string_view text, const std::string& source);
// Just the "services" array (what `keel init --config FILE` reads).
Result<Manifest> parse_services_section(std::string_view text, const std::string& source);
Result<Manifest> load_manifest(const std::string& path, bool services_only = false);

// "TERM", "SIGTERM" or a number; 0 when unknown.
int signal_from_name(const std::string& name);
std::string signal_name(int sig);

}  // namespace keel::init
