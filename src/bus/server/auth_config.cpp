#include "bus/server/auth_config.h"

#include <crypt.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "base/sys.h"
#include "bus/protocol/subject.h"

namespace keel::bus {
namespace {

using nlohmann::json;

// Parsing state that builds error messages naming the file and the JSON path.
class Reader {
  public:
    explicit Reader(const std::string& origin) : origin_(origin) {}

    Error error(const std::string& where, const std::string& what) const {
        return Error(origin_ + ": " + where + ": " + what);
    }

    Result<std::vector<SubjectRule>> rules(const json& j, const std::string& where,
                                           bool subscribe) const {
        if (!j.is_array()) return error(where, "must be a list of subjects");
        std::vector<SubjectRule> out;
        for (size_t i = 0; i < j.size(); ++i) {
            std::string at = where + "[" + std::to_string(i) + "]";
            if (!j[i].is_string()) return error(at, "must be a string");
            std::string s = j[i].get<std::string>();
            SubjectRule r;
            if (auto sp = s.find(' '); subscribe && sp != std::string::npos) {
                r.subject = s.substr(0, sp);
                r.queue = s.substr(s.find_first_not_of(' ', sp));
            } else {
                r.subject = s;
            }
            if (!is_valid_subject(r.subject))
                return error(at, "invalid subject '" + r.subject + "'");
            out.push_back(std::move(r));
        }
        return out;
    }

    Result<std::shared_ptr<const Permissions>> permissions(const json& j,
                                                           const std::string& where) const {
        if (!j.is_object()) return error(where, "must be an object");
        auto p = std::make_shared<Permissions>();
        for (auto& [key, value] : j.items()) {
            const bool sub = key == "subscribe";
            if (key != "publish" && !sub) return error(where, "unknown key '" + key + "'");
            const std::string at = where + "." + key;
            // "publish": ["a.>"] is shorthand for {"allow": ["a.>"]}, as in nats-server.
            if (value.is_array()) {
                auto allow = rules(value, at, sub);
                if (!allow) return allow.error();
                (sub ? p->subscribe_allow : p->publish_allow) = std::move(allow).value();
                continue;
            }
            if (!value.is_object()) return error(at, "must be an object with allow/deny lists");
            for (auto& [k, list] : value.items()) {
                if (k != "allow" && k != "deny") return error(at, "unknown key '" + k + "'");
                auto r = rules(list, at + "." + k, sub);
                if (!r) return r.error();
                if (k == "allow")
                    (sub ? p->subscribe_allow : p->publish_allow) = std::move(r).value();
                else
                    (sub ? p->subscribe_deny : p->publish_deny) = std::move(r).value();
            }
        }
        return std::shared_ptr<const Permissions>(std::move(p));
    }

