#include "init/manifest/manifest.h"

#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "base/signals.h"
#include "base/sys.h"
#include "init/manifest/dependency_order.h"
#include "init/manifest/json_fields.h"

namespace keel::init {

using nlohmann::json;

namespace {

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    return true;
}

bool valid_subject(const std::string& s) {
    if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos)
        return false;
    for (char c : s)
        if (c <= ' ' || c == '*' || c == '>' || c == 0x7f) return false;
    return true;
}

// The opposite of a fact's last subject token: "net.link.eth0.up" ceases on ".down".
std::optional<std::string> opposite_subject(const std::string& subject) {
    static const std::pair<const char*, const char*> kPairs[] = {
        {"up", "down"}, {"add", "remove"}, {"added", "removed"}, {"present", "absent"},
        {"on", "off"},  {"start", "stop"}, {"ready", "stopped"}};
    auto dot = subject.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    std::string last = subject.substr(dot + 1), stem = subject.substr(0, dot + 1);
    for (const auto& [a, b] : kPairs) {
        if (last == a) return stem + b;
        if (last == b) return stem + a;
    }
    return std::nullopt;
}

Status parse_fact(const json& v, const std::string& path, Fact* out) {
    if (v.is_string()) {
        out->on = v.get<std::string>();
        auto off = opposite_subject(out->on);
        if (!valid_subject(out->on) || !off)
            return Error(
                path + ": \"" + out->on +
                "\" is not a fact subject ending in up/down, add/remove, added/removed, "
                "present/absent, on/off, start/stop or ready/stopped (or give {\"on\", \"off\"})");
        out->off = *off;
        return {};
    }
    if (!v.is_object()) return Error(path + ": expected a subject or {\"on\", \"off\", \"match\"}");
    Fields f(v, path);
    KEEL_TRY_STATUS(f.string("on", &out->on));
    KEEL_TRY_STATUS(f.string("off", &out->off));
    if (!valid_subject(out->on)) return f.error("on", "expected a subject without wildcards");
    if (!valid_subject(out->off) || out->off == out->on)
        return f.error("off", "expected a subject without wildcards, other than \"on\"");
    if (const json* m = f.find("match")) {
        if (!m->is_object()) return f.error("match", "expected an object of strings");
        for (auto it = m->begin(); it != m->end(); ++it) {
            if (!it->is_string())
                return f.error("match", "value of \"" + it.key() + "\" must be a string");
            out->match[it.key()] = it->get<std::string>();
        }
    }
    return f.finish();
}

Status parse_readiness(Fields& f, Readiness* out) {
    std::string text = "started";
    KEEL_TRY_STATUS(f.string("readiness", &text));
    auto colon = text.find(':');
    std::string kind = text.substr(0, colon),
                arg = colon == std::string::npos ? "" : text.substr(colon + 1);
    bool has_arg = colon != std::string::npos;
    if (kind == "started" && !has_arg) {
        out->kind = Readiness::Kind::kStarted;
    } else if (kind == "notify") {
        out->kind = Readiness::Kind::kNotify;
        if (has_arg) {
            char* end = nullptr;
            long fd = std::strtol(arg.c_str(), &end, 10);
            if (arg.empty() || *end || fd < 3 || fd > 1000)
                return f.error("readiness", "notify fd must be 3..1000");
            out->notify_fd = static_cast<int>(fd);
        }
    } else if (kind == "tcp") {
        char* end = nullptr;
        long port = std::strtol(arg.c_str(), &end, 10);
        if (arg.empty() || *end || port < 1 || port > 65535)
            return f.error("readiness", "tcp needs a port 1..65535");
        out->kind = Readiness::Kind::kTcp;
        out->port = static_cast<uint16_t>(port);
    } else if (kind == "unix" && !arg.empty() && arg[0] == '/') {
        out->kind = Readiness::Kind::kUnix;
        out->target = arg;
    } else if (kind == "bus" && valid_subject(arg)) {
        out->kind = Readiness::Kind::kBus;
        out->target = arg;
    } else {
        return f.error(
            "readiness",
            "\"" + text +
                "\" is not one of started, notify[:FD], tcp:PORT, unix:/PATH, bus:SUBJECT");
    }
    return {};
}

