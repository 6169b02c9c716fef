#include "cli/args.h"

#include "base/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace keel::cli {

Args::Args(std::string verb, std::string usage, std::string summary)
    : verb_(std::move(verb)), usage_(std::move(usage)), summary_(std::move(summary)) {}

void Args::flag(const std::string& name, char s, const std::string& help, bool* out) {
    opts_.push_back({name, s, "", help, false, [out](const std::string&) {
                         *out = true;
                         return true;
                     }});
}

void Args::option(const std::string& name, char s, const std::string& metavar,
                  const std::string& help, std::string* out) {
    opts_.push_back({name, s, metavar, help, true, [out](const std::string& v) {
                         *out = v;
                         return true;
                     }});
}

void Args::option(const std::string& name, char s, const std::string& metavar,
                  const std::string& help, int64_t* out) {
    opts_.push_back({name, s, metavar, help, true, [out](const std::string& v) {
                         char* end = nullptr;
                         long long n = std::strtoll(v.c_str(), &end, 10);
                         if (v.empty() || *end) return false;
                         *out = n;
                         return true;
                     }});
}

void Args::option(const std::string& name, char s, const std::string& metavar,
                  const std::string& help, double* out) {
    opts_.push_back({name, s, metavar, help, true, [out](const std::string& v) {
                         char* end = nullptr;
                         double d = std::strtod(v.c_str(), &end);
                         if (v.empty() || *end || !std::isfinite(d)) return false;
                         *out = d;
                         return true;
                     }});
}

void Args::size_option(const std::string& name, const std::string& help, int64_t* out) {
    opts_.push_back({name, 0, "BYTES", help, true, [out](const std::string& v) {
                         auto n = keel::parse_size(v);
                         if (!n || *n > static_cast<uint64_t>(INT64_MAX)) return false;
                         *out = static_cast<int64_t>(*n);
                         return true;
                     }});
}

void Args::duration_option(const std::string& name, const std::string& help,
                           std::chrono::nanoseconds* out) {
    opts_.push_back({name, 0, "DURATION", help, true, [out](const std::string& v) {
                         auto d = keel::parse_duration(v);
                         if (!d) return false;
                         *out = *d;
                         return true;
                     }});
}

void Args::list_option(const std::string& name, char s, const std::string& metavar,
                       const std::string& help, std::vector<std::string>* out) {
    // The first use replaces the default; later uses add to it.
    auto fresh = std::make_shared<bool>(true);
    opts_.push_back({name, s, metavar, help, true, [out, fresh](const std::string& v) {
                         if (*fresh) out->clear();
                         *fresh = false;
                         out->push_back(v);
                         return true;
                     }});
}

void Args::positional(const std::string& name, const std::string& help, std::string* out,
                      bool required, bool* given) {
    pos_.push_back({name, help, out, required, given});
}

const Args::Opt* Args::find(const std::string& name) const {
    for (const auto& o : opts_)
        if (o.name == name) return &o;
    return nullptr;
}

const Args::Opt* Args::find_short(char c) const {
    for (const auto& o : opts_)
        if (o.short_name == c) return &o;
    return nullptr;
}

int Args::usage_error(const std::string& message) const {
    std::fprintf(stderr, "keel %s: %s\nUsage: keel %s %s (see keel %s --help)\n", verb_.c_str(),
                 message.c_str(), verb_.c_str(), usage_.c_str(), verb_.c_str());
    return kExitUsage;
}

std::optional<int> Args::parse(int argc, char** argv) {
    size_t next_pos = 0;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (!options_done && (a == "-h" || a == "--help")) {
            std::fputs(help().c_str(), stdout);
            return kExitOk;
        }
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (!options_done && a.size() > 1 && a[0] == '-' &&
            !(a.size() > 1 && std::isdigit(static_cast<unsigned char>(a[1])))) {
            const Opt* o = nullptr;
            std::string value;
            bool has_value = false;
            if (a.rfind("--", 0) == 0) {
                std::string name = a.substr(2);
                if (auto eq = name.find('='); eq != std::string::npos) {
                    value = name.substr(eq + 1);
                    name = name.substr(0, eq);
                    has_value = true;
                }
                o = find(name);
            } else if (a.size() == 2) {
                o = find_short(a[1]);
            }
            if (!o) return usage_error("unknown option " + a);
            if (o->takes_value && !has_value) {
                if (i + 1 >= argc) return usage_error("option --" + o->name + " needs a value");
                value = argv[++i];
            } else if (!o->takes_value && has_value) {
                return usage_error("option --" + o->name + " takes no value");
            }
            if (!o->set(value)) return usage_error("bad value '" + value + "' for --" + o->name);
            continue;
        }
        if (next_pos >= pos_.size()) return usage_error("unexpected argument '" + a + "'");
        if (pos_[next_pos].given) *pos_[next_pos].given = true;
        *pos_[next_pos++].out = a;
    }
    for (size_t p = next_pos; p < pos_.size(); ++p)
        if (pos_[p].required) return usage_error("missing " + pos_[p].name);
    return std::nullopt;
}

std::string Args::help() const {
    std::string s = "Usage: keel " + verb_ + (opts_.empty() ? "" : " [OPTIONS]") +
                    (usage_.empty() ? "" : " " + usage_) + "\n\n" + summary_ + "\n";
    if (!pos_.empty()) {
        s += "\nArguments:\n";
        for (const auto& p : pos_) {
            char line[256];
            std::snprintf(line, sizeof line, "  %-24s %s\n", p.name.c_str(), p.help.c_str());
            s += line;
        }
    }
    s += "\nOptions:\n";
    for (const auto& o : opts_) {
        std::string left = o.short_name ? std::string("-") + o.short_name + ", " : "    ";
        left += "--" + o.name + (o.takes_value ? " " + o.metavar : "");
        char line[512];
        std::snprintf(line, sizeof line, "  %-30s %s\n", left.c_str(), o.help.c_str());
        s += line;
    }
    s += "  -h, --help                     show this help\n";
    if (!epilog_.empty()) s += "\n" + epilog_ + "\n";
    return s;
}

}  // namespace keel::cli
