#include "dev/dev_config.h"

#include <nlohmann/json.hpp>

#include "base/sys.h"
#include "base/sys_fs.h"
#include "bus/protocol/subject.h"

namespace keel::dev {

namespace {

using Json = nlohmann::json;

Error err(const std::string& path, const std::string& what) {
    return Error(path + ": " + what);
}

Status check_keys(const Json& j, const std::string& path,
                  std::initializer_list<const char*> allowed) {
    if (!j.is_object()) return err(path, "expected an object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool ok = false;
        for (const char* a : allowed)
            ok = ok || it.key() == a;
        if (!ok) return err(path + "." + it.key(), "unknown key");
    }
    return {};
}

Result<std::string> string_at(const Json& j, const std::string& path) {
    if (!j.is_string()) return err(path, "expected a string");
    return j.get<std::string>();
}

Result<bool> bool_at(const Json& j, const std::string& path) {
    if (!j.is_boolean()) return err(path, "expected true or false");
    return j.get<bool>();
}

// A string or a list of strings.
Result<std::vector<std::string>> strings_at(const Json& j, const std::string& path) {
    std::vector<std::string> out;
    if (j.is_string()) {
        out.push_back(j.get<std::string>());
        return out;
    }
    if (!j.is_array()) return err(path, "expected a string or a list of strings");
    for (size_t i = 0; i < j.size(); ++i) {
        if (!j[i].is_string())
            return err(path + "[" + std::to_string(i) + "]", "expected a string");
        out.push_back(j[i].get<std::string>());
    }
    return out;
}

Result<Patterns> patterns_at(const Json& j, const std::string& path) {
    auto v = KEEL_TRY(strings_at(j, path));
    if (v.empty()) return err(path, "empty list matches nothing");
    return Patterns{std::move(v)};
}

Result<std::vector<std::pair<std::string, Patterns>>> map_at(const Json& j,
                                                             const std::string& path) {
    if (!j.is_object()) return err(path, "expected an object of NAME: pattern");
    std::vector<std::pair<std::string, Patterns>> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key().empty() || it.key().find('/') != std::string::npos || it.key() == "..")
            return err(path + "." + it.key(), "invalid name");
        out.emplace_back(it.key(), KEEL_TRY(patterns_at(it.value(), path + "." + it.key())));
    }
    return out;
}

Status parse_match(const Json& j, const std::string& path, Rule* r) {
    KEEL_TRY_STATUS(
        check_keys(j, path, {"subsystem", "kernel", "devtype", "driver", "action", "env", "attr"}));
    if (j.contains("subsystem"))
        r->subsystem = KEEL_TRY(patterns_at(j["subsystem"], path + ".subsystem"));
    if (j.contains("kernel")) r->kernel = KEEL_TRY(patterns_at(j["kernel"], path + ".kernel"));
    if (j.contains("devtype")) r->devtype = KEEL_TRY(patterns_at(j["devtype"], path + ".devtype"));
    if (j.contains("driver")) r->driver = KEEL_TRY(patterns_at(j["driver"], path + ".driver"));
    if (j.contains("action")) {
        r->actions = KEEL_TRY(patterns_at(j["action"], path + ".action"));
        for (const auto& a : r->actions.any)
            if (a.find_first_of("*?[!") == std::string::npos && !known_action(a))
                return err(path + ".action", "unknown action '" + a + "'");
    }
    if (j.contains("env")) r->env = KEEL_TRY(map_at(j["env"], path + ".env"));
    if (j.contains("attr")) r->attr = KEEL_TRY(map_at(j["attr"], path + ".attr"));
    return {};
}

Result<Rule> parse_rule(const Json& j, const std::string& path) {
    KEEL_TRY_STATUS(check_keys(
        j, path, {"match", "owner", "group", "mode", "symlink", "run", "publish", "last"}));
    Rule r;
    r.where = path;
    if (j.contains("match")) KEEL_TRY_STATUS(parse_match(j["match"], path + ".match", &r));
    if (j.contains("owner")) {
        auto name = KEEL_TRY(string_at(j["owner"], path + ".owner"));
        auto uid = sys::user_id(name);
        if (!uid) return err(path + ".owner", uid.error().message());
        r.owner = *uid;
    }
    if (j.contains("group")) {
        auto name = KEEL_TRY(string_at(j["group"], path + ".group"));
        auto gid = sys::group_id(name);
        if (!gid) return err(path + ".group", gid.error().message());
        r.group = *gid;
    }
    if (j.contains("mode")) {
        auto m = KEEL_TRY(string_at(j["mode"], path + ".mode"));
        unsigned v = 0;
        bool ok = !m.empty() && m.size() <= 4;
        for (char c : m) {
            ok = ok && c >= '0' && c <= '7';
            v = v * 8 + static_cast<unsigned>(c - '0');
        }
        if (!ok)
            return err(path + ".mode", "expected an octal string like \"0660\", not '" + m + "'");
        r.mode = v;
    }
    if (j.contains("symlink")) {
        r.symlinks = KEEL_TRY(strings_at(j["symlink"], path + ".symlink"));
        for (const auto& s : r.symlinks)
            if (!safe_link_path(s))
                return err(path + ".symlink", "'" + s + "' must be a relative path without '..'");
    }
    if (j.contains("run")) {
        const Json& run = j["run"];
        const std::string p = path + ".run";
        if (!run.is_array() || run.empty())
            return err(p, "expected a command [\"/path\", \"arg\", ...] or a list of them");
        std::vector<Json> cmds =
            run[0].is_array() ? run.get<std::vector<Json>>() : std::vector<Json>{run};
        for (size_t i = 0; i < cmds.size(); ++i) {
            auto argv = KEEL_TRY(strings_at(cmds[i], p));
            if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
                return err(p, "a command must start with an absolute program path");
            r.run.push_back(std::move(argv));
        }
    }
    if (j.contains("publish")) {
        r.publish = KEEL_TRY(strings_at(j["publish"], path + ".publish"));
        for (const auto& s : r.publish) {
            // Substitutions become one safe token each; check the rest as a subject.
            std::string probe;
            for (size_t i = 0; i < s.size(); ++i) {
                if (s[i] == '%' && i + 1 < s.size()) {
                    probe += 'x';
                    ++i;
                } else if (s.compare(i, 5, "$env{") == 0 || s.compare(i, 6, "$attr{") == 0) {
                    size_t close = s.find('}', i);
                    if (close == std::string::npos) break;
                    probe += 'x';
                    i = close;
                } else {
                    probe += s[i];
                }
            }
            if (!bus::is_valid_publish_subject(probe))
                return err(path + ".publish", "'" + s + "' is not a valid subject");
        }
    }
    if (j.contains("last")) r.last = KEEL_TRY(bool_at(j["last"], path + ".last"));
    return r;
}