Status parse_caps(Fields& f, ServiceSpec* s) {
    const json* v = f.find("capabilities");
    if (!v) return {};
    std::string path = f.path("capabilities");
    if (!v->is_object())
        return Error(path + ": expected {\"bounding\": [...], \"ambient\": [...]}");
    Fields c(*v, path);
    auto names = [&](const char* key, std::vector<int>* out) -> Status {
        std::vector<std::string> list;
        KEEL_TRY_STATUS(c.strings(key, &list));
        for (auto name : list) {
            for (auto& ch : name)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (name.rfind("cap_", 0) != 0) name = "cap_" + name;
            cap_value_t cap;
            if (cap_from_name(name.c_str(), &cap) != 0)
                return c.error(key, "unknown capability '" + name + "'");
            out->push_back(cap);
        }
        return {};
    };
    if (c.find("bounding")) {
        s->cap_bounding.emplace();
        KEEL_TRY_STATUS(names("bounding", &*s->cap_bounding));
    }
    KEEL_TRY_STATUS(names("ambient", &s->cap_ambient));
    if (s->cap_bounding)
        for (int a : s->cap_ambient) {
            bool found = false;
            for (int b : *s->cap_bounding)
                found |= a == b;
            if (!found)
                return c.error("ambient", "ambient capabilities must also be in the bounding set");
        }
    return c.finish();
}

Status parse_rlimits(Fields& f, ServiceSpec* s) {
    const json* v = f.find("rlimits");
    if (!v) return {};
    std::string path = f.path("rlimits");
    if (!v->is_object()) return Error(path + ": expected an object such as {\"nofile\": 1024}");
    static const std::pair<const char*, int> kNames[] = {{"as", RLIMIT_AS},
                                                         {"core", RLIMIT_CORE},
                                                         {"cpu", RLIMIT_CPU},
                                                         {"data", RLIMIT_DATA},
                                                         {"fsize", RLIMIT_FSIZE},
                                                         {"locks", RLIMIT_LOCKS},
                                                         {"memlock", RLIMIT_MEMLOCK},
                                                         {"msgqueue", RLIMIT_MSGQUEUE},
                                                         {"nice", RLIMIT_NICE},
                                                         {"nofile", RLIMIT_NOFILE},
                                                         {"nproc", RLIMIT_NPROC},
                                                         {"rss", RLIMIT_RSS},
                                                         {"rtprio", RLIMIT_RTPRIO},
                                                         {"rttime", RLIMIT_RTTIME},
                                                         {"sigpending", RLIMIT_SIGPENDING},
                                                         {"stack", RLIMIT_STACK}};
    auto value = [](const json& j) -> std::optional<uint64_t> {
        if (j.is_number_unsigned()) return j.get<uint64_t>();
        if (j.is_string() && j.get<std::string>() == "unlimited") return RLIM_INFINITY;
        return std::nullopt;
    };
    for (auto it = v->begin(); it != v->end(); ++it) {
        int resource = -1;
        for (const auto& [n, r] : kNames)
            if (it.key() == n) resource = r;
        std::string where = path + "." + it.key();
        if (resource < 0) return Error(where + ": unknown resource limit");
        Rlimit l{resource, 0, 0};
        if (it->is_array() && it->size() == 2 && value((*it)[0]) && value((*it)[1])) {
            l.soft = *value((*it)[0]);
            l.hard = *value((*it)[1]);
        } else if (auto one = value(*it)) {
            l.soft = l.hard = *one;
        } else {
            return Error(where + ": expected a number, \"unlimited\" or [soft, hard]");
        }
        if (l.soft > l.hard) return Error(where + ": soft limit above hard limit");
        s->rlimits.push_back(l);
    }
    return {};
}

Status parse_log(Fields& f, LogSpec* out) {
    const json* v = f.find("log");
    if (!v) return {};
    if (!v->is_object()) return Error(f.path("log") + ": expected an object");
    Fields l(*v, f.path("log"));
    uint64_t ring = out->ring_bytes;
    KEEL_TRY_STATUS(l.size("ring", &ring));
    if (ring < 256 || ring > 64 * 1024 * 1024)
        return l.error("ring", "must be between 256 bytes and 64MiB");
    out->ring_bytes = ring;
    KEEL_TRY_STATUS(l.boolean("file", &out->file));
    KEEL_TRY_STATUS(l.size("file_max", &out->file_max));
    if (out->file_max < 4096) return l.error("file_max", "must be at least 4KiB");
    int64_t keep = out->file_keep;
    KEEL_TRY_STATUS(l.integer("file_keep", 0, 100, &keep));
    out->file_keep = static_cast<int>(keep);
    return l.finish();
}

