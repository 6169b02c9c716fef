// DevConfig: the "dev" section of the system manifest (docs/manifest.md), or a
// --config file holding just that section. Unknown keys, wrong types and bad
// values are errors naming their JSON path ("dev.rules[2].mode: ...").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dev/buttons.h"
#include "dev/module_loader.h"
#include "dev/rules.h"

namespace keel::dev {

struct DevConfig {
    std::vector<Rule> rules;
    bool default_links = true;
    ModuleConfig modules;  // modules.dir empty: /lib/modules/$(uname -r)
    bool modules_enabled = true;
    bool firmware = true;
    std::string firmware_dir = "/lib/firmware";
    ButtonConfig buttons;
};

// Parses the section's JSON text; `where` prefixes paths in errors ("dev").
Result<DevConfig> parse_dev_config(std::string_view json, const std::string& where = "dev");
// Reads a whole manifest and takes its "dev" key (absent: defaults).
Result<DevConfig> load_manifest(const std::string& path);
// Reads a file that holds only the dev section.
Result<DevConfig> load_dev_config(const std::string& path);

}  // namespace keel::dev