  private:
    const std::string& origin_;
};

bool str_field(const json& u, const char* key, std::string* out) {
    auto it = u.find(key);
    if (it == u.end()) return true;
    if (!it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Length leaks, contents do not.
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

bool password_matches(std::string_view stored, std::string_view given) {
    if (stored.size() > 4 && stored[0] == '$' && stored[1] == '2') {
        crypt_data data;
        std::memset(&data, 0, sizeof data);
        std::string s(stored), g(given);
        const char* h = crypt_r(g.c_str(), s.c_str(), &data);
        return h && constant_time_equal(h, stored);
    }
    return constant_time_equal(stored, given);
}

Result<AuthConfig> AuthConfig::load(const std::string& path) {
    auto text = sys::read_file(path);
    if (!text) return text.error();
    return parse(*text, path);
}

Result<AuthConfig> AuthConfig::parse(std::string_view text, const std::string& origin) {
    Reader rd(origin);
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return Error(origin + ": not valid JSON");
    if (!j.is_object()) return Error(origin + ": must be a JSON object");
    AuthConfig cfg;
    std::shared_ptr<const Permissions> defaults;
    if (auto it = j.find("default_permissions"); it != j.end()) {
        auto p = rd.permissions(*it, "default_permissions");
        if (!p) return p.error();
        defaults = *p;
    }
    for (auto& [key, value] : j.items()) {
        if (key != "users" && key != "default_permissions" && key != "no_auth_user")
            return Error(origin + ": unknown key '" + key + "'");
    }
    if (auto it = j.find("users"); it != j.end()) {
        if (!it->is_array()) return rd.error("users", "must be a list");
        for (size_t i = 0; i < it->size(); ++i) {
            const json& u = (*it)[i];
            const std::string at = "users[" + std::to_string(i) + "]";
            if (!u.is_object()) return rd.error(at, "must be an object");
            auto user = std::make_shared<User>();
            for (auto& [k, v] : u.items()) {
                (void)v;
                if (k != "user" && k != "password" && k != "token" && k != "unix_uid" &&
                    k != "permissions")
                    return rd.error(at, "unknown key '" + k + "'");
            }
            if (!str_field(u, "user", &user->name))
                return rd.error(at + ".user", "must be a string");
            if (!str_field(u, "password", &user->password))
                return rd.error(at + ".password", "must be a string");
            if (!str_field(u, "token", &user->token))
                return rd.error(at + ".token", "must be a string");
            if (auto uid = u.find("unix_uid"); uid != u.end()) {
                if (!uid->is_number_unsigned())
                    return rd.error(at + ".unix_uid", "must be a non-negative integer");
                user->unix_uid = uid->get<uid_t>();
            }
            if (user->token.empty() && user->name.empty() && !user->unix_uid)
                return rd.error(at, "needs \"user\", \"token\" or \"unix_uid\"");
            if (!user->name.empty() && user->password.empty() && !user->unix_uid)
                return rd.error(at,
                                "user '" + user->name + "' needs a \"password\" (or \"unix_uid\")");
            if (user->name.empty())
                user->name =
                    user->token.empty() ? "uid:" + std::to_string(*user->unix_uid) : "token";
            if (auto p = u.find("permissions"); p != u.end()) {
                auto perms = rd.permissions(*p, at + ".permissions");
                if (!perms) return perms.error();
                user->permissions = *perms;
            } else {
                user->permissions = defaults;
            }
            cfg.users_.push_back(std::move(user));
        }
    }
    if (auto it = j.find("no_auth_user"); it != j.end()) {
        if (!it->is_string()) return rd.error("no_auth_user", "must be a string");
        for (const auto& u : cfg.users_)
            if (u->name == it->get<std::string>()) cfg.no_auth_user_ = u;
        if (!cfg.no_auth_user_)
            return rd.error("no_auth_user", "no user named '" + it->get<std::string>() + "'");
    }
    return cfg;
}

std::shared_ptr<const User> AuthConfig::authenticate(const ConnectOptions& o,
                                                     std::optional<uid_t> peer_uid) const {
    if (!o.auth_token.empty()) {
        for (const auto& u : users_)
            if (!u->token.empty() && password_matches(u->token, o.auth_token)) return u;
        return nullptr;
    }
    if (!o.user.empty()) {
        for (const auto& u : users_) {
            if (u->name != o.user) continue;
            if (!u->password.empty() && password_matches(u->password, o.pass)) return u;
            // A uid-mapped user needs no password from the right peer.
            if (peer_uid && u->unix_uid && *u->unix_uid == *peer_uid) return u;
            return nullptr;
        }
        return nullptr;
    }
    if (peer_uid) {
        for (const auto& u : users_)
            if (u->unix_uid && *u->unix_uid == *peer_uid) return u;
    }
    return no_auth_user_;
}

std::shared_ptr<const User> AuthConfig::find(const User& prev) const {
    for (const auto& u : users_) {
        if (u->name == prev.name && u->password == prev.password && u->token == prev.token &&
            u->unix_uid == prev.unix_uid)
            return u;
    }
    return nullptr;
}

}  // namespace keel::bus