Status parse_cgroup(Fields& f, ServiceSpec* s) {
    const json* v = f.find("cgroup");
    if (!v) return {};
    if (!v->is_object()) return Error(f.path("cgroup") + ": expected an object");
    Fields c(*v, f.path("cgroup"));
    if (c.find("memory_max")) {
        uint64_t m = 0;
        KEEL_TRY_STATUS(c.size("memory_max", &m));
        if (m < 4096) return c.error("memory_max", "must be at least 4KiB");
        s->memory_max = m;
    }
    if (c.find("pids_max")) {
        int64_t p = 0;
        KEEL_TRY_STATUS(c.integer("pids_max", 1, 1 << 22, &p));
        s->pids_max = static_cast<uint64_t>(p);
    }
    return c.finish();
}

Result<ServiceSpec> parse_service(const json& v, const std::string& path) {
    if (!v.is_object()) return Error(path + ": expected an object");
    ServiceSpec s;
    Fields f(v, path);
    if (!f.find("name")) return Error(path + ": missing \"name\"");
    KEEL_TRY_STATUS(f.string("name", &s.name));
    if (!valid_name(s.name))
        return f.error("name", "\"" + s.name + "\" must be 1-64 of [A-Za-z0-9_-]");
    KEEL_TRY_STATUS(f.strings("argv", &s.argv));
    if (s.argv.empty() || s.argv[0].empty()) return f.error("argv", "must name a program");

    if (const json* env = f.find("env")) {
        if (!env->is_object()) return f.error("env", "expected an object of strings");
        for (auto it = env->begin(); it != env->end(); ++it) {
            if (!it->is_string() || it.key().empty() || it.key().find('=') != std::string::npos)
                return f.error("env",
                               "\"" + it.key() + "\" needs a string value and a name without '='");
            s.env.emplace_back(it.key(), it->get<std::string>());
        }
    }
    KEEL_TRY_STATUS(f.string("cwd", &s.cwd));
    if (s.cwd.empty() || s.cwd[0] != '/') return f.error("cwd", "must be an absolute path");
    KEEL_TRY_STATUS(f.string("user", &s.user));
    KEEL_TRY_STATUS(f.string("group", &s.group));
    KEEL_TRY_STATUS(f.strings("groups", &s.groups));
    if (const json* u = f.find("umask")) {
        std::string text = u->is_string() ? u->get<std::string>() : "";
        char* end = nullptr;
        unsigned long m = std::strtoul(text.c_str(), &end, 8);
        if (text.empty() || *end || m > 0777)
            return f.error("umask", "expected an octal string such as \"022\"");
        s.umask = static_cast<mode_t>(m);
    }

    std::string type = "longrun";
    KEEL_TRY_STATUS(f.string("type", &type));
    if (type == "oneshot")
        s.type = ServiceType::kOneshot;
    else if (type != "longrun")
        return f.error("type", "expected \"longrun\" or \"oneshot\"");
    s.restart = s.type == ServiceType::kOneshot ? RestartPolicy::kNever : RestartPolicy::kAlways;

    KEEL_TRY_STATUS(f.strings("depends", &s.depends));
    if (const json* facts = f.find("wants_facts")) {
        if (!facts->is_array()) return f.error("wants_facts", "expected an array");
        for (size_t i = 0; i < facts->size(); ++i) {
            Fact fact;
            KEEL_TRY_STATUS(parse_fact(
                (*facts)[i], f.path("wants_facts") + "[" + std::to_string(i) + "]", &fact));
            s.wants_facts.push_back(std::move(fact));
        }
    }
    KEEL_TRY_STATUS(parse_readiness(f, &s.readiness));
    KEEL_TRY_STATUS(f.duration("ready_timeout", &s.ready_timeout));

    std::string restart;
    KEEL_TRY_STATUS(f.string("restart", &restart));
    if (restart == "always")
        s.restart = RestartPolicy::kAlways;
    else if (restart == "on-failure")
        s.restart = RestartPolicy::kOnFailure;
    else if (restart == "never")
        s.restart = RestartPolicy::kNever;
    else if (!restart.empty())
        return f.error("restart", "expected \"always\", \"on-failure\" or \"never\"");
    KEEL_TRY_STATUS(f.duration("restart_delay", &s.restart_delay));
    KEEL_TRY_STATUS(f.duration("restart_delay_max", &s.restart_delay_max));
    if (s.restart_delay_max < s.restart_delay)
        return f.error("restart_delay_max", "is below restart_delay");
    KEEL_TRY_STATUS(f.duration("healthy_after", &s.healthy_after));
    int64_t limit = s.restart_limit;
    KEEL_TRY_STATUS(f.integer("restart_limit", 0, 1000000, &limit));
    s.restart_limit = static_cast<int>(limit);

    if (const json* sig = f.find("stop_signal")) {
        s.stop_signal = 0;
        if (sig->is_string())
            s.stop_signal = signal_from_name(sig->get<std::string>());
        else if (sig->is_number_integer() && sig->get<int64_t>() > 0 && sig->get<int64_t>() < NSIG)
            s.stop_signal = sig->get<int>();
        if (s.stop_signal == 0)
            return f.error("stop_signal", "expected a signal such as \"SIGTERM\" or \"HUP\"");
    }
    KEEL_TRY_STATUS(f.duration("stop_timeout", &s.stop_timeout));
    KEEL_TRY_STATUS(parse_log(f, &s.log));
    KEEL_TRY_STATUS(parse_rlimits(f, &s));
    KEEL_TRY_STATUS(f.boolean("no_new_privs", &s.no_new_privs));
    KEEL_TRY_STATUS(parse_caps(f, &s));
    KEEL_TRY_STATUS(parse_cgroup(f, &s));
    KEEL_TRY_STATUS(f.finish());
    return s;
}

