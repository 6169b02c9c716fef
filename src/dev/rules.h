// Device rules: match a device by subsystem, kernel name, devtype, driver, action,
// properties and sysfs attributes (globs, "!" negates, a list means any of), and
// say what to do: owner, group, mode, symlinks under /dev, commands to run, extra
// subjects to publish. Every rule that matches applies, in order; later ones win
// for owner/group/mode, and links, commands and subjects add up.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dev/device.h"
#include "dev/sysfs.h"

namespace keel::dev {

// Any of several glob patterns; "!pattern" matches what the pattern does not.
struct Patterns {
    std::vector<std::string> any;
    bool matches(std::string_view value, bool present = true) const;
};

struct Rule {
    std::string where;  // "dev.rules[3]" for messages
    // Match; an absent field matches everything. `actions` defaults to add, change.
    Patterns subsystem, kernel, devtype, driver, actions;
    std::vector<std::pair<std::string, Patterns>> env, attr;
    // Actions.
    std::optional<uid_t> owner;
    std::optional<gid_t> group;
    std::optional<unsigned> mode;
    std::vector<std::string> symlinks;          // templates, relative to /dev
    std::vector<std::vector<std::string>> run;  // argv templates
    std::vector<std::string> publish;           // subject templates
    bool last = false;                          // stop evaluating after this rule

    bool matches(const Device& dev, const Sysfs& sysfs) const;
};

// What the rules decided for one event, templates expanded.
struct RuleResult {
    std::optional<uid_t> owner;
    std::optional<gid_t> group;
    std::optional<unsigned> mode;
    std::vector<std::string> symlinks;  // safe relative paths
    std::vector<std::vector<std::string>> run;
    std::vector<std::string> publish;  // valid subjects
};

RuleResult apply_rules(const std::vector<Rule>& rules, const Device& dev, const Sysfs& sysfs);

// Expands %k (kernel name), %n (kernel number), %M/%m (major/minor), %p (DEVPATH),
// %% and $env{KEY}, $attr{name}. `clean` is applied to each substituted value
// (not to the template's own text).
std::string expand(std::string_view tmpl, const Device& dev, const Sysfs& sysfs,
                   std::string (*clean)(std::string_view) = nullptr);

// A link path relative to the device directory without "..", "." or empty parts.
bool safe_link_path(std::string_view p);
// Makes a substituted value safe inside a path or subject token: anything but
// [A-Za-z0-9#+-.:=@_] and UTF-8 becomes "_" ("/" too, so a label cannot add a
// directory level).
std::string path_safe(std::string_view value);

}  // namespace keel::dev
