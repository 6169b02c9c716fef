#include "dev/rules.h"

#include <fnmatch.h>

#include "dev/text.h"

namespace keel::dev {

namespace {

bool glob(const std::string& pattern, std::string_view value) {
    std::string v(value);
    return ::fnmatch(pattern.c_str(), v.c_str(), 0) == 0;
}

std::string_view kernel_number(std::string_view k) {
    size_t i = k.size();
    while (i > 0 && k[i - 1] >= '0' && k[i - 1] <= '9')
        --i;
    return k.substr(i);
}

}  // namespace

bool Patterns::matches(std::string_view value, bool present) const {
    if (any.empty()) return true;
    for (const auto& p : any) {
        if (!p.empty() && p[0] == '!') {
            if (!present || !glob(p.substr(1), value)) return true;
        } else if (present && glob(p, value)) {
            return true;
        }
    }
    return false;
}

bool Rule::matches(const Device& dev, const Sysfs& sysfs) const {
    static const Patterns kDefaultActions{{"add", "change"}};
    const Patterns& acts = actions.any.empty() ? kDefaultActions : actions;
    if (!acts.matches(dev.action())) return false;
    if (!subsystem.matches(dev.subsystem())) return false;
    if (!kernel.matches(dev.kernel())) return false;
    if (!devtype.any.empty() && !devtype.matches(dev.get("DEVTYPE"), dev.has("DEVTYPE")))
        return false;
    if (!driver.any.empty() && !driver.matches(dev.get("DRIVER"), dev.has("DRIVER"))) return false;
    for (const auto& [key, pats] : env)
        if (!pats.matches(dev.get(key), dev.has(key))) return false;
    for (const auto& [name, pats] : attr) {
        auto v = sysfs.attr(dev.devpath(), name);
        if (!pats.matches(v ? std::string_view(*v) : std::string_view(), v.has_value()))
            return false;
    }
    return true;
}

std::string path_safe(std::string_view value) {
    return replace_unsafe(value, /*hex=*/false);
}

bool safe_link_path(std::string_view p) {
    if (p.empty() || p.front() == '/' || p.size() > 1024) return false;
    size_t i = 0;
    while (i <= p.size()) {
        size_t end = p.find('/', i);
        if (end == std::string_view::npos) end = p.size();
        std::string_view part = p.substr(i, end - i);
        if (part.empty() || part == "." || part == "..") return false;
        i = end + 1;
    }
    return true;
}

std::string expand(std::string_view t, const Device& dev, const Sysfs& sysfs,
                   std::string (*clean)(std::string_view)) {
    std::string out;
    auto put = [&](std::string_view v) { out += clean ? clean(v) : std::string(v); };
    for (size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (c == '%' && i + 1 < t.size()) {
            char k = t[++i];
            switch (k) {
                case 'k':
                    put(dev.kernel());
                    break;
                case 'n':
                    put(kernel_number(dev.kernel()));
                    break;
                case 'M':
                    put(dev.get("MAJOR"));
                    break;
                case 'm':
                    put(dev.get("MINOR"));
                    break;
                case 'p':
                    put(dev.devpath());
                    break;
                case '%':
                    out += '%';
                    break;
                default:
                    out += '%';
                    out += k;
                    break;
            }
            continue;
        }
        if (c == '$') {
            std::string_view rest = t.substr(i);
            bool is_env = rest.starts_with("$env{"), is_attr = rest.starts_with("$attr{");
            size_t close = rest.find('}');
            if ((is_env || is_attr) && close != std::string_view::npos) {
                size_t start = is_env ? 5 : 6;
                std::string_view name = rest.substr(start, close - start);
                if (is_env)
                    put(dev.get(name));
                else
                    put(sysfs.attr(dev.devpath(), name).value_or(""));
                i += close;
                continue;
            }
        }
        out += c;
    }
    return out;
}

RuleResult apply_rules(const std::vector<Rule>& rules, const Device& dev, const Sysfs& sysfs) {
    RuleResult r;
    for (const auto& rule : rules) {
        if (!rule.matches(dev, sysfs)) continue;
        if (rule.owner) r.owner = rule.owner;
        if (rule.group) r.group = rule.group;
        if (rule.mode) r.mode = rule.mode;
        for (const auto& t : rule.symlinks) {
            std::string link = expand(
                t, dev, sysfs, +[](std::string_view v) { return path_safe(v); });
            if (safe_link_path(link)) r.symlinks.push_back(std::move(link));
        }
        for (const auto& argv : rule.run) {
            std::vector<std::string> cmd;
            for (const auto& a : argv)
                cmd.push_back(expand(a, dev, sysfs));
            r.run.push_back(std::move(cmd));
        }
        for (const auto& t : rule.publish)
            r.publish.push_back(expand(
                t, dev, sysfs, +[](std::string_view v) { return subject_token(v); }));
        if (rule.last) break;
    }
    return r;
}

}  // namespace keel::dev