Status parse_modules(const Json& j, const std::string& path, DevConfig* c) {
    KEEL_TRY_STATUS(
        check_keys(j, path, {"enabled", "load", "dir", "blacklist", "options", "modprobe_d"}));
    if (j.contains("enabled"))
        c->modules_enabled = KEEL_TRY(bool_at(j["enabled"], path + ".enabled"));
    if (j.contains("load")) c->modules.load = KEEL_TRY(bool_at(j["load"], path + ".load"));
    if (j.contains("dir")) c->modules.dir = KEEL_TRY(string_at(j["dir"], path + ".dir"));
    if (j.contains("modprobe_d"))
        c->modules.modprobe_d = KEEL_TRY(bool_at(j["modprobe_d"], path + ".modprobe_d"));
    if (j.contains("blacklist"))
        for (const auto& m : KEEL_TRY(strings_at(j["blacklist"], path + ".blacklist")))
            c->modules.blacklist.insert(module_name(m));
    if (j.contains("options")) {
        const Json& o = j["options"];
        if (!o.is_object())
            return err(path + ".options", "expected an object of MODULE: \"param=value ...\"");
        for (auto it = o.begin(); it != o.end(); ++it)
            c->modules.options[module_name(it.key())] =
                KEEL_TRY(string_at(it.value(), path + ".options." + it.key()));
    }
    return {};
}

Status parse_buttons(const Json& j, const std::string& path, ButtonConfig* c) {
    KEEL_TRY_STATUS(check_keys(j, path, {"power", "reboot", "sleep"}));
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string p = path + "." + it.key();
        auto name = KEEL_TRY(string_at(it.value(), p));
        auto action = parse_action(name);
        if (!action)
            return err(p, "expected \"poweroff\", \"reboot\", \"publish\" or \"ignore\", not '" +
                              name + "'");
        c->set(*parse_button(it.key()), *action);
    }
    return {};
}

Result<DevConfig> from_json(const Json& j, const std::string& where) {
    DevConfig c;
    if (j.is_null()) return c;
    KEEL_TRY_STATUS(
        check_keys(j, where, {"rules", "default_links", "modules", "firmware", "buttons"}));
    if (j.contains("rules")) {
        const Json& rules = j["rules"];
        if (!rules.is_array()) return err(where + ".rules", "expected a list of rules");
        for (size_t i = 0; i < rules.size(); ++i)
            c.rules.push_back(
                KEEL_TRY(parse_rule(rules[i], where + ".rules[" + std::to_string(i) + "]")));
    }
    if (j.contains("default_links"))
        c.default_links = KEEL_TRY(bool_at(j["default_links"], where + ".default_links"));
    if (j.contains("modules")) KEEL_TRY_STATUS(parse_modules(j["modules"], where + ".modules", &c));
    if (j.contains("firmware")) {
        const Json& f = j["firmware"];
        const std::string p = where + ".firmware";
        KEEL_TRY_STATUS(check_keys(f, p, {"enabled", "dir"}));
        if (f.contains("enabled")) c.firmware = KEEL_TRY(bool_at(f["enabled"], p + ".enabled"));
        if (f.contains("dir")) c.firmware_dir = KEEL_TRY(string_at(f["dir"], p + ".dir"));
    }
    if (j.contains("buttons"))
        KEEL_TRY_STATUS(parse_buttons(j["buttons"], where + ".buttons", &c.buttons));
    return c;
}

Result<Json> parse_json(std::string_view text, const std::string& where) {
    try {
        return Json::parse(text);
    } catch (const Json::exception& e) {
        // e.what() names the byte: "[json.exception.parse_error.101] parse error at line 3, column
        // 5: ..."
        return Error(where + ": invalid JSON: " + e.what());
    }
}

}  // namespace

Result<DevConfig> parse_dev_config(std::string_view json, const std::string& where) {
    auto j = KEEL_TRY(parse_json(json, where));
    return from_json(j, where);
}

Result<DevConfig> load_manifest(const std::string& path) {
    auto text = KEEL_TRY(sys::read_file(path));
    auto j = KEEL_TRY(parse_json(text, path));
    if (!j.is_object()) return Error(path + ": the manifest must be a JSON object");
    if (!j.contains("dev")) return DevConfig{};
    auto c = from_json(j["dev"], "dev");
    if (!c) return Error(path + ": " + c.error().what());
    return c;
}

Result<DevConfig> load_dev_config(const std::string& path) {
    auto text = KEEL_TRY(sys::read_file(path));
    auto c = parse_dev_config(text, "dev");
    if (!c) return Error(path + ": " + c.error().what());
    return c;
}

}  // namespace keel::dev
