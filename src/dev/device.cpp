#include "dev/device.h"

#include "dev/text.h"

namespace keel::dev {

Device Device::from_uevent(const UeventView& ev) {
    Device d;
    d.props_.reserve(ev.env.size() + 8);
    for (const auto& [k, v] : ev.env)
        d.props_.emplace_back(std::string(k), std::string(v));
    return d;
}

Device Device::from_sysfs(std::string_view action, std::string_view devpath,
                          std::string_view subsystem, const std::vector<Field>& file_env) {
    Device d;
    d.props_.reserve(file_env.size() + 8);
    d.props_.emplace_back("ACTION", std::string(action));
    d.props_.emplace_back("DEVPATH", std::string(devpath));
    d.props_.emplace_back("SUBSYSTEM", std::string(subsystem));
    for (const auto& [k, v] : file_env)
        d.set(k, std::string(v));
    return d;
}

std::string_view Device::get(std::string_view key) const {
    for (const auto& [k, v] : props_)
        if (k == key) return v;
    return {};
}

bool Device::has(std::string_view key) const {
    for (const auto& p : props_)
        if (p.first == key) return true;
    return false;
}

void Device::set(std::string_view key, std::string value) {
    for (auto& [k, v] : props_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    props_.emplace_back(std::string(key), std::move(value));
}

void Device::erase(std::string_view key) {
    for (auto it = props_.begin(); it != props_.end(); ++it) {
        if (it->first == key) {
            props_.erase(it);
            return;
        }
    }
}

std::string_view Device::kernel() const {
    std::string_view p = devpath();
    auto slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string Device::node(std::string_view dev_root) const {
    std::string_view name = get("DEVNAME");
    if (name.empty()) return {};
    if (name.front() == '/') return std::string(name);  // older kernels sent absolute names
    std::string s(dev_root);
    s += '/';
    s += name;
    return s;
}

std::string Device::to_json() const {
    std::string out;
    out.reserve(64 * props_.size() + 2);
    out += '{';
    for (const auto& [k, v] : props_) {
        if (out.size() > 1) out += ',';
        append_json_string(out, k);
        out += ':';
        append_json_string(out, v);
    }
    out += '}';
    return out;
}

std::string subject_token(std::string_view s) {
    if (s.empty()) return "_";
    std::string t;
    t.reserve(s.size());
    for (char c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        t += ok ? c : '_';
    }
    return t;
}

std::string hardware_subject(std::string_view subsystem, std::string_view action) {
    return "hardware." + subject_token(subsystem) + "." + subject_token(action);
}

}  // namespace keel::dev
