// AuthConfig: the bus's users, loaded from a JSON file (docs/bus.md):
//   {"users": [{"user": "alice", "password": "s3cret" | "$2a$11$<bcrypt>",
//               "permissions": {"publish": {"allow": [...], "deny": [...]},
//                               "subscribe": {"allow": [...], "deny": [...]}}},
//              {"token": "t0k3n", "permissions": {...}},
//              {"user": "svc", "unix_uid": 1000}],
//    "default_permissions": {...}, "no_auth_user": "guest"}
// A user with "unix_uid" is granted, without a password, to clients on the unix
// socket whose peer credentials (SO_PEERCRED) carry that uid.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "bus/protocol/handshake.h"
#include "bus/server/permissions.h"

namespace keel::bus {

struct User {
    std::string name;      // user name, or "token" / "uid:N" for display
    std::string password;  // plain text or a bcrypt hash ($2a$/$2b$/$2y$)
    std::string token;
    std::optional<uid_t> unix_uid;
    std::shared_ptr<const Permissions> permissions;  // null: everything allowed
};

class AuthConfig {
  public:
    static Result<AuthConfig> load(const std::string& path);
    static Result<AuthConfig> parse(std::string_view json, const std::string& origin);

    bool required() const { return !users_.empty(); }
    // The user these credentials log in as, or null. `peer_uid` is set for unix-socket clients.
    std::shared_ptr<const User> authenticate(const ConnectOptions& opts,
                                             std::optional<uid_t> peer_uid) const;
    // Same user still valid after a reload? Used to keep clients connected on SIGHUP.
    std::shared_ptr<const User> find(const User& previous) const;

  private:
    std::vector<std::shared_ptr<const User>> users_;
    std::shared_ptr<const User> no_auth_user_;
};

// Constant-time comparison for secrets; bcrypt hashes are checked through crypt(3).
bool password_matches(std::string_view stored, std::string_view given);

}  // namespace keel::bus