Result<Manifest> parse_services(const json& services, const std::string& path, Manifest m) {
    if (!services.is_array()) return Error(path + ": expected an array of services");
    std::set<std::string> names;
    for (size_t i = 0; i < services.size(); ++i) {
        auto s = KEEL_TRY(parse_service(services[i], path + "[" + std::to_string(i) + "]"));
        if (!names.insert(s.name).second)
            return Error(path + "[" + std::to_string(i) + "].name: duplicate service '" + s.name +
                         "'");
        m.services.push_back(std::move(s));
    }
    if (auto st = order_by_dependencies(m.services); !st)
        return Error(path + ": " + st.error().what());
    return m;
}

Result<json> parse_json(std::string_view text, const std::string& source) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e9999
        // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
        std::string what = e.what();
        if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
        return Error(source + ": " + what);
    }
}

}  // namespace

Result<Manifest> parse_manifest(std::string_view text, const std::string& source) {
    json doc = KEEL_TRY(parse_json(text, source));
    if (!doc.is_object()) return Error(source + ": expected a JSON object at the top level");
    Manifest m;
    if (auto h = doc.find("hostname"); h != doc.end()) {
        if (!h->is_string() || h->get<std::string>().empty() || h->get<std::string>().size() > 64)
            return Error(source + ": $.hostname: expected a string of 1-64 characters");
        m.hostname = h->get<std::string>();
    }
    auto services = doc.find("services");
    if (services == doc.end()) return m;
    auto r = parse_services(*services, "$.services", std::move(m));
    if (!r) return Error(source + ": " + r.error().what());
    return r;
}

Result<Manifest> parse_services_section(std::string_view text, const std::string& source) {
    json doc = KEEL_TRY(parse_json(text, source));
    auto r = parse_services(doc, "$", Manifest{});
    if (!r) return Error(source + ": " + r.error().what());
    return r;
}

Result<Manifest> load_manifest(const std::string& path, bool services_only) {
    auto text = sys::read_file(path);
    if (!text) return Error(text.error().message());
    return services_only ? parse_services_section(*text, path) : parse_manifest(*text, path);
}

int signal_from_name(const std::string& name) {
    std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
    for (int sig = 1; sig < NSIG; ++sig)
        if (const char* abbrev = sigabbrev_np(sig); abbrev && n == abbrev) return sig;
    char* end = nullptr;
    long v = std::strtol(name.c_str(), &end, 10);
    if (!name.empty() && !*end && v > 0 && v < NSIG) return static_cast<int>(v);
    return 0;
}

std::string signal_name(int sig) {
    const char* name = signal_to_name(sig);  // "TERM", "RTMIN+3"
    return name ? std::string("SIG") + name : std::to_string(sig);
}

std::string Fact::describe() const {
    std::string d = on + " / " + off;
    for (const auto& [k, v] : match)
        d += " " + k + "=" + v;
    return d;
}

}  // namespace keel::init
